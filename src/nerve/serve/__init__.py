"""``nerve serve``: a browser playground over the real engine (FastAPI, plain HTML/JS pages).

Three pages, served with no build step and no outside resources (works offline):

* **the digit network**: draw a digit (or pick an MNIST test image) and watch a trained
  784-16-16-10 network (any MLP run from ``nerve train``) respond, neuron by neuron;
* **train live**: train an MLP on MNIST, Fashion-MNIST or a 2-D Playground set, with the
  curves, the decision boundary and the training doctor's findings streamed over a websocket;
* **backpropagation**: one training step of a 2-3-2 network with every number shown.

The behaviour lives in the library (``nerve.diagnostics.mlp_trace``, ``backprop_steps``,
``nerve.runs.live.LiveSession``, ``nerve.runs``); this package is the web shell. FastAPI and
uvicorn are the ``serve`` extra and are imported only when an app is built.

    >>> from nerve import serve
    >>> serve.DEFAULT_HOST, serve.DEFAULT_PORT
    ('127.0.0.1', 8000)
"""
from __future__ import annotations

__all__ = ["create_app", "ServeSettings", "DEFAULT_HOST", "DEFAULT_PORT"]

from .settings import DEFAULT_HOST, DEFAULT_PORT, ServeSettings


def create_app(settings=None):
    """The FastAPI application (see :func:`nerve.serve.app.create_app`); needs the ``serve`` extra."""
    from .app import create_app as _create  # noqa: PLC0415

    return _create(settings)
