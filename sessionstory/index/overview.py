"""The overview of a project over a date range: volumes, durations, rates, top lists."""

from __future__ import annotations

import duckdb
import msgspec

from sessionstory.index.filters import FRUSTRATION

DAY_MS = 86_400_000


class DayCount(msgspec.Struct):
    day: str  # YYYY-MM-DD (UTC)
    sessions: int
    with_errors: int
    frustrated: int


class UrlCount(msgspec.Struct):
    url: str
    count: int


class TopError(msgspec.Struct):
    fingerprint: str
    message: str
    occurrences: int
    sessions: int
    last_ms: int


class SlowPage(msgspec.Struct):
    url: str
    samples: int
    lcp_p75: float | None
    inp_p75: float | None
    cls_p75: float | None


class Overview(msgspec.Struct):
    sessions: int
    visitors: int
    median_duration_ms: float | None
    p90_duration_ms: float | None
    error_rate: float  # share of sessions with a JS error
    frustration_rate: float  # share with a rage or dead click
    per_day: list[DayCount]
    top_pages: list[UrlCount]
    top_exits: list[UrlCount]
    top_errors: list[TopError]
    slowest_pages: list[SlowPage]


def overview(cur: duckdb.DuckDBPyConnection, project_id: str, from_ms: int, to_ms: int, top: int = 10) -> Overview:
    span = [project_id, from_ms, to_ms]
    in_span = "project_id = ? AND started_ms >= ? AND started_ms < ?"
    totals = cur.execute(
        f"""SELECT count(*), count(DISTINCT visitor_id),
                   median(ended_ms - started_ms), quantile_cont(ended_ms - started_ms, 0.9),
                   count(*) FILTER (WHERE error_count > 0),
                   count(*) FILTER (WHERE rage_clicks > 0 OR dead_clicks > 0)
            FROM sessions WHERE {in_span}""",
        span,
    ).fetchone()
    count = totals[0] or 0
    per_day = cur.execute(
        f"""SELECT strftime(make_timestamp((started_ms // {DAY_MS}) * {DAY_MS} * 1000), '%Y-%m-%d') AS day,
                   count(*), count(*) FILTER (WHERE error_count > 0), count(*) FILTER (WHERE {FRUSTRATION} > 0)
            FROM sessions WHERE {in_span} GROUP BY day ORDER BY day""",
        span,
    ).fetchall()
    pages = cur.execute(
        f"""SELECT url, count(*) AS n FROM pages WHERE project_id = ? AND at_ms >= ? AND at_ms < ?
            GROUP BY url ORDER BY n DESC, url LIMIT {top}""",
        span,
    ).fetchall()
    exits = cur.execute(
        f"""SELECT exit_url, count(*) AS n FROM sessions WHERE {in_span} AND exit_url IS NOT NULL
            GROUP BY exit_url ORDER BY n DESC, exit_url LIMIT {top}""",
        span,
    ).fetchall()
    errors = cur.execute(
        f"""SELECT fingerprint, arg_max(message, at_ms), count(*), count(DISTINCT session_id), max(at_ms) AS last
            FROM errors WHERE project_id = ? AND at_ms >= ? AND at_ms < ?
            GROUP BY fingerprint ORDER BY count(DISTINCT session_id) DESC, last DESC LIMIT {top}""",
        span,
    ).fetchall()
    slow = cur.execute(
        f"""SELECT url, count(*) AS n,
                   quantile_cont(value, 0.75) FILTER (WHERE name = 'LCP') AS lcp,
                   quantile_cont(value, 0.75) FILTER (WHERE name = 'INP'),
                   quantile_cont(value, 0.75) FILTER (WHERE name = 'CLS')
            FROM vitals WHERE project_id = ? AND at_ms >= ? AND at_ms < ? AND url IS NOT NULL
            GROUP BY url ORDER BY lcp DESC NULLS LAST LIMIT {top}""",
        span,
    ).fetchall()
    return Overview(
        sessions=count,
        visitors=totals[1] or 0,
        median_duration_ms=totals[2],
        p90_duration_ms=totals[3],
        error_rate=(totals[4] / count) if count else 0.0,
        frustration_rate=(totals[5] / count) if count else 0.0,
        per_day=[DayCount(*r) for r in per_day],
        top_pages=[UrlCount(*r) for r in pages],
        top_exits=[UrlCount(*r) for r in exits],
        top_errors=[TopError(*r) for r in errors],
        slowest_pages=[SlowPage(*r) for r in slow],
    )
