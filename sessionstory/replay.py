"""The read path: a session's events, gathered from its records in the log."""

from __future__ import annotations

import threading
from collections import OrderedDict

import msgspec

from sessionstory import collab
from sessionstory.events import stamped_decoder
from sessionstory.index import Index
from sessionstory.index.compaction import forget_session, session_records
from sessionstory.index.sessions import delete_session, record_locations, session_exists
from sessionstory.store import Location, Record, SegmentLog, batches
from sessionstory.store.compaction import Batch
from sessionstory.store.records import Kind

ATTEMPTS = 3


class EventsPage(msgspec.Struct):
    events: bytes  # a JSON array, in timestamp order, bytes as recorded
    batches: int  # how many batches the session has in all


def session_events(log: SegmentLog, index: Index, session_id: str) -> bytes:
    """The session's events as one JSON array, in timestamp order, bytes as recorded.

    Cost follows the session's size: an index lookup, then one pread per record (one
    in all once the session is compacted).
    """
    return session_events_page(log, index, session_id).events


def session_events_page(
    log: SegmentLog, index: Index, session_id: str, first: int = 0, count: int | None = None
) -> EventsPage:
    """The events of the session's batches `first` to `first + count` (in seq order; all by
    default), so a player can start on the first pages of a long session while the rest loads."""
    for _ in range(ATTEMPTS):
        read = _read(log, index, session_id, first, count)
        if read is not None:
            raws, total = read
            break
    else:
        raws, total = [], 0
    # Batches are almost always in order already; a stable sort keeps equal stamps as sent.
    raws.sort(key=lambda raw: stamped_decoder.decode(raw).timestamp)
    return EventsPage(msgspec.json.encode(raws), total)


def _read(
    log: SegmentLog, index: Index, session_id: str, first: int, count: int | None
) -> tuple[list[msgspec.Raw], int] | None:
    """The events and the number of batches, or None when a record was erased between the
    lookup and the read (compaction moved the session meanwhile: looking again finds where
    it is now)."""
    everywhere = index.read(lambda cur: session_records(cur, session_id))
    wanted = sorted(everywhere)[first : None if count is None else first + count]
    where = {seq: everywhere[seq] for seq in wanted}
    sources = sorted(set(where.values()))
    raws: list[msgspec.Raw] = []
    for location, record in zip(sources, log.read_many(sources)):
        if record is None:
            return None
        for batch in _batches(location, record, log):
            if where.get(batch.meta.seq) == location:  # each seq once, from where the index has it
                del where[batch.meta.seq]
                raws.extend(msgspec.json.decode(batch.events, type=list[msgspec.Raw]))
    return raws, len(everywhere)


_expanded: OrderedDict[Location, list[Batch]] = OrderedDict()
_expanded_lock = threading.Lock()
EXPANDED_KEPT = 2


def _batches(location: Location, record: Record, log: SegmentLog) -> list[Batch]:
    """A record's batches. A compacted session's few recent records are kept expanded, so a
    player paging through a long session decompresses its one frame once, not once a page."""
    if record.kind != Kind.COMPACTED:
        return batches(record, log.dictionaries)
    with _expanded_lock:
        if location in _expanded:
            _expanded.move_to_end(location)
            return _expanded[location]
    expanded = batches(record, log.dictionaries)
    with _expanded_lock:
        _expanded[location] = expanded
        while len(_expanded) > EXPANDED_KEPT:
            _expanded.popitem(last=False)
    return expanded


def erase_session(log: SegmentLog, index: Index, session_id: str) -> bool:
    """Remove the session from the index, then overwrite its records in the log."""
    if not index.read(lambda cur: session_exists(cur, session_id)):
        return False
    erase_sessions(log, index, [session_id])
    return True


def erase_sessions(log: SegmentLog, index: Index, session_ids: list[str]) -> None:
    """Remove sessions from the index, then overwrite their records in the log."""

    def forget(con: object) -> list[Location]:
        # Where their records are, read in the same writer job that forgets them: a compaction
        # applied just before is seen, and one applied after finds the sessions gone.
        locations: list[Location] = []
        for session_id in session_ids:
            locations += record_locations(con, session_id)  # type: ignore[arg-type]
            delete_session(con, session_id)  # type: ignore[arg-type]
            forget_session(con, session_id)  # type: ignore[arg-type]
        return locations

    collab.forget_sessions(log, index, session_ids)
    locations = index.write(forget).result()
    with _expanded_lock:  # no copy of what is erased stays behind in memory either
        for location in locations:
            _expanded.pop(location, None)
    log.erase(sorted(set(locations)))
