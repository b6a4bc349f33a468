"""A node's sealed segments shipped to the object store, and other nodes' read from it.

With `SESSIONSTORY_STORE_URL=s3://bucket/prefix` the log still appends and fsyncs on
local disk exactly as on a single node: an acknowledgement still means "fsynced here".
What changes is what happens to a segment once it is sealed (full, older than
`seal_after_s`, rolled by compaction, or at a clean shutdown): the `Shipper` uploads it
as the object `segments/NNNNNNNNNN.seg`, whole, and keeps the local copy as a cache.
Any node then reads a location whose segment it does not hold with a ranged GET.

Segment numbers are unique across the cluster: each data dir claims a node number in the
bucket once (`nodes/NNNN.json`, created only if absent) and numbers its segments from
`node * SEGMENTS_PER_NODE + 1`, so a location alone names its object. Node 0 is the
range of a single node's existing data dir, which keeps its numbers when it joins.

What the object store holds is reconciled with the local disk when a node starts: a
sealed segment missing there, of another size, or changed on disk since it was shipped
(erased since) is shipped again; an object of ours whose local file compaction deleted is
deleted. Local copies are never evicted in this version, which is what makes that safe.
"Changed since" is judged by the file's size and modification time as they were when it
was shipped (kept in `store-shipped.log`), not by the object's LastModified: S3 keeps that
to the whole second, on the store's clock, so a segment shipped within the second of its
last write would look stale at every start.

Records erased through another node are erased in the object at once, and the node that
wrote them learns of it from a notice (`erasures/NNNN/…`) it polls for, erases its own
copy and ships the segment again.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import socket
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sessionstory.store.objects import ObjectStore, StoreUrlError, short_error
from sessionstory.store.records import Location
from sessionstory.store.segments import erased_copy, segment_numbers, segment_path

if TYPE_CHECKING:
    from sessionstory.store.segments import SegmentLog

log = logging.getLogger(__name__)

# The index keeps segment numbers as INTEGER (int32): 1023 nodes of 2,097,151 segments each
# (a segment sealed every minute lasts a node four years; a new data dir claims a new node).
SEGMENTS_PER_NODE = 1 << 21
MAX_NODE = (2**31 - 1) // SEGMENTS_PER_NODE
SEAL_AFTER_S = 60.0
RETRY_AFTER_S = 5.0  # after obstore's own retries gave up: the store is down, try again later
NOTICE_POLL_S = 10.0  # how often a node looks for erasures other nodes made in its segments
DRAIN_TIMEOUT_S = 120.0
NODE_FILE = "store-node.json"
SHIPPED_FILE = "store-shipped.log"  # each shipped segment's size and mtime (ns) as shipped

def segment_key(segment: int) -> str:
    return f"segments/{segment:010d}.seg"


def node_of(segment: int) -> int:
    return segment // SEGMENTS_PER_NODE


def first_segment(node: int) -> int:
    return node * SEGMENTS_PER_NODE + 1


def segment_of(key: str) -> int:
    return int(key.removeprefix("segments/").removesuffix(".seg"))


def claim_node(objects: ObjectStore, data_dir: Path, segments_dir: Path) -> int:
    """This data dir's node number in the bucket: the one it claimed before, or a new one.

    A data dir that already has segments (a single node joining) claims their node, 0."""
    path = data_dir / NODE_FILE
    if path.exists():
        kept = json.loads(path.read_text())
        if kept["url"] != objects.url:
            raise StoreUrlError(f"{data_dir} ships its segments to {kept['url']}, not {objects.url}")
        return int(kept["node"])
    local_segments = _segments_with_data(segments_dir)
    about = json.dumps({"host": socket.gethostname(), "data_dir": str(data_dir.resolve()),
                        "claimed_ms": int(time.time() * 1000)}).encode()
    if local_segments:
        node = node_of(local_segments[0])
        if not objects.create(f"nodes/{node:04d}.json", about):
            raise StoreUrlError(f"node {node} of {objects.url} is another data dir's: its segments would collide")
    else:
        node = next((n for n in range(1, MAX_NODE + 1) if objects.create(f"nodes/{n:04d}.json", about)), 0)
        if not node:
            raise StoreUrlError(f"{objects.url} has no free node number left")
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"url": objects.url, "node": node}))
    with open(temporary, "rb") as f:
        os.fsync(f.fileno())
    temporary.replace(path)
    return node


def _segments_with_data(segments_dir: Path) -> list[int]:
    """The segments of a data dir about to join, once empty files are gone: opening the log
    creates one (the CLI does, to check the encryption key) and it must not make a fresh
    node look like a single node with data."""
    numbers = []
    for segment in segment_numbers(segments_dir):
        file = segment_path(segments_dir, segment)
        if file.stat().st_size:
            numbers.append(segment)
        else:
            file.unlink()
    return numbers


class Shipper:
    """One thread per node: ships sealed segments, seals a tail older than `seal_after_s`,
    applies erasures and deletions to the objects and other nodes' erasure notices to its
    own segments; reads serve any thread."""

    def __init__(self, objects: ObjectStore, node: int, seal_after_s: float = SEAL_AFTER_S,
                 shipped_file: Path | None = None) -> None:
        self.objects = objects
        self.node = node
        self.seal_after_s = seal_after_s
        self._as_shipped = _AsShipped(shipped_file)
        self._jobs: queue.Queue[tuple[str, int] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._log: SegmentLog | None = None
        self._tail: tuple[int, float] = (0, 0.0)  # the open segment and when it was first seen holding data
        self._pending = 0  # jobs queued or running (a failed job stays counted until it succeeds)
        self._done = threading.Condition()
        self.notice_poll_s = NOTICE_POLL_S
        self._next_poll = 0.0
        self.shipped = 0  # segments uploaded since start (metrics, tests)

    @property
    def first_segment(self) -> int:
        return first_segment(self.node)

    @property
    def backlog(self) -> int:
        """Jobs not done: sealed segments (or their erasures) not yet in the object store."""
        return self._pending

    # -- called by the log -------------------------------------------------------------

    def sealed(self, segment: int) -> None:
        """A segment will take no more appends: ship it (called under the log's lock; only queues)."""
        self._queue("ship", segment)

    def erased(self, segment: int) -> None:
        """Records of a sealed local segment were erased: its object must lose them too."""
        self._as_shipped.forget(segment)  # until shipped again, a start ships it whatever its mtime
        self._queue("ship", segment)

    def deleted(self, segment: int) -> None:
        self._queue("delete", segment)

    def read_range(self, segment: int, offset: int, length: int) -> bytes:
        """Bytes of a segment this node does not hold; FileNotFoundError if no object has them."""
        return self.objects.read_range(segment_key(segment), offset, length)

    def erase_elsewhere(self, segment: int, locations: list[Location]) -> None:
        """Erase records of a segment this node does not hold: in its object now, and on the
        disk of the node that wrote it through a notice it polls for (it may hold the segment
        in its cache, or still open: then the object does not exist yet)."""
        self.objects.update(segment_key(segment), lambda data: erased_copy(data, locations))
        owner = node_of(segment)
        if owner != self.node:
            notice = json.dumps({"segment": segment, "records": [[loc.offset, loc.length] for loc in locations]})
            self.objects.put(f"erasures/{owner:04d}/{segment:010d}-{uuid.uuid4().hex}.json", notice.encode())

    # -- the thread ----------------------------------------------------------------------

    def start(self, segment_log: SegmentLog) -> None:
        self._log = segment_log
        self._queue("reconcile", 0)
        self._thread = threading.Thread(target=self._run, name="segment-shipper", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Seal the open tail and ship everything sealed (a clean shutdown leaves nothing on
        this disk alone), within DRAIN_TIMEOUT_S; then stop the thread."""
        if self._thread is None or self._log is None:
            return
        try:
            self._log.roll()
        except OSError as exc:  # the disk failed: what is on it is shipped at the next start, if it can be
            log.error("cannot seal the open segment at shutdown: %s", exc)
        if not self.wait_idle(DRAIN_TIMEOUT_S):
            log.warning("shutting down with %d segment jobs unshipped; shipped at the next start", self.backlog)
        self._jobs.put(None)
        self._thread.join()
        self._thread = None

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every queued job is done (tests, shutdown)."""
        with self._done:
            return self._done.wait_for(lambda: self._pending == 0, timeout)

    def _queue(self, job: str, segment: int) -> None:
        with self._done:
            self._pending += 1
        self._jobs.put((job, segment))

    def _run(self) -> None:
        while True:
            try:
                job = self._jobs.get(timeout=1.0)
            except queue.Empty:
                job = ("idle", 0)
            if job is None:
                return
            if job[0] != "idle":
                self._run_job(job)
            self._seal_if_old()
            self._poll_notices()

    def _run_job(self, job: tuple[str, int]) -> None:
        try:
            self._do(*job)
        except Exception as exc:  # the store is down or refused: keep the job, try again later
            log.error("segment store: %s of segment %d failed (%s); retrying in %.0f s",
                      job[0], job[1], short_error(exc), RETRY_AFTER_S)
            self._jobs.put(job)
            time.sleep(RETRY_AFTER_S)
        else:
            with self._done:
                self._pending -= 1
                self._done.notify_all()

    def _do(self, job: str, segment: int) -> None:
        assert self._log is not None
        if job == "reconcile":
            self._reconcile()
        elif job == "ship":
            path = self._log.path(segment)
            if path.exists():  # else compaction deleted it meanwhile: nothing left to ship
                before = path.stat()  # an erase during the upload changes it: shipped again at start
                self.objects.put(segment_key(segment), path)
                self._as_shipped.remember(segment, before)
                self.shipped += 1
        elif job == "delete":
            self.objects.delete(segment_key(segment))
            self._as_shipped.forget(segment)

    def _reconcile(self) -> None:
        """After a crash (or any start): ship what the store lacks, delete what compaction deleted."""
        assert self._log is not None
        active = self._log.active_segment
        stored = {item.key: item for item in self.objects.list("segments/")}
        local = [s for s in self._log.segments() if s < active]
        for segment in local:
            item, stat = stored.get(segment_key(segment)), self._log.path(segment).stat()
            if item is None or item.size != stat.st_size or self._as_shipped.changed(segment, stat, item.modified):
                self._queue("ship", segment)
        held = set(local)
        for key in stored:
            segment = segment_of(key)
            if node_of(segment) == self.node and segment < active and segment not in held:
                self._queue("delete", segment)

    def _poll_notices(self) -> None:
        """Apply the erasures other nodes made in this node's segments to its own copies (the
        erase ships each segment again, so no stale copy can bring a record back)."""
        assert self._log is not None
        if time.monotonic() < self._next_poll:
            return
        self._next_poll = time.monotonic() + self.notice_poll_s
        try:
            for item in self.objects.list(f"erasures/{self.node:04d}/"):
                notice = json.loads(self.objects.read(item.key))
                with self._log.frozen():  # as compaction's erasures: never under a backup's copy
                    self._log.erase([Location(notice["segment"], offset, length) for offset, length in notice["records"]])
                self.objects.delete(item.key)
        except Exception as exc:  # the store is down: the notices wait for the next poll
            log.error("segment store: cannot apply other nodes' erasures yet (%s)", short_error(exc))

    def _seal_if_old(self) -> None:
        """Bound how long a batch lives on this disk alone: seal the tail once it has held
        data for `seal_after_s` (sealing ships it)."""
        assert self._log is not None
        segment, now = self._log.active_segment, time.monotonic()
        if not self._log.active_bytes:
            return
        if self._tail[0] != segment:
            self._tail = (segment, now)
        elif now - self._tail[1] >= self.seal_after_s:
            try:
                self._log.roll()
            except OSError as exc:  # the log has failed (it says so on /readyz); nothing to seal
                log.error("cannot seal the open segment: %s", exc)
                self._tail = (segment, now)  # try again after another `seal_after_s`, not every second


class _AsShipped:
    """Each shipped segment's size and mtime as it was shipped, kept in a journal of one line
    per change ("segment size mtime_ns", or "segment -" once forgotten), the last line of a
    segment winning; it is compacted when read at start. Appending keeps a ship's cost flat
    however many segments the node holds.

    Losing the file, or its last line in a crash, costs uploads, never data: a segment with no
    entry is judged by the object's LastModified, which errs towards shipping again, and a
    wrong entry can only differ from the file on disk."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._lock = threading.Lock()  # the log's threads forget, the shipper's thread remembers
        self._entries: dict[int, tuple[int, int]] = {}
        if path is not None and path.exists():
            lines = path.read_text(errors="replace").splitlines()
            for line in lines:
                self._read(line.split())
            if len(lines) > 2 * len(self._entries) + 64:
                self._compact(path)

    def _read(self, fields: list[str]) -> None:
        try:
            if len(fields) == 3:
                self._entries[int(fields[0])] = (int(fields[1]), int(fields[2]))
            elif fields[1:] == ["-"]:
                self._entries.pop(int(fields[0]), None)
        except ValueError:
            pass  # a line torn by a crash: its segment is judged as if it had none

    def _compact(self, path: Path) -> None:
        temporary = path.with_suffix(".tmp")
        temporary.write_text("".join(f"{k} {size} {mtime}\n" for k, (size, mtime) in self._entries.items()))
        temporary.replace(path)

    def changed(self, segment: int, stat: os.stat_result, stored_at: datetime) -> bool:
        with self._lock:
            entry = self._entries.get(segment)
        if entry is None:  # a data dir from before this file, or an erase not shipped yet
            return stored_at.timestamp() < stat.st_mtime
        return entry != (stat.st_size, stat.st_mtime_ns)

    def remember(self, segment: int, stat: os.stat_result) -> None:
        with self._lock:
            self._entries[segment] = (stat.st_size, stat.st_mtime_ns)
            self._append(f"{segment} {stat.st_size} {stat.st_mtime_ns}\n")

    def forget(self, segment: int) -> None:
        with self._lock:
            if self._entries.pop(segment, None) is not None:
                self._append(f"{segment} -\n")

    def _append(self, line: str) -> None:
        """No fsync: a line lost in a crash only means uploads again."""
        if self._path is not None:
            with open(self._path, "a") as journal:
                journal.write(line)
