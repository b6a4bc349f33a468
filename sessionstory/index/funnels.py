"""Funnels: an ordered list of URL patterns; how many sessions reach each step in order."""

from __future__ import annotations

import duckdb
import msgspec

MAX_STEPS = 10


class FunnelStep(msgspec.Struct):
    pattern: str
    sessions: int  # reached this step, having reached every one before it in order
    conversion: float  # share of the first step's sessions
    drop_off: float  # share of the previous step's sessions lost here


def like_pattern(pattern: str) -> str:
    """`/product/*` -> a LIKE pattern matching any URL containing /product/<anything>."""
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_").replace("*", "%")
    return f"%{escaped}%"


def reached_sql(steps: list[str], scope: tuple[str, int, int] | None = None) -> tuple[str, list[object]]:
    """SQL yielding (session_id, step reached), and its parameters. With a `scope` (project id,
    from_ms, to_ms), the first step must fall in that project and time range, and each later
    step only has to follow the step before it."""
    ctes: list[str] = []
    params: list[object] = list(scope) if scope else []
    first = "project_id = ? AND at_ms >= ? AND at_ms < ? AND " if scope else ""
    # A later step comes after the first, so never before the range: said outright, it lets the
    # scans of `pages` skip older row groups (bench.alternatives: 0.6-0.7x the time at 1M sessions).
    later = "p.at_ms >= ? AND " if scope else ""
    for i, pattern in enumerate(steps):
        if i == 0:
            ctes.append(f"s0 AS (SELECT session_id, min(at_ms) AS at FROM pages WHERE {first}"
                        f"url LIKE ? ESCAPE '\\' GROUP BY session_id)")
        else:
            ctes.append(f"s{i} AS (SELECT p.session_id, min(p.at_ms) AS at FROM pages p JOIN s{i - 1} prev "
                        f"ON p.session_id = prev.session_id AND p.at_ms > prev.at "
                        f"WHERE {later}p.url LIKE ? ESCAPE '\\' GROUP BY p.session_id)")
            if scope:
                params.append(scope[1])
        params.append(like_pattern(pattern))
    union = " UNION ALL ".join(f"SELECT session_id, {i + 1} AS step FROM s{i}" for i in range(len(steps)))
    sql = f"WITH {', '.join(ctes)}, reached AS ({union}) SELECT session_id, max(step) AS step FROM reached GROUP BY session_id"
    return sql, params


def funnel(cur: duckdb.DuckDBPyConnection, project_id: str, steps: list[str], from_ms: int, to_ms: int) -> list[FunnelStep]:
    sql, params = reached_sql(steps, (project_id, from_ms, to_ms))
    counts = dict(cur.execute(f"SELECT step, count(*) FROM ({sql}) GROUP BY step", params).fetchall())
    reached = [sum(n for step, n in counts.items() if step >= i + 1) for i in range(len(steps))]
    first = reached[0] if reached else 0
    return [
        FunnelStep(
            pattern=pattern,
            sessions=n,
            conversion=(n / first) if first else 0.0,
            drop_off=(1 - n / reached[i - 1]) if i and reached[i - 1] else 0.0,
        )
        for i, (pattern, n) in enumerate(zip(steps, reached))
    ]
