"""The hop from the event loop to worker threads (handoff.HandOff)."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from sessionstory.handoff import HandOff

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="none")


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    # On a fresh thread: in the whole suite Playwright's sync API leaves a loop running on this one.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result(timeout=30)


def test_the_answer_and_the_error_come_back_to_the_caller() -> None:
    hands = HandOff()

    async def calls() -> tuple[int, str]:
        total = await hands.run(sum, [1, 2, 3])
        with pytest.raises(ZeroDivisionError):
            await hands.run(lambda: 1 / 0)
        return total, await hands.run(lambda: threading.current_thread().name)

    total, thread = run(calls())
    assert total == 6
    assert thread.startswith("handoff-")


def test_the_callers_context_variables_are_seen_in_the_thread() -> None:
    hands = HandOff()

    async def call() -> str:
        REQUEST_ID.set("r-42")
        return await hands.run(REQUEST_ID.get)

    assert run(call()) == "r-42"


def test_a_slow_call_does_not_hold_up_the_next_one() -> None:
    hands = HandOff()
    release = threading.Event()

    async def calls() -> float:
        slow = asyncio.ensure_future(hands.run(release.wait, 10))
        await asyncio.sleep(0.05)  # the slow call holds the only thread started so far
        start = time.monotonic()
        await hands.run(int, "7")
        took = time.monotonic() - start
        release.set()
        await slow
        return took

    assert run(calls()) < 1


def test_at_the_limit_calls_wait_for_a_free_thread_and_all_are_answered() -> None:
    hands = HandOff(limit=2)
    running = []
    gate = threading.Semaphore(0)

    def job(n: int) -> int:
        running.append(n)
        gate.acquire(timeout=10)
        return n

    async def calls() -> list[int]:
        jobs = [asyncio.ensure_future(hands.run(job, n)) for n in range(5)]
        await asyncio.sleep(0.2)
        assert len(running) == 2  # two threads, three calls queued
        for _ in range(5):
            gate.release()
        return await asyncio.gather(*jobs)

    assert run(calls()) == [0, 1, 2, 3, 4]
    assert len(hands._threads) == 2

    async def two_more() -> list[int]:
        return await asyncio.gather(hands.run(int, "1"), hands.run(int, "2"))

    # Every thread is free again, and counted so: two calls start no third thread.
    assert run(two_more()) == [1, 2]
    assert len(hands._threads) == 2


def test_a_caller_that_left_does_not_break_the_thread() -> None:
    hands = HandOff(limit=1)
    release = threading.Event()

    async def calls() -> int:
        slow = asyncio.ensure_future(hands.run(release.wait, 10))
        await asyncio.sleep(0.05)
        slow.cancel()  # the client went away while its handler ran
        release.set()
        return await asyncio.wait_for(hands.run(int, "3"), 5)

    assert run(calls()) == 3
