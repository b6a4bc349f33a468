"""The overview of a project over a date range: volumes, durations, rates, top lists."""

from __future__ import annotations

import bisect
import heapq
import itertools
import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import duckdb
import msgspec
import numpy as np

from sessionstory.index.database import one_row
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


SlowRow = tuple[str, int, float | None, float | None, float | None]  # a SlowPage as the index answers it


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
             days: KeptDays | KeptOfIndex | None = None) -> Overview:
    """With `days`, what does not add up over days (visitors, duration quantiles, the slowest
    pages) comes from what `days` kept of whole days, checked against their fingerprints, and the
    rest is read: the same figures, sooner."""
    span = [project_id, from_ms, to_ms]
    in_span = "project_id = ? AND started_ms >= ? AND started_ms < ?"
    # Grouped by the day's number, named after: formatting a date per session cost more than the count.
    # Counts add up over days, so the totals' counts come from here too; the last three columns are
    # each day's fingerprint (KeptDays).
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
        visitors, quantiles = one_row(cur.execute(
            f"""SELECT count(DISTINCT visitor_id), quantile_cont(ended_ms - started_ms, [0.5, 0.9])
                FROM sessions WHERE {in_span}""", span))
        median, p90 = quantiles or (None, None)
    else:
        started = {r[0]: (r[1], r[6], r[7], r[8]) for r in per_day}
        visitors, median, p90 = _session_totals(cur, days, project_id, from_ms, to_ms, started)
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
    slow = _slowest_pages(cur, span, top) if days is None else _kept_slowest_pages(cur, days, span, top, started)
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
P = TypeVar("P")
U = TypeVar("U")


class KeptDays:
    """What the overview needs of whole UTC days, kept between requests: the durations and the
    visitors of the sessions started each day, and each day's LCP values by page. A distinct count
    and a quantile do not add up over days, and computing them over 30 days was most of the
    overview's time (bench.queries).

    Nothing is trusted blindly. Every request reads each day's fingerprint: the session count and
    the sums of last_received_ms, durations and event counts, of the sessions started that day (in
    the per-day statement it runs anyway) or, for the vitals of a day, of the sessions that were
    open during it (a fact lies between its session's first and last event). A late batch, a
    deleted or erased session moves it, and that day is read again. A swapped index file (a
    rebuild, a redaction) empties everything."""

    def __init__(self, max_days: int = 800) -> None:
        self._lock = threading.Lock()
        self._max_days = max_days
        self._days: OrderedDict[tuple[str, str, int], tuple[Fingerprint, Any]] = OrderedDict()
        self._unions: OrderedDict[tuple[str, str, tuple[tuple[int, Fingerprint], ...]], Any] = OrderedDict()
        self._index_file: object = None
        self._generation = 0  # of the index file: what a request read from another one is not kept

    def of_index(self, file_id: object) -> KeptOfIndex:
        """What is kept for the index file in place; everything is forgotten when it is another:
        a fingerprint says nothing about rows rewritten from the log."""
        with self._lock:
            if file_id != self._index_file:
                self._days.clear()
                self._unions.clear()
                self._index_file = file_id
                self._generation += 1
            return KeptOfIndex(self, self._generation)

    def union(self, kind: str, project_id: str, whole: tuple[tuple[int, Fingerprint], ...],
              read_day: Callable[[int], P], combine: Callable[[list[P]], U], generation: int | None = None) -> U:
        """`combine` of each whole day's part, each read again when its fingerprint moved."""
        key = (kind, project_id, whole)
        with self._lock:
            if key in self._unions:
                self._unions.move_to_end(key)
                return self._unions[key]  # type: ignore[no-any-return]
        union = combine([self._day(kind, project_id, day, fp, read_day, generation) for day, fp in whole])
        self._keep(self._unions, key, union, 8, generation)  # a few ranges (7 and 30 days) of a few projects
        return union

    def _day(self, kind: str, project_id: str, day: int, fingerprint: Fingerprint, read_day: Callable[[int], P],
             generation: int | None) -> P:
        key = (kind, project_id, day)
        with self._lock:
            known = self._days.get(key)
        if known is not None and known[0] == fingerprint:
            return known[1]  # type: ignore[no-any-return]
        part = read_day(day)
        self._keep(self._days, key, (fingerprint, part), self._max_days, generation)
        return part

    def _keep(self, into: OrderedDict[Any, Any], key: Any, value: Any, most: int, generation: int | None) -> None:
        with self._lock:
            if generation is not None and generation != self._generation:
                return  # read while the index file was swapped under this request
            into[key] = value
            into.move_to_end(key)
            while len(into) > most:
                into.popitem(last=False)


@dataclass(frozen=True)
class KeptOfIndex:
    """KeptDays as one request sees it: nothing it reads is kept once the index file changed."""

    kept: KeptDays
    generation: int

    def union(self, kind: str, project_id: str, whole: tuple[tuple[int, Fingerprint], ...],
              read_day: Callable[[int], P], combine: Callable[[list[P]], U]) -> U:
        return self.kept.union(kind, project_id, whole, read_day, combine, self.generation)


def _whole_days(from_ms: int, to_ms: int) -> tuple[range, list[tuple[int, int]]]:
    """The whole UTC days inside [from_ms, to_ms), and the edges around them, read every time."""
    first, end = -(-from_ms // DAY_MS), to_ms // DAY_MS
    if end <= first:
        return range(0), [(from_ms, to_ms)]
    edges = [(from_ms, first * DAY_MS), (end * DAY_MS, to_ms)]
    return range(first, end), [(a, b) for a, b in edges if a < b]


# -- sessions: visitors and durations ---------------------------------------------------


@dataclass(frozen=True)
class _Sessions:
    """Sessions' durations and their visitors' distinct hashes (sorted). A day's durations as read;
    sorted once parts are combined (`of`), which is what `_quantile` reads."""

    durations: np.ndarray
    visitors: np.ndarray

    @staticmethod
    def of(parts: list[_Sessions]) -> _Sessions:
        if not parts:
            return _Sessions(np.empty(0, np.int64), np.empty(0, np.uint64))
        return _Sessions(np.sort(np.concatenate([p.durations for p in parts])),
                         _distinct(np.concatenate([p.visitors for p in parts])))


def _distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted. np.unique hashes 64-bit integers since numpy 2.3, which is
    10-20 times slower than sorting them (4 against 0.4 ms for 30,000 values)."""
    if not len(values):
        return values
    ordered = np.sort(values)
    first = np.empty(len(ordered), bool)
    first[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    return ordered[first]


def _session_totals(cur: duckdb.DuckDBPyConnection, days: KeptDays | KeptOfIndex, project_id: str, from_ms: int, to_ms: int,
                    started: dict[int, Fingerprint]) -> tuple[int, float | None, float | None]:
    """Distinct visitors, median and p90 duration of the sessions started in [from_ms, to_ms).
    Visitors are told apart by a 64-bit hash of their id: two ids collide with a chance of about
    1 in 30 million at a million visitors, which would count them as one."""
    whole, edges = _whole_days(from_ms, to_ms)
    kept = days.union("sessions", project_id, tuple((d, started[d]) for d in whole if d in started),
                      lambda d: _read_sessions(cur, project_id, d * DAY_MS, (d + 1) * DAY_MS), _Sessions.of)
    rest = _Sessions.of([_read_sessions(cur, project_id, a, b) for a, b in edges])
    at = np.searchsorted(kept.visitors, rest.visitors)
    seen = at < len(kept.visitors)
    seen[seen] = kept.visitors[at[seen]] == rest.visitors[seen]
    if not len(kept.durations) + len(rest.durations):
        return 0, None, None
    median, p90 = (_quantile(kept.durations, rest.durations, q) for q in (0.5, 0.9))
    return len(kept.visitors) + int((~seen).sum()), median, p90


def _quantile(a: np.ndarray, b: np.ndarray, q: float) -> float:
    """np.quantile(np.concatenate([a, b]), q) of two sorted arrays, without concatenating or
    partitioning them (the kept days' durations are many, and sorted once when kept): linear, as
    DuckDB's quantile_cont, interpolated the way numpy does it, so the figures are the same to the bit."""
    position = (len(a) + len(b) - 1) * q
    below = math.floor(position)
    low, high = _kth(a, b, below), _kth(a, b, min(below + 1, len(a) + len(b) - 1))
    t, diff = position - below, high - low
    return float(low + diff * t) if t < 0.5 else float(high - diff * (1 - t))


def _kth(a: np.ndarray, b: np.ndarray, k: int) -> Any:
    """The k-th smallest (from 0) of two sorted arrays together, in O(log n): the k + 1 smallest
    are the `taken` smallest of `a` and the rest of `b`, for the least `taken` where a[taken] is
    not below the value of `b` it would displace."""
    lo, hi = max(0, k + 1 - len(b)), min(k + 1, len(a))
    while lo < hi:
        taken = (lo + hi) // 2
        if a[taken] < b[k - taken]:
            lo = taken + 1
        else:
            hi = taken
    # The k + 1 smallest are a[:lo] and b[:k + 1 - lo]: the k-th is the larger of their last values.
    last_of_a = [a[lo - 1]] if lo else []
    last_of_b = [b[k - lo]] if k - lo >= 0 else []
    return max(last_of_a + last_of_b)


def _read_sessions(cur: duckdb.DuckDBPyConnection, project_id: str, from_ms: int, to_ms: int) -> _Sessions:
    got = cur.execute(
        """SELECT ended_ms - started_ms AS duration, hash(visitor_id) AS visitor FROM sessions
           WHERE project_id = ? AND started_ms >= ? AND started_ms < ?""",
        [project_id, from_ms, to_ms],
    ).fetchnumpy()
    return _Sessions(np.asarray(got["duration"], np.int64), _distinct(np.asarray(got["visitor"], np.uint64)))


# -- vitals: the slowest pages -----------------------------------------------------------

Lcp = dict[str, np.ndarray]  # page URL -> its LCP values, sorted
Bounds = dict[str, tuple[float, float]]  # page URL -> the values just below and above its p75 position
P75 = 0.75


def _kept_slowest_pages(cur: duckdb.DuckDBPyConnection, days: KeptDays | KeptOfIndex, span: list[Any], top: int,
                        started: dict[int, Fingerprint]) -> list[SlowRow]:
    """The same rows as _slowest_pages. In each part (the kept whole days together, each edge read
    now) the values just below and above a page's p75 position bound it; the p75 of the union lies
    between the lowest and the highest of those (interpolated, as quantile_cont). Only the pages
    whose upper bound reaches the `top`-th lower bound may be among the slowest: those are
    computed in SQL, as before, and the rest of the vitals are never grouped."""
    project_id, from_ms, to_ms = span
    whole, edges = _whole_days(from_ms, to_ms)
    open_days = _open_sessions(cur, project_id, whole, started)
    kept = days.union("lcp", project_id, tuple((d, open_days[d]) for d in whole),
                      lambda d: _read_lcp(cur, project_id, d * DAY_MS, (d + 1) * DAY_MS), _RankedBounds.of)
    moved = _edge_bounds(cur, project_id, edges, kept.bounds)
    if len(kept.bounds) + sum(url not in kept.bounds for url in moved) < top:
        return _slowest_pages(cur, span, top)  # fewer pages with an LCP than places: the statement that fills them
    # The top-th lower bound is among the pages the edges moved and the first `top` of the others.
    unmoved = itertools.islice((url for url in kept.by_low if url not in moved), top)
    floor = heapq.nlargest(top, [*(low for low, _ in moved.values()), *(kept.bounds[url][0] for url in unmoved)])[-1]
    reaching = kept.by_high[:bisect.bisect_right(kept.negated_highs, -floor)]
    candidates = sorted({*(url for url in reaching if url not in moved),
                         *(url for url, (_, high) in moved.items() if high >= floor)})
    return cur.execute(
        f"""SELECT url, count(*) AS n, quantile_cont(value, {P75}) FILTER (WHERE name = 'LCP') AS lcp,
                   quantile_cont(value, {P75}) FILTER (WHERE name = 'INP'),
                   quantile_cont(value, {P75}) FILTER (WHERE name = 'CLS')
            FROM vitals WHERE project_id = ? AND at_ms >= ? AND at_ms < ? AND list_contains(?::VARCHAR[], url)
            GROUP BY url ORDER BY lcp DESC, url LIMIT {top}""",
        [*span, candidates],
    ).fetchall()


def _union_bounds(parts: list[Lcp]) -> Bounds:
    gathered: dict[str, list[np.ndarray]] = {}
    for part in parts:
        for url, values in part.items():
            gathered.setdefault(url, []).append(values)
    bounds = {}
    for url, arrays in gathered.items():
        values = arrays[0] if len(arrays) == 1 else np.sort(np.concatenate(arrays))
        position = P75 * (len(values) - 1)
        bounds[url] = (float(values[math.floor(position)]), float(values[math.ceil(position)]))
    return bounds


@dataclass(frozen=True)
class _RankedBounds:
    """The kept days' bounds, ranked once when kept, so that a request looks only at the top of
    them and at the pages its edges moved, not at every page (tens of thousands)."""

    bounds: Bounds
    by_low: list[str]  # URLs, the highest lower bound first
    by_high: list[str]  # URLs, the highest upper bound first
    negated_highs: list[float]  # their upper bounds, negated: ascending, for bisect

    @staticmethod
    def of(parts: list[Lcp]) -> _RankedBounds:
        bounds = _union_bounds(parts)
        by_high = sorted(bounds, key=lambda url: bounds[url][1], reverse=True)
        return _RankedBounds(bounds, sorted(bounds, key=lambda url: bounds[url][0], reverse=True), by_high,
                             [-bounds[url][1] for url in by_high])


def _edge_bounds(cur: duckdb.DuckDBPyConnection, project_id: str, edges: list[tuple[int, int]], kept: Bounds) -> Bounds:
    """The bounds of the pages with an LCP in the edges read now, widened by what was kept of them."""
    moved: Bounds = {}
    for a, b in edges:
        for url, low, high in _read_lcp_bounds(cur, project_id, a, b):
            known = moved.get(url) or kept.get(url)
            moved[url] = (low, high) if known is None else (min(known[0], low), max(known[1], high))
    return moved


def _read_lcp_bounds(cur: duckdb.DuckDBPyConnection, project_id: str, from_ms: int, to_ms: int) -> list[tuple[str, float, float]]:
    """Each page's values just below and above its p75 position in [from_ms, to_ms)."""
    return cur.execute(
        f"""SELECT url, v[CAST(floor({P75} * (len(v) - 1)) AS BIGINT) + 1], v[CAST(ceil({P75} * (len(v) - 1)) AS BIGINT) + 1]
            FROM (SELECT url, list(value ORDER BY value) AS v FROM vitals
                  WHERE project_id = ? AND at_ms >= ? AND at_ms < ? AND url IS NOT NULL AND name = 'LCP' GROUP BY url)""",
        [project_id, from_ms, to_ms],
    ).fetchall()


def _open_sessions(cur: duckdb.DuckDBPyConnection, project_id: str, whole: range,
                   started: dict[int, Fingerprint]) -> dict[int, Fingerprint]:
    """Each whole day's fingerprint over the sessions open during it: those started that day, and
    those started before that ran into it (few: a session rarely spans midnight)."""
    prints = {d: started.get(d, (0, 0, 0, 0)) for d in whole}
    if not whole:
        return prints
    spanning = cur.execute(
        f"""SELECT started_ms // {DAY_MS}, ended_ms // {DAY_MS}, last_received_ms, ended_ms - started_ms, event_count
            FROM sessions WHERE project_id = ? AND ended_ms >= ? AND started_ms < ?
              AND ended_ms // {DAY_MS} > started_ms // {DAY_MS}""",
        [project_id, whole.start * DAY_MS, whole.stop * DAY_MS],
    ).fetchall()
    for first, last, received, length, events in spanning:
        for d in range(max(first + 1, whole.start), min(last + 1, whole.stop)):
            n, a, b, c = prints[d]
            prints[d] = (n + 1, a + received, b + length, c + events)
    return prints


def _read_lcp(cur: duckdb.DuckDBPyConnection, project_id: str, from_ms: int, to_ms: int) -> Lcp:
    rows = cur.execute(
        """SELECT url, list(value ORDER BY value) FROM vitals
           WHERE project_id = ? AND at_ms >= ? AND at_ms < ? AND url IS NOT NULL AND name = 'LCP' GROUP BY url""",
        [project_id, from_ms, to_ms],
    ).fetchall()
    return {url: np.array(values, np.float64) for url, values in rows}


def _slowest_pages(cur: duckdb.DuckDBPyConnection, span: list[object], top: int) -> list[SlowRow]:
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
