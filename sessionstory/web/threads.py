"""Run blocking work (DuckDB, argon2) off the event loop, and answer with JSON made there.

litestar's own `sync_to_thread=True` wraps a handler again each time its route is
rebuilt, and a path with two handlers (GET and POST) is rebuilt once per handler, so
the first handler ends up returning an un-awaited coroutine. `blocking` is async
itself, so there is nothing left for litestar to wrap.

The hop itself is sessionstory/handoff.py's.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

import msgspec
from litestar import Response
from litestar.types import ASGIApp, Receive, Scope, Send

from sessionstory.handoff import HANDS

P = ParamSpec("P")
T = TypeVar("T")


def blocking(fn: Callable[P, T]) -> Callable[P, Awaitable[T]]:
    """A route handler run in a worker thread (`handoff.HANDS`)."""
    @functools.wraps(fn)
    async def in_thread(*args: P.args, **kwargs: P.kwargs) -> T:
        return await HANDS.run(fn, *args, **kwargs)

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
