"""Run blocking work (DuckDB, argon2) off the event loop, and answer with JSON made there.

litestar's own `sync_to_thread=True` wraps a handler again each time its route is
rebuilt, and a path with two handlers (GET and POST) is rebuilt once per handler, so
the first handler ends up returning an un-awaited coroutine. `blocking` is async
itself, so there is nothing left for litestar to wrap.

The hop itself is `HandOff`: every request that reads the index pays it on the event
loop thread, which all requests share. `asyncio.to_thread` costs twice its CPU (71
against 35 µs a call, /tmp-free microbenchmark in docs/performance.md), and anyio's
`to_thread.run_sync` about twice that again (its capacity limiter, run-vars and cancel
scopes).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import queue
import threading
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
    """The event loop's default executor (the app sets it at start), for the `asyncio.to_thread`
    calls outside route handlers: live streams, insight jobs, large ingest batches."""
    return ThreadPoolExecutor(max_workers=WORKER_THREADS, thread_name_prefix="web-worker")


class HandOff:
    """Worker threads fed by one queue, each call answered on the event loop by one
    `call_soon_threadsafe`. `asyncio.to_thread` does the same through `run_in_executor`: a
    concurrent Future, the executor's locks and semaphore, and a chain of callbacks back to an
    asyncio Future, all run by the event loop thread, which every request needs. A thread starts
    when none is free, up to `limit`, and then stays."""

    def __init__(self, limit: int = WORKER_THREADS) -> None:
        self.limit = limit
        self._calls: queue.SimpleQueue[_Call] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        # Counted under the lock, as ThreadPoolExecutor's semaphore does: a thread is promised to a
        # call when it is queued, so a long handler never leaves a call waiting while none is free.
        self._lock = threading.Lock()
        self._idle = 0  # threads waiting for a call, none promised
        self._waiting = 0  # calls queued at the limit, with no thread promised

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[T] = loop.create_future()
        with self._lock:
            if self._idle:
                self._idle -= 1
            elif len(self._threads) < self.limit:
                self._start_thread()
            else:
                self._waiting += 1  # the next thread to finish takes it, as in any bounded pool
        self._calls.put((loop, answer, contextvars.copy_context(), fn, args, kwargs))
        return await answer

    def _start_thread(self) -> None:
        thread = threading.Thread(target=self._work, name=f"web-worker_{len(self._threads)}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _work(self) -> None:
        while True:
            loop, answer, context, fn, args, kwargs = self._calls.get()
            try:
                outcome: tuple[Any, BaseException | None] = (context.run(fn, *args, **kwargs), None)
            except BaseException as exc:  # handed to the awaiting request, as run_in_executor does
                outcome = (None, exc)
            with self._lock:
                if self._waiting:
                    self._waiting -= 1
                else:
                    self._idle += 1
            try:
                loop.call_soon_threadsafe(_settle, answer, *outcome)
            except RuntimeError:
                pass  # the loop has closed: nobody waits for this answer any more
            del answer, outcome, args, kwargs  # a waiting thread must not keep the last call's objects alive


_Call = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", contextvars.Context, Callable[..., Any],
              tuple[Any, ...], dict[str, Any]]


def _settle(answer: asyncio.Future[Any], value: Any, error: BaseException | None) -> None:
    if answer.cancelled():
        return  # the client left; its task was cancelled while the thread worked
    if error is None:
        answer.set_result(value)
    else:
        answer.set_exception(error)


HANDS = HandOff()  # one pool for every app in the process, as the loop's executor was


def blocking(fn: Callable[P, T]) -> Callable[P, Awaitable[T]]:
    """A route handler run in a worker thread (`HANDS`)."""
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
