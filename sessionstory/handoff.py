"""Blocking work (DuckDB, argon2, an admin command) run in worker threads for the event loop.

Every request that reads the index pays this hop on the event loop thread, which all
requests share. `asyncio.to_thread` costs about twice the CPU of `HandOff.run`, and anyio's
`to_thread.run_sync` a little more again (its capacity limiter, run-vars and cancel
scopes): `python -m bench.handoff` measures all three in one run.
"""

from __future__ import annotations

import asyncio
import contextvars
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
WORKER_THREADS = 40  # as many as anyio allowed: a slow handler (a summary, an export) must not hold up the rest


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
        thread = threading.Thread(target=self._work, name=f"handoff-{len(self._threads)}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _work(self) -> None:
        while True:
            # One call per method call: its locals (the call's arguments and answer) are let go
            # when it returns, not kept alive by a thread waiting for the next call.
            self._answer(*self._calls.get())

    def _answer(self, loop: asyncio.AbstractEventLoop, answer: asyncio.Future[Any], context: contextvars.Context,
                fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
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


_Call = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", contextvars.Context, Callable[..., Any],
              tuple[Any, ...], dict[str, Any]]


def _settle(answer: asyncio.Future[Any], value: Any, error: BaseException | None) -> None:
    if answer.cancelled():
        return  # the client left; its task was cancelled while the thread worked
    if error is None:
        answer.set_result(value)
    else:
        answer.set_exception(error)


HANDS = HandOff()  # one pool for the whole process: route handlers, index reads, admin commands
