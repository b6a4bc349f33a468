"""The index's side of compaction: applying COMPACTED and DICTIONARY records, and the
queries the compactor asks.

A compacted record holds batches the index has applied already (it was made from them):
applying it moves those batches' record locations to it and notes the records it replaced
as superseded, to be erased; facts are applied only for batches the index does not have
(a reindex from scratch, where the old records are gone). Stale duplicates of a
(session, seq) left by a crash mid-compaction are applied once, like any retried batch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import duckdb
import msgspec

from sessionstory.events import event_decoder
from sessionstory.facts import BatchFacts, batch_facts
from sessionstory.store import BatchMeta, CompactedMeta, DictionaryMeta, EntityChange, Location, Record, batches
from sessionstory.store.compaction import Dictionaries

TABLES = """
-- Each compacted session: where its one record is, the dictionary it needs, its JSON's size.
CREATE TABLE IF NOT EXISTS compactions (
    session_id VARCHAR PRIMARY KEY,
    project_id VARCHAR NOT NULL,
    segment INTEGER NOT NULL,
    "offset" BIGINT NOT NULL,
    length INTEGER NOT NULL,
    dictionary INTEGER NOT NULL,
    raw_bytes BIGINT NOT NULL
);
-- Records a compacted record replaced, still to be erased from the log.
CREATE TABLE IF NOT EXISTS superseded (
    segment INTEGER NOT NULL,
    "offset" BIGINT NOT NULL,
    length INTEGER NOT NULL
);
-- Where each project's dictionaries live in the log.
CREATE TABLE IF NOT EXISTS dictionaries (
    project_id VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    segment INTEGER NOT NULL,
    "offset" BIGINT NOT NULL,
    length INTEGER NOT NULL,
    ratio DOUBLE NOT NULL,
    PRIMARY KEY (project_id, version)
);
-- Where the change each account row last took from stands in the log: a change copied
-- forward out of a deleted segment never wins over a newer one.
CREATE TABLE IF NOT EXISTS entity_positions (
    tbl VARCHAR NOT NULL,
    key VARCHAR NOT NULL,
    segment INTEGER NOT NULL,
    "offset" BIGINT NOT NULL,
    PRIMARY KEY (tbl, key)
);
"""

ApplyBatches = Callable[[duckdb.DuckDBPyConnection, list[tuple[Location, Any, BatchFacts]]], set[str]]


class Unpacked(msgspec.Struct, frozen=True):
    """The note a COMPACTED record is indexed with: each batch it holds with its facts (a
    catch-up read them from the log), or None when the compactor made it from batches the
    index has applied already."""

    batches: list[tuple[BatchMeta, BatchFacts]] | None = None


def unpack(record: Record, dictionaries: Dictionaries) -> Unpacked:
    """Facts of every batch of a compacted record read back from the log."""
    return Unpacked([(b.meta, events_facts(b.events)) for b in batches(record, dictionaries)])


def events_facts(events: bytes) -> BatchFacts:
    raws = msgspec.json.decode(events, type=list[msgspec.Raw])
    return batch_facts([event_decoder.decode(e) for e in raws])


def apply_compacted(con: duckdb.DuckDBPyConnection, location: Location, meta: CompactedMeta, note: object,
                    apply_batches: ApplyBatches) -> set[str]:
    sid = meta.session_id
    known = {
        r[0]: Location(r[1], r[2], r[3])
        for r in con.execute('SELECT seq, segment, "offset", length FROM records WHERE session_id = ?', [sid]).fetchall()
    }
    held = [seq for seq in meta.seqs if seq in known]
    unpacked = note.batches if isinstance(note, Unpacked) else None
    fresh = [(location, m, f) for m, f in unpacked or () if m.seq not in known]
    if not held and not fresh:
        # Made from a session deleted meanwhile: the record itself must go.
        _supersede(con, [location])
        return set()
    if held:
        con.execute(
            'UPDATE records SET segment = ?, "offset" = ?, length = ? '
            "WHERE session_id = ? AND seq IN (SELECT unnest(?::INTEGER[]))",
            [location.segment, location.offset, location.length, sid, held],
        )
        _supersede(con, sorted({known[s] for s in held} - {location}))
    con.execute(
        "INSERT OR REPLACE INTO compactions VALUES (?, ?, ?, ?, ?, ?, ?)",
        [sid, meta.project_id, location.segment, location.offset, location.length, meta.dictionary, meta.raw_bytes],
    )
    return apply_batches(con, fresh) if fresh else set()


def _supersede(con: duckdb.DuckDBPyConnection, locations: list[Location]) -> None:
    if locations:
        con.execute(
            f"INSERT INTO superseded VALUES {', '.join('(?, ?, ?)' for _ in locations)}",
            [v for loc in locations for v in (loc.segment, loc.offset, loc.length)],
        )


def apply_dictionary(con: duckdb.DuckDBPyConnection, location: Location, meta: DictionaryMeta) -> None:
    con.execute(
        "INSERT OR REPLACE INTO dictionaries VALUES (?, ?, ?, ?, ?, ?)",
        [meta.project_id, meta.version, location.segment, location.offset, location.length, meta.ratio],
    )


def newest_change(con: duckdb.DuckDBPyConnection, change: EntityChange, key: str, location: Location) -> bool:
    """Record where this change stands; False when a later change of the row is applied already."""
    at = change.origin or location
    ident = str(change.row[key])
    row = con.execute(
        'SELECT segment, "offset" FROM entity_positions WHERE tbl = ? AND key = ?', [change.table, ident]
    ).fetchone()
    if row is not None and (row[0], row[1]) > (at.segment, at.offset):
        return False
    con.execute("INSERT OR REPLACE INTO entity_positions VALUES (?, ?, ?, ?)", [change.table, ident, at.segment, at.offset])
    return True


# -- what the compactor asks ---------------------------------------------------------


def idle_sessions(cur: duckdb.DuckDBPyConnection, received_before_ms: int) -> list[tuple[str, str]]:
    """(project, session) of sessions quiet since `received_before_ms` holding any record
    not yet compacted (never compacted, or batches that came after their compaction)."""
    return [
        (r[0], r[1]) for r in cur.execute(
            """
            SELECT s.project_id, s.id FROM sessions s
            WHERE s.last_received_ms <= ? AND s.id IN (
                SELECT r.session_id FROM records r LEFT JOIN compactions c ON c.session_id = r.session_id
                WHERE c.session_id IS NULL OR r.segment <> c.segment OR r."offset" <> c."offset")
            ORDER BY s.project_id, s.last_received_ms
            """,
            [received_before_ms],
        ).fetchall()
    ]


def session_records(cur: duckdb.DuckDBPyConnection, session_id: str) -> dict[int, Location]:
    rows = cur.execute('SELECT seq, segment, "offset", length FROM records WHERE session_id = ?', [session_id]).fetchall()
    return {r[0]: Location(r[1], r[2], r[3]) for r in rows}


def recent_sessions(cur: duckdb.DuckDBPyConnection, project_id: str, limit: int) -> list[str]:
    return [r[0] for r in cur.execute(
        "SELECT id FROM sessions WHERE project_id = ? ORDER BY last_received_ms DESC LIMIT ?", [project_id, limit]
    ).fetchall()]


def latest_dictionary(cur: duckdb.DuckDBPyConnection, project_id: str) -> int:
    row = cur.execute("SELECT max(version) FROM dictionaries WHERE project_id = ?", [project_id]).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def dictionary_location(cur: duckdb.DuckDBPyConnection, project_id: str, version: int) -> Location | None:
    row = cur.execute(
        'SELECT segment, "offset", length FROM dictionaries WHERE project_id = ? AND version = ?', [project_id, version]
    ).fetchone()
    return Location(*row) if row else None


def sessions_using(cur: duckdb.DuckDBPyConnection, project_id: str, version: int) -> int:
    row = cur.execute("SELECT count(*) FROM compactions WHERE project_id = ? AND dictionary = ?",
                      [project_id, version]).fetchone()
    return int(row[0]) if row else 0


def superseded(cur: duckdb.DuckDBPyConnection) -> list[Location]:
    """Records to erase; one still in use (never expected) is left alone."""
    rows = cur.execute(
        """
        SELECT DISTINCT s.segment, s."offset", s.length FROM superseded s
        WHERE NOT EXISTS (SELECT 1 FROM records r WHERE r.segment = s.segment AND r."offset" = s."offset")
          AND NOT EXISTS (SELECT 1 FROM dictionaries d WHERE d.segment = s.segment AND d."offset" = s."offset")
        """
    ).fetchall()
    return [Location(*r) for r in rows]


def forget_superseded(con: duckdb.DuckDBPyConnection, erased: list[Location]) -> None:
    """Drop erased records, and any still in use (left alone above), from the to-erase list."""
    if erased:
        con.execute(
            f"DELETE FROM superseded s USING (VALUES {', '.join('(?, ?)' for _ in erased)}) v(seg, off) "
            'WHERE s.segment = v.seg AND s."offset" = v.off',
            [x for loc in erased for x in (loc.segment, loc.offset)],
        )
    con.execute(
        'DELETE FROM superseded s WHERE EXISTS (SELECT 1 FROM records r WHERE r.segment = s.segment AND r."offset" = s."offset") '
        'OR EXISTS (SELECT 1 FROM dictionaries d WHERE d.segment = s.segment AND d."offset" = s."offset")'
    )


def live_bytes(cur: duckdb.DuckDBPyConnection, dictionaries: bool = True) -> dict[int, int]:
    """Bytes of the records the index uses (batches, compacted sessions, and dictionaries
    unless told not to: those are carried forward) per segment."""
    also = 'UNION SELECT segment, "offset", length FROM dictionaries' if dictionaries else ""
    rows = cur.execute(
        f'SELECT segment, sum(length) FROM (SELECT DISTINCT segment, "offset", length FROM records {also}) GROUP BY segment'
    ).fetchall()
    return {r[0]: int(r[1]) for r in rows}


def sessions_in(cur: duckdb.DuckDBPyConnection, segment: int) -> list[tuple[str, str]]:
    rows = cur.execute(
        "SELECT DISTINCT s.project_id, s.id FROM records r JOIN sessions s ON s.id = r.session_id "
        "WHERE r.segment = ? ORDER BY s.project_id, s.id",
        [segment],
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


def entity_is_stale(cur: duckdb.DuckDBPyConnection, change: EntityChange, key: str, location: Location) -> bool:
    """A later change of the same row is applied: this one need not be carried forward."""
    at = change.origin or location
    row = cur.execute('SELECT segment, "offset" FROM entity_positions WHERE tbl = ? AND key = ?',
                      [change.table, str(change.row[key])]).fetchone()
    return row is not None and (row[0], row[1]) > (at.segment, at.offset)


def forget_session(con: duckdb.DuckDBPyConnection, session_id: str) -> None:
    con.execute("DELETE FROM compactions WHERE session_id = ?", [session_id])
