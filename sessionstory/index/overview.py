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
    # grouped by the day's number, named after: formatting a date per session cost more than the count
    per_day = cur.execute(
        f"""SELECT strftime(make_timestamp(d * {DAY_MS} * 1000), '%Y-%m-%d'), n, e, f FROM (
                SELECT started_ms // {DAY_MS} AS d, count(*) AS n, count(*) FILTER (WHERE error_count > 0) AS e,
                       count(*) FILTER (WHERE {FRUSTRATION} > 0) AS f
                FROM sessions WHERE {in_span} GROUP BY d) ORDER BY d""",
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
    slow = _slowest_pages(cur, span, top)
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


def _slowest_pages(cur: duckdb.DuckDBPyConnection, span: list[object], top: int) -> list[tuple[object, ...]]:
    """The pages with the worst p75 LCP, with their INP and CLS. LCP's p75 is computed for every
    URL, INP's and CLS's only for the `top` URLs that come out slowest: three quantiles for
    every URL cost twice as much (bench.alternatives, 1M sessions)."""
    in_span = "project_id = $1 AND at_ms >= $2 AND at_ms < $3 AND url IS NOT NULL"
    rows = cur.execute(
        f"""WITH slow AS (
                SELECT url, quantile_cont(value, 0.75) AS lcp FROM vitals WHERE {in_span} AND name = 'LCP'
                GROUP BY url ORDER BY lcp DESC, url LIMIT {top})
            SELECT url, count(*) AS n, any_value(slow.lcp) AS lcp,
                   quantile_cont(value, 0.75) FILTER (WHERE name = 'INP'),
                   quantile_cont(value, 0.75) FILTER (WHERE name = 'CLS')
            FROM vitals JOIN slow USING (url) WHERE {in_span}
            GROUP BY url ORDER BY lcp DESC, url""",
        span,
    ).fetchall()
    if len(rows) == top:
        return rows
    # Fewer URLs with an LCP than places: the rest are filled with URLs that have none, as before.
    return cur.execute(
        f"""SELECT url, count(*) AS n,
                   quantile_cont(value, 0.75) FILTER (WHERE name = 'LCP') AS lcp,
                   quantile_cont(value, 0.75) FILTER (WHERE name = 'INP'),
                   quantile_cont(value, 0.75) FILTER (WHERE name = 'CLS')
            FROM vitals WHERE {in_span}
            GROUP BY url ORDER BY lcp DESC NULLS LAST, url LIMIT {top}""",
        span,
    ).fetchall()
