"""Pure functions from one batch of rrweb events to the facts the index keeps.

Nothing here knows about other batches: signals that span batches (a click whose
outcome arrives in the next batch, a rage burst across a flush) are settled by
`signals.py`, which carries a little state per session.
"""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_left
from typing import Any

import msgspec

from sessionstory.events import Event, EventType, IncrementalSource, incremental_source

# Enum members the per-event code tests, bound once: a member looked up on its IntEnum class
# (EventType.META) costs ~0.25 µs in CPython 3.11, ten times a global, several times an event.
META, INCREMENTAL, CUSTOM = EventType.META, EventType.INCREMENTAL_SNAPSHOT, EventType.CUSTOM
MOUSE_MOVE, TOUCH_MOVE, MOUSE_INTERACTION = IncrementalSource.MOUSE_MOVE, IncrementalSource.TOUCH_MOVE, IncrementalSource.MOUSE_INTERACTION
SCROLL, INPUT, VIEWPORT_RESIZE = IncrementalSource.SCROLL, IncrementalSource.INPUT, IncrementalSource.VIEWPORT_RESIZE


# Bounds on what one batch may contribute, whatever a client sends.
MAX_TEXT = 1000
MAX_STACK = 4000
MAX_URL = 2048


class PageView(msgspec.Struct):
    at: int
    url: str
    title: str = ""
    referrer: str = ""
    kind: str = "load"


class Click(msgspec.Struct):
    at: int
    x: int
    y: int
    vw: int = 0
    vh: int = 0
    selector: str = ""
    text: str = ""
    tag: str = ""
    next_activity: int | None = None  # first DOM change, scroll, page or request after it, in this batch
    next_error: int | None = None  # first JS error after it, in this batch
    url: str = ""  # the page it was on (set by signals.advance, which knows the page a batch starts on)


class InputFact(msgspec.Struct):
    at: int
    selector: str = ""
    type: str = ""
    name: str = ""


class ScrollDepth(msgspec.Struct):
    at: int
    depth: int
    height: int = 0


class ErrorFact(msgspec.Struct):
    at: int
    kind: str
    message: str
    stack: str = ""
    source: str = ""
    fingerprint: str = ""


class ConsoleFact(msgspec.Struct):
    at: int
    level: str
    message: str


class NetworkFact(msgspec.Struct):
    at: int  # when the request started
    method: str
    url: str
    status: int
    duration: int
    type: str = "fetch"
    error: str = ""


class Vital(msgspec.Struct):
    at: int
    name: str
    value: float
    rating: str = ""


class CustomFact(msgspec.Struct):
    at: int
    name: str
    props: str = "{}"  # JSON text


class Identify(msgspec.Struct):
    at: int
    user_id: str
    traits: str = "{}"  # JSON text


class Point(msgspec.Struct, array_like=True):
    at: int
    x: int
    y: int


class BatchFacts(msgspec.Struct):
    """What one batch tells about its session."""

    first_ms: int
    last_ms: int
    event_count: int
    pages: list[PageView] = []
    clicks: list[Click] = []
    inputs: list[InputFact] = []
    scrolls: list[ScrollDepth] = []
    errors: list[ErrorFact] = []
    console: list[ConsoleFact] = []
    network: list[NetworkFact] = []
    vitals: list[Vital] = []
    customs: list[CustomFact] = []
    identifies: list[Identify] = []
    moves: list[Point] = []  # mouse positions, for thrashed-cursor detection
    doc_scrolls: list[Point] = []  # document scroll offsets, for excessive scrolling
    activity: list[int] = []  # times of visitor input (mouse, keys, scroll, touch), for active time
    first_change: int | None = None  # first DOM change, scroll, page or request: settles earlier clicks
    first_error: int | None = None
    viewport: tuple[int, int] | None = None


# -- decoding the parts of events we read ----------------------------------------------


class _Data(msgspec.Struct):
    """The union of the `data` fields we read, across event types; the rest is skipped."""

    source: int = -1
    type: int | str = -1
    id: int = 0
    x: float = 0
    y: float = 0
    href: str = ""
    width: int = 0
    height: int = 0
    positions: list[dict[str, Any]] = []
    tag: str = ""
    payload: Any = None


_data_decoder = msgspec.json.Decoder(_Data)


def batch_facts(events: list[Event]) -> BatchFacts:
    timestamps = [int(e.timestamp) for e in events]
    facts = BatchFacts(
        first_ms=min(timestamps, default=0),
        last_ms=max(timestamps, default=0),
        event_count=len(events),
        pages=[], clicks=[], inputs=[], scrolls=[], errors=[], console=[], network=[], vitals=[],
        customs=[], identifies=[], moves=[], doc_scrolls=[], activity=[],
    )
    changes: list[int] = []
    raw_clicks: list[Click] = []
    metas: list[PageView] = []
    for event in events:
        at = int(event.timestamp)
        if event.type == INCREMENTAL and incremental_source(event.data) in _SKIPPED:
            changes.append(at)  # a DOM change: its time is all we need, so it is never parsed
            continue
        if event.type not in _READ:
            continue
        try:
            data = _data_decoder.decode(event.data)
        except msgspec.DecodeError:
            continue  # a malformed event still replays as far as it can; it just tells us nothing
        if event.type == META:
            metas.append(PageView(at=at, url=_cut(data.href, MAX_URL)))
            facts.viewport = (data.width, data.height)
        elif event.type == INCREMENTAL:
            _incremental(facts, data, at, changes, raw_clicks)
        elif event.type == CUSTOM and isinstance(data.payload, dict):
            _custom(facts, str(data.tag), data.payload, at, changes)
    if not facts.pages:
        facts.pages = metas  # a client without our page events: Meta names each page load
    if not facts.clicks:
        facts.clicks = raw_clicks  # a client without our click events: rrweb's, unnamed
    _settle_clicks(facts, sorted(changes))
    return facts


# Events read beyond their type; full snapshots are skipped whole (their size is the bulk of
# a session, and rrweb numbers the document 1 in every snapshot, which is all we need).
_READ = (EventType.META, EventType.INCREMENTAL_SNAPSHOT, EventType.CUSTOM)
_SKIPPED = (IncrementalSource.MUTATION, IncrementalSource.STYLE_SHEET_RULE, IncrementalSource.STYLE_DECLARATION,
            IncrementalSource.ADOPTED_STYLE_SHEET, IncrementalSource.FONT)
DOCUMENT_ID = 1


def _incremental(facts: BatchFacts, data: _Data, at: int, changes: list[int], clicks: list[Click]) -> None:
    source = data.source
    if source in (MOUSE_MOVE, TOUCH_MOVE):
        for p in data.positions:
            t = at + int(p.get("timeOffset", 0) or 0)
            facts.moves.append(Point(t, int(p.get("x", 0) or 0), int(p.get("y", 0) or 0)))
            facts.activity.append(t)
    elif source == MOUSE_INTERACTION:
        facts.activity.append(at)
        if data.type == 2:  # rrweb's MouseInteractions.Click
            clicks.append(Click(at=at, x=int(data.x), y=int(data.y)))
    elif source == SCROLL:
        facts.activity.append(at)
        changes.append(at)
        if data.id == DOCUMENT_ID:
            facts.doc_scrolls.append(Point(at, int(data.x), int(data.y)))
    elif source == INPUT:
        facts.activity.append(at)
    elif source == VIEWPORT_RESIZE:
        facts.viewport = (data.width, data.height)


def _custom(facts: BatchFacts, tag: str, p: dict[str, Any], at: int, changes: list[int]) -> None:
    """Our SDK's Custom events (docs/sdk.md); unknown tags are kept as events by nobody."""
    if tag == "page":
        changes.append(at)
        facts.pages.append(PageView(at=at, url=_s(p, "url", MAX_URL), title=_s(p, "title", 300),
                                    referrer=_s(p, "referrer", MAX_URL), kind=_s(p, "kind", 20) or "load"))
    elif tag == "click":
        facts.clicks.append(Click(at=at, x=_i(p, "x"), y=_i(p, "y"), vw=_i(p, "vw"), vh=_i(p, "vh"),
                                  selector=_s(p, "selector", 300), text=_s(p, "text", 100), tag=_s(p, "tag", 30)))
    elif tag == "input":
        facts.inputs.append(InputFact(at=at, selector=_s(p, "selector", 300), type=_s(p, "type", 30),
                                      name=_s(p, "name", 100)))
    elif tag == "scroll":
        facts.scrolls.append(ScrollDepth(at=at, depth=max(0, min(100, _i(p, "depth"))), height=_i(p, "height")))
    elif tag == "error":
        message, stack = _s(p, "message", MAX_TEXT), _s(p, "stack", MAX_STACK)
        facts.errors.append(ErrorFact(at=at, kind=_s(p, "kind", 30) or "error", message=message, stack=stack,
                                      source=_s(p, "source", MAX_URL), fingerprint=fingerprint(message, stack)))
        facts.first_error = at if facts.first_error is None else min(facts.first_error, at)
    elif tag == "console":
        facts.console.append(ConsoleFact(at=at, level=_s(p, "level", 10), message=_s(p, "message", MAX_TEXT)))
    elif tag == "network":
        start = at - max(0, _i(p, "duration"))
        changes.append(start)
        facts.network.append(NetworkFact(at=start, method=_s(p, "method", 10).upper() or "GET",
                                         url=_s(p, "url", MAX_URL), status=_i(p, "status"),
                                         duration=max(0, _i(p, "duration")), type=_s(p, "type", 10),
                                         error=_s(p, "error", 300)))
    elif tag == "vitals":
        value = p.get("value")
        if isinstance(value, int | float) and not isinstance(value, bool):
            facts.vitals.append(Vital(at=at, name=_s(p, "name", 10).upper(), value=float(value),
                                      rating=_s(p, "rating", 20)))
    elif tag == "track":
        facts.customs.append(CustomFact(at=at, name=_s(p, "name", 200), props=_json(p.get("props"))))
    elif tag == "identify":
        user = _s(p, "user_id", 256)
        if user:
            facts.identifies.append(Identify(at=at, user_id=user, traits=_json(p.get("traits"))))


def _settle_clicks(facts: BatchFacts, changes: list[int]) -> None:
    """Note what followed each click inside this batch; signals.py judges across batches."""
    facts.first_change = changes[0] if changes else None
    errors = sorted(e.at for e in facts.errors)
    for click in facts.clicks:
        # A change stamped with the click's own millisecond is the click's doing too.
        i = bisect_left(changes, click.at)
        click.next_activity = changes[i] if i < len(changes) else None
        j = bisect_left(errors, click.at)
        click.next_error = errors[j] if j < len(errors) else None


# -- small helpers for untrusted payloads -------------------------------------------


def _s(p: dict[str, Any], key: str, limit: int) -> str:
    value = p.get(key)
    return _cut(value, limit) if isinstance(value, str) else ""


def _i(p: dict[str, Any], key: str) -> int:
    value = p.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    return int(max(-(2**31), min(2**31 - 1, value)))


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _json(value: Any) -> str:
    try:
        text = msgspec.json.encode(value if value is not None else {}).decode()
    except (TypeError, msgspec.EncodeError):
        return "{}"
    return text if len(text) <= 4000 else "{}"


_VOLATILE = re.compile(r"0x[0-9a-f]+|\b[0-9a-f]{8,}\b|\d+|'[^']*'|\"[^\"]*\"", re.IGNORECASE)
_FRAME = re.compile(r"(?:at\s+)?([\w$.<>]*)@?\s*\(?((?:https?|file)://[^\s)]+?)(?::\d+){0,2}\)?$", re.MULTILINE)


def fingerprint(message: str, stack: str) -> str:
    """Group errors that differ only in numbers, ids, quoted values and line numbers."""
    frame = _FRAME.search(stack)
    top = f"{frame.group(1)}@{frame.group(2).split('?')[0]}" if frame else ""
    normal = _VOLATILE.sub("?", message.strip())[:300]
    return hashlib.sha1(f"{normal}|{top}".encode()).hexdigest()[:16]
