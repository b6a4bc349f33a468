"""The hop from the event loop to a worker thread and back, as every index read pays it.

    python -m bench.handoff [--calls 20000] [--rounds 3]

Awaits a call that does nothing, `--calls` times in a row, through `handoff.HandOff.run`
and, as baselines in the same run, `asyncio.to_thread` (a 40-thread ThreadPoolExecutor as
the loop's executor, as the server had) and anyio's `to_thread.run_sync` (litestar's
default). Prints wall time and CPU time (every thread of the process) per call, the median
of the rounds. CPU is the figure that matters on a busy server: the event loop thread is
shared by every request.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

import anyio.to_thread

from sessionstory.handoff import WORKER_THREADS, HandOff


def _nothing() -> None:
    return None


async def _per_call(hop: Callable[[], Awaitable[None]], calls: int) -> tuple[float, float]:
    for _ in range(min(calls, 500)):
        await hop()
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(calls):
        await hop()
    return (time.perf_counter() - wall) / calls * 1e6, (time.process_time() - cpu) / calls * 1e6


async def _measure(calls: int, rounds: int) -> dict[str, list[tuple[float, float]]]:
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=WORKER_THREADS))
    hands = HandOff()
    hops: dict[str, Callable[[], Awaitable[None]]] = {
        "HandOff.run": lambda: hands.run(_nothing),
        "asyncio.to_thread (baseline)": lambda: asyncio.to_thread(_nothing),
        "anyio to_thread.run_sync": lambda: anyio.to_thread.run_sync(_nothing),
    }
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in hops}
    for _ in range(rounds):  # in turns, so a noisy neighbour slows each alike
        for name, hop in hops.items():
            results[name].append(await _per_call(hop, calls))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.handoff", description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    results = asyncio.run(_measure(args.calls, args.rounds))
    base_cpu = statistics.median(cpu for _, cpu in results["asyncio.to_thread (baseline)"])
    print(f"{args.calls} calls × {args.rounds} rounds, load {load:.1f} before, {os.getloadavg()[0]:.1f} after")
    print(f"{'hop':<30} {'wall µs':>8} {'CPU µs':>8} {'CPU / baseline':>15}")
    for name, runs in results.items():
        wall, cpu = statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)
        print(f"{name:<30} {wall:8.1f} {cpu:8.1f} {cpu / base_cpu:14.2f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
