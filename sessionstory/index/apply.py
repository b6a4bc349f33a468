"""Turning durable log records into index rows: the only code that writes sessions.

For each flush: the sessions touched are loaded, every batch's facts are merged into
its session in seq order (signals.py judging what spans batches), then the fact rows
and the merged session and visitor rows are written.

A session's rows are those its batches give folded in seq order, whatever order they
arrive in. A flush sorts its own batches; a batch older than one indexed before (a retry,
a pagehide beacon landing after the next page's first batch, two cluster nodes) makes its
session fold again from its first batch, the others read back from the log: rare, so it
may cost more, while the usual batch, later than all before it, folds on as it comes.
"""

from __future__ import annotations

import functools
import logging
from bisect import bisect_right
from collections.abc import Iterable
from typing import Any, Protocol

import duckdb
import msgspec

from sessionstory.context import agent
from sessionstory.events import event_decoder
from sessionstory.facts import BatchFacts, PageView, batch_facts
from sessionstory.signals import SessionState, Signal, advance, settle
from sessionstory.index.compaction import TABLES as COMPACTION_TABLES
from sessionstory.index.compaction import apply_compacted, apply_dictionary, events_facts, newest_change
from sessionstory.index.schema import TABLES
from sessionstory.store import (BatchMeta, CompactedMeta, DictionaryMeta, EntityChange, Location, Record,
                                batches as batches_in)
from sessionstory.store.compaction import Dictionaries
from sessionstory.store.compression import decompress

logger = logging.getLogger(__name__)

ACCOUNT_TABLES = {"projects": "id", "users": "id", "tokens": "id", "saved_filters": "id", "audit": "id",
                  "tombstones": "session_id", "project_privacy": "id", "comments": "id", "share_links": "id"}
URLS_MAX = 4000
SEARCH_MAX = 4000
VITALS = ("lcp", "inp", "cls", "fcp", "ttfb")

_state_encoder = msgspec.msgpack.Encoder()
_json = msgspec.json.Encoder()
_state_decoder = msgspec.msgpack.Decoder(SessionState)


class SessionRow(msgspec.Struct):
    """A sessions row as Python sees it while merging (column order = table order)."""

    id: str
    project_id: str
    visitor_id: str
    user_id: str | None
    started_ms: int
    ended_ms: int
    active_ms: int = 0
    event_count: int = 0
    page_count: int = 0
    entry_url: str | None = None
    exit_url: str | None = None
    referrer: str | None = None
    clicks: int = 0
    rage_clicks: int = 0
    dead_clicks: int = 0
    error_clicks: int = 0
    thrashed_cursor: int = 0
    quick_backs: int = 0
    excessive_scrolls: int = 0
    error_count: int = 0
    console_errors: int = 0
    console_warnings: int = 0
    network_errors: int = 0
    browser: str | None = None
    os: str | None = None
    device: str | None = None
    country: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    lcp: float | None = None
    inp: float | None = None
    cls: float | None = None
    fcp: float | None = None
    ttfb: float | None = None
    event_names: list[str] = []
    urls: str = ""
    search_text: str = ""
    search_lower: str = ""
    last_received_ms: int = 0
    entry_ms: int | None = None
    exit_ms: int | None = None
    user_ms: int | None = None
    state: bytes | None = None


COLUMNS = list(SessionRow.__struct_fields__)
_SIGNAL_COLUMNS = {
    "rage_click": "rage_clicks", "dead_click": "dead_clicks", "error_click": "error_clicks",
    "thrashed_cursor": "thrashed_cursor", "quick_back": "quick_backs", "excessive_scroll": "excessive_scrolls",
}


class RecordSource(Protocol):
    """Where a session's batches are read back from: the log (`SegmentLog`), or a cluster node's
    log beside its copies of the peers' segments (cluster/peers.py)."""

    dictionaries: Dictionaries

    def read_many(self, locations: list[Location]) -> list[Record | None]: ...


def apply_records(con: duckdb.DuckDBPyConnection, committed: Iterable[tuple[Location, Record, object]],
                  log: RecordSource | None = None, later: set[str] | None = None) -> set[str]:
    """Index the records; returns the sessions left with clicks whose outcome is pending. `log`:
    where a session's batches are read back when one arrives late (without it, it folds in as it
    comes). `later`: given, such a session is not folded again now but joins it, its batches only
    recorded, for the caller to `refold` once after many calls (a peer segment's chunks)."""
    batches: list[tuple[Location, BatchMeta, BatchFacts]] = []
    pending: set[str] = set()
    apply_batches = functools.partial(_apply_batches, log=log, later=later)
    for location, record, note in committed:
        if isinstance(record.meta, BatchMeta):
            facts = note if isinstance(note, BatchFacts) else facts_of(record)
            batches.append((location, record.meta, facts))
            continue
        if batches and isinstance(record.meta, EntityChange | CompactedMeta):
            # In log order: a tombstone must not overtake the batches before it (they would be
            # taken for batches racing their erasure), nor a compacted record the batches it holds.
            pending |= apply_batches(con, batches)
            batches = []
        if isinstance(record.meta, EntityChange):
            _apply_entity(con, record.meta, location)
        elif isinstance(record.meta, CompactedMeta):
            pending |= apply_compacted(con, location, record.meta, note, apply_batches)
        elif isinstance(record.meta, DictionaryMeta):
            apply_dictionary(con, location, record.meta)
    return pending | apply_batches(con, batches) if batches else pending


def facts_of(record: Record) -> BatchFacts:
    """Facts of a batch read back from the log (catch-up and reindex)."""
    events = msgspec.json.decode(decompress(record.body), type=list[msgspec.Raw])
    return batch_facts([event_decoder.decode(e) for e in events])


def _apply_entity(con: duckdb.DuckDBPyConnection, change: EntityChange, location: Location) -> None:
    key = ACCOUNT_TABLES.get(change.table)
    if key is None:
        return  # a table this version does not know: skip rather than refuse to start
    if not newest_change(con, change, key, location):
        return  # a copy carried forward by compaction, older than a change applied already
    if change.op == "delete":
        con.execute(f"DELETE FROM {change.table} WHERE {key} = ?", [change.row[key]])
        return
    columns = list(change.row)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != key)
    con.execute(
        f"INSERT INTO {change.table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)}) "
        f"ON CONFLICT ({key}) DO UPDATE SET {updates}",
        list(change.row.values()),
    )


class _Flush:
    """Rows gathered from one flush's batches, written together at the end."""

    def __init__(self, con: duckdb.DuckDBPyConnection, session_ids: list[str]) -> None:
        rows = con.execute(
            f"SELECT {', '.join(COLUMNS)} FROM sessions WHERE id IN (SELECT unnest(?::VARCHAR[]))", [session_ids]
        ).fetchall()
        self.sessions: dict[str, SessionRow] = {r[0]: SessionRow(*r) for r in rows}
        self.new_sessions: set[str] = set()
        self.states: dict[str, SessionState] = {
            sid: _state_decoder.decode(row.state) if row.state else SessionState()
            for sid, row in self.sessions.items()
        }
        self.tables: dict[str, list[tuple[Any, ...]]] = {
            t: [] for t in ("pages", "interactions", "scroll_depths", "errors", "console", "network", "vitals",
                            "custom_events")
        }
        self.traits: dict[tuple[str, str], tuple[int, str]] = {}  # visitor -> its latest identify's (time, traits)


def _apply_batches(con: duckdb.DuckDBPyConnection, batches: list[tuple[Location, BatchMeta, BatchFacts]],
                   log: RecordSource | None = None, later: set[str] | None = None) -> set[str]:
    fresh, indexed = _drop_known(con, _drop_erased(con, batches))
    if not fresh:
        return set()
    late = {m.session_id for _, m, _ in fresh if m.seq < indexed.get(m.session_id, (0, -1))[1]}
    put_off = _put_off(fresh, indexed, late, later)
    earlier = _read_back(con, log, late - put_off) if late - put_off and log is not None else {}
    insert_rows(con, "records", [(m.session_id, m.seq, loc.segment, loc.offset, loc.length) for loc, m, _ in fresh])
    fresh = [batch for batch in fresh if batch[1].session_id not in put_off]  # recorded, to be folded by `refold`
    flush = _Flush(con, sorted({m.session_id for _, m, _ in fresh}))
    _unfold(con, flush, earlier)
    return _fold(con, flush, [(m, f) for _, m, f in fresh] + [batch for held in earlier.values() for batch in held],
                 earlier.keys())


def _put_off(fresh: list[tuple[Location, BatchMeta, BatchFacts]], indexed: dict[str, tuple[int, int]], late: set[str],
             later: set[str] | None) -> set[str]:
    """The sessions whose batches are only recorded now, and folded again once by the caller
    (`later` given, which they join): each with a late batch, or put off already, and not past
    REFOLD_MOST batches (the caller's one refold reads every batch back)."""
    if later is None:
        return set()
    put_off = {sid for _, m, _ in fresh if (sid := m.session_id) in late | later and indexed.get(sid, (0, -1))[0] < REFOLD_MOST}
    later |= put_off
    return put_off


def refold(con: duckdb.DuckDBPyConnection, session_ids: list[str], log: RecordSource) -> tuple[set[str], set[str]]:
    """Fold these sessions again from their first batch, each read back from `log`: the sessions
    `apply_records` put off (`later`). The sessions left with pending clicks, and those the log
    could not give back (their rows lack the batches put off until a reindex)."""
    earlier = _read_back(con, log, set(session_ids), bounded=False)  # `_put_off` bounded them
    flush = _Flush(con, sorted(earlier))
    _unfold(con, flush, earlier)
    pending = _fold(con, flush, [batch for held in earlier.values() for batch in held], earlier.keys())
    return pending, _still_recorded(con, set(session_ids) - earlier.keys())


def _still_recorded(con: duckdb.DuckDBPyConnection, session_ids: set[str]) -> set[str]:
    """Those of the sessions the index has batches of (not erased meanwhile)."""
    return {row[0] for row in con.execute("SELECT DISTINCT session_id FROM records WHERE session_id IN "
                                          "(SELECT unnest(?::VARCHAR[]))", [sorted(session_ids)]).fetchall()}


def _fold(con: duckdb.DuckDBPyConnection, flush: _Flush, folding: LoggedBatches, refolded: Iterable[str]) -> set[str]:
    """Fold the batches into their sessions in seq order and write the rows; the sessions left
    with pending clicks."""
    for meta, facts in sorted(folding, key=lambda batch: batch[0].seq):
        _merge(flush, meta, facts)
    flush.new_sessions -= set(refolded)  # folded again, not new
    for table, rows in flush.tables.items():
        insert_rows(con, table, rows)
    _write_sessions(con, flush)
    _upsert_visitors(con, flush)
    return {sid for sid, state in flush.states.items() if state.pending}


def _write_sessions(con: duckdb.DuckDBPyConnection, flush: _Flush) -> None:
    for sid, row in flush.sessions.items():
        row.state = _state_encoder.encode(flush.states[sid])
        row.search_lower = search_lower(row.urls, row.search_text, row.user_id)
    replace_rows(con, "sessions", ["id"], [tuple(getattr(row, c) for c in COLUMNS) for row in flush.sessions.values()],
                 COLUMNS)


def settle_quiet(con: duckdb.DuckDBPyConnection, session_ids: list[str]) -> None:
    """Sessions that went quiet: their pending clicks changed nothing, so they were dead."""
    flush = _Flush(con, session_ids)
    for sid, row in flush.sessions.items():
        signals = settle(flush.states[sid])
        for sig in signals:
            c = sig.click
            flush.tables["interactions"].append(
                (row.project_id, sid, sig.at, sig.kind, sig.url, c.selector if c else None, c.text if c else None,
                 c.x if c else None, c.y if c else None, c.vw if c else None, c.vh if c else None))
            setattr(row, _SIGNAL_COLUMNS[sig.kind], getattr(row, _SIGNAL_COLUMNS[sig.kind]) + 1)
    insert_rows(con, "interactions", flush.tables["interactions"])
    _write_sessions(con, flush)


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: list[tuple[Any, ...]],
                columns: list[str] | None = None) -> None:
    """`rows` into `table` (into `columns`, else every column in table order) in one statement
    whose one parameter is the rows as JSON, column by column.

    Binding Python values costs DuckDB ~8 µs each (~0.1-0.2 ms a row of interactions, whether
    by executemany or one multi-row VALUES); msgspec writes the JSON in C and DuckDB takes it
    apart in C++, ~8 µs a whole row."""
    if not rows:
        return
    types = column_types()[table]
    names = columns or list(types)
    shape = ", ".join(f'"c{i}": [{_json_type(types[name])}]' for i, name in enumerate(names))
    values = ", ".join(
        f"from_base64(unnest(j.c{i}))" if types[name] == "BLOB" else f"unnest(j.c{i})" for i, name in enumerate(names))
    quoted = ", ".join(f'"{name}"' for name in names)
    # Each column's values as one JSON array (bytes become base64 strings, as msgspec writes them).
    payload = _json.encode({f"c{i}": column for i, column in enumerate(zip(*rows))})
    con.execute(f"INSERT INTO {table} ({quoted}) SELECT {values} "
                f"FROM (SELECT json_transform_strict(?, '{{{shape}}}') AS j)", [payload.decode()])


def replace_rows(con: duckdb.DuckDBPyConnection, table: str, key: list[str], rows: list[tuple[Any, ...]],
                 columns: list[str] | None = None) -> None:
    """Like `insert_rows`, replacing the rows of the same `key` (columns, the table's primary key):
    a DELETE then an INSERT, which costs DuckDB about two thirds of its INSERT OR REPLACE."""
    if not rows:
        return
    names = columns or list(column_types()[table])
    positions = [names.index(column) for column in key]
    keys = ", ".join(key)
    lists = ", ".join("unnest(?::VARCHAR[])" for _ in key)
    con.execute(f"DELETE FROM {table} WHERE ({keys}) IN (SELECT {lists})",
                [[row[i] for row in rows] for i in positions])
    insert_rows(con, table, rows, names)


def _json_type(sql_type: str) -> str:
    """A column's type in json_transform's structure: a list is a JSON array of its items."""
    if sql_type.endswith("[]"):
        return f"[{_json_type(sql_type[:-2])}]"
    return '"VARCHAR"' if sql_type == "BLOB" else f'"{sql_type}"'


@functools.cache
def column_types() -> dict[str, dict[str, str]]:
    """Each index table's columns and their types, in table order. Read once from the schema
    itself in a throwaway in-memory database (the schema is fixed for a given SCHEMA_VERSION),
    so inserts need not ask the index file every time."""
    con = duckdb.connect()
    try:
        con.execute(TABLES)
        con.execute(COMPACTION_TABLES)
        types: dict[str, dict[str, str]] = {}
        for table, column, sql_type in con.execute(
            "SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE NOT internal "
            "ORDER BY table_name, column_index"
        ).fetchall():
            types.setdefault(table, {})[column] = sql_type
        return types
    finally:
        con.close()


def _drop_erased(
    con: duckdb.DuckDBPyConnection, batches: list[tuple[Location, BatchMeta, BatchFacts]]
) -> list[tuple[Location, BatchMeta, BatchFacts]]:
    """Batches of erased sessions (one that raced its erasure) are not indexed, and their
    records join the superseded ones, which the compactor erases from the log."""
    sessions = sorted({m.session_id for _, m, _ in batches})
    erased = {r[0] for r in con.execute(
        "SELECT session_id FROM tombstones WHERE session_id IN (SELECT unnest(?::VARCHAR[]))", [sessions]).fetchall()}
    if not erased:
        return batches
    insert_rows(con, "superseded", [(loc.segment, loc.offset, loc.length) for loc, m, _ in batches if m.session_id in erased],
                ["segment", "offset", "length"])
    return [item for item in batches if item[1].session_id not in erased]


def _drop_known(
    con: duckdb.DuckDBPyConnection, batches: list[tuple[Location, BatchMeta, BatchFacts]]
) -> tuple[list[tuple[Location, BatchMeta, BatchFacts]], dict[str, tuple[int, int]]]:
    """Keep each (session, seq) once (the log may hold a batch twice after a failed write, and a
    client may send one again); with how many batches each session had indexed before, and its
    highest seq."""
    sessions = sorted({m.session_id for _, m, _ in batches})
    known = set(
        con.execute("SELECT session_id, seq FROM records WHERE session_id IN (SELECT unnest(?::VARCHAR[]))",
                    [sessions]).fetchall()
    )
    indexed: dict[str, tuple[int, int]] = {}
    for sid, seq in known:
        count, top = indexed.get(sid, (0, -1))
        indexed[sid] = (count + 1, max(top, seq))
    fresh = []
    for item in batches:
        key = (item[1].session_id, item[1].seq)
        if key not in known:
            known.add(key)
            fresh.append(item)
    return fresh, indexed


LoggedBatches = list[tuple[BatchMeta, BatchFacts]]  # each batch's meta and facts, read back from the log
REFOLD_MOST = 360  # batches read back to refold a session: twelve busy minutes at the SDK's 2-second pace, ~60 ms


def _read_back(con: duckdb.DuckDBPyConnection, log: RecordSource, sessions: set[str],
               bounded: bool = True) -> dict[str, LoggedBatches]:
    """The batches indexed of each session that received a late one, read back from the log
    (`bounded`: sessions with more than REFOLD_MOST left out). A session the log cannot give back whole (a record
    erased, a peer's store unreachable) keeps its rows, and its late batch folds in as it comes."""
    where: dict[str, dict[int, Location]] = {}
    for sid, seq, segment, offset, length in con.execute(
        'SELECT session_id, seq, segment, "offset", length FROM records '
        "WHERE session_id IN (SELECT unnest(?::VARCHAR[]))", [sorted(sessions)],
    ).fetchall():
        where.setdefault(sid, {})[seq] = Location(segment, offset, length)
    earlier = {}
    for sid, seqs in where.items():
        if bounded and len(seqs) > REFOLD_MOST:
            # Past this a refold costs more than the order is worth, and a client sending its
            # batches in reverse would make the writer read the session back once per batch.
            logger.info("session %s has %d batches indexed; its late batch is folded in as it came", sid, len(seqs))
            continue
        try:
            earlier[sid] = _logged_batches(log, seqs)
        except Exception:
            logger.exception("cannot read session %s back from the log; its late batch is folded in as it came", sid)
    return earlier


def _logged_batches(log: RecordSource, seqs: dict[int, Location]) -> LoggedBatches:
    """The facts of the batches at these seqs, each from the record the index has it in (a
    compacted record holds many); LookupError if one is gone."""
    records = sorted(set(seqs.values()))
    found: dict[int, tuple[BatchMeta, BatchFacts]] = {}
    for location, record in zip(records, log.read_many(records), strict=True):
        for held in batches_in(record, log.dictionaries):
            if seqs.get(held.meta.seq) == location:
                found.setdefault(held.meta.seq, (held.meta, events_facts(held.events)))
    if len(found) < len(seqs):
        raise LookupError(f"{len(seqs) - len(found)} of {len(seqs)} batches are no longer where the index has them")
    return list(found.values())


def _unfold(con: duckdb.DuckDBPyConnection, flush: _Flush, earlier: dict[str, LoggedBatches]) -> None:
    """These sessions fold again from their first batch: the rows their batches gave are let go.

    Every row a batch gives is stamped within its span (`_span`), so the DELETEs name the time
    range too: DuckDB then skips the row groups of other times (rows arrive in about time order),
    ~60 ms instead of ~250 ms of CPU on the 1M-session bench index."""
    if not earlier:
        return
    spans = [_span(facts) for held in earlier.values() for _, facts in held]
    first, last = min(lo for lo, _ in spans), max(hi for _, hi in spans)
    for table in flush.tables:
        con.execute(f"DELETE FROM {table} WHERE at_ms BETWEEN ? AND ? "
                    "AND session_id IN (SELECT unnest(?::VARCHAR[]))", [first, last, sorted(earlier)])
    for sid in earlier:
        flush.sessions.pop(sid, None)
        flush.states.pop(sid, None)


def _span(facts: BatchFacts) -> tuple[int, int]:
    """The times of every row a batch's facts and signals may be stamped with: its events', a
    request's start (its end less its duration) and each mouse position (its event's time plus
    an offset)."""
    times = [facts.first_ms, facts.last_ms, *(n.at for n in facts.network), *(m.at for m in facts.moves)]
    return max(min(times), -(2**63)), min(max(times), 2**63 - 1)  # a client's offsets may be wild: BIGINT's range


def _merge(flush: _Flush, meta: BatchMeta, facts: BatchFacts) -> None:
    sid = meta.session_id
    row = flush.sessions.get(sid)
    if row is None:
        row = flush.sessions[sid] = SessionRow(
            id=sid, project_id=meta.project_id, visitor_id=meta.visitor_id, user_id=None,
            started_ms=facts.first_ms, ended_ms=facts.last_ms, event_names=[],
        )
        _take_context(row, meta)
        flush.new_sessions.add(sid)
        flush.states[sid] = SessionState()
    state = flush.states[sid]
    timeline = _Timeline(state.url, facts)
    outcome, state = advance(state, facts)
    _add_rows(flush, meta, facts, outcome.signals, timeline)
    _summarise(row, meta, facts, outcome.signals, outcome.active_ms)
    key = (meta.project_id, meta.visitor_id)
    for ident in facts.identifies:
        if key not in flush.traits or ident.at >= flush.traits[key][0]:
            flush.traits[key] = (ident.at, ident.traits)


class _Timeline:
    """Which page the visitor was on at a moment of this batch."""

    def __init__(self, url_before: str, facts: BatchFacts) -> None:
        self.times = [p.at for p in facts.pages]
        self.urls = [p.url for p in facts.pages]
        self.before = url_before

    def url_at(self, at: int) -> str:
        i = bisect_right(self.times, at)
        return self.urls[i - 1] if i else self.before


def _add_rows(flush: _Flush, meta: BatchMeta, facts: BatchFacts, signals: list[Signal], tl: _Timeline) -> None:
    p, s, t = meta.project_id, meta.session_id, flush.tables
    t["pages"] += [(p, s, pv.at, pv.url, pv.title, pv.referrer, pv.kind) for pv in facts.pages]
    t["interactions"] += [(p, s, c.at, "click", tl.url_at(c.at), c.selector, c.text, c.x, c.y, c.vw, c.vh)
                          for c in facts.clicks]
    t["interactions"] += [(p, s, i.at, "input", tl.url_at(i.at), i.selector, i.name, None, None, None, None)
                          for i in facts.inputs]
    for sig in signals:
        c = sig.click
        t["interactions"].append((p, s, sig.at, sig.kind, sig.url or tl.url_at(sig.at), c.selector if c else None,
                                  c.text if c else None, c.x if c else None, c.y if c else None,
                                  c.vw if c else None, c.vh if c else None))
    t["scroll_depths"] += [(p, s, d.at, tl.url_at(d.at), d.depth, d.height) for d in facts.scrolls]
    t["errors"] += [(p, s, meta.visitor_id, e.at, tl.url_at(e.at), e.kind, e.message, e.stack, e.source,
                     e.fingerprint) for e in facts.errors]
    t["console"] += [(p, s, c.at, tl.url_at(c.at), c.level, c.message) for c in facts.console]
    t["network"] += [(p, s, n.at, tl.url_at(n.at), n.method, n.url, n.status, n.duration, n.type, n.error)
                     for n in facts.network]
    t["vitals"] += [(p, s, v.at, tl.url_at(v.at), v.name, v.value, v.rating) for v in facts.vitals]
    t["custom_events"] += [(p, s, c.at, tl.url_at(c.at), c.name, c.props) for c in facts.customs]


def _summarise(row: SessionRow, meta: BatchMeta, facts: BatchFacts, signals: list[Signal], active_ms: int) -> None:
    """Fold one batch into its session's summary row. Batches may arrive out of order (a retry,
    a beacon sent at pagehide that lands after the next page's first batch, two cluster nodes):
    whatever depends on which batch came first or last goes by the times in the batches, never
    by arrival, so every order folds to the same row."""
    if facts.pages:
        _place_pages(row, facts.pages[0], facts.pages[-1])
    if facts.first_ms < row.started_ms:
        _take_context(row, meta)  # the earliest batch yet: the visit began as it says
    else:
        row.country = row.country or meta.country or None
        row.ip = row.ip or meta.ip or None
    row.started_ms = min(row.started_ms, facts.first_ms)
    row.ended_ms = max(row.ended_ms, facts.last_ms)
    row.active_ms += active_ms
    row.event_count += facts.event_count
    row.page_count += len(facts.pages)
    row.clicks += len(facts.clicks)
    for sig in signals:
        setattr(row, _SIGNAL_COLUMNS[sig.kind], getattr(row, _SIGNAL_COLUMNS[sig.kind]) + 1)
    row.error_count += len(facts.errors)
    row.console_errors += sum(1 for c in facts.console if c.level == "error")
    row.console_warnings += sum(1 for c in facts.console if c.level == "warn")
    row.network_errors += sum(1 for n in facts.network if n.status == 0 or n.status >= 400)
    for vital in facts.vitals:
        name = vital.name.lower()
        if name in VITALS:
            current = getattr(row, name)
            setattr(row, name, vital.value if current is None else max(current, vital.value))  # the worst page
    if facts.customs:
        row.event_names = sorted(set(row.event_names) | {c.name for c in facts.customs})
    row.urls = _append_unique(row.urls, [pv.url for pv in facts.pages], URLS_MAX)
    texts = [pv.title for pv in facts.pages] + [e.message for e in facts.errors] + [c.message for c in facts.console]
    row.search_text = _append_unique(row.search_text, [t for t in texts if t], SEARCH_MAX)
    if meta.user_id:
        _name_user(row, meta.user_id, facts.first_ms)  # an identify inside the batch may follow it
    for ident in facts.identifies:
        _name_user(row, ident.user_id, ident.at)
    row.last_received_ms = max(row.last_received_ms, meta.received_ms)


def _place_pages(row: SessionRow, first: PageView, last: PageView) -> None:
    """The entry page is the earliest page view, the exit page the latest, by their times."""
    if row.entry_ms is None or first.at < row.entry_ms:
        row.entry_url, row.entry_ms, row.referrer = first.url, first.at, first.referrer or None
    if row.exit_ms is None or last.at >= row.exit_ms:
        row.exit_url, row.exit_ms = last.url, last.at


def _take_context(row: SessionRow, meta: BatchMeta) -> None:
    """Browser and place from the session's earliest batch; what it lacks stays as known."""
    if meta.user_agent:
        ua = agent(meta.user_agent)
        row.user_agent, row.browser, row.os, row.device = (meta.user_agent, ua.browser or None, ua.os or None,
                                                           ua.device or None)
    row.country = meta.country or row.country
    row.ip = meta.ip or row.ip


def _name_user(row: SessionRow, user_id: str, at: int) -> None:
    if row.user_ms is None or at >= row.user_ms:
        row.user_id, row.user_ms = user_id, at


def search_lower(urls: str, search_text: str, user_id: str | None) -> str:
    """The `q` filter's haystack, lower-cased once here rather than on every query."""
    return "\n".join(t for t in (urls, search_text, user_id) if t).lower()


def _append_unique(text: str, items: list[str], limit: int) -> str:
    if not items:
        return text  # most batches name no page and no error: no need to split what the session has
    seen = set(text.split("\n")) if text else set()
    for item in items:
        line = item.replace("\n", " ")
        if line in seen or len(text) + len(line) + 1 > limit:
            continue
        seen.add(line)
        text = f"{text}\n{line}" if text else line
    return text


def _upsert_visitors(con: duckdb.DuckDBPyConnection, flush: _Flush) -> None:
    keys = sorted({(r.project_id, r.visitor_id) for r in flush.sessions.values()})
    existing = {
        (r[0], r[1]): list(r)
        for r in con.execute(
            "SELECT project_id, visitor_id, user_id, traits, first_ms, last_ms, session_count, country, device, "
            "browser, os, user_ms, traits_ms FROM visitors "
            "WHERE (project_id || ' ' || visitor_id) IN (SELECT unnest(?::VARCHAR[]))",
            [[f"{p} {v}" for p, v in keys]],
        ).fetchall()
    }
    for row in flush.sessions.values():
        key = (row.project_id, row.visitor_id)
        v = existing.get(key) or [row.project_id, row.visitor_id, None, None, row.started_ms, row.ended_ms, 0,
                                  None, None, None, None, None, None]
        newest = row.ended_ms >= v[5]  # the visitor's latest session yet: its place and device are theirs now
        v[4], v[5] = min(v[4], row.started_ms), max(v[5], row.ended_ms)
        if row.id in flush.new_sessions:
            v[6] += 1
        if row.user_id and row.user_ms is not None and (v[11] is None or row.user_ms >= v[11]):
            v[2], v[11] = row.user_id, row.user_ms  # the user named last, in the visitor's time
        seen = (row.country, row.device, row.browser, row.os)
        v[7:11] = [now or then for now, then in zip(seen, v[7:11])] if newest else [
            then or now for now, then in zip(seen, v[7:11])]
        if key in flush.traits and (v[12] is None or flush.traits[key][0] >= v[12]):
            v[12], v[3] = flush.traits[key]
        existing[key] = v
    replace_rows(con, "visitors", ["project_id", "visitor_id"], [tuple(v) for v in existing.values()])
