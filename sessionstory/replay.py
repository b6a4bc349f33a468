"""The read path: a session's events, gathered from its records in the log."""

from __future__ import annotations

import msgspec

from sessionstory.events import stamped_decoder
from sessionstory.index import Index
from sessionstory.index.sessions import delete_session, record_locations, session_exists
from sessionstory.store import SegmentLog
from sessionstory.store.compression import decompress


def session_events(log: SegmentLog, index: Index, session_id: str) -> bytes:
    """The session's events as one JSON array, in timestamp order, bytes as recorded.

    Cost follows the session's size: an index lookup, then one pread per batch.
    """
    locations = index.read(lambda cur: record_locations(cur, session_id))
    raws: list[msgspec.Raw] = []
    for record in log.read_many(locations):
        if record is not None:
            raws.extend(msgspec.json.decode(decompress(record.body), type=list[msgspec.Raw]))
    # Batches are almost always in order already; a stable sort keeps equal stamps as sent.
    raws.sort(key=lambda raw: stamped_decoder.decode(raw).timestamp)
    return msgspec.json.encode(raws)


def erase_session(log: SegmentLog, index: Index, session_id: str) -> bool:
    """Remove the session from the index, then overwrite its records in the log."""
    if not index.read(lambda cur: session_exists(cur, session_id)):
        return False
    locations = index.read(lambda cur: record_locations(cur, session_id))
    index.write(lambda con: delete_session(con, session_id)).result()
    log.erase(locations)
    return True
