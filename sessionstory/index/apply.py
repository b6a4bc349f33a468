"""Turning durable log records into index rows: the only code that writes sessions."""

from __future__ import annotations

from collections.abc import Iterable

import duckdb
import msgspec

from sessionstory.events import event_decoder
from sessionstory.facts import BatchFacts, batch_facts
from sessionstory.store import BatchMeta, EntityChange, Location, Record
from sessionstory.store.compression import decompress

ACCOUNT_TABLES = {"projects": "id", "users": "id", "tokens": "id"}


class SessionDelta(msgspec.Struct):
    """The merged effect of one flush's batches on one session row."""

    meta: BatchMeta
    started_ms: int
    ended_ms: int
    event_count: int = 0
    page_count: int = 0
    entry_url: str | None = None
    exit_url: str | None = None
    last_received_ms: int = 0


def apply_records(con: duckdb.DuckDBPyConnection, committed: Iterable[tuple[Location, Record, object]]) -> None:
    batches: list[tuple[Location, BatchMeta, BatchFacts]] = []
    for location, record, note in committed:
        if isinstance(record.meta, EntityChange):
            _apply_entity(con, record.meta)
        elif isinstance(record.meta, BatchMeta):
            facts = note if isinstance(note, BatchFacts) else facts_of(record)
            batches.append((location, record.meta, facts))
    if batches:
        _apply_batches(con, batches)


def facts_of(record: Record) -> BatchFacts:
    """Facts of a batch read back from the log (catch-up and reindex)."""
    events = msgspec.json.decode(decompress(record.body), type=list[msgspec.Raw])
    return batch_facts([event_decoder.decode(e) for e in events])


def _apply_entity(con: duckdb.DuckDBPyConnection, change: EntityChange) -> None:
    key = ACCOUNT_TABLES.get(change.table)
    if key is None:
        return  # a table this version does not know: skip rather than refuse to start
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


def _apply_batches(con: duckdb.DuckDBPyConnection, batches: list[tuple[Location, BatchMeta, BatchFacts]]) -> None:
    fresh = _drop_known(con, batches)
    con.executemany(
        'INSERT INTO records (session_id, seq, segment, "offset", length) VALUES (?, ?, ?, ?, ?) '
        "ON CONFLICT DO NOTHING",
        [(m.session_id, m.seq, loc.segment, loc.offset, loc.length) for loc, m, _ in fresh],
    )
    deltas: dict[str, SessionDelta] = {}
    for _, meta, facts in fresh:
        _merge(deltas, meta, facts)
    con.executemany(_UPSERT_SESSION, [_session_row(d) for d in deltas.values()])


def _drop_known(
    con: duckdb.DuckDBPyConnection, batches: list[tuple[Location, BatchMeta, BatchFacts]]
) -> list[tuple[Location, BatchMeta, BatchFacts]]:
    """Keep each (session, seq) once: the log may hold a batch twice after a failed write."""
    sessions = sorted({m.session_id for _, m, _ in batches})
    known = set(
        con.execute("SELECT session_id, seq FROM records WHERE session_id IN (SELECT unnest(?::VARCHAR[]))", [sessions]).fetchall()
    )
    fresh = []
    for item in batches:
        key = (item[1].session_id, item[1].seq)
        if key not in known:
            known.add(key)
            fresh.append(item)
    return fresh


def _merge(deltas: dict[str, SessionDelta], meta: BatchMeta, facts: BatchFacts) -> None:
    delta = deltas.get(meta.session_id)
    if delta is None:
        delta = deltas[meta.session_id] = SessionDelta(meta, facts.first_ms, facts.last_ms)
    delta.started_ms = min(delta.started_ms, facts.first_ms)
    delta.ended_ms = max(delta.ended_ms, facts.last_ms)
    delta.event_count += facts.event_count
    delta.page_count += len(facts.page_urls)
    if facts.page_urls:
        if delta.entry_url is None:
            delta.entry_url = facts.page_urls[0][1]
        delta.exit_url = facts.page_urls[-1][1]
    delta.last_received_ms = max(delta.last_received_ms, meta.received_ms)
    if meta.user_id:
        delta.meta = meta  # the latest batch names the identified user


def _session_row(d: SessionDelta) -> tuple[object, ...]:
    m = d.meta
    return (
        m.session_id, m.project_id, m.visitor_id, m.user_id or None, d.started_ms, d.ended_ms,
        d.event_count, d.page_count, d.entry_url, d.exit_url, m.user_agent or None, d.last_received_ms,
    )


# Batches may arrive out of order: times widen, counts add, the entry page is the
# earliest batch's and the exit page the latest's.
_UPSERT_SESSION = """
INSERT INTO sessions (id, project_id, visitor_id, user_id, started_ms, ended_ms, event_count,
                      page_count, entry_url, exit_url, user_agent, last_received_ms)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET
    user_id = COALESCE(excluded.user_id, sessions.user_id),
    entry_url = CASE WHEN sessions.entry_url IS NULL
                       OR (excluded.entry_url IS NOT NULL AND excluded.started_ms < sessions.started_ms)
                     THEN excluded.entry_url ELSE sessions.entry_url END,
    exit_url = CASE WHEN excluded.exit_url IS NOT NULL AND excluded.ended_ms >= sessions.ended_ms
                    THEN excluded.exit_url ELSE sessions.exit_url END,
    started_ms = LEAST(sessions.started_ms, excluded.started_ms),
    ended_ms = GREATEST(sessions.ended_ms, excluded.ended_ms),
    event_count = sessions.event_count + excluded.event_count,
    page_count = sessions.page_count + excluded.page_count,
    user_agent = COALESCE(sessions.user_agent, excluded.user_agent),
    last_received_ms = GREATEST(sessions.last_received_ms, excluded.last_received_ms)
"""
