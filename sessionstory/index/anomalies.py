"""The figures a project's baselines are made of: per day and per page, read-only SQL over
the existing tables. Judging what deviates is `insights.anomalies`' job."""

from __future__ import annotations

import duckdb
import msgspec

DAY_MS = 86_400_000


class DayRow(msgspec.Struct):
    day_ms: int  # the UTC day's first millisecond
    sessions: int
    error_sessions: int
    rage_sessions: int
    dead_sessions: int
    median_duration_ms: float | None
    lcp_p75: float | None
    inp_p75: float | None


class PageRow(msgspec.Struct):
    url: str
    sessions: int  # sessions that viewed the page
    error_sessions: int  # ... and had an error on it
    rage_sessions: int
    dead_sessions: int
    rage_clicks: int
    dead_clicks: int
    lcp_p75: float | None
    inp_p75: float | None


def day_rows(cur: duckdb.DuckDBPyConnection, project_id: str, from_ms: int, to_ms: int) -> list[DayRow]:
    """One row per UTC day with sessions, oldest first."""
    rows = cur.execute(
        f"""WITH s AS (
                SELECT started_ms // {DAY_MS} AS d, count(*) AS n,
                       count(*) FILTER (WHERE error_count > 0) AS e,
                       count(*) FILTER (WHERE rage_clicks > 0) AS r,
                       count(*) FILTER (WHERE dead_clicks > 0) AS k,
                       median(ended_ms - started_ms) AS dur
                FROM sessions WHERE project_id = $1 AND started_ms >= $2 AND started_ms < $3 GROUP BY d),
            v AS (
                SELECT at_ms // {DAY_MS} AS d,
                       quantile_cont(value, 0.75) FILTER (WHERE name = 'LCP') AS lcp,
                       quantile_cont(value, 0.75) FILTER (WHERE name = 'INP') AS inp
                FROM vitals WHERE project_id = $1 AND at_ms >= $2 AND at_ms < $3 AND name IN ('LCP', 'INP')
                GROUP BY d)
            SELECT s.d * {DAY_MS}, s.n, s.e, s.r, s.k, s.dur, v.lcp, v.inp
            FROM s LEFT JOIN v USING (d) ORDER BY s.d""",
        [project_id, from_ms, to_ms],
    ).fetchall()
    return [DayRow(*r) for r in rows]


def page_rows(cur: duckdb.DuckDBPyConnection, project_id: str, from_ms: int, to_ms: int,
              min_sessions: int = 1, limit: int = 500) -> list[PageRow]:
    """The most visited pages (at least `min_sessions` sessions), with their trouble."""
    span = "project_id = $1 AND at_ms >= $2 AND at_ms < $3 AND url IS NOT NULL"
    rows = cur.execute(
        f"""WITH visits AS (
                SELECT url, count(DISTINCT session_id) AS n FROM pages WHERE {span}
                GROUP BY url HAVING count(DISTINCT session_id) >= $4 ORDER BY n DESC, url LIMIT {int(limit)}),
            errs AS (
                SELECT url, count(DISTINCT session_id) AS n FROM errors WHERE {span} GROUP BY url),
            clicks AS (
                SELECT url, count(DISTINCT session_id) FILTER (WHERE kind = 'rage_click') AS rs,
                       count(DISTINCT session_id) FILTER (WHERE kind = 'dead_click') AS ds,
                       count(*) FILTER (WHERE kind = 'rage_click') AS rc,
                       count(*) FILTER (WHERE kind = 'dead_click') AS dc
                FROM interactions WHERE {span} AND kind IN ('rage_click', 'dead_click') GROUP BY url),
            vit AS (
                SELECT url, quantile_cont(value, 0.75) FILTER (WHERE name = 'LCP') AS lcp,
                       quantile_cont(value, 0.75) FILTER (WHERE name = 'INP') AS inp
                FROM vitals WHERE {span} AND name IN ('LCP', 'INP') GROUP BY url)
            SELECT visits.url, visits.n, coalesce(errs.n, 0), coalesce(clicks.rs, 0), coalesce(clicks.ds, 0),
                   coalesce(clicks.rc, 0), coalesce(clicks.dc, 0), vit.lcp, vit.inp
            FROM visits LEFT JOIN errs USING (url) LEFT JOIN clicks USING (url) LEFT JOIN vit USING (url)
            ORDER BY visits.n DESC, visits.url""",
        [project_id, from_ms, to_ms, min_sessions],
    ).fetchall()
    return [PageRow(*r) for r in rows]
