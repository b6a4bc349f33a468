"""The write path: validate a batch, scrub it, compress it, make it durable.

Pure steps (decode, validate, scrub, summarise) run before anything touches disk;
a batch is acknowledged once the segment log has fsynced it, not later: the index applies
it soon after, and reads wait for that (Index.read), so a client's flush() is still
followed by a listing that shows it.
"""

from __future__ import annotations

import asyncio
import re
import time
import zlib
from collections import OrderedDict

import duckdb
import msgspec

from sessionstory.config import Limits
from sessionstory.context import country, truncated_ip
from sessionstory.events import Event, EventType, IncrementalSource, event_decoder, incremental_source, input_decoder
from sessionstory.facts import BatchFacts, batch_facts
from sessionstory.index import Index
from sessionstory.projects import Project, Projects, origin_allowed
from sessionstory.privacy import enforce
from sessionstory.sanitize import sanitize_event
from sessionstory.store import BatchMeta, Location, Record, SegmentLog
from sessionstory.store.compression import compress
from sessionstory.store.records import Kind

_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_GZIP_MAGIC = b"\x1f\x8b"
INFLATE_STEP = 1024 * 1024
ERASED = "\0erased"  # the "owner" of an erased session's id: no project can claim it again
# Bound once: a member looked up on its IntEnum class costs ~0.25 µs in CPython 3.11 (see facts.py).
INCREMENTAL, INPUT = EventType.INCREMENTAL_SNAPSHOT, IncrementalSource.INPUT


class NothingToStore(Exception):
    """Every event of the batch was on a page the project's URL rules keep out of recordings:
    acknowledged, and stored nowhere."""


class IngestError(Exception):
    def __init__(self, status: int, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.retry_after = status, message, retry_after


class Envelope(msgspec.Struct):
    key: str
    session_id: str
    visitor_id: str
    seq: int
    events: list[msgspec.Raw]
    window_id: str = ""
    user_id: str | None = None


class Prepared(msgspec.Struct):
    """A batch ready to append: its record and the facts already extracted from it."""

    project: Project
    record: Record
    facts: BatchFacts

    @property
    def key(self) -> tuple[str, int]:
        meta = self.record.meta
        assert isinstance(meta, BatchMeta)
        return meta.session_id, meta.seq


# -- pure steps ----------------------------------------------------------------------


def is_gzip(body: bytes, content_encoding: str) -> bool:
    encoding = content_encoding.strip().lower()
    return encoding in ("gzip", "x-gzip") or (not encoding and body[:2] == _GZIP_MAGIC)


def stated_size(body: bytes, content_encoding: str) -> int:
    """How large the body says it is once decoded: a gzip body's last 4 bytes (its size modulo
    2**32, as the writer put it; a hostile one may lie), else its length."""
    if is_gzip(body, content_encoding):
        return int.from_bytes(body[-4:], "little") if len(body) >= 18 else 0
    return len(body)


def decode_body(body: bytes, content_encoding: str, limits: Limits) -> bytes:
    if is_gzip(body, content_encoding):
        return gunzip_capped(body, limits.max_decoded_bytes)
    encoding = content_encoding.strip().lower()
    if encoding not in ("", "identity"):
        raise IngestError(415, f"unsupported Content-Encoding {content_encoding!r}; use gzip or none")
    if len(body) > limits.max_decoded_bytes:
        raise IngestError(413, "batch too large")
    return body


def gunzip_capped(body: bytes, cap: int) -> bytes:
    """Inflate in steps with a running cap: a one-shot call would let a bomb fill memory."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = bytearray()
    data = body
    try:
        while True:
            # In steps of at most 1 MiB: a step's output is copied into `out`, so a bigger step
            # would hold the capped amount twice at the peak.
            step = inflater.decompress(data, min(INFLATE_STEP, cap + 1 - len(out)))
            out += step
            if len(out) > cap:
                raise IngestError(413, "batch too large once decompressed")
            data = inflater.unconsumed_tail
            if inflater.eof or not (data or step):  # done, or no input left and nothing more came out
                break
        if not inflater.eof:
            raise IngestError(400, "truncated gzip body")
    except zlib.error:
        raise IngestError(400, "body is not valid gzip") from None
    return bytes(out)


def parse_envelope(body: bytes, limits: Limits) -> tuple[Envelope, list[Event]]:
    try:
        env = msgspec.json.decode(body, type=Envelope)
    except RecursionError:
        raise IngestError(400, "JSON nested too deeply") from None
    except msgspec.ValidationError as exc:
        raise IngestError(400, f"invalid batch: {exc}") from None
    except msgspec.DecodeError:
        raise IngestError(400, "body is not valid JSON") from None
    for name in ("session_id", "visitor_id"):
        if not _ID.match(getattr(env, name)):
            raise IngestError(400, f"{name} must be 1-128 characters of A-Z a-z 0-9 . _ : -")
    if env.window_id and not _ID.match(env.window_id):
        raise IngestError(400, "window_id must be 1-128 characters of A-Z a-z 0-9 . _ : -")
    if env.user_id is not None and not (0 < len(env.user_id) <= 256):
        raise IngestError(400, "user_id must be 1-256 characters")
    if not 0 <= env.seq < 2**31:
        raise IngestError(400, "seq must be a whole number from 0")
    if not env.events:
        raise IngestError(400, "a batch needs at least one event")
    if len(env.events) > limits.max_events:
        raise IngestError(413, f"a batch may hold at most {limits.max_events} events")
    try:
        events = [event_decoder.decode(raw) for raw in env.events]
    except msgspec.DecodeError as exc:
        raise IngestError(400, f"invalid event: {exc}") from None
    return env, events


def clamp_timestamps(raws: list[msgspec.Raw], events: list[Event], earliest: int, latest: int) -> list[msgspec.Raw]:
    """Pull timestamps outside [earliest, latest] to the nearer edge, in `events` and their JSON.

    A wild timestamp (0, the year 3000) would otherwise stretch a session over centuries
    and take its timeline, filters and retention with it.
    """
    out = list(raws)
    for i, event in enumerate(events):
        if not earliest <= event.timestamp <= latest:
            events[i] = msgspec.structs.replace(event, timestamp=min(max(int(event.timestamp), earliest), latest))
            out[i] = msgspec.Raw(msgspec.json.encode(events[i]))
    return out


def scrub_inputs(raws: list[msgspec.Raw], events: list[Event]) -> list[bytes]:
    """Mask any typed text a client left in Input events: no input value is ever stored.

    The SDK masks every input already; this guards against other clients and old SDKs.
    """
    out: list[bytes] = []
    for raw, event in zip(raws, events):
        if event.type == INCREMENTAL:
            if incremental_source(event.data) == INPUT:
                data = input_decoder.decode(event.data)
                if data.text.strip("*"):
                    masked = msgspec.structs.replace(data, text="*" * len(data.text))
                    fixed = msgspec.structs.replace(event, data=msgspec.Raw(msgspec.json.encode(masked)))
                    out.append(msgspec.json.encode(fixed))
                    continue
        out.append(bytes(raw))
    return out


def prepare(
    projects: Projects,
    body: bytes,
    content_encoding: str,
    origin: str | None,
    user_agent: str,
    limits: Limits,
    client_ip: str | None = None,
) -> Prepared:
    """Every CPU step of ingest, run off the event loop."""
    env, events = parse_envelope(decode_body(body, content_encoding, limits), limits)
    project = projects.by_key(env.key)
    if project is None:
        raise IngestError(401, "unknown project key")
    if not origin_allowed(project, origin):
        raise IngestError(403, "origin not allowed for this project")
    received_ms = int(time.time() * 1000)
    raws = clamp_timestamps(env.events, events, limits.min_timestamp_ms, received_ms + limits.max_future_ms)
    privacy = projects.privacy(project.id)
    try:
        clean = [sanitize_event(raw, event) for raw, event in zip(scrub_inputs(raws, events), events)]
        # The project's privacy rules and level, enforced again here; the facts come from what is stored.
        clean, events = enforce(clean, events, privacy)
    except msgspec.DecodeError as exc:
        raise IngestError(400, f"invalid event data: {exc}") from None
    if not clean:
        raise NothingToStore()
    meta = BatchMeta(
        project_id=project.id,
        session_id=env.session_id,
        seq=env.seq,
        received_ms=received_ms,
        visitor_id=env.visitor_id,
        window_id=env.window_id,
        user_id=env.user_id or "",
        user_agent=user_agent[:512],
        country=country(client_ip),
        ip=truncated_ip(client_ip) if privacy.truncated_ip else "",
    )
    body_json = b"[" + b",".join(clean) + b"]"
    return Prepared(project, Record(Kind.BATCH, meta, compress(body_json)), batch_facts(events))


# -- the stateful part ------------------------------------------------------------


class Ingestor:
    """Appends prepared batches once each, whatever the client retries."""

    RECENT = 100_000

    def __init__(self, log: SegmentLog, index: Index, limits: Limits = Limits()) -> None:
        self._log, self._index, self._limits = log, index, limits
        # Batches being written now: a concurrent retry waits for the first attempt's outcome.
        self._inflight: dict[tuple[str, int], asyncio.Future[Location]] = {}
        # Batches made durable lately, which the index writer may not have applied yet.
        self._recent: OrderedDict[tuple[str, int], str] = OrderedDict()
        # Sessions written lately: their project, stored bytes and events (ahead of the index, for
        # the caps), and the highest seq stored. A known session's next batch needs no index
        # lookup: ingest's hot path.
        self._sessions: OrderedDict[str, tuple[str, tuple[int, int], int]] = OrderedDict()
        # Sessions erased while this process runs (older erasures: the index's tombstones).
        self._erased: set[str] = set()

    async def append(self, prepared: Prepared) -> None:
        key = prepared.key
        running = self._inflight.get(key)
        if running is not None:
            await _durable(running)
            return
        known = self._sessions.get(key[0])
        owner: str | None  # the session's project, or ERASED; None: a session the index does not hold
        if known is not None and (key in self._recent or key[1] > known[2]):
            # The session's next batch (or a retry this process remembers): no index lookup. A seq
            # at or below the highest stored and no longer remembered is looked up, so a late
            # retry is still stored once.
            owner, size, _ = known
            stored = key in self._recent
        else:
            # Not a fresh read: every batch this process made durable lately is in `_sessions`
            # already, so waiting for the index to catch up would only slow the answer.
            owner, stored, size = await self._index.read_async(lambda cur: _lookup(cur, key), fresh=False)
            size = known[1] if known is not None else size  # this process's count is ahead of the index
        if owner == ERASED or key[0] in self._erased:
            return  # erased on request: acknowledge (the SDK stops retrying), store nothing
        if owner is not None and owner != prepared.project.id:
            raise IngestError(409, "this session id belongs to another project")
        if stored:
            return  # stored already: acknowledge the retry, store nothing
        size = self._grown(size, prepared)
        future = self._log.submit_async(prepared.record, prepared.facts)
        self._inflight[key] = future
        try:
            await _durable(future)
        finally:
            self._inflight.pop(key, None)
        self._recent[key] = prepared.project.id
        top = max(key[1], known[2]) if known is not None else key[1]
        self._sessions[key[0]] = (prepared.project.id, size, top)
        self._sessions.move_to_end(key[0])
        for recent in (self._recent, self._sessions):
            if len(recent) > self.RECENT:
                recent.popitem(last=False)

    def forget(self, session_id: str) -> None:
        """The session is being erased: refuse it from now on (the index's tombstone says so
        too, but this process may know the session well enough not to ask)."""
        self._erased.add(session_id)
        self._sessions.pop(session_id, None)

    def _grown(self, size: tuple[int, int], prepared: Prepared) -> tuple[int, int]:
        """The session's size with this batch, or 413 when that passes a cap."""
        grown = (size[0] + len(prepared.record.body), size[1] + prepared.facts.event_count)
        if grown[0] > self._limits.max_session_bytes or grown[1] > self._limits.max_session_events:
            # The SDK drops a batch refused with a 4xx; the visitor's next session starts fresh.
            raise IngestError(413, "this session has reached its size limit; nothing more of it is stored")
        return grown


async def _durable(future: asyncio.Future[Location]) -> Location:
    try:
        # Shielded: a retry waits on the first attempt's future, which one waiter's cancellation must not cancel.
        return await asyncio.shield(future)
    except OSError as exc:
        raise IngestError(503, f"store unavailable: {exc.strerror or exc}", retry_after=5) from None


def _lookup(cur: duckdb.DuckDBPyConnection, key: tuple[str, int]) -> tuple[str | None, bool, tuple[int, int]]:
    """The project owning this session id (if any), whether this batch is stored, and the
    session's stored bytes and events so far.

    Two primary-key probes answer a new session; only a session the index holds has its
    records read (`records` is scanned for them: its key has two columns, which DuckDB's index
    does not serve to one of them), and that happens once per session and process lifetime."""
    if cur.execute("SELECT 1 FROM tombstones WHERE session_id = ?", [key[0]]).fetchone() is not None:
        return ERASED, True, (0, 0)
    row = cur.execute("SELECT project_id, event_count FROM sessions WHERE id = ?", [key[0]]).fetchone()
    if row is None:  # sessions and records are written in one transaction: no row, no records
        return None, False, (0, 0)
    records = cur.execute('SELECT seq, segment, "offset", length FROM records WHERE session_id = ?', [key[0]]).fetchall()
    stored = any(seq == key[1] for seq, *_ in records)
    # A compacted session's batches share one record: count its bytes once.
    size = sum(length for _, length in {(r[1], r[2]): r[3] for r in records}.items())
    return row[0], stored, (size, int(row[1]))
