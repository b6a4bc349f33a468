"""Run a blocking route handler (DuckDB, argon2) in a worker thread.

litestar's own `sync_to_thread=True` wraps a handler again each time its route is
rebuilt, and a path with two handlers (GET and POST) is rebuilt once per handler, so
the first handler ends up returning an un-awaited coroutine. This wrapper is async
itself, so there is nothing left for litestar to wrap.

It hands the call to the event loop's executor (`asyncio.to_thread`), which the app
sizes at start (`worker_threads`): half the cost of anyio's `to_thread.run_sync` per
call (~25 against ~50 µs here; its capacity limiter, run-vars and cancel scopes), paid
by every request that reads the index.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

import msgspec
from litestar import Response
from litestar.types import ASGIApp, Receive, Scope, Send

P = ParamSpec("P")
T = TypeVar("T")
WORKER_THREADS = 40  # as many as anyio allowed: a slow handler (a summary, an export) must not hold up the rest


def worker_threads() -> ThreadPoolExecutor:
    """The pool `blocking` runs in; the app makes it the loop's default executor at start."""
    return ThreadPoolExecutor(max_workers=WORKER_THREADS, thread_name_prefix="web-worker")


def blocking(fn: Callable[P, T]) -> Callable[P, Awaitable[T]]:
    @functools.wraps(fn)
    async def in_thread(*args: P.args, **kwargs: P.kwargs) -> T:
        return await asyncio.to_thread(fn, *args, **kwargs)

    return in_thread


class Encoded(Response[T]):
    """`value` as JSON, encoded in the worker thread that made it: the event loop is left only the
    sending of ready bytes (litestar would encode on the loop, after the hop back, and build its
    response object there). litestar's OpenAPI documents a route returning `Encoded[Page]` as `Page`.
    Security headers are added on the way out as for any answer (web/headers.py)."""

    __slots__ = ("body",)

    def __init__(self, value: T) -> None:
        # Not Response.__init__: its fields (status, headers, cookies, background) are never read, as
        # to_asgi_response below ignores what the route would add: a 200 with no headers of its own.
        self.body = _ENCODER.encode(value)

    def to_asgi_response(self, *args: Any, **kwargs: Any) -> ASGIApp:  # type: ignore[override]
        return self._send

    async def _send(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [*_JSON_HEADERS, (b"content-length", str(len(self.body)).encode())]})
        await send({"type": "http.response.body", "body": self.body, "more_body": False})


_ENCODER = msgspec.json.Encoder()  # reused, as msgspec advises; encoders hold no state between calls
_JSON_HEADERS = ((b"content-type", b"application/json"),)
