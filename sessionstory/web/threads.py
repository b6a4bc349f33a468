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
from typing import ParamSpec, TypeVar

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
