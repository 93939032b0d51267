"""A robustness sweep of the playground server: hostile and careless requests against real uvicorn.

Every bad request must get a 4xx JSON ``{"error": ...}`` naming the problem (never a 500 or a
traceback), nothing outside the served folders is ever read, the limits in settings.py hold, and
the server keeps answering afterwards. HTTP goes through urllib, the live-training socket
through websocket-client, both to a server bound to 127.0.0.1.
"""
import json
import os
import socket
import threading
import time
import urllib.error
import urllib.request

import pytest

pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")

from nerve.serve import DEFAULT_HOST, ServeSettings, create_app  # noqa: E402

MAX_BODY = 20_000
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A runs folder with one tiny drawable run (the chapter-1 MLP, 1 epoch on 500 images)."""
    from nerve.cli import main

    root = tmp_path_factory.mktemp("edge-runs")
    assert main(["train", "--model", "chapter1-mlp", "--dataset", "mnist", "--limit", "500", "--epochs", "1",
                 "--quiet", "--out", str(root / "r1")]) == 0
    return root


@pytest.fixture(scope="module")
def server(runs, serve_app):
    app = create_app(ServeSettings(runs_dir=runs, max_jobs=2, max_body=MAX_BODY))
    with serve_app(app) as srv:
        port = srv.config.port
        yield {"url": f"http://127.0.0.1:{port}", "ws": f"ws://127.0.0.1:{port}/api/train", "app": app, "srv": srv}


def _call(server, method, path, data=None, headers=None):
    req = urllib.request.Request(server["url"] + path, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers.get("content-type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("content-type", ""), e.read()


def _error(server, method, path, data=None, headers=None, status=None):
    code, ctype, body = _call(server, method, path, data, headers)
    assert 400 <= code < 500, (code, body[:300])
    if status is not None:
        assert code == status, (code, body[:300])
    assert ctype.startswith("application/json"), (ctype, body[:300])
    obj = json.loads(body)
    assert set(obj) == {"error"} and obj["error"] and "\n" not in obj["error"] and len(obj["error"]) < 300
    assert "Traceback" not in obj["error"]
    return obj["error"]


def _alive(server):
    code, _, body = _call(server, "GET", "/api/status")
    assert code == 200 and json.loads(body)["max_body"] == MAX_BODY


PIXELS = json.dumps({"pixels": [0.5] * 784}).encode()


def test_binds_loopback_by_default(server):
    from nerve.cli.main import build_parser

    assert DEFAULT_HOST == "127.0.0.1" and build_parser().parse_args(["serve"]).host == "127.0.0.1"
    sock = server["srv"].servers[0].sockets[0]
    assert sock.getsockname()[0] == "127.0.0.1"


@pytest.mark.parametrize("data, headers, match", [
    (None, JSON, "body"),                                         # no body at all
    (b"", JSON, "body"),
    (b"{bad", JSON, "JSON"),
    (b"[1, 2]", JSON, "body"),
    (b"null", JSON, "body"),
    (b'"text"', JSON, "body"),
    (b"\xff\xfe\x00", JSON, "not JSON"),                          # not UTF-8
    (b"[" * 5000 + b"]" * 5000, JSON, "nested too deeply"),       # deeper than the parser recurses
    (b'{"pixels":' + b"[" * 5000 + b"]" * 5000 + b"}", JSON, "nested too deeply"),
    (json.dumps({"pixels": "abc"}).encode(), JSON, "pixels"),
    (json.dumps({"pixels": None}).encode(), JSON, "pixels"),
    (json.dumps({"pixels": ["0.5"] * 784}).encode(), JSON, "valid number"),   # strings are not numbers
    (json.dumps({"pixels": [True] * 784}).encode(), JSON, "valid number"),    # nor are booleans
    (json.dumps({"pixels": [[0.5]] * 784}).encode(), JSON, "valid number"),
    (json.dumps({"pixels": [float("nan")] * 784}).encode(), JSON, "from 0 to 1"),
    (json.dumps({"pixels": [float("inf")] * 784}).encode(), JSON, "from 0 to 1"),
    (b'{"pixels": [' + b",".join([b"1e400"] * 784) + b"]}", JSON, "from 0 to 1"),   # overflows to inf
    (json.dumps({"pixels": [-0.1] * 784}).encode(), JSON, "from 0 to 1"),
    (json.dumps({"pixels": [0.5] * 784, "evil": {"__class__": 1}}).encode(), JSON, "Extra inputs"),
])
def test_forward_refuses_bad_bodies(server, data, headers, match):
    assert match in _error(server, "POST", "/api/runs/r1/forward", data, headers)
    _alive(server)


@pytest.mark.parametrize("body, match", [
    (b'{"lr": NaN}', "lr"), (b'{"lr": Infinity}', "lr"), (b'{"lr": -1}', "lr"), (b'{"lr": 1e308}', "lr"),
    (b'{"lr": "0.5"}', "lr"),
    (b'{"x": [NaN, 1]}', "finite"), (b'{"x": [1e308, 1e308]}', "finite"), (b'{"target": [-Infinity, 1]}', "finite"),
    (b'{"x": [1, 2, 3]}', "x"), (b'{"x": []}', "x"), (b'{"x": "12"}', "x"),
    (b'{"seed": -1}', "seed"), (b'{"seed": 1e30}', "seed"), (b'{"seed": "3"}', "seed"), (b'{"seed": 1.5}', "seed"),
    (b'{"seed": 99999999999999999999999999999999}', "seed"), (b'{"seed": true}', "seed"),
    (b'{"activation": "softmax"}', "activation"), (b'{"activation": null}', "activation"),
    (b'{"loss": "mse"}', "Extra inputs"), (b"1e999999", "body"), (b"{}" * 3, "JSON"),
])
def test_backprop_refuses_bad_bodies(server, body, match):
    assert match in _error(server, "POST", "/api/backprop", body, JSON)


def test_backprop_extremes_stay_finite_or_refused(server):
    # the largest allowed inputs with the largest lr and ReLU: a 200 with finite numbers, no 500
    body = json.dumps({"x": [1000, -1000], "target": [1000, -1000], "activation": "relu", "lr": 10}).encode()
    code, _, out = _call(server, "POST", "/api/backprop", body, JSON)
    assert code == 200 and b"NaN" not in out and b"Infinity" not in out


@pytest.mark.parametrize("method, path, status, match", [
    ("GET", "/api/backprop", 405, "not allowed"),
    ("PUT", "/api/status", 405, "not allowed"),
    ("DELETE", "/api/runs/r1", 405, "not allowed"),
    ("PATCH", "/api/runs/r1/forward", 405, "not allowed"),
    ("GET", "/api/runs/r1/forward", 405, "not allowed"),
    ("POST", "/static/style.css", 405, "not allowed"),
    ("GET", "/api/train", 404, "no such page"),                  # the socket only, not plain HTTP
    ("GET", "/api/nothing", 404, "no such page"),
    ("GET", "/api/samples/mnist/-1", 422, "index must be from 0 to"),
    ("GET", "/api/samples/mnist/99999999999999999999999", 422, "index must be from 0 to"),
    ("GET", "/api/samples/mnist/abc", 422, "index"),
    ("GET", "/api/samples/mnist/1.5", 422, "index"),
    ("GET", "/api/samples/mnist/1e3", 422, "index"),
    ("GET", "/api/samples/cifar/0", 404, "unknown sample set"),
    ("GET", "/api/samples/..%2F..%2Fetc/0", 404, "no such page"),
    ("GET", "/api/samples/%2e%2e/0", 404, "unknown sample set"),
])
def test_methods_and_parameters(server, method, path, status, match):
    assert match in _error(server, method, path, status=status)


@pytest.mark.parametrize("path", [
    "/static/../app.py", "/static/..%2fapp.py", "/static/%2e%2e/app.py", "/static/%2e%2e%2fsettings.py",
    "/static/..%2f..%2f..%2f..%2f..%2fetc%2fpasswd", "/static//etc/passwd", "/static/%2fetc%2fpasswd",
    "/static/../../../../etc/passwd", "/static/", "/static/js/", "/static/nothing.js", "/static/js%00.js",
    "/api/runs/..%2f..%2fetc%2fpasswd", "/api/runs/%2e%2e%2f%2e%2e%2fetc", "/api/runs/%2fetc%2fpasswd",
    "/api/runs/..", "/api/runs/%2e%2e", "/api/runs/.", "/api/runs/%2e", "/api/runs/r1%2f..%2f..%2fetc",
    "/api/runs/..%2f..%2fetc%2fpasswd/forward", "/%2e%2e/%2e%2e/etc/passwd", "/..%5c..%5cetc%5cpasswd",
])
def test_no_file_outside_the_served_folders(server, path):
    code, ctype, body = _call(server, "GET", path)
    assert 400 <= code < 500 and ctype.startswith("application/json"), (path, code, body[:200])
    assert b"root:" not in body and b"import" not in body and b"ServeSettings" not in body


def test_symlinks_in_the_runs_folder_are_refused(server, runs, tmp_path):
    # a run that is a link, a real run folder whose files are links, and a link to /etc
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "config.json").write_text('{"secret": 1}')
    os.symlink(runs / "r1", runs / "linkrun")
    os.symlink("/etc", runs / "etc")
    (runs / "r2").mkdir()
    for f in ("config.json", "model.safetensors", "manifest.json"):
        os.symlink(outside / "config.json" if f == "config.json" else runs / "r1" / f, runs / "r2" / f)
    try:
        for name in ("linkrun", "etc", "r2"):
            assert "symbolic link" in _error(server, "GET", f"/api/runs/{name}", status=403)
            assert "symbolic link" in _error(server, "POST", f"/api/runs/{name}/forward", PIXELS, JSON, 403)
        code, _, body = _call(server, "GET", "/api/runs")
        listed = {r["name"]: r for r in json.loads(body)["runs"]}
        assert code == 200 and "linkrun" not in listed and "etc" not in listed
        assert not listed["r2"]["ok"] and "secret" not in body.decode()
    finally:
        os.unlink(runs / "linkrun")
        os.unlink(runs / "etc")
        for f in (runs / "r2").iterdir():
            f.unlink()
        (runs / "r2").rmdir()


def test_bodies_over_the_limit_are_refused_everywhere(server):
    big = b'{"pixels": [' + b"0.5," * 6000 + b"0.5]}"      # 24 KB, just over the limit
    for path in ("/api/runs/r1/forward", "/api/backprop", "/api/runs/default", "/api/status"):
        assert "larger than the limit" in _error(server, "POST", path, big, JSON, 413)
    # a declared length that is a lie or not a number is refused before anything is read
    assert "larger than the limit" in _error(server, "POST", "/api/backprop", b"{}",
                                             {**JSON, "content-length": str(10 ** 12)}, 413)
    _alive(server)


def _read_reply(s):
    """One whole HTTP reply from a raw socket: the headers, then as many body bytes as they
    announce (a single recv may return the headers alone, under load)."""
    data = b""
    while b"\r\n\r\n" not in data:
        part = s.recv(4096)
        if not part:
            return data
        data += part
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        part = s.recv(4096)
        if not part:
            break
        body += part
    return head + b"\r\n\r\n" + body


def test_multi_megabyte_declared_body_is_refused_unread(server):
    port = int(server["url"].rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(b"POST /api/runs/r1/forward HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 50000000\r\n\r\n" + b"[" * 4096)
        reply = _read_reply(s)
    assert reply.startswith(b"HTTP/1.1 413") and b"larger than the limit" in reply
    _alive(server)


def test_multi_megabyte_streamed_body_is_cut_off(server):
    # no Content-Length (chunked): the middleware counts the bytes and stops at the limit
    port = int(server["url"].rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(b"POST /api/backprop HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n")
        chunk = b"[" * 65536
        try:
            for _ in range(64):               # up to 4 MB; the server answers and closes long before
                s.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        reply = _read_reply(s)
    assert reply.startswith(b"HTTP/1.1 413") and b"larger than the limit" in reply
    _alive(server)


def test_status_and_run_json_shapes(server):
    code, _, body = _call(server, "GET", "/api/runs/r1")
    assert code == 200 and json.loads(body)["sizes"] == [784, 16, 16, 10]
    code, _, body = _call(server, "POST", "/api/runs/r1/forward", PIXELS, JSON)
    assert code == 200 and len(json.loads(body)["probabilities"]) == 10
    code, _, body = _call(server, "POST", "/api/runs/r1/forward", json.dumps({"pixels": [0, 1] * 392}).encode(), JSON)
    assert code == 200          # integers are numbers


def test_concurrent_requests_leave_the_server_answering(server):
    results = []

    def hit(i):
        if i % 3 == 0:
            results.append(_call(server, "POST", "/api/runs/r1/forward", PIXELS, JSON)[0])
        elif i % 3 == 1:
            results.append(_call(server, "POST", "/api/backprop", b"{bad", JSON)[0])
        else:
            results.append(_call(server, "GET", "/api/runs/..%2f..%2fetc")[0])
    threads = [threading.Thread(target=hit, args=(i,)) for i in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(set(results)) == [200, 404, 422]
    _alive(server)


# ------------------------------------------------------------------ the live-training socket
websocket = pytest.importorskip("websocket")   # websocket-client


def _ws(server):
    return websocket.create_connection(server["ws"], timeout=30)


def _until(ws, *kinds, limit=400):
    for _ in range(limit):
        m = json.loads(ws.recv())
        if m["type"] in kinds:
            return m
    raise AssertionError(f"no {kinds} message")


def _jobs(server, want):
    for _ in range(100):
        if server["app"].state.jobs == want:
            return True
        time.sleep(0.05)
    return server["app"].state.jobs == want


XOR = {"dataset": "xor", "hidden": [4], "batch_size": 16}


@pytest.mark.parametrize("frame, match", [
    ("binary", "binary frame"),
    ("[" * 5000 + "]" * 5000, "JSON object"),                        # deeper than json.loads recurses
    ('{"a":' * 3000 + "1" + "}" * 3000, "JSON object"),
    ('{"type": "start", "config": {"lr": NaN}}', "lr must be"),
    ('{"type": "start", "config": {"lr": Infinity}}', "lr must be"),
    ('{"type": "start", "config": {"batch_size": "16"}}', "batch_size must be"),
    ('{"type": "start", "config": {"batch_size": 0}}', "batch_size must be"),
    ('{"type": "start", "config": {"dataset": "mnist", "train_size": 1e9}}', "train_size must be"),
    ('{"type": "start", "config": {"dataset": "mnist", "test_size": -5}}', "test_size must be"),
    ('{"type": "start", "config": {"points": 1e9}}', "points must be"),
    ('{"type": "start", "config": {"hidden": [true]}}', "hidden must be"),
    ('{"type": "start", "config": {"hidden": [256, 256, 256, 256, 256, 256, 256]}}', "hidden must be"),
    ('{"type": "start", "config": {"seed": -1}}', "seed must be"),
    ('{"type": "start", "config": [1]}', "config must be an object"),
    ('{"type": "start", "config": null}', "config must be an object"),
    ('{"type": null}', "needs a session"),
    ('{"type": ["start"]}', "needs a session"),
])
def test_socket_refuses_bad_frames_and_keeps_working(server, frame, match):
    ws = _ws(server)
    try:
        if frame == "binary":
            ws.send_binary(b"\x00\x01\x02")
        else:
            ws.send(frame)
        assert match in _until(ws, "error")["message"]
        ws.send(json.dumps({"type": "start", "config": XOR}))   # the same socket still works
        _until(ws, "started")
    finally:
        ws.close()
    assert _jobs(server, 0)


def test_socket_messages_after_start(server, runs):
    ws = _ws(server)
    try:
        ws.send(json.dumps({"type": "start", "config": XOR}))
        _until(ws, "started")
        for frame, match in [('{"type": "step", "n": 1e2}', "step n must be"), ('{"type": "step", "n": "5"}', "step n"),
                             ('{"type": "step", "n": 0}', "step n"), ('{"type": "step", "n": 10001}', "step n"),
                             ('{"type": "lr", "value": NaN}', "lr must be"), ('{"type": "lr", "value": "0.1"}', "lr"),
                             ('{"type": "lr", "value": 0}', "lr must be"),
                             ('{"type": "save", "name": "../x"}', "run name"), ('{"type": "save", "name": null}', "run name"),
                             ('{"type": "save", "name": "/etc/passwd"}', "run name"),
                             ('{"type": "save", "name": "r1"}', "already exists")]:
            ws.send(frame)
            assert match in _until(ws, "error")["message"], frame
    finally:
        ws.close()
    assert sorted(p.name for p in runs.iterdir()) == ["r1"]       # nothing written, r1 untouched
    assert _jobs(server, 0)


def test_job_limit_and_pause_resume_storm(server, runs):
    cfg = {"dataset": "mnist", "hidden": [8], "train_size": 200, "test_size": 100, "batch_size": 32}
    a, b = _ws(server), _ws(server)
    try:
        for w in (a, b):
            w.send(json.dumps({"type": "start", "config": cfg}))
        _until(a, "started")
        _until(b, "started")
        assert server["app"].state.jobs == 2
        c = _ws(server)                                     # a third is refused at once with the reason
        m = json.loads(c.recv())
        assert m["type"] == "error" and "limit" in m["message"]
        c.close()
        for _ in range(40):                                  # a race of pause/resume ends in the last word
            a.send('{"type": "pause"}')
            a.send('{"type": "resume"}')
        a.send('{"type": "pause"}')
        a.send('{"type": "lr", "value": 0.0123}')            # a marker: every message before it is done
        m = _until(a, "metrics")
        while m["lr"] != 0.0123:
            m = _until(a, "metrics")
        step = m["step"]
        assert not m["running"]
        a.send('{"type": "step", "n": 3}')
        m = _until(a, "metrics")
        assert not m["running"] and m["step"] == step + 3
        time.sleep(0.3)                                      # paused means paused
        a.send('{"type": "lr", "value": 0.0124}')
        assert _until(a, "metrics")["step"] == step + 3
        # both save under one name at the same time: exactly one wins, the other is told
        a.send('{"type": "save", "name": "same"}')
        b.send('{"type": "save", "name": "same"}')
        got = sorted([_until(a, "saved", "error")["type"], _until(b, "saved", "error")["type"]])
        assert got == ["error", "saved"]
    finally:
        a.close()
        b.close()
    assert _jobs(server, 0)
    from nerve.runs import load_run
    assert load_run(runs / "same").status == "complete"
    import shutil
    shutil.rmtree(runs / "same")
    _alive(server)
