"""Every node's sessions on every node: each node indexes, with its own index writer, the
segments the other nodes have shipped to the object store.

A node's index already holds what it ingested itself. The segments of the other nodes are
in the bucket once sealed (store/shipping.py), and a location names its object, so their
records can go through the very code that indexes this node's own log (`apply_records`):
the same rows, the same signals, and replay reads them by location with ranged GETs. Each
node's lists and session pages then show every session of the cluster from a local DuckDB
file, at a single node's speed. docs/scaling.md says why this replaced the DuckLake design.

How far behind: a peer's batch shows here once its segment is sealed
(`SESSIONSTORY_STORE_SEAL_SECONDS`), uploaded, and seen by the next poll (every POLL_S).
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import duckdb

from sessionstory.cluster.periodic import Periodic
from sessionstory.index import Index
from sessionstory.index.apply import apply_records, settle_quiet
from sessionstory.index.compaction import forget_session
from sessionstory.index.database import QUIET_AFTER_S
from sessionstory.index.sessions import delete_session, record_locations
from sessionstory.store import EntityChange, Location, Record, SegmentLog
from sessionstory.store.objects import ObjectStore, short_error
from sessionstory.store.records import Sealer
from sessionstory.store.segments import segment_path
from sessionstory.store.shipping import first_segment, segment_key, segment_of

log = logging.getLogger(__name__)

POLL_S = 1.0
CHUNK = 500  # records per transaction: a 64 MiB segment is not one giant write
# How much of each peer segment this index holds, in the transactions of its rows (a crash
# resumes exactly there). A table of this module's own, beside the index's.
_TABLE = """CREATE TABLE IF NOT EXISTS cluster_peer_segments (
    segment INTEGER PRIMARY KEY, applied_to BIGINT NOT NULL)"""

Committed = list[tuple[Location, Record, object]]
T = TypeVar("T")


class PeerIndexer:
    """One thread per node: polls the bucket for the other nodes' shipped segments and
    indexes the records it has not indexed yet."""

    def __init__(self, objects: ObjectStore, node: int, index: Index, note: Callable[[Record], object],
                 scratch: Path, sealer: Sealer | None = None, poll_s: float = POLL_S) -> None:
        self._objects, self._node, self._index, self._note = objects, node, index, note
        self._scratch = scratch
        self._reader = SegmentLog(scratch, sealer=sealer)  # parses the downloaded copies
        self._poll_s = poll_s
        self._applied: dict[int, int] = {}  # peer segment -> bytes of it indexed
        self._pending: dict[str, float] = {}  # sessions with clicks awaiting an outcome -> last touched
        self._polling = threading.Lock()  # a poll and a reset never interleave
        self._timer = Periodic("peer-indexer", poll_s, self._poll_or_log)
        self.indexed = 0  # peer records indexed since start (metrics, tests)

    def start(self) -> None:
        self.reset()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        self._reader.close()

    def _poll_or_log(self) -> None:
        try:
            self.poll()
        except Exception as exc:  # the store or the index refused: try again at the next poll
            log.error("peer segments: %s; trying again in %.0f s", short_error(exc), self._poll_s)

    def reset(self) -> None:
        """Read what the index holds of each peer segment: at start, and after the index file
        was rebuilt from this node's own log (a reindex, an erasure's purge), which holds none."""
        with self._polling:
            self._applied = dict(self._index.write(_prepare).result())

    def poll(self) -> int:
        """Index what the other nodes shipped since the last poll; the records indexed."""
        count = 0
        with self._polling:
            for node in self._peer_nodes():
                for segment, size in self._new_segments(node):
                    count += self._index_segment(segment, size)
            self._settle_quiet()
        return count

    def _peer_nodes(self) -> list[int]:
        claimed = (int(item.key.removeprefix("nodes/").removesuffix(".json")) for item in self._objects.list("nodes/"))
        return sorted(n for n in claimed if n != self._node)

    def _new_segments(self, node: int) -> list[tuple[int, int]]:
        """The node's shipped segments holding bytes this index lacks: listed from its last
        indexed one on, so a poll costs one short LIST per peer however long the history."""
        mine = [s for s in self._applied if first_segment(node) <= s < first_segment(node + 1)]
        after = segment_key((max(mine) if mine else first_segment(node)) - 1)
        listed = self._objects.list_between("segments/", after, segment_key(first_segment(node + 1)))
        return [(segment_of(item.key), item.size) for item in listed
                if item.size > self._applied.get(segment_of(item.key), 0)]

    def _index_segment(self, segment: int, size: int) -> int:
        path = segment_path(self._scratch, segment)
        path.write_bytes(self._objects.read(segment_key(segment)))
        try:
            chunk: Committed = []
            count = 0
            for location, record in self._reader.scan_segment(segment, self._applied.get(segment, 0)):
                if record is None:
                    continue  # erased
                chunk.append((location, record, self._note(record)))
                if len(chunk) >= CHUNK:
                    count += self._apply(segment, chunk, location.end)
                    chunk = []
            count += self._apply(segment, chunk, size)
            return count
        finally:
            path.unlink(missing_ok=True)

    def _apply(self, segment: int, chunk: Committed, applied_to: int) -> int:
        def rows(con: duckdb.DuckDBPyConnection) -> set[str]:
            pending = apply_records(con, chunk) if chunk else set()
            con.execute("INSERT INTO cluster_peer_segments VALUES (?, ?) ON CONFLICT (segment) "
                        "DO UPDATE SET applied_to = excluded.applied_to", [segment, applied_to])
            return pending

        pending: set[str] = self._index.write(lambda con: _in_transaction(con, lambda: rows(con))).result()
        erased = _erased_sessions(chunk)
        if erased:  # the erasing node erased the records everywhere; the rows here are this node's to drop
            own = (first_segment(self._node), first_segment(self._node + 1))
            self._index.write(lambda con: _drop_sessions(con, erased, own)).result()
        self._applied[segment] = applied_to
        now = time.monotonic()
        self._pending.update(dict.fromkeys(pending, now))
        self.indexed += len(chunk)
        return len(chunk)

    def _settle_quiet(self) -> None:
        """Peer sessions quiet for QUIET_AFTER_S: their pending clicks are judged, as the index
        writer judges this node's own."""
        quiet = {sid for sid, seen in self._pending.items() if seen < time.monotonic() - QUIET_AFTER_S}
        self._pending = {sid: seen for sid, seen in self._pending.items() if sid not in quiet}
        if quiet:
            self._index.write(lambda con: _in_transaction(con, lambda: settle_quiet(con, sorted(quiet)))).result()


def _prepare(con: duckdb.DuckDBPyConnection) -> list[tuple[int, int]]:
    con.execute(_TABLE)
    return [(int(s), int(n)) for s, n in con.execute("SELECT segment, applied_to FROM cluster_peer_segments").fetchall()]


def _erased_sessions(chunk: Committed) -> list[str]:
    """Sessions erased on request through the peer (its tombstones, erasure.py)."""
    return [record.meta.row["session_id"] for _, record, _ in chunk
            if isinstance(record.meta, EntityChange) and record.meta.table == "tombstones" and record.meta.op != "delete"]


def _drop_sessions(con: duckdb.DuckDBPyConnection, session_ids: list[str], own: tuple[int, int]) -> None:
    """Forget sessions a peer erased or deleted. The peer erased every record of theirs it had
    indexed, but not a batch this node took after that and before it read the tombstone: such
    records in this node's own segments ([first, last) of `own`) join the superseded ones, which
    the compactor erases at its next pass."""
    for session_id in session_ids:
        late = [loc for loc in record_locations(con, session_id) if own[0] <= loc.segment < own[1]]
        delete_session(con, session_id)
        forget_session(con, session_id)
        if late:
            con.executemany('INSERT INTO superseded (segment, "offset", length) VALUES (?, ?, ?)',
                            [(loc.segment, loc.offset, loc.length) for loc in late])


def _in_transaction(con: duckdb.DuckDBPyConnection, work: Callable[[], T]) -> T:
    """One transaction of the index writer: the rows and the peer checkpoint together, or neither."""
    con.execute("BEGIN")
    try:
        result = work()
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return result


def scratch_dir(data_dir: Path) -> Path:
    """Where a peer segment is downloaded while it is indexed (emptied at every start)."""
    path = data_dir / "peer-segments"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir()
    return path
