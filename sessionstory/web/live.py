"""Live viewing: a session's batches pushed to the player over Server-Sent Events.

The stream opens with everything recorded so far (`start`), then sends each batch as
it becomes durable (`batch`). Every message's id is the log location of the newest
batch it carries; a browser that reconnects sends it back as `Last-Event-ID` and gets
exactly the batches committed after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import TypeVar, get_args

import duckdb
import msgspec
from litestar import Request, get
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import FromPath
from litestar.response import ServerSentEvent
from litestar.response.sse import ServerSentEventMessage

from sessionstory.datadir import DataDir
from sessionstory.handoff import HANDS
from sessionstory.index.sessions import SessionDetail, iso, session_exists
from sessionstory.live import LiveHub, Viewer
from sessionstory.replay import session_events
from sessionstory.store import Location, Record
from sessionstory.store.compression import decompress
from sessionstory.store.records import Kind
from sessionstory.web.security import api_user, datadir

HEARTBEAT_S = 15.0  # a comment line this often keeps proxies from closing an idle stream
INDEX_WAIT_S = 2.0
# A session not indexed here yet, in a cluster: how long to wait for the first batch another node
# relays, and for the pause that ends the relayed backlog (sent in one transaction).
RELAY_WAIT_S, RELAY_QUIET_S = 3.0, 0.3
RETRY_MS = 1000  # how soon a browser reconnects: short, since someone is watching
_Position = tuple[int, int]  # a log location without its length: (segment, offset)


def live_hub(request: Request) -> LiveHub:  # type: ignore[type-arg]
    return request.app.state.live  # type: ignore[no-any-return]


@get("/api/v1/sessions/{session_id:str}/live")
async def live_stream(request: Request, session_id: FromPath[str]) -> ServerSentEvent:  # type: ignore[type-arg]
    api_user(request)
    dd, hub = datadir(request), live_hub(request)
    resume = _parse_position(request.headers.get("last-event-id") or request.query_params.get("after"))
    indexed = await dd.index.read_async(lambda cur: session_exists(cur, session_id))
    if not indexed and not hub.across_nodes:
        raise NotFoundException(f"no session {session_id!r}")
    # Watch first, then read the backlog: whatever commits in between arrives twice and is
    # dropped by position, so nothing falls into the gap.
    viewer = hub.watch(session_id)
    try:
        if indexed:
            await _index_caught_up(dd, hub.last_committed)
            opening = await HANDS.run(_backlog, dd, session_id, resume)
        else:
            opening = await _relayed_opening(viewer, resume)
    except BaseException:
        hub.leave(viewer)
        raise
    return ServerSentEvent(
        _messages(hub, viewer, opening, resume),
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _relayed_opening(viewer: Viewer, resume: _Position | None) -> _Opening:
    """A session this node has not indexed yet: in a cluster, one that another node began
    recording a seal time ago at most. The watch asks every node for its last batches of the
    session (cluster/live.py's backfill); they open the stream. No batch within RELAY_WAIT_S:
    no node is recording it."""
    relayed = sorted(dict(await viewer.gather(RELAY_WAIT_S, RELAY_QUIET_S)).items())
    if not relayed:
        raise NotFoundException(f"no session {viewer.session_id!r}")
    newest = (relayed[-1][0].segment, relayed[-1][0].offset)
    if resume is not None:
        missed = [record for location, record in relayed if (location.segment, location.offset) > resume]
        return _Opening("batch", [_payload(record) for record in missed], max(newest, resume))
    events = sorted((event for _, record in relayed for event in msgspec.json.decode(decompress(record.body))),
                    key=lambda event: event.get("timestamp", 0))
    return _Opening("start", [_payload_raw(msgspec.json.encode(events), None)], newest)


def pending_live_session(hub: LiveHub, session_id: str) -> SessionDetail | None:
    """The live page's session when this node has not indexed it: in a cluster, one another node
    may have begun a seal time ago at most. Nothing about it is known here yet, so its facts are
    empty; the page's stream (live_stream) finds its batches through the relay, or answers 404.
    None on a single node: the session does not exist."""
    if not hub.across_nodes:
        return None
    now = iso(int(time.time() * 1000))
    return nothing_known(SessionDetail, id=session_id, project_id="", visitor_id="", started_at=now, ended_at=now,
                         live=True)


S = TypeVar("S", bound=msgspec.Struct)


def nothing_known(struct: type[S], **known: object) -> S:
    """`struct` with `known` set and nothing else known: each other field at its default, else
    empty. Built from the struct's fields, so a field added to it later is never left out."""
    empty = {field.name: _empty(field) for field in msgspec.structs.fields(struct)
             if field.required and field.name not in known}
    return msgspec.convert({**empty, **known}, struct)


def _empty(field: msgspec.structs.FieldInfo) -> object:
    """What a fact nothing is known of reads as: null where it may be, else a count of 0."""
    if type(None) in get_args(field.type):
        return None
    if field.type is int:
        return 0
    raise TypeError(f"{field.name} ({field.type}) has no empty value: give it to nothing_known")


async def _index_caught_up(dd: DataDir, location: Location | None) -> None:
    if location is not None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.wrap_future(dd.index.applied(location)), INDEX_WAIT_S)


def _parse_position(raw: str | None) -> _Position | None:
    if not raw:
        return None
    segment, dot, offset = raw.partition(".")
    if not (dot and segment.isdigit() and offset.isdigit()):
        raise ValidationException("Last-Event-ID must look like SEGMENT.OFFSET")
    return int(segment), int(offset)


class _Opening(msgspec.Struct):
    event: str  # "start" (the whole session so far) or "batch" (a resume: what was missed)
    payloads: list[bytes]
    position: _Position | None


def _backlog(dd: DataDir, session_id: str, resume: _Position | None) -> _Opening:
    rows = dd.index.read(lambda cur: _record_positions(cur, session_id))
    newest = max(rows, default=None)
    if resume is None:
        # A fresh viewer gets the recording so far in one message, in timestamp order.
        events = session_events(dd.log, dd.index, session_id)
        return _Opening("start", [_payload_raw(events, None)], newest[:2] if newest else None)
    missed = sorted(row for row in rows if row[:2] > resume)
    records = dd.log.read_many([Location(*row) for row in missed])
    # Only plain batches: a compacted record after the resume point holds batches the viewer had
    # (compaction moved a session it was watching). A batch that arrived during the disconnect and
    # was compacted before the reconnect is the one gap left; compaction waits 30 quiet minutes.
    payloads = [_payload(r) for r in records if r is not None and r.kind == Kind.BATCH]
    return _Opening("batch", payloads, missed[-1][:2] if missed else resume)


def _record_positions(cur: duckdb.DuckDBPyConnection, session_id: str) -> list[tuple[int, int, int]]:
    return cur.execute(
        'SELECT DISTINCT segment, "offset", length FROM records WHERE session_id = ?', [session_id]
    ).fetchall()


def _payload(record: Record) -> bytes:
    return _payload_raw(decompress(record.body), record.meta.received_ms)  # type: ignore[union-attr]


def _payload_raw(events_json: bytes, received_ms: int | None) -> bytes:
    head = b'{"now_ms":%d,"received_ms":%s,"events":' % (time.time() * 1000, b"null" if received_ms is None else b"%d" % received_ms)
    return head + events_json + b"}"


def _id(position: _Position | None) -> str | None:
    return None if position is None else f"{position[0]}.{position[1]}"


async def _messages(
    hub: LiveHub, viewer: Viewer, opening: _Opening, resume: _Position | None
) -> AsyncIterator[ServerSentEventMessage]:
    sent = opening.position or resume or (0, 0)
    try:
        yield ServerSentEventMessage(comment="watching", retry=RETRY_MS)
        for i, payload in enumerate(opening.payloads):
            last = i == len(opening.payloads) - 1
            yield ServerSentEventMessage(data=payload.decode(), event=opening.event, id=_id(sent) if last else None)
        async for item in viewer.batches(HEARTBEAT_S):
            if item is None:
                yield ServerSentEventMessage(comment="heartbeat")
                continue
            location, record = item
            if (location.segment, location.offset) <= sent:
                continue  # already in the opening backlog
            sent = (location.segment, location.offset)
            payload = await HANDS.run(_payload, record)
            yield ServerSentEventMessage(data=payload.decode(), event="batch", id=_id(sent))
    finally:
        hub.leave(viewer)

