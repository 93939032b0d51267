"""Shared by the playground's tests: a runs folder holding one CLI run, and a way to serve an app."""
import contextlib
import socket
import threading
import time

import pytest


@pytest.fixture(scope="session")
def cli_runs(tmp_path_factory):
    """A runs folder with ``digits-ch1``: the chapter-1 network trained by ``nerve train`` (a quick
    run on 6,000 MNIST images; the ≥ 94 % run is tests/runs/test_chapter1.py)."""
    from nerve.cli import main

    root = tmp_path_factory.mktemp("runs")
    code = main(["train", "--model", "chapter1-mlp", "--dataset", "mnist", "--limit", "6000", "--epochs", "4",
                 "--batch-size", "32", "--lr", "0.01", "--shift", "0", "--quiet", "--out", str(root / "digits-ch1")])
    assert code == 0
    return root


@contextlib.contextmanager
def _running(app):
    """Serve ``app`` with uvicorn on a free 127.0.0.1 port in a thread; yields the uvicorn Server
    (its port: ``srv.config.port``)."""
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(200):
        if srv.started:
            break
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    try:
        yield srv
    finally:
        srv.should_exit = True
        thread.join(10)


@pytest.fixture(scope="session")
def serve_app():
    """``with serve_app(app) as srv:`` runs the app on 127.0.0.1:``srv.config.port`` for the block."""
    return _running
