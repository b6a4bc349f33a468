"""The read path: a session's events, gathered from its records in the log."""

from __future__ import annotations

import msgspec

from sessionstory.events import stamped_decoder
from sessionstory.index import Index
from sessionstory.index.compaction import forget_session, session_records
from sessionstory.index.sessions import delete_session, record_locations, session_exists
from sessionstory.store import Location, SegmentLog, batches

ATTEMPTS = 3


def session_events(log: SegmentLog, index: Index, session_id: str) -> bytes:
    """The session's events as one JSON array, in timestamp order, bytes as recorded.

    Cost follows the session's size: an index lookup, then one pread per record (one
    in all once the session is compacted).
    """
    for _ in range(ATTEMPTS):
        raws = _read(log, index, session_id)
        if raws is not None:
            break
    else:
        raws = []
    # Batches are almost always in order already; a stable sort keeps equal stamps as sent.
    raws.sort(key=lambda raw: stamped_decoder.decode(raw).timestamp)
    return msgspec.json.encode(raws)


def _read(log: SegmentLog, index: Index, session_id: str) -> list[msgspec.Raw] | None:
    """The events, or None when a record was erased between the lookup and the read
    (compaction moved the session meanwhile: looking again finds where it is now)."""
    where = index.read(lambda cur: session_records(cur, session_id))
    sources = sorted(set(where.values()))
    raws: list[msgspec.Raw] = []
    for location, record in zip(sources, log.read_many(sources)):
        if record is None:
            return None
        for batch in batches(record, log.dictionaries):
            if where.get(batch.meta.seq) == location:  # each seq once, from where the index has it
                del where[batch.meta.seq]
                raws.extend(msgspec.json.decode(batch.events, type=list[msgspec.Raw]))
    return raws


def erase_session(log: SegmentLog, index: Index, session_id: str) -> bool:
    """Remove the session from the index, then overwrite its records in the log."""
    if not index.read(lambda cur: session_exists(cur, session_id)):
        return False

    def forget(con: object) -> list[Location]:
        # Where its records are, read in the same writer job that forgets them: a compaction
        # applied just before is seen, and one applied after finds the session gone.
        locations = record_locations(con, session_id)  # type: ignore[arg-type]
        delete_session(con, session_id)  # type: ignore[arg-type]
        forget_session(con, session_id)  # type: ignore[arg-type]
        return locations

    locations = index.write(forget).result()
    log.erase(sorted(set(locations)))
    return True
