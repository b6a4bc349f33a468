"""The DuckDB file: opening it (and setting a damaged one aside), one writer, many readers.

DuckDB wants few large writes from one place, so every write goes through one thread
fed by a queue (datasette's model): batches of log records are applied together in one
transaction, and other writes (sign-ins, say) are jobs on the same queue. Reads use
cursors of their own, one per thread.

Ingest is acknowledged once the log has fsynced, not once indexed: the writer gathers
durable records for up to a second (GATHER_S) and applies them as one large group, which costs
little more than a small one. A read waits, first, until the index holds every record that
was durable when it arrived (read-your-writes: a client's flush() is followed by a listing
that shows it), and asks the writer to stop gathering; when the index is caught up that is
one comparison.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
import queue
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, InvalidStateError
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from sessionstory.handoff import HANDS
from sessionstory.index import compaction
from sessionstory.index.apply import apply_records, settle_quiet
from sessionstory.index.schema import SCHEMA_VERSION, TABLES
from sessionstory.store import Location, Record, SegmentLog

log = logging.getLogger(__name__)

T = TypeVar("T")
Job = Callable[[duckdb.DuckDBPyConnection], Any]
_Committed = list[tuple[Location, Record, object]]
QUIET_CHECK_S = 1.0  # how often the writer looks for sessions gone quiet
QUIET_AFTER_S = 3.0  # a session silent this long has had every chance to show a click's effect
# How long the writer lets durable records gather before applying them, unless a reader (or
# a job) is waiting, and how many records end the wait at once: a transaction's fixed cost
# (loading sessions, upserts, the checkpoint, COMMIT: ~30 ms of CPU whatever its size) is spread
# over a whole group. CPU per batch by group size: 2.1-2.8 ms at 16, 0.9 at 64, 0.33-0.4 at 256,
# 0.14 at 1,024. No one waits for the gathering (a read hurries the writer), so it may be long;
# the record cap bounds one flush (~0.15 s of CPU, measured at load 7), which a hurried read may wait out.
GATHER_S = 1.0
GATHER_RECORDS = 1_000
# DuckDB aborts the whole process when its WAL meets a full disk, so the writer waits for this
# much room instead of writing (ingest's own reserve, SESSIONSTORY_MIN_FREE_MB, is larger and
# normally stops batches first; this guards against the rest of the machine filling the disk).
INDEX_RESERVE_BYTES = 32 * 1024 * 1024
ROOM_CHECK_S = 0.5
READ_WAIT_S = 2.0  # the longest a read waits for the index to catch up; then it reads what is there
_HURRY = ("hurry", None, None)  # a queue item that only ends the writer's gathering


def _remember_pandas_is_missing() -> None:
    """DuckDB's Python client tries `import pandas` for every parameter it binds; without
    pandas installed each failed import searches sys.path again (~1 ms). Recording the
    absence once makes those imports fail at once: ingest got ~10x cheaper in CPU."""
    if "pandas" not in sys.modules and importlib.util.find_spec("pandas") is None:
        sys.modules["pandas"] = None  # type: ignore[assignment]


class Index:
    def __init__(self, path: Path, segment_log: SegmentLog | None = None) -> None:
        _remember_pandas_is_missing()
        self.path = path
        # The log this index is derived from: a session that receives a batch older than one
        # indexed before is folded again from its batches read back from it (apply.py).
        self.segment_log = segment_log
        self.rebuilt = False
        self._con = self._open_or_rebuild()
        self._con.execute(TABLES)
        self._con.execute(compaction.TABLES)
        self._set_meta("schema_version", str(SCHEMA_VERSION))
        self._local = threading.local()
        # Readers in flight, and whether the file is being swapped (replace_file): they exclude each other.
        self._gate = threading.Condition()
        self._readers = 0
        self._swapping = False
        self._closing = False  # set by close(): a writer waiting for disk room gives up
        self._queue: queue.Queue[tuple[str, Any, Future[Any] | None] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._waiters: list[tuple[tuple[int, int], Future[None]]] = []
        self._waiters_lock = threading.Lock()
        self._applied: tuple[int, int] = (0, -1)
        self._progress = threading.Condition()  # notified whenever `indexed` moves
        self._pending: dict[str, float] = {}  # sessions with clicks awaiting an outcome -> when seen
        # Records (and their bytes in the log) handed to the writer, and applied by it: the
        # difference is the index's lag behind the log (metrics, backpressure). One writer each.
        self.fed = self.indexed = (0, 0)

    def _open_or_rebuild(self) -> duckdb.DuckDBPyConnection:
        """The index file, or a new one in its place when it was damaged or of another version."""
        con = _connect(self.path)
        if con is not None and _schema_version(con) not in (None, SCHEMA_VERSION):
            # Derived data needs no migration: an index of another version is rebuilt from the log.
            con.close()
            con = None
        if con is None:
            self._set_aside()
            con = _connect(self.path)
            if con is None:
                raise RuntimeError(f"cannot create a new index at {self.path}")
            self.rebuilt = True
        return con

    def _set_aside(self) -> None:
        stamp = time.strftime("%Y%m%dT%H%M%S")
        for suffix in ("", ".wal"):
            damaged = Path(f"{self.path}{suffix}")
            if damaged.exists():
                damaged.rename(f"{self.path}{suffix}.broken-{stamp}")
        log.warning("index %s was damaged or of another version; set aside, rebuilding from the log", self.path)

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._write_loop, name="index-writer", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._closing = True
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        self._con.close()

    def replace_file(self, other: Path, pending: Iterable[str] = ()) -> None:
        """Swap in another index file (a rebuilt one) under this object's path; `pending`:
        the sessions with clicks the rebuild left awaiting an outcome (judged when quiet).

        Reads in flight finish first and new ones wait for the swap (a short while), so no
        request meets a closed connection."""
        with self._gate:
            self._swapping = True
            while self._readers:
                self._gate.wait()
        try:
            running = self._thread is not None
            self._pending.update(dict.fromkeys(pending, 0.0))
            self.close()
            Path(f"{self.path}.wal").unlink(missing_ok=True)
            os.replace(other, self.path)
            con = _connect(self.path)
            if con is None:
                raise RuntimeError(f"the rebuilt index at {self.path} does not open")
            self._con = con
            self._local = threading.local()
            if running:
                self.start()
        finally:
            with self._gate:
                self._swapping = False
                self._gate.notify_all()

    # -- writing ---------------------------------------------------------------------

    def feed(self, committed: _Committed) -> None:
        """Log commit listener: queue durable records for indexing."""
        self.fed = (self.fed[0] + len(committed), self.fed[1] + sum(loc.length for loc, *_ in committed))
        if self._thread is None:
            self._apply(committed)
        else:
            self._queue.put(("records", committed, None))

    def write(self, job: Callable[[duckdb.DuckDBPyConnection], T]) -> Future[T]:
        future: Future[T] = Future()
        if self._thread is None:
            _run(job, self._con, future)
        else:
            self._queue.put(("job", job, future))
        return future

    def flush(self) -> None:
        """Wait until everything queued so far is written (tests, shutdown, CLI)."""
        self.write(lambda con: None).result()

    @property
    def lag(self) -> tuple[int, int]:
        """Records durable in the log but not yet indexed, and their bytes."""
        indexed, fed = self.indexed, self.fed  # in this order, never negative
        return fed[0] - indexed[0], fed[1] - indexed[1]

    @property
    def queued(self) -> int:
        """Items (groups of records, jobs) waiting for the writer thread."""
        return self._queue.qsize()

    @property
    def writing(self) -> bool:
        """Whether the writer thread is running."""
        return self._thread is not None and self._thread.is_alive()

    def _write_loop(self) -> None:
        settled = time.monotonic()
        while True:
            try:
                items = [self._queue.get(timeout=QUIET_CHECK_S)]
            except queue.Empty:
                items = []
            if items and items[0] is not None and items[0][0] == "records":
                self._gather(items)
            else:
                self._drain(items)
            if not self._run_items(items):
                return
            if time.monotonic() - settled >= QUIET_CHECK_S:  # under steady ingest the queue is never empty
                self._settle_quiet()
                settled = time.monotonic()

    def _gather(self, items: list[tuple[str, Any, Future[Any] | None] | None]) -> None:
        """Take more queued items for up to GATHER_S, until a reader or a job waits (or the
        shutdown sentinel comes), or GATHER_RECORDS are in hand."""
        deadline = time.monotonic() + GATHER_S
        records = len(items[0][1])  # type: ignore[index]
        while records < GATHER_RECORDS:
            try:
                item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return
            items.append(item)
            if item is None or item[0] != "records":
                self._drain(items)
                return
            records += len(item[1])

    def _drain(self, items: list[tuple[str, Any, Future[Any] | None] | None]) -> None:
        while True:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                return

    def _run_items(self, items: list[tuple[str, Any, Future[Any] | None] | None]) -> bool:
        """Apply the records and run the jobs, in queue order; False at the shutdown sentinel."""
        pending: _Committed = []
        for item in items:
            if item is None:
                if pending:
                    self._apply(pending)
                return False
            kind, payload, future = item
            if kind == "records":
                pending.extend(payload)
            elif kind == "job":
                if pending:  # a job sees every record queued before it
                    self._apply(pending)
                    pending = []
                assert future is not None
                _run(payload, self._con, future)
        if pending:
            self._apply(pending)
        return True

    def applied(self, location: Location) -> Future[None]:
        """Resolves once the record at `location` is indexed (or its indexing has failed)."""
        future: Future[None] = Future()
        key = (location.segment, location.offset)
        with self._waiters_lock:
            if key <= self._applied:
                future.set_result(None)
                return future
            self._waiters.append((key, future))
        self._hurry()
        return future

    def wait_current(self, timeout: float = READ_WAIT_S) -> bool:
        """Wait until every record durable now is indexed (at most `timeout`); whether it is.

        The writer thread itself never waits (it would wait for itself)."""
        target = self.fed[0]
        if self.indexed[0] >= target or threading.current_thread() is self._thread:
            return self.indexed[0] >= target
        self._hurry()
        with self._progress:
            return self._progress.wait_for(lambda: self.indexed[0] >= target, timeout)

    def _hurry(self) -> None:
        """Someone waits for the index: the writer stops gathering and applies what it has."""
        if self._thread is not None:
            self._queue.put(_HURRY)

    def _apply(self, committed: _Committed) -> None:
        last = committed[-1][0]
        if not self._wait_for_room():
            return  # closing with no room: the checkpoint stays before these, and the next start applies them
        try:
            self._apply_together(committed)
        except Exception:
            # A group is many clients' batches: one the index cannot take must not cost the others
            # their rows. One by one, only that one is left out (it stays in the log, for a reindex).
            log.exception("indexing %d records together failed; indexing them one by one", len(committed))
            for one in committed if len(committed) > 1 else ():
                try:
                    self._apply_together([one])
                except Exception:
                    log.exception("indexing the record at %s failed", one[0])
        with self._waiters_lock:
            self._applied = max(self._applied, (last.segment, last.offset))
            ready = [f for key, f in self._waiters if key <= self._applied]
            self._waiters = [(key, f) for key, f in self._waiters if key > self._applied]
        self.indexed = (self.indexed[0] + len(committed), self.indexed[1] + sum(loc.length for loc, *_ in committed))
        with self._progress:
            self._progress.notify_all()
        for future in ready:
            try:
                future.set_result(None)
            except InvalidStateError:  # its waiter gave up (live viewing waits 2 s at most) and cancelled it
                pass

    def _wait_for_room(self) -> bool:
        """Wait while the disk is nearly full; False if the index is closed meanwhile."""
        stalled_at = None
        while shutil.disk_usage(self.path.parent).free < INDEX_RESERVE_BYTES:
            if self._closing:
                return False
            if stalled_at is None:
                stalled_at = time.monotonic()
                log.error("index: less than %d MiB free on disk; indexing waits for room (batches are safe in the log)",
                          INDEX_RESERVE_BYTES >> 20)
            time.sleep(ROOM_CHECK_S)
        if stalled_at is not None:
            log.warning("index: room on disk again after %.0f s; indexing resumes", time.monotonic() - stalled_at)
        return True

    def _apply_together(self, committed: _Committed) -> None:
        """Index the records in one transaction with the checkpoint, or not at all."""
        try:
            self._con.execute("BEGIN")
            pending = apply_records(self._con, committed, self.segment_log)
            self._set_log_position(committed[-1][0])
            self._con.execute("COMMIT")
        except Exception:
            self._con.execute("ROLLBACK")
            raise
        self._pending.update(dict.fromkeys(pending, time.monotonic()))

    def _settle_quiet(self) -> None:
        """Judge the pending clicks of sessions that have sent nothing for a while."""
        cutoff = time.monotonic() - QUIET_AFTER_S
        quiet = [sid for sid, seen in self._pending.items() if seen < cutoff]
        if not quiet:
            return
        for sid in quiet:
            del self._pending[sid]
        try:
            self._con.execute("BEGIN")
            settle_quiet(self._con, quiet)
            self._con.execute("COMMIT")
        except Exception:
            self._con.execute("ROLLBACK")
            log.exception("settling %d quiet sessions failed", len(quiet))

    def settle_all(self) -> None:
        """Judge every pending click now (tests, shutdown)."""
        def job(con: duckdb.DuckDBPyConnection) -> None:
            for sid in self._pending:
                self._pending[sid] = 0.0
            self._settle_quiet()

        self.write(job).result()

    def pending_sessions(self) -> list[str]:
        return list(self._pending)

    # -- reading ---------------------------------------------------------------------

    def cursor(self) -> duckdb.DuckDBPyConnection:
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._local.cursor = self._con.cursor()
        return cur

    def read(self, query: Callable[[duckdb.DuckDBPyConnection], T], fresh: bool = True) -> T:
        """Run `query` on this thread's cursor; `fresh`: once the index holds everything durable
        now (read-your-writes), or READ_WAIT_S have passed."""
        if fresh:
            self.wait_current()
        with self._gate:
            while self._swapping:
                self._gate.wait()
            self._readers += 1
        try:
            return query(self.cursor())
        finally:
            with self._gate:
                self._readers -= 1
                if not self._readers:
                    self._gate.notify_all()

    async def read_async(self, query: Callable[[duckdb.DuckDBPyConnection], T], fresh: bool = True) -> T:
        return await HANDS.run(self.read, query, fresh)

    def log_position(self) -> Location | None:
        row = self.cursor().execute("SELECT value FROM meta WHERE key = 'log_position'").fetchone()
        if row is None:
            return None
        segment, offset, length = (int(x) for x in row[0].split(":"))
        return Location(segment, offset, length)

    def _set_log_position(self, last: Location) -> None:
        """The checkpoint, in the transaction of the rows it covers. An UPDATE where the row
        exists (always, but for the first time): half the cost of the upsert, on every flush."""
        position = f"{last.segment}:{last.offset}:{last.length}"
        updated = self._con.execute("UPDATE meta SET value = ? WHERE key = 'log_position'", [position]).fetchone()
        if not updated or not updated[0]:
            self._set_meta("log_position", position)

    def _set_meta(self, key: str, value: str) -> None:
        self._con.execute(
            "INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [key, value]
        )


def one_row(result: duckdb.DuckDBPyConnection) -> tuple[Any, ...]:
    """The row of a query that always yields one, an aggregate without GROUP BY (`count(*)`)."""
    row = result.fetchone()
    if row is None:
        raise LookupError("a query expected to yield one row yielded none")
    return row


def _schema_version(con: duckdb.DuckDBPyConnection) -> int | None:
    try:
        row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except duckdb.CatalogException:
        return None  # a new, empty file
    return int(row[0]) if row else None


def _connect(path: Path) -> duckdb.DuckDBPyConnection | None:
    """Open the index, or None when the file or its WAL is damaged beyond DuckDB's recovery."""
    try:
        con = duckdb.connect(str(path))
        con.execute("SELECT 1").fetchone()
        return con
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise
        log.error("cannot open index: %s", exc)
        return None
    except duckdb.Error as exc:
        log.error("cannot open index: %s", exc)
        return None


def _run(job: Job, con: duckdb.DuckDBPyConnection, future: Future[Any]) -> None:
    try:
        future.set_result(job(con))
    except BaseException as exc:  # the caller decides what a failed write means
        future.set_exception(exc)
