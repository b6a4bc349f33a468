"""The read path: a session's events, gathered from its records in the log."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import NamedTuple

import msgspec

from sessionstory import collab
from sessionstory.entities import Rows
from sessionstory.events import EventType, stamped_decoder
from sessionstory.index import Index
from sessionstory.index.compaction import forget_session, session_records
from sessionstory.index.sessions import delete_session, record_locations, session_exists
from sessionstory.store import Location, Record, SegmentLog, batches
from sessionstory.store.compaction import Batch
from sessionstory.store.kept import Kept
from sessionstory.store.records import Kind

ATTEMPTS = 3

Stamp = int | float


class EventsPage(msgspec.Struct):
    events: bytes  # a JSON array, in timestamp order, bytes as recorded
    batches: int  # how many batches the session has in all
    first: int = 0  # this page's first batch, by its place in seq order...
    next: int = 0  # ...and the place after its last one
    started_ms: Stamp | None = None  # the session's first event's timestamp, when the page was chosen by time


class Slice(NamedTuple):
    """Batches by their place in seq order, `start` to `stop` (excluded)."""

    start: int
    stop: int
    started_ms: Stamp | None = None


# Picks a page's batches given the session's record locations by seq and its seqs in order; None when a
# record was erased meanwhile (the page is looked up again).
Chooser = Callable[[SegmentLog, str, dict[int, Location], list[int]], Slice | None]


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
    return _page(log, index, session_id, lambda _log, _id, _where, seqs: Slice(
        first, len(seqs) if count is None else first + count))


def session_opening(log: SegmentLog, index: Index, session_id: str, at_ms: int) -> EventsPage:
    """What a player needs to show the moment `at_ms` after the session's first event: the batches from
    the one holding the last page load (rrweb's Meta event, which its full snapshot follows) at or before
    that moment, to the first that starts after it. rrweb shows a moment by replaying from the last Meta
    before it, so a player opening late in a long session need not fetch what comes before."""

    def choose(log: SegmentLog, session_id: str, where: dict[int, Location], seqs: list[int]) -> Slice | None:
        times = _times_until(log, session_id, where, seqs, at_ms)
        return None if times is None else opening_slice(times, at_ms)

    return _page(log, index, session_id, choose)


def _page(log: SegmentLog, index: Index, session_id: str, choose: Chooser) -> EventsPage:
    for _ in range(ATTEMPTS):
        everywhere = index.read(lambda cur: session_records(cur, session_id))
        seqs = sorted(everywhere)
        chosen = choose(log, session_id, everywhere, seqs)
        if chosen is None:
            continue
        wanted = seqs[chosen.start : chosen.stop]
        found = _batches_at(log, {seq: everywhere[seq] for seq in wanted})
        if found is None:
            continue
        raws: list[msgspec.Raw] = []
        for batch in found.values():
            raws.extend(msgspec.json.decode(batch.events, type=list[msgspec.Raw]))
        # Batches are almost always in order already; a stable sort keeps equal stamps as sent.
        raws.sort(key=lambda raw: stamped_decoder.decode(raw).timestamp)
        first = min(chosen.start, len(seqs))
        return EventsPage(msgspec.json.encode(raws), len(seqs), first, first + len(wanted), chosen.started_ms)
    return EventsPage(b"[]", 0)


def _batches_at(log: SegmentLog, where: dict[int, Location]) -> dict[int, Batch] | None:
    """The batches of these seqs, each from where the index has it; None when a record was erased
    between the lookup and the read (compaction moved the session meanwhile: looking again finds
    where it is now)."""
    sources = sorted(set(where.values()))
    found: dict[int, Batch] = {}
    for location, record in zip(sources, log.read_many(sources)):
        if record is None:
            return None
        for batch in _batches(location, record, log):
            seq = batch.meta.seq
            if where.get(seq) == location and seq not in found:
                found[seq] = batch
    return dict(sorted(found.items()))


class BatchTimes(NamedTuple):
    first_ms: Stamp | None  # the batch's earliest event (None: it has none)
    meta_ms: Stamp | None  # its earliest page load (Meta), where a Replayer can start


class _Typed(msgspec.Struct):
    type: int
    timestamp: Stamp


_typed_events = msgspec.json.Decoder(list[_Typed])
NO_EVENTS = BatchTimes(None, None)


def batch_times(events: bytes) -> BatchTimes:
    typed = _typed_events.decode(events)
    return BatchTimes(min((e.timestamp for e in typed), default=None),
                      min((e.timestamp for e in typed if e.type == EventType.META), default=None))


def opening_slice(times: list[BatchTimes], at_ms: Stamp) -> Slice:
    """The batches (`times` in seq order) from the last one with a page load at or before `at_ms` after
    the first event, through the first that starts after that moment, so the answer reaches it."""
    started = next((t.first_ms for t in times if t.first_ms is not None), None)
    if started is None:
        return Slice(0, len(times))
    until = started + at_ms
    start = last = 0
    for i, t in enumerate(times):
        if t.first_ms is not None and t.first_ms <= until:
            last = i
        if t.meta_ms is not None and t.meta_ms <= until:
            start = i
    return Slice(start, last + 2, started)


# Each batch's times, by session, seq and the location they were read from (a compacted session's
# moved batches are read again). Bounded by the number of batches kept, across sessions.
_times: OrderedDict[str, dict[int, tuple[Location, BatchTimes]]] = OrderedDict()
_times_lock = threading.Lock()
TIMES_KEPT = 50_000  # ~300 bytes each (15 MB): a 2-hour session of 2-second batches holds 3,600
SCAN_FIRST, SCAN_MOST = 4, 64


def _times_until(
    log: SegmentLog, session_id: str, where: dict[int, Location], seqs: list[int], at_ms: Stamp
) -> list[BatchTimes] | None:
    """The times of the session's batches in seq order, from the first to the first that starts more
    than `at_ms` after the session's first event (None: a record was erased meanwhile). Read in growing
    steps, so opening at the start reads a few batches; remembered, so the player's next pages cost nothing."""
    with _times_lock:
        known = dict(_times.get(session_id, {}))
    out: list[BatchTimes] = []
    started: Stamp | None = None
    done, step = 0, SCAN_FIRST
    try:
        while done < len(seqs):
            chunk = seqs[done : done + step]
            missing = {seq: where[seq] for seq in chunk if seq not in known or known[seq][0] != where[seq]}
            found = _batches_at(log, missing) if missing else {}
            if found is None:
                return None
            known.update({seq: (missing[seq], batch_times(batch.events)) for seq, batch in found.items()})
            for seq in chunk:
                times = known[seq][1] if seq in known else NO_EVENTS
                out.append(times)
                if times.first_ms is None:
                    continue
                started = times.first_ms if started is None else started
                if times.first_ms > started + at_ms:
                    return out
            done, step = done + len(chunk), min(2 * step, SCAN_MOST)
        return out
    finally:
        _remember_times(session_id, known)


def _remember_times(session_id: str, known: dict[int, tuple[Location, BatchTimes]]) -> None:
    with _times_lock:
        _times[session_id] = known
        _times.move_to_end(session_id)
        kept = sum(len(session) for session in _times.values())
        while kept > TIMES_KEPT and len(_times) > 1:
            kept -= len(_times.popitem(last=False)[1])


EXPANDED_KEPT = 2
_expanded: Kept[Location, list[Batch]] = Kept(EXPANDED_KEPT, lambda location: (location,))


def _batches(location: Location, record: Record, log: SegmentLog) -> list[Batch]:
    """A record's batches. A compacted session's few recent records are kept expanded, so a
    player paging through a long session decompresses its one frame once, not once a page."""
    if record.kind != Kind.COMPACTED:
        return batches(record, log.dictionaries)
    return _expanded.get_or_make(location, lambda: batches(record, log.dictionaries))


def erase_session(log: SegmentLog, index: Index, session_id: str, rows: Rows | None = None) -> bool:
    """Remove the session from the index, then overwrite its records in the log."""
    if not index.read(lambda cur: session_exists(cur, session_id)):
        return False
    erase_sessions(log, index, [session_id], rows)
    return True


def erase_sessions(log: SegmentLog, index: Index, session_ids: list[str], rows: Rows | None = None) -> None:
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

    collab.forget_sessions(log, index, session_ids, rows)  # a cluster's comments are in its catalog
    locations = index.write(forget).result()
    with _times_lock:
        for session_id in session_ids:
            _times.pop(session_id, None)
    log.erase(sorted(set(locations)))
