"""Sessions watched as they happen: an in-memory hub between the log and live viewers.

The segment committer tells the hub about every record it made durable; the hub hands
the batches of watched sessions to their viewers' queues. Only durable batches are
ever shown, so a viewer sees exactly what a later replay will show.

A viewer resumes after a reconnect from the last log location it received: log
locations grow in commit order, so "everything of this session after location L" has
neither gaps nor duplicates, whatever order the visitor's retries arrived in.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable

from sessionstory.store import Location, Record
from sessionstory.store.records import Kind

# Batches a viewer may fall behind by before it is dropped (it reconnects and resumes from the log).
VIEWER_QUEUE = 256


class Viewer:
    """One live viewer's queue of (location, record), filled from the committer thread."""

    def __init__(self, session_id: str, loop: asyncio.AbstractEventLoop) -> None:
        self.session_id = session_id
        self._loop = loop
        self._queue: asyncio.Queue[tuple[Location, Record] | None] = asyncio.Queue(VIEWER_QUEUE)

    def push(self, location: Location, record: Record) -> None:  # any thread
        self._loop.call_soon_threadsafe(self._put, (location, record))

    def _put(self, item: tuple[Location, Record]) -> None:
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            # A viewer too slow to keep up is cut off rather than let memory grow; its
            # browser reconnects and reads what it missed from the log.
            self._queue = asyncio.Queue(1)
            self._queue.put_nowait(None)

    async def batches(self, timeout: float) -> AsyncIterator[tuple[Location, Record] | None]:
        """What arrives, in commit order; None after `timeout` seconds of nothing (time for a heartbeat)."""
        while True:
            try:
                item = await asyncio.wait_for(self._queue.get(), timeout)
            except TimeoutError:
                yield None
                continue
            if item is None:
                return  # cut off
            yield item

    async def gather(self, first_s: float, quiet_s: float) -> list[tuple[Location, Record]]:
        """What arrives within `first_s`, and what follows it with no pause longer than `quiet_s`."""
        found: list[tuple[Location, Record]] = []
        timeout = first_s
        while True:
            try:
                item = await asyncio.wait_for(self._queue.get(), timeout)
            except TimeoutError:
                return found
            if item is None:  # cut off: left for `batches`, which ends the stream
                self._queue.put_nowait(None)
                return found
            found.append(item)
            timeout = quiet_s


class LiveHub:
    def __init__(self) -> None:
        self._viewers: dict[str, set[Viewer]] = {}
        self._lock = threading.Lock()
        self.last_committed: Location | None = None
        # In a cluster (cluster/live.py): sessions whose viewers are on other nodes, and what to
        # call when a viewer opens here. Both stay empty on a single node.
        self.watched_elsewhere: frozenset[str] = frozenset()
        self.on_watch: Callable[[str], None] | None = None

    def committed(self, placed: list[tuple[Location, Record, object]]) -> None:
        """Log commit listener (committer thread): forward watched sessions' batches."""
        self.last_committed = placed[-1][0]
        self.deliver(placed)

    def deliver(self, placed: list[tuple[Location, Record, object]]) -> None:
        """Hand batches to their viewers here: this node's commits, or another node's relayed
        by cluster/live.py (which must not move `last_committed`: this index never holds them)."""
        if not self._viewers:
            return
        with self._lock:
            for location, record, _ in placed:
                if record.kind != Kind.BATCH:
                    continue
                for viewer in self._viewers.get(record.meta.session_id, ()):  # type: ignore[union-attr]
                    viewer.push(location, record)

    @property
    def across_nodes(self) -> bool:
        """Whether other nodes' batches reach this hub (a cluster's live relay is running)."""
        return self.on_watch is not None

    def watched(self, session_id: str) -> bool:
        """Whether anyone, on this node or (in a cluster) another, follows the session live."""
        return self.watched_here(session_id) or session_id in self.watched_elsewhere

    def watched_here(self, session_id: str) -> bool:
        return session_id in self._viewers

    def sessions_watched_here(self) -> list[str]:
        with self._lock:
            return list(self._viewers)

    def viewer_count(self) -> int:
        """Open live streams, over all sessions (metrics)."""
        with self._lock:
            return sum(len(viewers) for viewers in self._viewers.values())

    def watch(self, session_id: str) -> Viewer:
        viewer = Viewer(session_id, asyncio.get_running_loop())
        with self._lock:
            self._viewers.setdefault(session_id, set()).add(viewer)
        if self.on_watch is not None:
            self.on_watch(session_id)
        return viewer

    def leave(self, viewer: Viewer) -> None:
        with self._lock:
            viewers = self._viewers.get(viewer.session_id)
            if viewers is not None:
                viewers.discard(viewer)
                if not viewers:
                    del self._viewers[viewer.session_id]
