"""Compaction: a session quiet for its timeout is rewritten as one record, and dead
segments are deleted.

For each session, in an order that survives a crash at any point:
1. its batches are read (through `store.batches`, so a session compacted before and
   batches that came later are merged) and packed into one COMPACTED record, compressed
   at a high level with the project's dictionary;
2. that record is appended and made durable like any other;
3. the index applies it: the session's record locations move to it in one transaction
   that also lists the records it replaced as superseded;
4. the superseded records are erased in place, and the list is cleared.
A crash after 2 leaves the old records and the new one: the index (at catch-up, or a
reindex from scratch) applies each (session, seq) once. A crash after 3 leaves the
superseded list in the index, erased at the next pass.

Then segments older than the index's checkpoint with no live batch in them are deleted,
their live account and dictionary records first carried forward to the log's tail.

A dictionary holds fragments of the batches it was trained on. After an erasure (`forget`,
called by erasure.py's purge), each dictionary that may have been trained on an erased session
is replaced: a new one is trained on what is left, every session packed with the old one is
packed again, and the old record is erased from the log before its index row goes (a crash in
between leaves a row the next purge finds and finishes).

`Compactor.run` does one pass (the CLI's `sessionstory compact`); `start` runs passes in
a background thread, one session at a time, never holding the segment committer.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from functools import partial

import duckdb
import msgspec

from sessionstory.index import Index
from sessionstory.index import compaction as q
from sessionstory.index.apply import ACCOUNT_TABLES
from sessionstory.index.compaction import Unpacked
from sessionstory.store import Batch, CorruptRecord, EntityChange, Kind, Location, Record, SegmentLog, batches
from sessionstory.store.compaction import Dictionary, drifted, pack, train

log = logging.getLogger(__name__)
Transform = Callable[[list[Batch]], "list[Batch] | None"]

EVERY_S = 300.0  # the background compactor's pause between passes
GROUP = 20  # sessions compacted between two erasures of what they superseded
SAMPLE_SESSIONS = 200  # a dictionary is trained on batches of the project's latest sessions...
SAMPLE_BYTES = 8 * 1024 * 1024  # ...up to this much JSON
CHECK_DRIFT_EVERY = 500  # sessions compacted with a dictionary between two checks for drift
WAIT_S = 60.0
CLEAN_BELOW = 0.5  # a segment less than half of whose bytes are in use has its sessions moved out
ROLL_AT_BYTES = 1024 * 1024  # the active segment is rolled for that from this size on


class Summary(msgspec.Struct):
    sessions: int = 0
    batches: int = 0
    bytes_before: int = 0  # the records replaced, as stored
    bytes_after: int = 0  # the compacted records written
    raw_bytes: int = 0  # the batches' JSON
    dictionaries: int = 0  # trained in this pass
    moved: int = 0  # compacted sessions moved out of mostly dead segments
    segments_deleted: int = 0
    log_before: int = 0  # the whole log on disk (blocks allocated)
    log_after: int = 0

    def text(self) -> str:
        share = f" ({self.bytes_after / self.bytes_before:.1%})" if self.bytes_before else ""
        return (
            f"compacted {self.sessions} sessions ({self.batches} batches): {self.bytes_before:,} -> "
            f"{self.bytes_after:,} bytes{share}; {self.dictionaries} dictionaries trained; "
            f"{self.moved} sessions moved out of mostly dead segments; {self.segments_deleted} segments deleted; log {self.log_before:,} -> {self.log_after:,} bytes"
        )


class Compactor:
    def __init__(self, log_: SegmentLog, index: Index, session_timeout_s: float) -> None:
        self.log, self.index = log_, index
        self.session_timeout_s = session_timeout_s
        self.lock = threading.Lock()  # one pass at a time (background, CLI, reindex)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._drift_checked: dict[tuple[str, int], int] = {}
        # The sessions each dictionary trained in this process learnt from; one trained before it
        # started is taken to hold any of its project's sessions.
        self._trained_on: dict[tuple[str, int], set[str]] = {}
        self._not_dead: set[int] = set()  # old segments found holding stray live batches

    # -- one pass --------------------------------------------------------------------

    def run(self, idle_s: float | None = None, pause_s: float = 0.0) -> Summary:
        """Compact every session quiet for `idle_s` (default: the session timeout)."""
        idle = self.session_timeout_s if idle_s is None else idle_s
        with self.lock:
            summary = Summary(log_before=self.log.allocated_bytes())
            self._erase_superseded()  # what an interrupted pass left
            cutoff = int(time.time() * 1000 - idle * 1000)
            idle_sessions = self.index.read(lambda cur: q.idle_sessions(cur, cutoff))
            self._compact_all(idle_sessions, summary, pause_s)
            self._erase_superseded()
            self._clean_segments(summary)
            summary.segments_deleted = self._delete_dead_segments()
            summary.log_after = self.log.allocated_bytes()
            return summary

    def _compact_all(self, sessions: list[tuple[str, str]], summary: Summary, pause_s: float) -> None:
        """Compact (project, session) pairs, grouped by project."""
        project, dictionary = "", None
        for done, (project_id, session_id) in enumerate(sessions, 1):
            if self._stop.is_set():
                break
            if project_id != project:
                project, dictionary = project_id, self._dictionary(project_id, summary)
            self._compact(session_id, dictionary, summary)
            if done % GROUP == 0:
                self._erase_superseded()
            if pause_s:
                time.sleep(pause_s)  # the background pass leaves the disk and CPU to ingest
        self._erase_superseded()

    def _clean_segments(self, summary: Summary) -> None:
        """Let mostly dead segments die: erased records smaller than a disk block free no
        space, so the sessions still living in such a segment are compacted (again) to the
        log's tail, leaving it all dead. A mostly dead active segment is rolled first."""
        live = self.index.read(q.live_bytes)
        active = self.log.active_segment
        with contextlib.suppress(FileNotFoundError):
            size = self.log.path(active).stat().st_size
            if size >= ROLL_AT_BYTES and live.get(active, 0) < size * CLEAN_BELOW:
                self.log.roll()
        for segment in self.log.segments():
            if segment >= self.log.active_segment or self._stop.is_set():
                break
            with contextlib.suppress(FileNotFoundError):
                size = self.log.path(segment).stat().st_size
                if 0 < live.get(segment, 0) < size * CLEAN_BELOW:
                    moving = Summary()
                    self._compact_all(self.index.read(partial(q.sessions_in, segment=segment)), moving, 0.0)
                    summary.moved += moving.sessions
                    summary.dictionaries += moving.dictionaries

    def rewrite(self, session_ids: list[str], transform: Transform, stop: threading.Event | None = None) -> Summary:
        """Pack each session again with `transform` applied to its batches (retroactive redaction:
        `redaction.py`), through the same append, index swap and erasure as compaction, so a crash
        leaves each session either as it was or rewritten. `transform` returns None for a session
        it need not change. Packed without a dictionary: one trained on the old data would keep it."""
        summary = Summary()
        with self.lock:
            self._erase_superseded()
            for done, session_id in enumerate(session_ids, 1):
                if stop is not None and stop.is_set():
                    break
                self._compact(session_id, None, summary, transform)
                if done % GROUP == 0:
                    self._erase_superseded()
            self._erase_superseded()
        return summary

    def _compact(self, session_id: str, dictionary: Dictionary | None, summary: Summary,
                 transform: Transform | None = None) -> None:
        where = self.index.read(lambda cur: q.session_records(cur, session_id))
        if not where:
            return  # deleted meanwhile
        sources = sorted(set(where.values()))
        records = self.log.read_many(sources)
        if any(r is None for r in records):
            return  # deleted (or compacted) meanwhile; the next pass sees the current state
        items: list[Batch] = []
        for location, record in zip(sources, records):
            # In the order first appended: the order the index folded them in.
            for b in batches(record, self.log.dictionaries):
                if where.get(b.meta.seq) == location:
                    items.append(b)
                    del where[b.meta.seq]
        if not items:
            return
        only = records[0] if len(records) == 1 and transform is None else None
        if transform is not None:
            changed = transform(items)
            if changed is None:
                return
            items = changed
        if only is not None and only.kind == Kind.COMPACTED and only.meta.dictionary == (dictionary.version if dictionary else 0):  # type: ignore[union-attr]
            packed = only  # moved as it is: nothing new to merge, nothing to gain by compressing again
        else:
            packed = pack(items, dictionary)
        location = self.log.append_now(packed, Unpacked())
        self.index.applied(location).result(WAIT_S)
        summary.sessions += 1
        summary.batches += len(items)
        summary.bytes_before += sum(loc.length for loc in sources)
        summary.bytes_after += location.length
        summary.raw_bytes += sum(len(b.events) for b in items)

    def _erase_superseded(self) -> None:
        gone = self.index.read(q.superseded)
        with self.log.frozen():  # a backup copying the log must not see half of it erased
            self.log.erase(gone)
        self.index.write(lambda con: q.forget_superseded(con, gone)).result()

    # -- dictionaries ----------------------------------------------------------------

    def _dictionary(self, project_id: str, summary: Summary) -> Dictionary | None:
        """The project's current dictionary; a new one when there is none yet or the data drifted."""
        version = self.index.read(lambda cur: q.latest_dictionary(cur, project_id))
        current = self.log.dictionaries.get(project_id, version) if version else None
        if current is not None:
            used = self.index.read(lambda cur: q.sessions_using(cur, project_id, version))
            checked = self._drift_checked.setdefault((project_id, version), used)
            if used - checked < CHECK_DRIFT_EVERY:
                return current
            self._drift_checked[(project_id, version)] = used
            if not drifted(current, self._samples(project_id)[0]):
                return current
            log.info("project %s: data drifted from dictionary %d; training a new one", project_id, version)
        return self._train(project_id, version + 1, summary) or current  # too little data: the old one, or none

    def _train(self, project_id: str, version: int, summary: Summary) -> Dictionary | None:
        samples, sources = self._samples(project_id)
        record = train(project_id, version, samples)
        if record is None:
            return None
        location = self.log.append_now(record)
        self.index.applied(location).result(WAIT_S)
        summary.dictionaries += 1
        self._trained_on[(project_id, version)] = sources
        return self.log.dictionaries.add(record)

    def _samples(self, project_id: str) -> tuple[list[bytes], set[str]]:
        """JSON of batches of the project's latest sessions, newest first, and those sessions' ids."""
        samples: list[bytes] = []
        sources: set[str] = set()
        total = 0
        for session_id in self.index.read(lambda cur: q.recent_sessions(cur, project_id, SAMPLE_SESSIONS)):
            where = self.index.read(lambda cur: q.session_records(cur, session_id))
            sources.add(session_id)
            for record in self.log.read_many(sorted(set(where.values()))):
                for b in batches(record, self.log.dictionaries):
                    samples.append(b.events)
                    total += len(b.events)
            if total >= SAMPLE_BYTES:
                break
        return samples, sources

    # -- after an erasure --------------------------------------------------------------

    def forget(self, erased: dict[str, set[str]] | None) -> Summary:
        """Replace every dictionary that may hold fragments of erased sessions (`erased`: their
        ids by project; None: not known, so every project's dictionaries)."""
        summary = Summary()
        with self.lock:
            self._erase_superseded()
            projects = self.index.read(_projects_with_dictionaries) if erased is None else sorted(erased)
            for project_id in projects:
                self._replace_dictionaries(project_id, None if erased is None else erased[project_id], summary)
        return summary

    def _replace_dictionaries(self, project_id: str, erased: set[str] | None, summary: Summary) -> None:
        versions = self.index.read(lambda cur: _dictionary_versions(cur, project_id))
        tainted = [v for v in versions if erased is None or self._trained_on.get((project_id, v), erased) & erased]
        if not tainted:
            return
        log.info("project %s: erased sessions may be in dictionaries %s; training a new one", project_id, tainted)
        fresh = self._train(project_id, max(versions) + 1, summary)
        for version in tainted:
            for session_id in self.index.read(partial(_sessions_packed_with, project_id=project_id, version=version)):
                self._compact(session_id, fresh, summary)  # read with the old dictionary, packed with the new
        self._erase_superseded()
        for version in tainted:
            location = self.index.read(partial(q.dictionary_location, project_id=project_id, version=version))
            if location is not None:
                with self.log.frozen():
                    self.log.erase([location])
            self.index.write(partial(_forget_dictionary, project_id=project_id, version=version)).result()
            self._trained_on.pop((project_id, version), None)

    # -- dead segments ---------------------------------------------------------------

    def _delete_dead_segments(self) -> int:
        """Delete old segments holding no live batch; carry their live account and
        dictionary records forward first. Only segments the index has applied entirely
        (before its checkpoint's segment), never the active one."""
        checkpoint = self.index.log_position()
        if checkpoint is None:
            return 0
        used = set(self.index.read(lambda cur: q.live_bytes(cur, dictionaries=False)))
        deleted = 0
        for segment in self.log.segments():
            if segment >= min(checkpoint.segment, self.log.active_segment) or self._stop.is_set():
                break
            if segment in used or segment in self._not_dead:
                continue
            try:
                live = [(loc, rec) for loc, rec in self.log.scan_segment(segment) if rec is not None]
            except CorruptRecord as exc:
                log.warning("not deleting segment %d: %s", segment, exc)
                self._not_dead.add(segment)
                continue
            if any(rec.kind in (Kind.BATCH, Kind.COMPACTED) for _, rec in live):
                self._not_dead.add(segment)  # a stray duplicate batch: kept, like the batch
                continue
            carried = [c for c in (self._carry(loc, rec) for loc, rec in live) if c is not None]
            with self.log.frozen():
                last = None
                for record in carried:
                    last = self.log.append_now(record)
                if last is not None:
                    self.index.applied(last).result(WAIT_S)
                self.log.delete_segment(segment)
            deleted += 1
            log.info("deleted dead segment %d (%d records carried forward)", segment, len(carried))
        return deleted

    def _carry(self, location: Location, record: Record) -> Record | None:
        meta = record.meta
        if isinstance(meta, EntityChange):
            key = ACCOUNT_TABLES.get(meta.table)
            if key is None or self.index.read(lambda cur: q.entity_is_stale(cur, meta, key, location)):
                return None  # overwritten by a later change of the same row
            return msgspec.structs.replace(record, meta=msgspec.structs.replace(meta, origin=meta.origin or location))
        if record.kind == Kind.DICTIONARY:
            return record
        return None

    # -- in the background -----------------------------------------------------------

    def start(self, every_s: float = EVERY_S) -> None:
        """Compact in a thread: a pass every `every_s`, the first one after a pause."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, args=(every_s,), name="compactor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _loop(self, every_s: float) -> None:
        with contextlib.suppress(OSError, AttributeError):  # a lower CPU priority for this thread only (Linux)
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        while not self._stop.wait(every_s):
            try:
                summary = self.run(pause_s=0.05)
                if summary.sessions or summary.segments_deleted:
                    log.info("%s", summary.text())
            except Exception:  # the log is the truth whatever a pass did; the next one resumes
                log.exception("compaction pass failed")


# -- the index's dictionaries table, as forgetting a dictionary needs it ------------------


def _projects_with_dictionaries(cur: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in cur.execute("SELECT DISTINCT project_id FROM dictionaries ORDER BY 1").fetchall()]


def _dictionary_versions(cur: duckdb.DuckDBPyConnection, project_id: str) -> list[int]:
    return [r[0] for r in cur.execute("SELECT version FROM dictionaries WHERE project_id = ? ORDER BY 1",
                                      [project_id]).fetchall()]


def _sessions_packed_with(cur: duckdb.DuckDBPyConnection, project_id: str, version: int) -> list[str]:
    return [r[0] for r in cur.execute("SELECT session_id FROM compactions WHERE project_id = ? AND dictionary = ?",
                                      [project_id, version]).fetchall()]


def _forget_dictionary(con: duckdb.DuckDBPyConnection, project_id: str, version: int) -> None:
    con.execute("DELETE FROM dictionaries WHERE project_id = ? AND version = ?", [project_id, version])
