"""What the process tells Prometheus: counters and histograms fed as work happens, and
gauges read from the live objects at scrape time (`GET /metrics`, web/ops.py).

Each app has a registry of its own (never prometheus_client's global one), so several
apps in one process (tests) count apart. Names follow Prometheus' conventions: base
units (seconds, bytes), `_total` on counters, a `sessionstory_` prefix.
"""

from __future__ import annotations

import functools
import os
import shutil
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec

from litestar.exceptions import HTTPException
from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from sessionstory.admission import Admission, backlog
from sessionstory.index.database import one_row
from sessionstory.ingest import IngestError
from sessionstory.store import Kind, Location, Record

if TYPE_CHECKING:
    from sessionstory.datadir import DataDir
    from sessionstory.live import LiveHub

CONTENT_TYPE = "text/plain; version=0.0.4"  # the web layer adds the charset
ACK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
COMMIT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
GROUP_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
CLIENT_CLOSED = 499  # nginx's status for a client gone before the answer

P = ParamSpec("P")


class Metrics:
    def __init__(self, dd: DataDir, live: LiveHub, admission: Admission) -> None:
        self.registry = r = CollectorRegistry()
        self.requests = Counter("sessionstory_ingest_requests", "Ingest requests answered, by HTTP status.",
                                ["status"], registry=r)
        self.request_bytes = Counter("sessionstory_ingest_request_bytes",
                                     "Bytes of the bodies of acknowledged ingest requests, as sent (Content-Length).",
                                     registry=r)
        self.ack_seconds = Histogram("sessionstory_ingest_ack_seconds",
                                     "From an ingest request's arrival to its 200: durable, and indexed or 2 s.",
                                     buckets=ACK_BUCKETS, registry=r)
        self.batches = Counter("sessionstory_ingest_batches", "Batches made durable (a retried batch counts once).",
                               registry=r)
        self.batch_bytes = Counter("sessionstory_ingest_bytes", "Bytes of the batches made durable, as stored (zstd).",
                                   registry=r)
        self.commit_seconds = Histogram("sessionstory_log_commit_seconds",
                                        "Writing and fsyncing one group of records (group commit).",
                                        buckets=COMMIT_BUCKETS, registry=r)
        self.commit_records = Histogram("sessionstory_log_commit_group_records",
                                        "Records sharing one fsync.", buckets=GROUP_BUCKETS, registry=r)
        self.compacted = Counter("sessionstory_compacted_sessions",
                                 "Sessions packed into one record by compaction.", registry=r)
        self.compacted_bytes = Counter("sessionstory_compacted_bytes", "Bytes of the packed records written.",
                                       registry=r)
        self._acknowledged = self.requests.labels("200")
        r.register(_State(dd, live, admission))
        ProcessCollector(registry=r)  # CPU, resident memory, open files of this process
        self._log = dd.log
        dd.log.on_commit(self._committed)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def _committed(self, placed: list[tuple[Location, Record, object]]) -> None:
        """Log commit listener (committer thread)."""
        self.commit_seconds.observe(self._log.last_commit_s)
        self.commit_records.observe(len(placed))
        for location, record, _ in placed:
            if record.kind == Kind.BATCH:
                self.batches.inc()
                self.batch_bytes.inc(location.length)
            elif record.kind == Kind.COMPACTED:
                self.compacted.inc()
                self.compacted_bytes.inc(location.length)

    def answered(self, status: int, seconds: float, content_length: str | None) -> None:
        if status != 200:
            self.requests.labels(str(status)).inc()
        else:
            self._acknowledged.inc()  # the child looked up once: labels() takes a lock and builds a key
            self.ack_seconds.observe(seconds)
            if content_length and content_length.isdigit():
                self.request_bytes.inc(int(content_length))


def observed(handler: Callable[Concatenate[Any, P], Awaitable[None]]) -> Callable[Concatenate[Any, P], Awaitable[None]]:
    """Count the answers of an ingest handler (an ASGI one, taking the scope first) by status and
    time its acknowledgements: it answers 200 unless it raises."""

    @functools.wraps(handler)
    async def timed(scope: Any, /, *args: P.args, **kwargs: P.kwargs) -> None:
        started, status = time.perf_counter(), 500
        try:
            await handler(scope, *args, **kwargs)
            status = 200
        except IngestError as exc:
            status = exc.status
            raise
        except HTTPException as exc:
            status = exc.status_code
            raise
        except BaseException as exc:
            status = 500 if isinstance(exc, Exception) else CLIENT_CLOSED
            raise
        finally:
            metrics: Metrics | None = getattr(scope["litestar_app"].state, "metrics", None)
            if metrics is not None:
                metrics.answered(status, time.perf_counter() - started, _content_length(scope))

    return timed


def _content_length(scope: Any) -> str | None:
    return next((value.decode("latin-1") for name, value in scope["headers"] if name == b"content-length"), None)


class Readiness:
    """Whether the process can take writes now, and why not."""

    def __init__(self, dd: DataDir, admission: Admission) -> None:
        self.dd, self.admission = dd, admission

    def checks(self) -> dict[str, str | None]:
        """Each check's failure, or None where it passes."""
        dd = self.dd
        return {
            "log_committer": None if dd.log.committing else "the log's committer thread is not running",
            "log_fsync": None if dd.log.failure is None else dd.log.failure.strerror,
            "index_writer": None if dd.index.writing else "the index writer thread is not running",
            "disk": None if self.admission.disk.enough() else
            f"free disk is below the reserve of {self.admission.disk.min_free:,} bytes",
            "backlog": backlog(dd.log, dd.index, self.admission.limits),
        }


class _State(Collector):
    """Gauges read at scrape time from the objects that hold them."""

    def __init__(self, dd: DataDir, live: LiveHub, admission: Admission) -> None:
        self.dd, self.live, self.admission = dd, live, admission

    def collect(self) -> Iterator[Metric]:
        dd = self.dd
        lag_records, lag_bytes = dd.index.lag
        yield _gauge("sessionstory_log_queue_records", "Records waiting for the log's committer.", dd.log.queued)
        yield _gauge("sessionstory_index_queue_items", "Groups of records and jobs waiting for the index writer.",
                     dd.index.queued)
        yield _gauge("sessionstory_index_lag_records", "Records durable in the log but not yet indexed.", lag_records)
        yield _gauge("sessionstory_index_lag_bytes", "Log bytes of the records not yet indexed.", lag_bytes)
        yield _gauge("sessionstory_model_jobs", "Jobs of the local model queued or running (summaries, digests, questions).",
                     dd.model.jobs)
        yield _gauge("sessionstory_log_committer_up", "1 while the log's committer thread runs.", dd.log.committing)
        yield _gauge("sessionstory_index_writer_up", "1 while the index writer thread runs.", dd.index.writing)
        ready = Readiness(dd, self.admission).checks()
        yield _gauge("sessionstory_ready", "1 while the process can take writes (as GET /readyz says).",
                     all(v is None for v in ready.values()))
        yield _gauge("sessionstory_store_backlog", "Sealed segments not yet shipped to the cluster's object store.",
                     dd.shipper.backlog if dd.shipper else 0)
        yield _gauge("sessionstory_live_viewers", "Open live streams (viewers of sessions being recorded).",
                     self.live.viewer_count())
        data_dir = dd.settings.data_dir
        yield _gauge("sessionstory_disk_free_bytes", "Free bytes on the data directory's file system.",
                     shutil.disk_usage(data_dir).free)
        yield _gauge("sessionstory_disk_reserve_bytes", "Below this much free disk, ingest answers 503.",
                     self.admission.disk.min_free)
        yield _gauge("sessionstory_data_dir_bytes", "Bytes the data directory takes on disk (blocks allocated).",
                     _allocated(data_dir))
        yield _gauge("sessionstory_log_segments", "Segment files in the log.", len(dd.log.segments()))
        sessions, events = dd.index.read(
            lambda cur: one_row(cur.execute("SELECT count(*), coalesce(sum(event_count), 0) FROM sessions")))
        yield _gauge("sessionstory_index_sessions", "Sessions in the index.", sessions)
        yield _gauge("sessionstory_index_events", "Events of the sessions in the index.", events)


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=float(value))


def _allocated(directory: Path) -> int:
    total = 0
    stack = [str(directory)]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except FileNotFoundError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    total += entry.stat(follow_symlinks=False).st_blocks * 512
            except FileNotFoundError:  # deleted meanwhile (compaction, a swapped index)
                continue
    return total
