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

So a session a balancer spreads over nodes reaches each node out of order: its own batches at
once, the peers' a seal time later, below seqs indexed already. Such a batch makes its session
fold again from its first batch (index/apply.py), as a late batch of this node's own does; the
peers' batches are read back from the copies of their segments this node downloaded, kept on its
disk while their sessions may still get batches (`PeerCopies`), so a refold costs preads, not
GETs. Every node's rows are then the seq-order fold a single node gives.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import duckdb

from sessionstory.cluster.periodic import Periodic
from sessionstory.index import Index
from sessionstory.index.apply import apply_records, refold, settle_quiet
from sessionstory.index.compaction import forget_session
from sessionstory.index.database import QUIET_AFTER_S
from sessionstory.index.sessions import delete_session, record_locations
from sessionstory.store import BatchMeta, CompactedMeta, EntityChange, Location, Record, SegmentLog
from sessionstory.store.compaction import Dictionaries
from sessionstory.store.objects import ObjectStore, short_error
from sessionstory.store.records import Sealer
from sessionstory.store.shipping import first_segment, segment_key, segment_of

log = logging.getLogger(__name__)

POLL_S = 1.0
CHUNK = 500  # records per transaction: a 64 MiB segment is not one giant write
# A peer segment's copy stays on this disk while a session in it had a batch this recently (the
# default session timeout: a session quiet longer has ended), and the copies take at most
# COPIES_BYTES (the least recently used go first). A refold missing a copy reads by ranged GETs.
KEEP_MS = 30 * 60 * 1000
COPIES_BYTES = 1 << 30
EVICT_EVERY_MS = 10_000
TOMBSTONE_SKEW_MS = 10 * 60 * 1000  # a tombstone indexed here may be stamped this much before the newest seen
REFOLD_GROUP = 100  # sessions folded again per transaction
# How much of each peer segment this index holds, in the transactions of its rows (a crash
# resumes exactly there), and the sessions whose late batches were recorded but not yet folded
# in (index/apply.py's `later`; folded at the end of the poll, or of the next after a crash).
# Tables of this module's own, beside the index's.
_TABLES = """CREATE TABLE IF NOT EXISTS cluster_peer_segments (segment INTEGER PRIMARY KEY, applied_to BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS cluster_refolds (session_id VARCHAR PRIMARY KEY)"""

Committed = list[tuple[Location, Record, object]]
T = TypeVar("T")


class PeerIndexer:
    """One thread per node: polls the bucket for the other nodes' shipped segments and
    indexes the records it has not indexed yet."""

    def __init__(self, objects: ObjectStore, node: int, index: Index, note: Callable[[Record], object],
                 scratch: Path, sealer: Sealer | None = None, poll_s: float = POLL_S) -> None:
        self._objects, self._node, self._index, self._note = objects, node, index, note
        self.copies = PeerCopies(scratch, sealer, index.segment_log)
        self._poll_s = poll_s
        self._applied: dict[int, int] = {}  # peer segment -> bytes of it indexed
        self._pending: dict[str, float] = {}  # sessions with clicks awaiting an outcome -> last touched
        self._polling = threading.Lock()  # a poll and a reset never interleave
        self._timer = Periodic("peer-indexer", poll_s, self._poll_or_log)
        self.indexed = 0  # peer records indexed since start (metrics, tests)
        self.late = 0  # of which batches below a seq their session had indexed here: each refolded it
        self._tombstones_seen_ms = int(time.time() * 1000)  # the copies start empty: older ones erased nothing

    def start(self) -> None:
        self.reset()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        self.copies.close()

    def _poll_or_log(self) -> None:
        try:
            self.poll()
        except Exception as exc:  # the store or the index refused: try again at the next poll
            log.error("peer segments: %s; trying again in %.0f s", short_error(exc), self._poll_s)

    def reset(self) -> None:
        """Read what the index holds of each peer segment: at start, and after the index file
        was rebuilt from this node's own log (a reindex, an erasure's purge), which holds none.
        The copies go too: a purge may follow a redaction, which rewrote what they hold."""
        with self._polling:
            self._applied = dict(self._index.write(_prepare).result())
            self.copies.clear()

    def poll(self) -> int:
        """Index what the other nodes shipped since the last poll; the records indexed."""
        count = 0
        with self._polling:
            for node in self._peer_nodes():
                for segment, size in self._new_segments(node):
                    count += self._index_segment(segment, size)
            self._refold_put_off()
            self._settle_quiet()
            self._erase_tombstoned()
            self.copies.evict(int(time.time() * 1000))
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
        self.copies.put(segment, self._objects.read(segment_key(segment)))
        chunk: Committed = []
        count, late = 0, self.late
        for location, record in self.copies.scan(segment, self._applied.get(segment, 0)):
            if record is None:
                continue  # erased
            self.copies.hold(location, record)
            chunk.append((location, record, self._note(record)))
            if len(chunk) >= CHUNK:
                count += self._apply(segment, chunk, location.end)
                chunk = []
        count += self._apply(segment, chunk, size)
        if count:
            log.info("peer segment %d: %d records indexed, %d of them batches below a seq indexed here "
                     "(their sessions folded again)", segment, count, self.late - late)
        return count

    def _apply(self, segment: int, chunk: Committed, applied_to: int) -> int:
        def rows(con: duckdb.DuckDBPyConnection) -> tuple[set[str], int]:
            late, put_off = _late_batches(con, chunk), set[str]()
            # A session with a late batch is folded again once at the end of the poll, not once per chunk.
            pending = apply_records(con, chunk, self.copies, put_off) if chunk else set()
            con.execute("INSERT INTO cluster_refolds SELECT unnest(?::VARCHAR[]) ON CONFLICT DO NOTHING", [sorted(put_off)])
            con.execute("INSERT INTO cluster_peer_segments VALUES (?, ?) ON CONFLICT (segment) "
                        "DO UPDATE SET applied_to = excluded.applied_to", [segment, applied_to])
            return pending, late

        pending, late = self._index.write(lambda con: _in_transaction(con, lambda: rows(con))).result()
        erased = _erased_sessions(chunk)
        if erased:  # the erasing node erased the records everywhere; the rows here are this node's to drop
            own = (first_segment(self._node), first_segment(self._node + 1))
            self._index.write(lambda con: _drop_sessions(con, erased, own)).result()
            self.copies.erase(erased)
        for location, record, _ in chunk:
            if isinstance(record.meta, CompactedMeta):  # the batches it packed are read from it now
                self.copies.erase([record.meta.session_id], keep=location)
        self._applied[segment] = applied_to
        now = time.monotonic()
        self._pending.update(dict.fromkeys(pending, now))
        self.indexed += len(chunk)
        self.late += late
        return len(chunk)

    def _refold_put_off(self) -> None:
        """Fold again, each once, the sessions whose late batches this poll's chunks only recorded."""
        put_off = [row[0] for row in self._index.read(
            lambda cur: cur.execute("SELECT session_id FROM cluster_refolds ORDER BY session_id").fetchall(), fresh=False)]
        for start in range(0, len(put_off), REFOLD_GROUP):
            group = put_off[start:start + REFOLD_GROUP]

            def again(con: duckdb.DuckDBPyConnection, group: list[str] = group) -> set[str]:
                pending, unread = refold(con, group, self.copies)
                if unread:
                    log.error("%d sessions could not be read back to fold their late peer batches in; "
                              "a reindex will", len(unread))
                con.execute("DELETE FROM cluster_refolds WHERE session_id IN (SELECT unnest(?::VARCHAR[]))", [group])
                return pending

            pending = self._index.write(lambda con: _in_transaction(con, lambda: again(con))).result()
            self._pending.update(dict.fromkeys(pending, time.monotonic()))

    def _erase_tombstoned(self) -> None:
        """Sessions erased, deleted or expired through this node (a peer's come with its log,
        `_apply`): their batches leave the copies as they left the log. Tombstones stamped since
        the last look, less TOMBSTONE_SKEW_MS, as this node's clock stamps its own."""
        since = self._tombstones_seen_ms - TOMBSTONE_SKEW_MS
        stamped = self._index.read(lambda cur: cur.execute(
            "SELECT session_id, at_ms FROM tombstones WHERE at_ms > ?", [since]).fetchall(), fresh=False)
        self.copies.erase([sid for sid, _ in stamped])
        self._tombstones_seen_ms = max([self._tombstones_seen_ms, *(at for _, at in stamped)])

    def settle_all(self) -> None:
        """Judge every pending click of peer sessions now (tests, as `Index.settle_all`)."""
        with self._polling:
            self._pending = dict.fromkeys(self._pending, 0.0)
            self._settle_quiet()

    def _settle_quiet(self) -> None:
        """Peer sessions quiet for QUIET_AFTER_S: their pending clicks are judged, as the index
        writer judges this node's own."""
        quiet = {sid for sid, seen in self._pending.items() if seen < time.monotonic() - QUIET_AFTER_S}
        self._pending = {sid: seen for sid, seen in self._pending.items() if sid not in quiet}
        if quiet:
            self._index.write(lambda con: _in_transaction(con, lambda: settle_quiet(con, sorted(quiet)))).result()


class PeerCopies:
    """The peer segments this node downloaded, kept on its disk while their sessions may still get
    batches: where a refolding session's batches are read back from (an index/apply.py
    `RecordSource`); this node's own, and what no copy holds, come from its log (a peer's by a
    ranged GET). Erasure reaches the copies as it reaches the log: a session tombstoned, or packed
    by a peer into a compacted record, has its records here overwritten in place. The peer
    indexer's thread keeps them; the index writer's may read them too (a refold of this node's own
    late batch), hence the lock."""

    def __init__(self, directory: Path, sealer: Sealer | None, own_log: SegmentLog | None) -> None:
        self._lock = threading.Lock()
        self._files = SegmentLog(directory, sealer=sealer)  # parses and erases the copies
        self._own_log = own_log
        self.dictionaries: Dictionaries = (own_log or self._files).dictionaries
        self._held: dict[int, dict[str, list[Location]]] = {}  # copy -> its records of each session
        self._copies_of: dict[str, set[int]] = {}  # session -> the copies holding its records
        self._sizes: dict[int, int] = {}  # copy -> its bytes, the least recently used first
        self._latest_ms: dict[str, int] = {}  # session -> when its latest peer batch was received
        self._next_evict_ms = 0

    def put(self, segment: int, data: bytes) -> None:
        with self._lock:
            self._files.path(segment).write_bytes(data)
            self._sizes.pop(segment, None)
            self._sizes[segment] = len(data)
            self._held.setdefault(segment, {})

    def scan(self, segment: int, start: int) -> Iterator[tuple[Location, Record | None]]:
        return self._files.scan_segment(segment, start)

    def hold(self, location: Location, record: Record) -> None:
        """Note a record of a copy under its session (batches and compacted records)."""
        meta = record.meta
        if not isinstance(meta, BatchMeta | CompactedMeta):
            return
        with self._lock:
            if isinstance(meta, BatchMeta):
                self._latest_ms[meta.session_id] = max(meta.received_ms, self._latest_ms.get(meta.session_id, 0))
            self._held[location.segment].setdefault(meta.session_id, []).append(location)
            self._copies_of.setdefault(meta.session_id, set()).add(location.segment)

    def read_many(self, locations: list[Location]) -> list[Record | None]:
        with self._lock:
            copied = [loc for loc in locations if loc.segment in self._held]
            found = dict(zip(copied, self._files.read_many(copied), strict=True))
            for segment in {loc.segment for loc in copied}:
                self._sizes[segment] = self._sizes.pop(segment)  # used: the last to go
        elsewhere = [loc for loc in locations if loc not in found]
        if elsewhere and self._own_log is not None:
            found.update(zip(elsewhere, self._own_log.read_many(elsewhere), strict=True))
        return [found.get(loc) for loc in locations]

    def sessions(self) -> list[str]:
        with self._lock:
            return sorted(self._copies_of)

    def erase(self, session_ids: list[str], keep: Location | None = None) -> None:
        """Overwrite the sessions' records in the copies (all but `keep`)."""
        doomed: list[Location] = []
        with self._lock:
            for sid in session_ids:
                for segment in self._copies_of.pop(sid, set()):
                    records = self._held[segment].pop(sid, [])
                    doomed += [loc for loc in records if loc != keep]
                    if keep in records:
                        self._held[segment][sid] = [keep]
                        self._copies_of[sid] = {segment}
            if doomed:
                self._files.erase(doomed)

    def evict(self, now_ms: int) -> None:
        """Delete the copies no session may still need (quiet for KEEP_MS), then the least
        recently used past COPIES_BYTES; at most every EVICT_EVERY_MS (it walks every session held)."""
        if now_ms < self._next_evict_ms:
            return
        self._next_evict_ms = now_ms + EVICT_EVERY_MS
        with self._lock:
            for segment in [s for s, held in self._held.items()
                            if all(self._latest_ms.get(sid, 0) < now_ms - KEEP_MS for sid in held)]:
                self._drop(segment)
            while self._sizes and sum(self._sizes.values()) > COPIES_BYTES:
                self._drop(next(iter(self._sizes)))

    def _drop(self, segment: int) -> None:
        self._files.path(segment).unlink(missing_ok=True)
        for sid in self._held.pop(segment, {}):
            copies = self._copies_of.get(sid, set())
            copies.discard(segment)
            if not copies:
                self._copies_of.pop(sid, None)
                self._latest_ms.pop(sid, None)
        self._sizes.pop(segment, None)

    def clear(self) -> None:
        with self._lock:
            for segment in list(self._held):
                self._drop(segment)
            self._latest_ms.clear()

    def close(self) -> None:
        self._files.close()


def _prepare(con: duckdb.DuckDBPyConnection) -> list[tuple[int, int]]:
    con.execute(_TABLES)
    return [(int(s), int(n)) for s, n in con.execute("SELECT segment, applied_to FROM cluster_peer_segments").fetchall()]


def _late_batches(con: duckdb.DuckDBPyConnection, chunk: Committed) -> int:
    """The chunk's batches below a seq their session has indexed here: each makes it fold again."""
    batches = [(r.meta.session_id, r.meta.seq) for _, r, _ in chunk if isinstance(r.meta, BatchMeta)]
    if not batches:
        return 0
    top = dict(con.execute("SELECT session_id, max(seq) FROM records WHERE session_id IN (SELECT unnest(?::VARCHAR[])) "
                           "GROUP BY session_id", [sorted({sid for sid, _ in batches})]).fetchall())
    return sum(seq < top.get(sid, -1) for sid, seq in batches)


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
    """Where peer segments are downloaded and their copies kept (emptied at every start)."""
    path = data_dir / "peer-segments"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir()
    return path
