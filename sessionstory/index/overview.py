"""The overview of a project over a date range: volumes, durations, rates, top lists."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import duckdb
import msgspec
import numpy as np

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


def overview(cur: duckdb.DuckDBPyConnection, project_id: str, from_ms: int, to_ms: int, top: int = 10,
             days: SessionDays | None = None) -> Overview:
    """With `days`, the visitors and the duration quantiles of whole days come from what `days`
    kept of them (checked against each day's fingerprint), and only the rest is read."""
    span = [project_id, from_ms, to_ms]
    in_span = "project_id = ? AND started_ms >= ? AND started_ms < ?"
    # Grouped by the day's number, named after: formatting a date per session cost more than the count.
    # Counts add up over days, so the totals' counts come from here too; the last three columns are
    # each day's fingerprint (SessionDays).
    per_day = cur.execute(
        f"""SELECT d, n, e, f, r, strftime(make_timestamp(d * {DAY_MS} * 1000), '%Y-%m-%d'), fp_received, fp_length,
                   fp_events FROM (
                SELECT started_ms // {DAY_MS} AS d, count(*) AS n, count(*) FILTER (WHERE error_count > 0) AS e,
                       count(*) FILTER (WHERE {FRUSTRATION} > 0) AS f,
                       count(*) FILTER (WHERE rage_clicks > 0 OR dead_clicks > 0) AS r,
                       sum(last_received_ms) AS fp_received, sum(ended_ms - started_ms) AS fp_length,
                       sum(event_count) AS fp_events
                FROM sessions WHERE {in_span} GROUP BY d) ORDER BY d""",
        span,
    ).fetchall()
    count = sum(r[1] for r in per_day)
    if days is None:
        # one list of quantiles sorts once (bench.alternatives)
        visitors, quantiles = cur.execute(
            f"""SELECT count(DISTINCT visitor_id), quantile_cont(ended_ms - started_ms, [0.5, 0.9])
                FROM sessions WHERE {in_span}""", span).fetchone()
        median, p90 = quantiles or (None, None)
    else:
        fingerprints = {r[0]: (r[1], r[6], r[7], r[8]) for r in per_day}
        visitors, median, p90 = days.totals(cur, project_id, from_ms, to_ms, fingerprints)
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
        visitors=visitors or 0,
        median_duration_ms=median,
        p90_duration_ms=p90,
        error_rate=(sum(r[2] for r in per_day) / count) if count else 0.0,
        frustration_rate=(sum(r[4] for r in per_day) / count) if count else 0.0,
        per_day=[DayCount(day, n, e, f) for _, n, e, f, _, day, *_ in per_day],
        top_pages=[UrlCount(*r) for r in pages],
        top_exits=[UrlCount(*r) for r in exits],
        top_errors=[TopError(*r) for r in errors],
        slowest_pages=[SlowPage(*r) for r in slow],
    )


Fingerprint = tuple[int, int, int, int]  # sessions, and the sums of last_received_ms, durations, event counts


@dataclass(frozen=True)
class _Sessions:
    """Sessions' durations (sorted) and their visitors' distinct hashes (sorted)."""

    durations: np.ndarray
    visitors: np.ndarray

    @staticmethod
    def of(parts: list[_Sessions]) -> _Sessions:
        if not parts:
            return _Sessions(np.empty(0, np.int64), np.empty(0, np.uint64))
        return _Sessions(np.sort(np.concatenate([p.durations for p in parts])),
                         np.unique(np.concatenate([p.visitors for p in parts])))


class SessionDays:
    """What the overview needs of each whole UTC day's sessions, kept between requests: their
    durations and their visitors. A distinct count and a quantile do not add up over days, and
    computing them over 30 days of sessions was most of the overview's time (bench.queries).

    Nothing is trusted blindly: every request reads each day's fingerprint (its session count and
    the sums of last_received_ms, durations and event counts, in the per-day statement it runs
    anyway), and a day whose fingerprint moved (a late batch, a deleted or erased session) is read
    again. Days are those of a session's start, as in the SQL they stand for. Visitors are told apart
    by a 64-bit hash of their id: two ids collide with a chance of about 1 in 30 million at a million
    visitors, which would count them as one."""

    def __init__(self, max_days: int = 400) -> None:
        self._lock = threading.Lock()
        self._max_days = max_days
        self._days: OrderedDict[tuple[str, int], tuple[Fingerprint, _Sessions]] = OrderedDict()
        self._unions: OrderedDict[tuple[str, tuple[tuple[int, Fingerprint], ...]], _Sessions] = OrderedDict()
        self._index_file: object = None

    def of_index(self, file_id: object) -> SessionDays:
        """Forget everything when the index file is another (a rebuild swaps it in): a fingerprint
        says nothing about rows rewritten from the log."""
        with self._lock:
            if file_id != self._index_file:
                self._days.clear()
                self._unions.clear()
                self._index_file = file_id
        return self

    def totals(self, cur: duckdb.DuckDBPyConnection, project_id: str, from_ms: int, to_ms: int,
               fingerprints: dict[int, Fingerprint]) -> tuple[int, float | None, float | None]:
        """Distinct visitors, median and p90 duration of the sessions started in [from_ms, to_ms)."""
        first, end = -(-from_ms // DAY_MS), to_ms // DAY_MS  # the whole days inside the range: [first, end)
        whole = tuple((d, fingerprints[d]) for d in range(first, end) if d in fingerprints)
        kept = self._union(cur, project_id, whole)
        edges = [(from_ms, min(first * DAY_MS, to_ms))]
        if end >= first:
            edges.append((max(end * DAY_MS, from_ms), to_ms))
        rest = _Sessions.of([_read(cur, project_id, a, b) for a, b in edges if a < b])
        at = np.searchsorted(kept.visitors, rest.visitors)
        seen = at < len(kept.visitors)
        seen[seen] = kept.visitors[at[seen]] == rest.visitors[seen]
        durations = np.concatenate([kept.durations, rest.durations])
        if not len(durations):
            return 0, None, None
        median, p90 = np.quantile(durations, [0.5, 0.9])  # linear, as DuckDB's quantile_cont
        return len(kept.visitors) + int((~seen).sum()), float(median), float(p90)

    def _union(self, cur: duckdb.DuckDBPyConnection, project_id: str,
               whole: tuple[tuple[int, Fingerprint], ...]) -> _Sessions:
        key = (project_id, whole)
        with self._lock:
            if key in self._unions:
                self._unions.move_to_end(key)
                return self._unions[key]
        union = _Sessions.of([self._day(cur, project_id, d, fp) for d, fp in whole])
        with self._lock:
            self._unions[key] = union
            while len(self._unions) > 4:  # a few ranges (7 and 30 days) of a few projects
                self._unions.popitem(last=False)
        return union

    def _day(self, cur: duckdb.DuckDBPyConnection, project_id: str, day: int, fingerprint: Fingerprint) -> _Sessions:
        with self._lock:
            known = self._days.get((project_id, day))
        if known is not None and known[0] == fingerprint:
            return known[1]
        parts = _read(cur, project_id, day * DAY_MS, (day + 1) * DAY_MS)
        with self._lock:
            self._days[(project_id, day)] = (fingerprint, parts)
            self._days.move_to_end((project_id, day))
            while len(self._days) > self._max_days:
                self._days.popitem(last=False)
        return parts


def _read(cur: duckdb.DuckDBPyConnection, project_id: str, from_ms: int, to_ms: int) -> _Sessions:
    got = cur.execute(
        """SELECT ended_ms - started_ms AS duration, hash(visitor_id) AS visitor FROM sessions
           WHERE project_id = ? AND started_ms >= ? AND started_ms < ?""",
        [project_id, from_ms, to_ms],
    ).fetchnumpy()
    return _Sessions(np.sort(np.asarray(got["duration"], np.int64)), np.unique(np.asarray(got["visitor"], np.uint64)))


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
