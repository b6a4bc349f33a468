"""Append-only segment files with group-commit fsync.

Writers hand records to one committer thread. It writes everything queued so far,
calls fsync once, and only then tells each writer where its record landed: many
concurrent requests share one fsync, and nothing is acknowledged before it is on disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import queue
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from sessionstory.store import kept
from sessionstory.store.compaction import Dictionaries
from sessionstory.store.records import (
    ERASED, HEADER, MAGIC, SEALED, EncryptionError, Kind, Location, Record, Sealer, decode_payload, encode,
)

if TYPE_CHECKING:
    from sessionstory.store.shipping import Shipper

log = logging.getLogger(__name__)

SEGMENT_BYTES = 64 * 1024 * 1024
_SUFFIX = ".seg"

# Called after each fsync with what it made durable: (where, what, the writer's note).
Committed = Callable[[list[tuple[Location, Record, object]]], None]
# Who waits for a record: a thread (a concurrent Future) or an event loop (an asyncio Future,
# settled on its loop together with the rest of its group: one hop back per group, not per record).
_Waiter = Future[Location] | asyncio.Future[Location]
_Item = tuple[bytes, Record, object, _Waiter]
_W = TypeVar("_W", Future[Location], asyncio.Future[Location])


def segment_numbers(directory: Path) -> list[int]:
    """The numbers of the segment files in `directory`, in order."""
    return sorted(int(p.stem) for p in directory.glob(f"*{_SUFFIX}") if p.stem.isdigit())


def segment_path(directory: Path, segment: int) -> Path:
    return directory / f"{segment:08d}{_SUFFIX}"


class CorruptRecord(Exception):
    """A record's bytes do not match its checksum."""


class SegmentLog:
    """The log on local disk: numbered segment files in one directory.

    With a `remote` (a cluster's object store, store/shipping.py) sealed segments are
    shipped there too, and a segment not on local disk is read from there."""

    def __init__(self, directory: Path, segment_bytes: int = SEGMENT_BYTES, sealer: Sealer | None = None,
                 first_segment: int = 1, remote: Shipper | None = None) -> None:
        self.directory = directory
        self.segment_bytes = segment_bytes
        self.sealer = sealer  # encryption at rest: new records are sealed, sealed ones opened
        self.first_segment = first_segment  # a cluster node numbers its segments from its own range
        self.remote = remote
        self._pending = 0  # submitted, not yet written (see `queued`)
        self._pending_lock = threading.Lock()
        # SimpleQueue: its put is one C call, where Queue's takes a Python lock and notifies a
        # Condition, on the event loop's thread, once for every batch.
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._on_commit: list[Committed] = []
        self._lock = threading.Lock()  # guards the active segment's file handle
        self._frozen = threading.Lock()  # held by backups: no erasing or deleting of segments meanwhile
        self.last_commit_s = 0.0  # how long the latest group took to write and fsync (read by commit listeners)
        self.failure: OSError | None = None  # set by a failed fsync: no write is taken after it
        directory.mkdir(parents=True, exist_ok=True)
        self._segment, self._fd, self._size = self._open_active()
        # What compacted records need to be read; part of the log like everything else.
        self.dictionaries = Dictionaries(self.read, lambda: self.find_kind(Kind.DICTIONARY))

    # -- opening and recovery -------------------------------------------------------

    def segments(self) -> list[int]:
        return segment_numbers(self.directory)

    def path(self, segment: int) -> Path:
        return segment_path(self.directory, segment)

    def _open_active(self) -> tuple[int, int, int]:
        numbers = self.segments()
        segment = numbers[-1] if numbers else self.first_segment
        path = self.path(segment)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        good = self._valid_length(segment)
        size = os.fstat(fd).st_size
        if good < size:
            # A crash mid-write leaves a torn tail; it was never acknowledged, so drop it.
            log.warning("segment %s: dropping %d bytes of torn tail", path.name, size - good)
            os.ftruncate(fd, good)
            os.fsync(fd)
        return segment, fd, good

    def _valid_length(self, segment: int) -> int:
        end = 0
        try:
            for location, _ in self.scan_segment(segment):
                end = location.end
        except CorruptRecord:
            pass
        return end

    # -- writing ---------------------------------------------------------------------

    def on_commit(self, callback: Committed) -> None:
        """Call `callback` from the committer thread, in log order, after each fsync."""
        self._on_commit.append(callback)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._commit_loop, name="segment-committer", daemon=True)
        self._thread.start()

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Hold back the committer: nothing is appended while the block runs."""
        with self._lock:
            yield

    @contextlib.contextmanager
    def frozen(self) -> Iterator[None]:
        """Hold back compaction's rewrites (erasing superseded records, deleting dead
        segments) while the block runs, so a copy of the log stays whole. Appends go on."""
        with self._frozen:
            yield

    @property
    def active_segment(self) -> int:
        return self._segment

    @property
    def active_bytes(self) -> int:
        return self._size

    @property
    def queued(self) -> int:
        """Records handed to the committer and not yet written (metrics, backpressure): those
        in its queue and those in the group it is writing now."""
        return self._pending

    @property
    def committing(self) -> bool:
        """Whether the committer thread is running."""
        return self._thread is not None and self._thread.is_alive()

    def submit(self, record: Record, note: object = None) -> Future[Location]:
        """Queue a record; the future resolves once it is durable (or fails with OSError).

        `note` travels with the record to the commit callbacks (the ingest path passes
        the facts it already extracted, so the indexer need not decompress again).
        """
        return self._enqueue(record, note, Future())

    def submit_async(self, record: Record, note: object = None) -> asyncio.Future[Location]:
        """`submit` for the event loop's thread: the future is settled on this loop, in one
        callback for the whole group its record was fsynced with."""
        return self._enqueue(record, note, asyncio.get_running_loop().create_future())

    def _enqueue(self, record: Record, note: object, waiter: _W) -> _W:
        if self.failure is not None:
            waiter.set_exception(self.failure)
            return waiter
        with self._pending_lock:
            self._pending += 1
        self._queue.put((encode(record, self.sealer), record, note, waiter))
        return waiter

    async def append(self, record: Record, note: object = None) -> Location:
        return await self.submit_async(record, note)

    def append_now(self, record: Record, note: object = None) -> Location:
        """Append from a thread that may wait (CLI commands, tests)."""
        if self._thread is None:
            return self._write_group([(encode(record, self.sealer), record, note, Future())])[0][0]
        return self.submit(record, note).result()

    def _commit_loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            group = [item]
            while True:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)
                    break
                group.append(more)
            try:
                self._write_group(group)
            except OSError as exc:
                log.error("segment write failed: %s", exc)
                _settle([waiter for *_, waiter in group], [exc] * len(group))
            finally:
                with self._pending_lock:
                    self._pending -= len(group)

    def _write_group(self, group: list[_Item]) -> list[tuple[Location, Record, object]]:
        with self._lock:
            if self.failure is not None:
                raise self.failure
            started = time.perf_counter()
            placed: list[tuple[Location, Record, object]] = []
            start_size = self._size
            try:
                # One write() per segment the group touches, not one per record: a syscall each.
                unwritten: list[bytes] = []
                for data, record, note, _ in group:
                    if self._size and self._size + len(data) > self.segment_bytes:
                        _write_all(self._fd, b"".join(unwritten))
                        unwritten = []
                        self._fsync_and_roll()
                        start_size = 0
                    unwritten.append(data)
                    placed.append((Location(self._segment, self._size, len(data)), record, note))
                    self._size += len(data)
                _write_all(self._fd, b"".join(unwritten))
                self._fsync_or_fail()
                self.last_commit_s = time.perf_counter() - started
            except OSError:
                # A full disk leaves part of the group written: cut it off so the tail stays clean.
                self._size = start_size
                os.ftruncate(self._fd, start_size)
                raise
        for callback in self._on_commit:
            try:
                callback(placed)
            except Exception:  # the data is durable whatever a listener does; the index catches up at start
                log.exception("commit listener failed")
        _settle([waiter for *_, waiter in group], [location for location, *_ in placed])
        return placed

    def _fsync_or_fail(self) -> None:
        """fsync the active segment; a failure stops all writing until a restart. After a
        failed fsync the kernel may have dropped the dirty pages while a second fsync reports
        success, so nothing written since the last good one can be vouched for: the log takes
        no more writes, and a restart reads back what really reached the disk."""
        try:
            os.fsync(self._fd)
        except OSError as exc:
            self.failure = OSError(exc.errno, f"fsync failed ({exc.strerror}); restart the server to recover")
            log.critical("segment %s: %s", self.path(self._segment).name, self.failure.strerror)
            raise self.failure from exc

    def roll(self) -> None:
        """Start a new active segment now (compaction, to let the current one die)."""
        with self._lock:
            if self._size:
                self._fsync_and_roll()

    def _fsync_and_roll(self) -> None:
        self._fsync_or_fail()
        os.close(self._fd)
        self._segment += 1
        self._fd = os.open(self.path(self._segment), os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        self._size = 0
        _fsync_directory(self.directory)
        if self.remote is not None:
            self.remote.sealed(self._segment - 1)

    # -- reading ---------------------------------------------------------------------

    def read(self, location: Location) -> Record:
        try:
            with open(self.path(location.segment), "rb") as f:
                data = os.pread(f.fileno(), location.length, location.offset)
        except FileNotFoundError:
            if self.remote is None:
                raise
            data = self.remote.read_range(location.segment, location.offset, location.length)
        record = _parse(data, 0, location, self.sealer)
        if record is None:
            raise CorruptRecord(f"record at {location} was erased")
        return record

    def read_many(self, locations: list[Location]) -> list[Record | None]:
        """Read records, opening each segment once; an erased record reads as None."""
        out: list[Record | None] = []
        handles: dict[int, int] = {}
        try:
            for loc in locations:
                fd = handles.get(loc.segment)
                if fd is None:
                    try:
                        fd = handles[loc.segment] = os.open(self.path(loc.segment), os.O_RDONLY)
                    except FileNotFoundError:
                        fd = handles[loc.segment] = -1
                if fd >= 0:
                    out.append(_parse(os.pread(fd, loc.length, loc.offset), 0, loc, self.sealer))
                else:
                    out.append(self._read_elsewhere(loc))
        finally:
            for fd in handles.values():
                if fd >= 0:
                    os.close(fd)
        return out

    def _read_elsewhere(self, loc: Location) -> Record | None:
        """A record whose segment is not on this disk: in the object store (another node
        wrote it), or nowhere (compaction deleted a dead segment: its records were erased)."""
        if self.remote is None:
            return None
        try:
            return _parse(self.remote.read_range(loc.segment, loc.offset, loc.length), 0, loc, self.sealer)
        except FileNotFoundError:
            return None

    def scan(self, since: Location | None = None) -> Iterator[tuple[Location, Record]]:
        """Every live record after `since` (or from the start), in log order."""
        for segment in self.segments():
            if since is not None and segment < since.segment:
                continue
            start = since.end if since is not None and segment == since.segment else 0
            yield from (
                (loc, rec) for loc, rec in self.scan_segment(segment, start, tolerate_tail=True) if rec is not None
            )

    def scan_segment(
        self, segment: int, start: int = 0, tolerate_tail: bool = False
    ) -> Iterator[tuple[Location, Record | None]]:
        try:
            data = self.path(segment).read_bytes()
        except FileNotFoundError:
            return
        offset = start
        while offset + HEADER.size <= len(data):
            magic, _kind, meta_len, body_len, _crc = HEADER.unpack_from(data, offset)
            length = HEADER.size + meta_len + body_len
            if magic not in (MAGIC, ERASED) or offset + length > len(data):
                if tolerate_tail:
                    return
                raise CorruptRecord(f"segment {segment}: bad record at {offset}")
            location = Location(segment, offset, length)
            try:
                yield location, _parse(data, offset, location, self.sealer)
            except CorruptRecord:
                if tolerate_tail:
                    return
                raise
            offset += length
        if offset != len(data) and not tolerate_tail:
            raise CorruptRecord(f"segment {segment}: {len(data) - offset} stray bytes at the end")

    # -- erasing ---------------------------------------------------------------------

    def erase(self, locations: list[Location]) -> None:
        """Overwrite records in place so their contents are gone from disk, and from memory
        (store/kept.py).

        A record in a segment deleted meanwhile is gone already."""
        by_segment: dict[int, list[Location]] = {}
        for loc in locations:
            by_segment.setdefault(loc.segment, []).append(loc)
        for segment, locs in by_segment.items():
            try:
                fd = os.open(self.path(segment), os.O_WRONLY)
            except FileNotFoundError:
                if self.remote is not None:  # another node's segment: its object and its writer lose the records
                    self.remote.erase_elsewhere(segment, locs)
                continue
            try:
                for loc in locs:
                    os.pwrite(fd, ERASED, loc.offset)
                    os.pwrite(fd, bytes(loc.length - HEADER.size), loc.offset + HEADER.size)
                    _punch_hole(fd, loc.offset + HEADER.size, loc.length - HEADER.size)
                os.fsync(fd)
            finally:
                os.close(fd)
            if self.remote is not None and segment < self._segment:  # shipped already, or about to be
                self.remote.erased(segment)
        kept.forget(locations)

    def delete_segment(self, segment: int) -> None:
        """Remove a segment file whose records are all dead (never the active one)."""
        if segment >= self._segment:
            raise ValueError(f"segment {segment} is the active one or beyond it")
        self.path(segment).unlink(missing_ok=True)
        _fsync_directory(self.directory)
        if self.remote is not None:
            self.remote.deleted(segment)

    def find_kind(self, kind: int) -> Iterator[tuple[Location, Record]]:
        """Every live record of one kind, reading only the headers of the others."""
        for segment in self.segments():
            try:
                fd = os.open(self.path(segment), os.O_RDONLY)
            except FileNotFoundError:
                continue
            try:
                size, offset = os.fstat(fd).st_size, 0
                while offset + HEADER.size <= size:
                    magic, found, meta_len, body_len, _crc = HEADER.unpack(os.pread(fd, HEADER.size, offset))
                    if magic not in (MAGIC, ERASED):
                        break  # a torn tail: nothing readable beyond it
                    length = HEADER.size + meta_len + body_len
                    if magic == MAGIC and found & ~SEALED == kind:
                        location = Location(segment, offset, length)
                        record = _parse(os.pread(fd, length, offset), 0, location, self.sealer)
                        if record is not None:
                            yield location, record
                    offset += length
            finally:
                os.close(fd)

    def allocated_bytes(self) -> int:
        """What the segment files take on disk (erased records' space is handed back)."""
        total = 0
        for segment in self.segments():
            with contextlib.suppress(FileNotFoundError):
                total += self.path(segment).stat().st_blocks * 512
        return total

    def disk_bytes(self) -> int:
        total = 0
        for segment in self.segments():
            with contextlib.suppress(FileNotFoundError):  # deleted by compaction meanwhile
                total += self.path(segment).stat().st_size
        return total


_FALLOC_FL_KEEP_SIZE, _FALLOC_FL_PUNCH_HOLE = 1, 2
_fallocate: Callable[[int, int, int, int], int] | None
try:
    _libc = ctypes.CDLL(None, use_errno=True)
    _fallocate = _libc.fallocate
    _fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
except (OSError, AttributeError):  # not Linux: erased bytes stay zeros on disk, still gone
    _fallocate = None


def _settle(waiters: list[_Waiter], outcomes: Sequence[Location | OSError]) -> None:
    """Tell each waiter where its record landed (or why it did not): threads at once, each
    event loop's futures in one callback on that loop."""
    on_loops: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Location], Location | OSError]]] = {}
    for waiter, outcome in zip(waiters, outcomes):
        if isinstance(waiter, asyncio.Future):
            on_loops.setdefault(waiter.get_loop(), []).append((waiter, outcome))
        elif isinstance(outcome, OSError):
            waiter.set_exception(outcome)
        else:
            waiter.set_result(outcome)
    for loop, settled in on_loops.items():
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: no one is left to tell
            loop.call_soon_threadsafe(_settle_on_loop, settled)


def _settle_on_loop(settled: list[tuple[asyncio.Future[Location], Location | OSError]]) -> None:
    for waiter, outcome in settled:
        if waiter.done():  # its request was cancelled
            continue
        if isinstance(outcome, OSError):
            waiter.set_exception(outcome)
        else:
            waiter.set_result(outcome)


def _fsync_directory(directory: Path) -> None:
    """Make a file's creation or removal in `directory` durable."""
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def erased_copy(data: bytes, locations: list[Location]) -> bytes:
    """A whole segment's bytes with the records at `locations` erased, as `erase` does in place."""
    out = bytearray(data)
    for loc in locations:
        out[loc.offset : loc.offset + len(ERASED)] = ERASED
        out[loc.offset + HEADER.size : loc.end] = bytes(loc.length - HEADER.size)
    return bytes(out)


def _write_all(fd: int, data: bytes) -> None:
    """write() may take only part of the data (a disk with a few bytes left does that, without
    an error); the rest is written again, so the disk's refusal surfaces as ENOSPC."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _punch_hole(fd: int, offset: int, length: int) -> None:
    """Give an erased record's disk blocks back to the file system (offsets stay put, the
    range reads as zeros). Best effort: where unsupported, the zeros just stay on disk."""
    if _fallocate is not None and length > 0:
        _fallocate(fd, _FALLOC_FL_KEEP_SIZE | _FALLOC_FL_PUNCH_HOLE, offset, length)


def _parse(data: bytes, offset: int, location: Location, sealer: Sealer | None = None) -> Record | None:
    magic, kind, meta_len, body_len, crc = HEADER.unpack_from(data, offset)
    if magic == ERASED:
        return None
    if magic != MAGIC:
        raise CorruptRecord(f"no record at {location}")
    meta_start = offset + HEADER.size
    meta = bytes(data[meta_start : meta_start + meta_len])
    body = bytes(data[meta_start + meta_len : meta_start + meta_len + body_len])
    if len(body) != body_len or zlib.crc32(body, zlib.crc32(meta)) != crc:
        raise CorruptRecord(f"checksum mismatch at {location}")
    try:
        return decode_payload(kind, meta, body, sealer)
    except EncryptionError:
        raise  # a missing or wrong key is not damage: nothing may be cut off as a torn tail
    except Exception as exc:  # msgspec errors: the bytes passed the checksum but make no sense
        raise CorruptRecord(f"undecodable record at {location}: {exc}") from exc
