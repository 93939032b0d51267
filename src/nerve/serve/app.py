"""The playground's HTTP and websocket API (FastAPI); every handler is a thin call into nerve.

Endpoints (all JSON; errors are ``{"error": "one sentence"}`` with a 4xx status):

``GET  /api/status``                      the limits and how many training jobs run
``GET  /api/runs``                        the runs in the runs folder that the digit page can draw
``POST /api/runs/default``                train the chapter-1 network when no run exists yet
``GET  /api/runs/{name}``                 one run's network: layer sizes, weights, biases, activation
``POST /api/runs/{name}/forward``         ``{"pixels": 784 numbers in [0, 1]}`` → every layer's activations
``GET  /api/samples/{dataset}/{index}``   one test image (784 pixels) and its label
``POST /api/backprop``                    one step of a 2-3-2 network, every number written out
``WS   /api/train``                       a live training session (see :func:`_train_socket`)
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
from pathlib import Path
from typing import List, Literal, Optional

import numpy as np
from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from .settings import ServeSettings

__all__ = ["create_app", "RUN_NAME"]

STATIC = Path(__file__).parent / "static"
RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
SAMPLE_SETS = ("mnist", "fashion-mnist")
DEFAULT_RUN = "chapter1-default"


class ApiError(Exception):
    """A request the API refuses: ``status`` and a one-sentence ``message``."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


# ------------------------------------------------------------------ request bodies
class _Strict(BaseModel):
    # strict: a string or a boolean where a number belongs is refused, never converted
    model_config = ConfigDict(extra="forbid", strict=True)


class ForwardRequest(_Strict):
    pixels: List[float] = Field(min_length=784, max_length=784)


class BackpropRequest(_Strict):
    x: List[float] = Field(default=[0.05, 0.10], min_length=2, max_length=2)
    target: List[float] = Field(default=[0.01, 0.99], min_length=2, max_length=2)
    activation: Literal["sigmoid", "tanh", "relu"] = "sigmoid"
    lr: float = Field(default=0.5, ge=0.0, le=10.0)
    seed: int = Field(default=0, ge=0, le=2 ** 31 - 1)


def _one_line(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)


# ------------------------------------------------------------------ body size cap
class BodyLimit:
    """ASGI middleware: refuse HTTP bodies over ``limit`` bytes with 413, declared or streamed."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            return await self._refuse(send)
        # Read the whole body first (it is small by definition), counting the bytes as they come.
        chunks, seen = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return
            chunks.append(message.get("body", b""))
            seen += len(chunks[-1])
            if seen > self.limit:
                return await self._refuse(send)
            if not message.get("more_body", False):
                break
        body, replayed = b"".join(chunks), False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)

    async def _refuse(self, send):
        body = json.dumps({"error": f"the request body is larger than the limit of {self.limit} bytes"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


# ------------------------------------------------------------------ the app
def create_app(settings: ServeSettings | None = None) -> FastAPI:
    """Build the playground app for ``settings`` (default: ``./runs``, 2 jobs, 64 KiB bodies)."""
    settings = settings or ServeSettings()
    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        app.state.stopping = True   # live sessions end; saved runs were written atomically already

    app = FastAPI(title="nerve playground", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.settings = settings
    app.state.jobs = 0
    app.state.stopping = False
    app.state.default_lock = threading.Lock()
    app.state.samples = {}
    app.state.run_cache = {}

    @app.exception_handler(ApiError)
    async def _api_error(request, exc: ApiError):
        return JSONResponse({"error": exc.message}, status_code=exc.status)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request, exc: StarletteHTTPException):  # unknown paths, wrong methods
        text = {400: "the request body is not JSON that can be read (bad UTF-8, or nested too deeply)",
                404: f"no such page or endpoint: {request.url.path}",
                405: f"{request.method} is not allowed on {request.url.path}"}.get(exc.status_code, str(exc.detail))
        return JSONResponse({"error": text}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request, exc: RequestValidationError):
        return JSONResponse({"error": f"invalid request: {_one_line(exc)}"}, status_code=422)

    # ------------------------------------------------------------- pages
    @app.get("/", include_in_schema=False)
    async def index():
        return FileResponse(STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC, follow_symlink=False), name="static")

    # ------------------------------------------------------------- runs
    @app.get("/api/status")
    async def status():
        return {"jobs": app.state.jobs, "max_jobs": settings.max_jobs, "max_body": settings.max_body,
                "runs_dir": str(settings.runs_dir), "initial_run": settings.initial_run}

    @app.get("/api/runs")
    async def list_runs():
        return {"runs": await _compute(_list_runs, app)}

    @app.post("/api/runs/default")
    async def default_run():
        return await _compute(_ensure_default, app)

    @app.get("/api/runs/{name}")
    async def network(name: str):
        run = await _compute(_open_run, app, name)
        return await _compute(_network_json, run, name)

    @app.post("/api/runs/{name}/forward")
    async def forward(name: str, body: ForwardRequest):
        pixels = np.asarray(body.pixels, dtype=np.float64)
        if not (np.isfinite(pixels).all() and (pixels >= 0).all() and (pixels <= 1).all()):
            raise ApiError(422, "pixels must be 784 numbers from 0 to 1")
        run = await _compute(_open_run, app, name)
        return await _compute(_forward, run, pixels)

    @app.get("/api/samples/{dataset}/{index}")
    async def sample(dataset: str, index: int):
        if dataset not in SAMPLE_SETS:
            raise ApiError(404, f"unknown sample set {dataset!r}; choose {' or '.join(SAMPLE_SETS)}")
        x, y, classes = await _compute(_test_split, app, dataset)
        if not 0 <= index < len(y):
            raise ApiError(422, f"index must be from 0 to {len(y) - 1}, got {index}")
        return {"dataset": dataset, "index": index, "label": int(y[index]), "class": classes[int(y[index])],
                "pixels": np.asarray(x[index], np.float64).reshape(-1).tolist()}

    @app.post("/api/backprop")
    async def backprop(body: BackpropRequest):
        return await _compute(_backprop, body)

    @app.websocket("/api/train")
    async def train(ws: WebSocket):
        await _train_socket(app, ws)

    app.add_middleware(BodyLimit, limit=settings.max_body)
    return app


# ------------------------------------------------------------------ helpers (run in threads)
# nerve's grad mode (no_grad while measuring, recording while training) is one switch for the
# whole process, not one per thread: a live session measuring under no_grad in one thread would
# turn off the graph of another session's training step in the next thread, which then fails.
# So the nerve work of all requests and sessions takes turns; the event loop stays free.
_NERVE_LOCK = threading.RLock()


def _locked(fn, *args):
    with _NERVE_LOCK:
        return fn(*args)


async def _compute(fn, *args):
    """Run ``fn(*args)`` in a worker thread, one nerve computation at a time."""
    return await asyncio.to_thread(_locked, fn, *args)


def _run_path(app, name: str) -> Path:
    """The folder of run ``name`` inside the runs folder; no traversal, no symlinks."""
    if not isinstance(name, str) or not RUN_NAME.match(name) or name in (".", ".."):
        raise ApiError(422, f"a run name is 1 to 64 letters, digits, '.', '_' or '-', got {name!r}")
    root = app.state.settings.runs_dir
    path = root / name
    if path.is_symlink() or any((path / f).is_symlink() for f in ("config.json", "model.safetensors",
                                                                     "manifest.json")):
        raise ApiError(403, f"run {name!r} is a symbolic link; only real folders inside the runs folder are opened")
    if not path.is_dir() or path.resolve().parent != root.resolve():
        raise ApiError(404, f"no run named {name!r} in {root}")
    return path


def _open_run(app, name: str):
    from ..runs import RunError, load_run  # noqa: PLC0415

    path = _run_path(app, name)
    key = (path / "manifest.json").stat().st_mtime_ns if (path / "manifest.json").exists() else None
    cached = app.state.run_cache.get(name)
    if cached is not None and cached[0] == key:
        return cached[1]
    try:
        run = load_run(path)
        run.build_model()
    except RunError as e:
        raise ApiError(422, str(e)) from None
    app.state.run_cache[name] = (key, run)
    return run


def _drawable(run) -> str | None:
    """Why the digit page cannot draw this run (None: it can)."""
    from ..diagnostics import mlp_layers  # noqa: PLC0415

    if list(run.config["input_shape"]) != [1, 28, 28]:
        return f"its inputs are {run.config['input_shape']}, not one 28×28 image"
    try:
        linears, _ = mlp_layers(run.build_model())
    except ValueError as e:
        return f"it is not a plain MLP ({e})"
    if len(linears) > 6 or max(lin.out_features for lin in linears) > 128:
        return "it is too large to draw (at most 6 layers of 128 units)"
    return None


def _list_runs(app) -> list:
    root = app.state.settings.runs_dir
    if not root.is_dir():
        return []
    out = []
    for p in sorted(root.iterdir()):
        if p.is_symlink() or not p.is_dir() or not RUN_NAME.match(p.name) or not (p / "config.json").is_file():
            continue
        try:
            run = _open_run(app, p.name)
        except ApiError as e:
            out.append({"name": p.name, "ok": False, "reason": e.message})
            continue
        why = _drawable(run)
        acc = (run.config.get("results") or {}).get("test_accuracy")
        out.append({"name": p.name, "ok": why is None, "reason": why, "model": run.model_name,
                    "dataset": run.dataset, "status": run.status,
                    "test_accuracy": acc if isinstance(acc, (int, float)) else None})
    return out


def _ensure_default(app) -> dict:
    settings = app.state.settings
    with app.state.default_lock:
        runs = [r for r in _list_runs(app) if r["ok"]]
        if runs:
            return {"trained": False, "name": runs[0]["name"]}
        if not settings.default_run:
            raise ApiError(404, f"no run in {settings.runs_dir}; train one with 'nerve train'")
        from ..runs import RunError  # noqa: PLC0415
        from ..runs.live import train_default_run  # noqa: PLC0415

        name = DEFAULT_RUN
        if (settings.runs_dir / name).exists():
            raise ApiError(409, f"{settings.runs_dir / name} exists but cannot be opened; remove it or "
                                "train a run with 'nerve train'")
        try:
            train_default_run(settings.runs_dir / name, epochs=settings.default_epochs)
        except (RunError, OSError) as e:
            raise ApiError(503, f"cannot train the default network: {str(e).splitlines()[0]}") from None
        return {"trained": True, "name": name}


def _network_json(run, name) -> dict:
    from ..diagnostics import mlp_layers  # noqa: PLC0415

    why = _drawable(run)
    if why is not None:
        raise ApiError(422, f"run {name!r} cannot be drawn: {why}")
    linears, act = mlp_layers(run.build_model())
    acc = (run.config.get("results") or {}).get("test_accuracy")
    return {"name": name, "model": run.model_name, "dataset": run.dataset, "activation": act,
            "sizes": [linears[0].in_features] + [lin.out_features for lin in linears],
            "classes": run.classes, "normalize": run.config["normalize"],
            "test_accuracy": acc if isinstance(acc, (int, float)) else None,
            "layers": [{"weight": lin.weight.numpy().astype(np.float64).tolist(),
                        "bias": (lin.bias.numpy().astype(np.float64).tolist() if lin.bias is not None
                                 else [0.0] * lin.out_features)} for lin in linears]}


def _forward(run, pixels) -> dict:
    from ..diagnostics import mlp_trace  # noqa: PLC0415

    norm = run.config["normalize"]
    x = (pixels - norm["mean"]) / norm["std"]
    trace = mlp_trace(run.build_model(), x)
    probs = trace["probabilities"]
    return {"activations": trace["activations"], "probabilities": probs, "activation": trace["activation"],
            "prediction": int(np.argmax(probs)), "classes": run.classes}


def _test_split(app, dataset):
    cache = app.state.samples
    if dataset not in cache:
        from ..data.datasets import load_split  # noqa: PLC0415

        try:
            x, y, classes, _ = load_split(dataset, False)
        except Exception as e:  # noqa: BLE001 - a missing or damaged file: say which
            raise ApiError(503, f"the {dataset} test set is not available: {str(e).strip().splitlines()[0]}") from None
        cache[dataset] = (x, y, classes)
    return cache[dataset]


def _backprop(body: BackpropRequest) -> dict:
    from .. import nn  # noqa: PLC0415
    from ..diagnostics import backprop_steps_from_model  # noqa: PLC0415
    from ..random import manual_seed  # noqa: PLC0415

    if not all(np.isfinite(v) and abs(v) <= 1e3 for v in body.x + body.target):
        raise ApiError(422, "x and target must be finite numbers from -1000 to 1000")
    manual_seed(body.seed)
    act = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}[body.activation]
    model = nn.Sequential(nn.Linear(2, 3), act(), nn.Linear(3, 2), act())
    return backprop_steps_from_model(model, body.x, body.target, loss="mse", lr=body.lr)


# ------------------------------------------------------------------ live training
async def _train_socket(app, ws: WebSocket):
    """One live training session per websocket; it ends when the socket closes.

    Client → server messages: ``{"type": "start", "config": {...}}`` (a new session, running),
    ``"pause"``, ``"resume"``, ``{"type": "step", "n": k}``, ``{"type": "lr", "value": x}``,
    ``"reset"`` (the same config from scratch, paused), ``{"type": "save", "name": n}``.
    Server → client: ``started`` (config, 2-D points), ``metrics`` (a history row, the running
    flag and, for 2-D data, the decision boundary), ``finding``, ``saved``, ``state``, ``error``.
    """
    settings = app.state.settings
    await ws.accept()
    if app.state.jobs >= settings.max_jobs:
        await ws.send_json({"type": "error", "message": f"the server already runs {settings.max_jobs} training "
                                                        "jobs (its limit); close one and try again"})
        await ws.close(code=1013)
        return
    app.state.jobs += 1
    commands: asyncio.Queue = asyncio.Queue()
    closed = asyncio.Event()

    async def reader():
        try:
            while True:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                text = message.get("text")
                if text is None:   # a binary frame: say so, keep the session
                    await commands.put({"type": "_error", "message": "a message must be JSON text, "
                                                                     "not a binary frame"})
                    continue
                if len(text.encode()) > settings.max_body:
                    await commands.put({"type": "_error", "message": f"a message is larger than the limit "
                                                                     f"of {settings.max_body} bytes"})
                    continue
                try:
                    msg = json.loads(text)
                except (ValueError, RecursionError):   # RecursionError: nested too deeply
                    msg = {"type": "_error", "message": "a message must be a JSON object"}
                await commands.put(msg if isinstance(msg, dict) else
                                   {"type": "_error", "message": "a message must be a JSON object"})
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            closed.set()

    task = asyncio.create_task(reader())
    job = _Job(app, ws)
    try:
        while not closed.is_set() and not app.state.stopping:
            try:
                msg = commands.get_nowait()
            except asyncio.QueueEmpty:
                msg = None
            if msg is not None:
                await job.handle(msg)
                continue
            if job.session is not None and job.running:
                await job.advance()
            else:
                try:
                    msg = await asyncio.wait_for(commands.get(), timeout=0.2)
                except asyncio.TimeoutError:
                    continue
                await job.handle(msg)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        app.state.jobs -= 1
        task.cancel()
        if not closed.is_set():
            try:
                await ws.close(code=1001)
            except RuntimeError:
                pass


class _Job:
    """The state of one socket's session: what to do with each message, and the next chunk."""

    def __init__(self, app, ws):
        self.app, self.ws = app, ws
        self.session, self.config, self.running = None, None, False
        self.chunk, self.sent_findings, self.last_report = 1, 0, 0.0

    async def send(self, obj):
        await self.ws.send_json(obj)

    async def error(self, message):
        await self.send({"type": "error", "message": message})

    async def handle(self, msg):
        from ..runs import RunError  # noqa: PLC0415

        kind = msg.get("type")
        try:
            if kind == "_error":
                await self.error(msg["message"])
            elif kind == "start":
                await self.start(msg.get("config", {}))
            elif kind == "reset":
                if self.config is None:
                    raise ValueError("nothing to reset: start a session first")
                await self.start(self.config, running=False)
            elif self.session is None:
                raise ValueError(f"{kind!r} needs a session: send {{\"type\": \"start\", \"config\": {{...}}}} first")
            elif kind == "pause":
                self.running = False
                await self.report()
            elif kind == "resume":
                self.running = True
            elif kind == "step":
                n = msg.get("n", 1)
                if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 1000:
                    raise ValueError(f"step n must be an integer from 1 to 1000, got {n!r}")
                self.running = False
                await _compute(self.session.step, n)
                await self.report()
            elif kind == "lr":
                self.session.set_lr(msg.get("value"))
                await self.report()
            elif kind == "save":
                await self.save(msg.get("name"))
            else:
                raise ValueError(f"unknown message type {kind!r}; use start, pause, resume, step, lr, reset or save")
        except (ValueError, TypeError, RunError) as e:
            await self.error(str(e).splitlines()[0])

    async def start(self, config, running=True):
        from ..runs.live import LiveSession  # noqa: PLC0415

        if not isinstance(config, dict):
            raise ValueError(f"config must be an object of settings, got {type(config).__name__}")
        try:
            session = await _compute(LiveSession, config)
        except (OSError, LookupError) as e:
            raise ValueError(f"cannot load the data: {str(e).strip().splitlines()[0]}") from None
        self.session, self.config, self.running = session, dict(config), running
        self.chunk, self.sent_findings = 1, 0
        started = {"type": "started", "config": session.config, "classes": session.classes,
                   "image": session.is_image, "running": running}
        if not session.is_image:
            started["points"] = session.points()
        await self.send(started)
        await self.report()

    async def advance(self):
        """Train for about a tenth of a second, then report."""
        import time  # noqa: PLC0415

        t = time.perf_counter()
        done = await _compute(self.session.step, self.chunk)
        took = time.perf_counter() - t
        self.chunk = int(min(500, max(1, self.chunk * (2 if took < 0.05 else 0.5 if took > 0.2 else 1))))
        if done == 0:  # diverged: nothing more to train
            self.running = False
        # Measuring costs a pass over the data: at most about four reports a second.
        if not self.running or time.perf_counter() - self.last_report >= 0.25:
            await self.report()

    async def report(self):
        import time  # noqa: PLC0415

        self.last_report = time.perf_counter()
        s = self.session
        row = await _compute(s.metrics)
        msg = {"type": "metrics", **row, "running": self.running, "diverged": s.diverged}
        if not s.is_image:
            grid = await _compute(s.boundary, 40)
            msg["boundary"] = np.round(np.nan_to_num(grid, nan=0.5), 4).tolist()
        await self.send(msg)
        for f in s.findings[self.sent_findings:]:
            await self.send({"type": "finding", "kind": f["kind"], "severity": f["severity"],
                             "epoch": f["epoch"], "step": f["step"], "message": f["message"], "fix": f["fix"]})
        self.sent_findings = len(s.findings)

    async def save(self, name):
        if not isinstance(name, str) or not RUN_NAME.match(name):
            raise ValueError(f"a run name is 1 to 64 letters, digits, '.', '_' or '-', got {name!r}")
        root = self.app.state.settings.runs_dir
        if (root / name).exists() or (root / name).is_symlink():
            raise ValueError(f"a run named {name!r} already exists; choose another name")
        root.mkdir(parents=True, exist_ok=True)
        run = await _compute(self.session.save, root / name)
        await self.send({"type": "saved", "name": name, "path": str(run.path),
                         "test_accuracy": run.config["results"]["test_accuracy"]})
