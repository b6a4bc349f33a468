"""Whether ingest takes a request now: rate limits per address and project, room on disk.

Refusals are answers the SDK understands (429 and 503 with Retry-After: it backs off
and keeps the batch), so a flood or a full disk costs the server little and loses
nothing a well-behaved client sent.
"""

from __future__ import annotations

import math
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sessionstory.config import Limits
from sessionstory.ingest import IngestError
from sessionstory.throttle import RateLimit

if TYPE_CHECKING:
    from sessionstory.index import Index
    from sessionstory.store import SegmentLog

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
DISK_RETRY_S = 60
DISK_CHECK_S = 1.0  # how long one look at the free space holds
BACKLOG_RETRY_S = 5


class Admission:
    def __init__(self, limits: Limits, data_dir: Path, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_address = RateLimit(limits.per_address_rate, 2 * limits.per_address_rate, clock)
        self.per_project = RateLimit(limits.per_project_rate, 2 * limits.per_project_rate, clock)
        self.disk = DiskRoom(data_dir, limits.min_free_bytes, clock)
        self.limits = limits

    def check_address(self, address: str) -> None:
        # Loopback is this machine: a reverse proxy in front (all its clients would share one
        # bucket) or a local tool. The client behind a proxy is not known here, so no limit.
        if address in LOOPBACK:
            return
        _refuse_if_waiting(self.per_address.take(address), "too many requests from this address")

    def check_project(self, project_id: str) -> None:
        _refuse_if_waiting(self.per_project.take(project_id), "too many requests for this project")

    def check_disk(self) -> None:
        if not self.disk.enough():
            raise IngestError(503, "the server's disk is nearly full; try again later", retry_after=DISK_RETRY_S)

    def check_backlog(self, log: SegmentLog, index: Index) -> None:
        """Backpressure: while the committer or the index writer is too far behind, refuse
        rather than hold more in memory (a bound plus the requests in flight at most)."""
        reason = backlog(log, index, self.limits)
        if reason is not None:
            raise IngestError(503, f"the server is catching up ({reason}); try again shortly", retry_after=BACKLOG_RETRY_S)


def backlog(log: SegmentLog, index: Index, limits: Limits) -> str | None:
    """Why writes should wait now (a queue past its bound), or None."""
    if log.queued > limits.max_commit_queue:
        return f"{log.queued} records wait for the log's committer"
    records, size = index.lag
    if records > limits.max_index_lag_records or size > limits.max_index_lag_bytes:
        return f"the index is {records} records ({size:,} bytes) behind the log"
    return None


def _refuse_if_waiting(wait_s: float, message: str) -> None:
    if wait_s > 0:
        raise IngestError(429, message, retry_after=max(1, math.ceil(wait_s)))


class DiskRoom:
    """Free space on the data directory's disk, looked at most once a second."""

    def __init__(self, directory: Path, min_free: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.directory, self.min_free, self._clock = directory, min_free, clock
        self._checked, self._ok = -math.inf, True
        self._lock = threading.Lock()

    def enough(self) -> bool:
        if self.min_free <= 0:
            return True
        if self._clock() - self._checked < DISK_CHECK_S:
            return self._ok  # a look within the second holds: no lock on ingest's hot path
        with self._lock:
            now = self._clock()
            if now - self._checked >= DISK_CHECK_S:
                self._ok = self.free_bytes() >= self.min_free
                self._checked = now
            return self._ok

    def free_bytes(self) -> int:
        return shutil.disk_usage(self.directory).free
