"""Pure functions from rrweb events to the facts the index keeps about a session."""

from __future__ import annotations

import msgspec

from sessionstory.events import Event, EventType, meta_decoder


class BatchFacts(msgspec.Struct):
    """What one batch tells about its session."""

    first_ms: int
    last_ms: int
    event_count: int
    page_urls: list[tuple[int, str]]  # (timestamp, url) of each page load, in order


def batch_facts(events: list[Event]) -> BatchFacts:
    timestamps = [int(e.timestamp) for e in events]
    pages = []
    for event in events:
        if event.type == EventType.META:
            try:
                pages.append((int(event.timestamp), meta_decoder.decode(event.data).href))
            except msgspec.DecodeError:
                continue  # a malformed Meta still replays as far as it can; it just names no page
    pages.sort()
    return BatchFacts(
        first_ms=min(timestamps, default=0),
        last_ms=max(timestamps, default=0),
        event_count=len(events),
        page_urls=pages,
    )
