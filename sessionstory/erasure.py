"""Erasure on request (every session of a visitor or a user, or matching a filter), and retention.

Order matters, so that nothing comes back:
1. a tombstone per session goes to the log (durable) and the index: from then on a late
   retry of one of its batches is acknowledged and dropped by ingest, and a batch that was
   already on its way is not indexed but queued for erasure (index/apply.py);
2. the sessions' index rows, facts and cached insights are deleted, and their records
   (compacted or not) are overwritten in place in the segment files (replay.erase_sessions);
3. what the index kept about the visitor (identify traits) and digests that may cite
   the sessions are dropped, and the index is checkpointed, so its write-ahead log no longer
   holds the deleted rows;
4. DuckDB's file keeps deleted rows' bytes in its blocks, so a purge is due: the index is
   rebuilt from the log (where the records are gone) into a fresh file, in the background
   within PURGE_DELAY_S of the erasure (several erasures share one rebuild), or at once
   with `sessionstory reindex`. The due purge is a file in the data directory, so a restart
   does not forget it. Before the rebuild, the compactor replaces the dictionaries that may
   hold fragments of the erased sessions (`after_erasure`: `Compactor.forget`); after a
   restart with a purge due, which sessions were erased is not known, so all of them.
Tombstones hold only the session id, the one thing needed to refuse it again.

Retention, hourly, deletes what is older than each project's days. In a cluster
(`cluster_lock` set) one node a round does it (an advisory lock, and a round claimed in
the catalog so it is once an hour in the cluster): every node's index holds every session,
so that node finds them all, erases their records in whichever node's segments, and
tombstones them, as an erasure on request does, so that the other nodes drop them too.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import wait
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import msgspec

from sessionstory.entities import Rows
from sessionstory.index import Index
from sessionstory.index.database import one_row
from sessionstory.index.filters import SessionFilter, where_clauses
from sessionstory.ingest import Ingestor
from sessionstory.projects import Projects
from sessionstory.replay import erase_session, erase_sessions
from sessionstory.store import EntityChange, Record, SegmentLog
from sessionstory.store.records import Kind

if TYPE_CHECKING:
    from sessionstory.cluster.lock import ClusterLock

CHUNK = 200  # sessions erased per index job
PURGE_DELAY_S = 600.0
PURGE_CHECK_S = 60.0
RETENTION_EVERY_S = 3600.0
DAY_MS = 86_400_000

log = logging.getLogger(__name__)


class Erased(msgspec.Struct):
    sessions: int


class Erasure:
    def __init__(self, log: SegmentLog, index: Index, ingestor: Ingestor, projects: Projects, purge_file: Path,
                 rebuild: Callable[[], object]) -> None:
        self._log, self._index, self._ingestor, self._projects = log, index, ingestor, projects
        self.purge_file, self._rebuild = purge_file, rebuild
        # Set by DataDir to Compactor.forget; called with the ids erased since the last purge by
        # project, or None when they are not known (a purge left due by an earlier run).
        self.after_erasure: Callable[[dict[str, set[str]] | None], object] | None = None
        self._erased: dict[str, set[str]] | None = None if purge_file.exists() else {}
        self.cluster_lock: ClusterLock | None = None  # set by DataDir in a cluster: retention once per round
        self.rows: Rows | None = None  # set by DataDir: where comments and share links live (a cluster's catalog)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def visitor(self, project_id: str, visitor_id: str) -> Erased:
        ids = self._ids("SELECT id FROM sessions WHERE project_id = ? AND visitor_id = ?", [project_id, visitor_id])
        erased = self.sessions(ids)
        self._forget_people("visitor_id = ?", [project_id, visitor_id])
        return erased

    def user(self, project_id: str, user_id: str) -> Erased:
        ids = self._ids("SELECT id FROM sessions WHERE project_id = ? AND user_id = ?", [project_id, user_id])
        erased = self.sessions(ids)
        self._forget_people("user_id = ?", [project_id, user_id])
        return erased

    def matching(self, project_id: str, filters: SessionFilter, now_ms: int) -> Erased:
        conditions, params = where_clauses(filters, now_ms)
        where = " AND ".join(["project_id = ?", *conditions])
        return self.sessions(self._ids(f"SELECT id FROM sessions WHERE {where}", [project_id, *params]))

    def delete(self, session_id: str) -> bool:
        """A plain delete of one session (DELETE /api/v1/sessions/{id}); False if there is none.

        When other nodes index this node's log (a store URL: cluster/peers.py), a tombstone goes
        first, as for an erasure, so that they drop the session as well and refuse its late
        batches. A single node writes none, as before: a late batch of the session starts it
        anew, and no purge of the index file is due."""
        if self._log.remote is not None and self._ids("SELECT id FROM sessions WHERE id = ?", [session_id]):
            self._tombstone([session_id])
            self._ingestor.forget(session_id)
        return erase_session(self._log, self._index, session_id, self.rows)

    def sessions(self, session_ids: list[str]) -> Erased:
        for chunk in _chunks(session_ids, CHUNK):
            self._note_erased(self._projects_of(chunk))
            self._tombstone(chunk)
            for session_id in chunk:
                self._ingestor.forget(session_id)
            erase_sessions(self._log, self._index, chunk, self.rows)
        if session_ids:
            # A digest names sessions as evidence; it is made again on its next request. Then a
            # checkpoint: DuckDB's write-ahead log still holds the deleted rows as they were written.
            self._index.write(lambda con: con.execute("DELETE FROM insights WHERE session_id LIKE 'digest/%'")).result()
            self._index.write(_checkpoint).result()
            self._due_purge()
        return Erased(sessions=len(session_ids))

    def _due_purge(self) -> None:
        if not self.purge_file.exists():
            self.purge_file.write_text(str(time.time()))

    # -- the purge of the index file --------------------------------------------------

    def purge_due(self, delay_s: float = PURGE_DELAY_S) -> bool:
        try:
            return time.time() - float(self.purge_file.read_text() or 0) >= delay_s
        except (FileNotFoundError, ValueError):
            return self.purge_file.exists()

    def purge(self) -> None:
        """Rebuild the index from the log into a fresh file; no deleted row survives that."""
        started = self.purge_file.stat().st_mtime if self.purge_file.exists() else None
        if self.after_erasure is not None:
            erased, self._erased = self._erased, {}
            try:
                self.after_erasure(erased)
            except Exception:
                self._erased = None  # the next purge replaces every dictionary: which ids is lost
                raise
        self._rebuild()
        # An erasure during the rebuild touched the file again: its purge is still due.
        if started is not None and self.purge_file.exists() and self.purge_file.stat().st_mtime == started:
            self.purge_file.unlink()
        log.info("index rebuilt after erasure: deleted rows are gone from its file")

    def start(self) -> None:
        # An erasure cut short by a crash (tombstoned, not yet deleted) is finished now.
        unfinished = self._ids("SELECT id FROM sessions WHERE id IN (SELECT session_id FROM tombstones)", [])
        if unfinished:
            log.info("finishing the erasure of %d sessions", len(unfinished))
            self.sessions(unfinished)
        self._thread = threading.Thread(target=self._purge_loop, name="erasure-purge", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _purge_loop(self) -> None:
        next_retention = time.monotonic()  # at start, then hourly
        while not self._stop.wait(PURGE_CHECK_S):
            if time.monotonic() >= next_retention:
                next_retention = time.monotonic() + RETENTION_EVERY_S
                try:
                    self.retention_round(int(time.time() * 1000))
                except Exception:  # the next hour tries again
                    log.exception("retention pass failed")
            if self.purge_due():
                try:
                    self.purge()
                except Exception:  # the next check tries again; the erased data is unreadable meanwhile
                    log.exception("index purge after erasure failed")

    def retention_round(self, now_ms: int) -> Erased | None:
        """The hourly retention: on a single node, here; in a cluster, on the node that wins this
        round, tombstoning what it deletes so every node drops it (None on the others)."""
        if self.cluster_lock is None:
            return self.retention(now_ms)
        with self.cluster_lock.held("retention") as mine:
            # A round a check early is still this hour's: each node checks every PURGE_CHECK_S.
            if not mine or not self.cluster_lock.claim_round("retention", RETENTION_EVERY_S - PURGE_CHECK_S):
                return None
            return self.retention(now_ms, tombstone=True)

    def retention(self, now_ms: int, tombstone: bool = False) -> Erased:
        """Deletes every project's sessions older than its retention (last activity before the
        cutoff). No tombstones on a single node: a batch of a session that old arriving now
        starts a new one. A cluster's other nodes learn of the deletion only from tombstones."""
        gone = 0
        for project in self._projects.all():
            days = self._projects.privacy(project.id).retention_days
            if not days:
                continue
            cutoff = now_ms - days * DAY_MS
            ids = self._ids("SELECT id FROM sessions WHERE project_id = ? AND last_received_ms < ?", [project.id, cutoff])
            self._note_erased({project.id: set(ids)} if ids else {})
            for chunk in _chunks(ids, CHUNK):
                if tombstone:
                    self._tombstone(chunk)
                erase_sessions(self._log, self._index, chunk, self.rows)
            if ids:
                log.info("retention: deleted %d sessions of %s older than %d days", len(ids), project.name, days)
                gone += len(ids)
        if gone:
            self._index.write(lambda con: con.execute("DELETE FROM insights WHERE session_id LIKE 'digest/%'")).result()
            self._index.write(_checkpoint).result()
            self._due_purge()
        return Erased(sessions=gone)

    def is_erased(self, session_id: str) -> bool:
        return bool(self._index.read(lambda cur: one_row(cur.execute(
            "SELECT count(*) FROM tombstones WHERE session_id = ?", [session_id]))[0]))

    def _tombstone(self, session_ids: list[str]) -> None:
        at = int(time.time() * 1000)
        futures = [
            self._log.submit(Record(Kind.ENTITY, EntityChange("tombstones", {"session_id": sid, "at_ms": at})))
            for sid in session_ids
        ]
        wait(futures)  # submitted together: they share fsyncs
        for future in futures:
            future.result()  # a failed write (full disk) stops the erasure here, before anything is deleted
        self._index.flush()

    def _note_erased(self, by_project: dict[str, set[str]]) -> None:
        if self._erased is not None:
            for project_id, ids in by_project.items():
                self._erased.setdefault(project_id, set()).update(ids)

    def _projects_of(self, session_ids: list[str]) -> dict[str, set[str]]:
        rows = self._index.read(lambda cur: cur.execute(
            "SELECT project_id, id FROM sessions WHERE list_contains(?, id)", [session_ids]).fetchall())
        by_project: dict[str, set[str]] = {}
        for project_id, session_id in rows:
            by_project.setdefault(project_id, set()).add(session_id)
        return by_project

    def _ids(self, sql: str, params: list[object]) -> list[str]:
        return [r[0] for r in self._index.read(lambda cur: cur.execute(sql, params).fetchall())]

    def _forget_people(self, condition: str, params: list[object]) -> None:
        def forget(con: duckdb.DuckDBPyConnection) -> None:
            con.execute(f"DELETE FROM visitors WHERE project_id = ? AND {condition}", params)

        self._index.write(forget).result()


def _checkpoint(con: duckdb.DuckDBPyConnection) -> None:
    """A checkpoint waits for no one: while a reader's transaction is open, try again a few
    times; if it never gets one, the purge's rebuild covers the write-ahead log as well."""
    for _ in range(20):
        try:
            con.execute("CHECKPOINT")
            return
        except duckdb.TransactionException:
            time.sleep(0.05)


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
