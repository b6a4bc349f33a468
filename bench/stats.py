"""Timing samples, their percentiles, and plain-text / Markdown tables."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

WARMUPS = 3
REPS = 30


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100): a value that was actually measured."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def p50(samples: list[float]) -> float:
    ordered = sorted(samples)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def p95(samples: list[float]) -> float:
    return percentile(samples, 95)


def timed(fn: Callable[[], object], reps: int = REPS, warmups: int = WARMUPS) -> list[float]:
    """Milliseconds of `reps` calls of fn, after `warmups` untimed ones."""
    for _ in range(warmups):
        fn()
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def table(header: list[str], rows: list[list[str]], markdown: bool = False) -> str:
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    # numbers right-aligned, words left-aligned
    numeric = [i > 0 and all(_numeric(r[i]) for r in rows) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if numeric[i] else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def _numeric(cell: str) -> bool:
    return any(ch.isdigit() for ch in cell) and all(ch.isdigit() or ch in ".,+-×% " for ch in cell) or cell == "—"
