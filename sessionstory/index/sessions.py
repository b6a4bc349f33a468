"""Queries over recorded sessions: the filtered list, one session, its records, deletion."""

from __future__ import annotations

import base64
import binascii
import functools
import json
from datetime import datetime, timedelta
from typing import Any

import duckdb
import msgspec

from sessionstory.index.database import one_row
from sessionstory.index.filters import CLOCK_SKEW_MS, LIVE_WINDOW_MS, SORT_KEYS, SessionFilter, where_clauses
from sessionstory.store import Location


class SessionItem(msgspec.Struct):
    """A session in a list: its scalar facts (CONTRACT.md)."""

    id: str
    project_id: str
    visitor_id: str
    user_id: str | None
    started_at: str
    ended_at: str
    duration_ms: int
    active_ms: int
    event_count: int
    page_count: int
    entry_url: str | None
    exit_url: str | None
    referrer: str | None
    clicks: int
    rage_clicks: int
    dead_clicks: int
    error_clicks: int
    thrashed_cursor: int
    quick_backs: int
    excessive_scrolls: int
    error_count: int
    console_errors: int
    network_errors: int
    browser: str | None
    os: str | None
    device: str | None
    country: str | None
    user_agent: str | None
    live: bool


class PageVisit(msgspec.Struct):
    url: str
    title: str | None
    at: str
    offset_ms: int  # from the session's first event: `?t=` for the player


class ErrorItem(msgspec.Struct):
    message: str
    stack: str | None
    at: str
    offset_ms: int


class Vitals(msgspec.Struct):
    lcp: float | None
    inp: float | None
    cls: float | None
    fcp: float | None
    ttfb: float | None


class SessionDetail(SessionItem):
    ip: str | None = None  # truncated, where the project keeps it; else null
    pages: list[PageVisit] = []
    errors: list[ErrorItem] = []
    vitals: Vitals | None = None
    event_names: list[str] = []


class Page(msgspec.Struct):
    items: list[SessionItem]
    next_cursor: str | None
    total: int
    total_exact: bool = True  # False: a text search counted up to TOTAL_CAP matches, and there are more


_ITEM_COLUMNS = (
    "id, project_id, visitor_id, user_id, started_ms, ended_ms, active_ms, event_count, page_count, entry_url, "
    "exit_url, referrer, clicks, rage_clicks, dead_clicks, error_clicks, thrashed_cursor, quick_backs, "
    "excessive_scrolls, error_count, console_errors, network_errors, browser, os, device, country, user_agent, "
    "last_received_ms"
)


_EPOCH = datetime(1970, 1, 1)
_DAY_MS = 86_400_000
_TWO_DIGITS = [f"{n:02}" for n in range(60)]
_THREE_DIGITS = [f"{n:03}" for n in range(1000)]


def iso(ms: int) -> str:
    """`ms` as ISO 8601 UTC with milliseconds and a Z. A page of the list makes 100 of them: the
    day from a cache and the time from integer arithmetic and ready digits take 0.9 µs each, a
    datetime's isoformat 1.6 (it was a tenth of the list route's own work in py-spy's samples)."""
    day, rest = divmod(ms, _DAY_MS)
    seconds, milli = divmod(rest, 1000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return f"{_date(day)}T{_TWO_DIGITS[hour]}:{_TWO_DIGITS[minute]}:{_TWO_DIGITS[second]}.{_THREE_DIGITS[milli]}Z"


@functools.lru_cache(maxsize=4096)
def _date(day: int) -> str:
    return (_EPOCH + timedelta(days=day)).date().isoformat()


_COLUMN_NAMES = [c.strip() for c in _ITEM_COLUMNS.split(",")]
_STARTED, _ENDED, _LAST = (_COLUMN_NAMES.index(c) for c in ("started_ms", "ended_ms", "last_received_ms"))


def _item(r: tuple[Any, ...], now_ms: int) -> SessionItem:
    """A row that starts with _ITEM_COLUMNS (what follows them is not read) as a SessionItem. Built
    from slices of the row, not from an unpacked copy of it: 50 rows 245 -> 203 µs (load 7.6)."""
    started, ended = r[_STARTED], r[_ENDED]
    live = now_ms - r[_LAST] < LIVE_WINDOW_MS and now_ms - ended < LIVE_WINDOW_MS + CLOCK_SKEW_MS
    # mypy miscounts the arguments the unpacked slices give
    return SessionItem(*r[:_STARTED], iso(started), iso(ended), ended - started,  # type: ignore[call-arg]
                       *r[_ENDED + 1:_LAST], live)


class CursorError(ValueError):
    pass


def encode_cursor(sort: str, value: Any, session_id: str, total: int | None = None, exact: bool = True) -> str:
    """The last row's sort key and id; and the first page's total, so later pages need not count again
    (followed by `false` when that total is a lower bound)."""
    fields = [sort, value, session_id] + ([total] if total is not None else []) + ([] if exact else [False])
    return base64.urlsafe_b64encode(json.dumps(fields).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tuple[Any, str, int | None, bool]:
    try:
        got_sort, value, session_id, *rest = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, TypeError, UnicodeDecodeError):
        raise CursorError("invalid cursor") from None
    total = rest[0] if rest else None
    if len(rest) > 2 or (rest and (type(total) is not int or total < 0)) or (len(rest) == 2 and rest[1] is not False):
        raise CursorError("invalid cursor")
    if got_sort != sort or not isinstance(session_id, str) or not isinstance(value, int | float):
        raise CursorError("the cursor belongs to another sort order; start from the first page")
    return value, session_id, total, len(rest) < 2


NEWEST_WINDOWS_MS = (3_600_000, 12 * 3_600_000, 6 * 86_400_000)  # then the whole table
# A text search (`url`, `q`) reads every session's text to count its matches exactly (~220 ms at 1M
# sessions); counted up to this many, it stops at the 1,000th match and says "1,000+".
TOTAL_CAP = 1_000


def list_sessions(
    cur: duckdb.DuckDBPyConnection, project_ids: list[str], f: SessionFilter, limit: int, cursor: str | None,
    now_ms: int, exact_total: bool = False, total_cap: int = TOTAL_CAP,
) -> Page:
    """Keyset-paginated on (sort key, id), so page N costs what page 1 does. A text search (`url`,
    `q`) reads every session's text to count: its page comes first, and its total is counted only
    when the page does not hold every match, and only up to `total_cap` unless `exact_total`."""
    where, params = _matching(project_ids, f, now_ms)
    key, direction = SORT_KEYS[f.sort]
    value, session_id, total, exact = decode_cursor(cursor, f.sort) if cursor else (None, "", None, True)
    newest = value if cursor else min(now_ms, f.to_ms if f.to_ms is not None else now_ms)
    capped = bool(f.url or f.q) and not exact_total
    if total is None and not capped:
        # Without a text search the exact count is cheap, and the same scan finds the newest match:
        # the windows start there, not at a "now" the data may be far from.
        total, newest_match = one_row(cur.execute(
            f"SELECT count(*), max(started_ms) FROM sessions WHERE {' AND '.join(where)}", params))
        if not cursor:
            newest = newest_match
    if cursor:
        after = "<" if direction == "DESC" else ">"
        # The bare bound on the key is implied by the row comparison, but only it lets the scan skip
        # row groups by their min/max (bench.alternatives: a page half-way down 80 -> 23 ms at 1M).
        where.append(f"{key} {after}= ? AND ({key}, id) {after} (?, ?)")
        params += [value, value, session_id]
    rows = None
    if f.sort == "newest" and newest is not None and (total is None or total > limit):
        rows = _newest_first(cur, where, params, limit, newest, f)
    if rows is None:
        rows = _page(cur, key, direction, where, params, limit)
    if total is None and not cursor and len(rows) <= limit:
        total = len(rows)  # the page holds every match: nothing to count
    elif total is None:
        total, exact = count_sessions(cur, project_ids, f, now_ms, total_cap if capped else None)
    items = [_item(r, now_ms) for r in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        next_cursor = encode_cursor(f.sort, rows[limit - 1][-1], rows[limit - 1][0], total, exact)
    return Page(items=items, next_cursor=next_cursor, total=total, total_exact=exact)


class Neighbours(msgspec.Struct):
    """The sessions listed just before and just after one, in a filtered and sorted list."""

    previous: str | None = None
    next: str | None = None


def neighbour_sessions(cur: duckdb.DuckDBPyConnection, project_ids: list[str], f: SessionFilter, session_id: str,
                       now_ms: int) -> Neighbours:
    """Where `session_id` sits in the list `f` filters and sorts, its neighbours there: keyset on (sort key, id)
    as the list's pages are, so the session need not match the filters itself (a viewer steps on from it all
    the same). Sorted by time, the nearest windows are looked in first, as the list's first page does."""
    key, direction = SORT_KEYS[f.sort]
    found = cur.execute(f"SELECT {key} FROM sessions WHERE id = ?", [session_id]).fetchone()
    if found is None:
        return Neighbours()
    where, params = _matching(project_ids, f, now_ms)
    windows = NEWEST_WINDOWS_MS if key == "started_ms" else ()
    # A list sorted DESC runs from the greatest key down: the session above is on the greater side.
    above, below = (">", "<") if direction == "DESC" else ("<", ">")
    return Neighbours(previous=_nearest(cur, key, above, found[0], session_id, where, params, windows),
                      next=_nearest(cur, key, below, found[0], session_id, where, params, windows))


def _nearest(cur: duckdb.DuckDBPyConnection, key: str, side: str, value: Any, session_id: str, where: list[str],
             params: list[object], windows: tuple[int, ...]) -> str | None:
    """The session nearest to (value, session_id) on `side` ("<" or ">") of it in (key, id) order: within each
    window (that many of the key's units away) first, then in the whole table."""
    order = "ASC" if side == ">" else "DESC"
    bound = [*where, f"{key} {side}= ?", f"({key}, id) {side} (?, ?)"]
    for span in (*windows, None):
        far = [] if span is None else [f"{key} {'<=' if side == '>' else '>='} ?"]
        edge = [] if span is None else [value + span if side == ">" else value - span]
        row = cur.execute(f"SELECT id FROM sessions WHERE {' AND '.join(bound + far)} "
                          f"ORDER BY {key} {order}, id {order} LIMIT 1", [*params, value, value, session_id, *edge]).fetchone()
        if row is not None:
            return str(row[0])
    return None


def _matching(project_ids: list[str], f: SessionFilter, now_ms: int) -> tuple[list[str], list[object]]:
    where, params = where_clauses(f, now_ms)
    # list_contains, not IN (SELECT unnest(...)): a semi join stops DuckDB from cutting the
    # ORDER BY ... LIMIT short (bench.alternatives: 234 ms -> 19 ms at 1M sessions).
    return ["list_contains(?::VARCHAR[], project_id)", *where], [project_ids, *params]


def _page(cur: duckdb.DuckDBPyConnection, key: str, direction: str, where: list[str], params: list[object],
          limit: int) -> list[tuple[Any, ...]]:
    """One more row than the page, to know whether another page follows."""
    return cur.execute(
        f"SELECT {_ITEM_COLUMNS}, {key} AS sort_key FROM sessions WHERE {' AND '.join(where)} "
        f"ORDER BY {key} {direction}, id {direction} LIMIT ?",
        [*params, limit + 1],
    ).fetchall()


def _newest_first(cur: duckdb.DuckDBPyConnection, where: list[str], params: list[object], limit: int,
                  newest: int, f: SessionFilter) -> list[tuple[Any, ...]] | None:
    """Rows are stored about in time order and DuckDB reads the oldest first, so a top-N over the
    whole table reads most of it before its bound tightens. Looking within an hour of the newest
    match (found by the count; else now or `to`) or of the cursor first, then 12 hours, then 6 days,
    reads only the newest row groups (an empty window costs only their min/max). A window has no
    upper end, so sessions stamped ahead of the server's clock are in all of them. A window holding
    more than `limit` matches holds the newest of them all: the page is the same. None: the whole table."""
    for span in NEWEST_WINDOWS_MS:
        lower = newest - span
        rows = _page(cur, "started_ms", "DESC", [*where, "started_ms >= ?"], [*params, lower], limit)
        if len(rows) > limit or (f.from_ms is not None and lower <= f.from_ms):
            return rows
    return None


def count_sessions(cur: duckdb.DuckDBPyConnection, project_ids: list[str], f: SessionFilter, now_ms: int,
                   cap: int | None = None, range_rows: int | None = None) -> tuple[int, bool]:
    """The number of matching sessions, and whether it is exact; with a cap, the scan stops at the
    cap's next match (`range_rows`: see _count_up_to; tests make it small)."""
    where, params = _matching(project_ids, f, now_ms)
    matching = f"FROM sessions WHERE {' AND '.join(where)}"
    if cap is None:
        return one_row(cur.execute(f"SELECT count(*) {matching}", params))[0], True
    found = _count_up_to(cur, matching, params, cap + 1, range_rows or ROW_GROUP_ROWS)
    return min(found, cap), found <= cap


# DuckDB's default row group: the unit a scanning thread takes, and the unit min/max skip by.
ROW_GROUP_ROWS = 122_880


def _count_up_to(cur: duckdb.DuckDBPyConnection, matching: str, params: list[object], need: int,
                 range_rows: int) -> int:
    """The matches, counted until there are `need` of them. A plain `LIMIT need` gives each scanning
    thread a limit of its own, so both threads read until each has found `need`: twice the work.
    Instead, two ranges of rowids one row group wide look for half each, side by side (one task each,
    as parts of one UNION ALL). When that is not enough, the ranges that ran out before their half
    (from the first on) are counted in full, and the rest of the table is counted after them. At 1M
    sessions `q=reading 'price'` reads 1,008 matching rows instead of 2,031 (EXPLAIN ANALYZE;
    timed beside the plain LIMIT by bench.alternatives)."""
    half = (need + 1) // 2
    ranges = [(0, range_rows), (range_rows, 2 * range_rows)]
    parts = [f"SELECT {i} AS part {matching} AND rowid >= ? AND rowid < ? LIMIT ?" for i in range(len(ranges))]
    found = dict(cur.execute(
        f"SELECT part, count(*) FROM ({' UNION ALL '.join(f'({p})' for p in parts)}) GROUP BY part",
        [x for lo, hi in ranges for x in (*params, lo, hi, half)]).fetchall())
    if sum(found.values()) >= need:
        return sum(found.values())
    # The ranges that ran out, from the first on, are counted; the rest of the table starts after them
    # (a bare `rowid >= ?`, which skips whole row groups, unlike a NOT around the ranges).
    counted = 0
    while counted < len(ranges) and found.get(counted, 0) < half:
        counted += 1
    already = sum(found.get(i, 0) for i in range(counted))
    start = ranges[counted - 1][1] if counted else 0
    rest = one_row(cur.execute(f"SELECT count(*) FROM (SELECT 1 {matching} AND rowid >= ? LIMIT ?)",
                               [*params, start, need - already]))[0]
    return int(already + rest)


def session_project(cur: duckdb.DuckDBPyConnection, session_id: str) -> str | None:
    """The project a session belongs to (None: no such session), without the rest of get_session's reads."""
    row = cur.execute("SELECT project_id FROM sessions WHERE id = ?", [session_id]).fetchone()
    return None if row is None else str(row[0])


def get_session(cur: duckdb.DuckDBPyConnection, session_id: str, now_ms: int) -> SessionDetail | None:
    row = cur.execute(
        f"SELECT {_ITEM_COLUMNS}, lcp, inp, cls, fcp, ttfb, event_names, ip FROM sessions WHERE id = ?", [session_id]
    ).fetchone()
    if row is None:
        return None
    pages = cur.execute(
        "SELECT url, title, at_ms FROM pages WHERE session_id = ? ORDER BY at_ms", [session_id]
    ).fetchall()
    errors = cur.execute(
        "SELECT message, stack, at_ms FROM errors WHERE session_id = ? ORDER BY at_ms", [session_id]
    ).fetchall()
    lcp, inp, cls, fcp, ttfb, names, ip = row[-7:]
    start = row[4]
    return SessionDetail(
        **msgspec.structs.asdict(_item(row, now_ms)),
        ip=ip,
        pages=[PageVisit(url=u, title=t, at=iso(a), offset_ms=a - start) for u, t, a in pages],
        errors=[ErrorItem(message=m, stack=s, at=iso(a), offset_ms=a - start) for m, s, a in errors],
        vitals=Vitals(lcp=lcp, inp=inp, cls=cls, fcp=fcp, ttfb=ttfb),
        event_names=list(names or []),
    )


class Moment(msgspec.Struct):
    """Something that happened in a session, for the player's timeline and panels."""

    kind: str  # rage_click | dead_click | error_click | thrashed_cursor | quick_back | excessive_scroll | click | input
    offset_ms: int
    url: str | None
    selector: str | None
    text: str | None


def session_moments(cur: duckdb.DuckDBPyConnection, session_id: str) -> list[Moment] | None:
    start = cur.execute("SELECT started_ms FROM sessions WHERE id = ?", [session_id]).fetchone()
    if start is None:
        return None
    rows = cur.execute(
        "SELECT kind, at_ms - ?, url, selector, text FROM interactions WHERE session_id = ? ORDER BY at_ms",
        [start[0], session_id],
    ).fetchall()
    return [Moment(*r) for r in rows]


def session_exists(cur: duckdb.DuckDBPyConnection, session_id: str) -> bool:
    return cur.execute("SELECT 1 FROM sessions WHERE id = ?", [session_id]).fetchone() is not None


def record_locations(cur: duckdb.DuckDBPyConnection, session_id: str) -> list[Location]:
    rows = cur.execute(
        'SELECT segment, "offset", length FROM records WHERE session_id = ? ORDER BY seq', [session_id]
    ).fetchall()
    return [Location(*r) for r in rows]


FACT_TABLES = ("records", "pages", "interactions", "scroll_depths", "errors", "console", "network", "vitals",
               "custom_events", "insights")


def delete_session(con: duckdb.DuckDBPyConnection, session_id: str) -> None:
    con.execute("BEGIN")
    for table in FACT_TABLES:
        con.execute(f"DELETE FROM {table} WHERE session_id = ?", [session_id])
    con.execute("DELETE FROM sessions WHERE id = ?", [session_id])
    con.execute("COMMIT")
