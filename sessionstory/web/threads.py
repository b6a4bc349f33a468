"""Run a blocking route handler (DuckDB, argon2) in a worker thread.

litestar's own `sync_to_thread=True` wraps a handler again each time its route is
rebuilt, and a path with two handlers (GET and POST) is rebuilt once per handler, so
the first handler ends up returning an un-awaited coroutine. This wrapper is async
itself, so there is nothing left for litestar to wrap.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

import anyio.to_thread

P = ParamSpec("P")
T = TypeVar("T")


def blocking(fn: Callable[P, T]) -> Callable[P, Awaitable[T]]:
    @functools.wraps(fn)
    async def in_thread(*args: P.args, **kwargs: P.kwargs) -> T:
        return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))

    return in_thread
