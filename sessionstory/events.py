"""The rrweb event model, as loose as replay needs and as strict as safety needs.

Events are decoded as an envelope (`type`, `timestamp`) around raw `data`, so event
types and fields that rrweb adds later pass through untouched; only the parts we read
are decoded further.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import IntEnum
from typing import Any

import msgspec


class EventType(IntEnum):
    DOM_CONTENT_LOADED = 0
    LOAD = 1
    FULL_SNAPSHOT = 2
    INCREMENTAL_SNAPSHOT = 3
    META = 4
    CUSTOM = 5
    PLUGIN = 6


class IncrementalSource(IntEnum):
    MUTATION = 0
    MOUSE_MOVE = 1
    MOUSE_INTERACTION = 2
    SCROLL = 3
    VIEWPORT_RESIZE = 4
    INPUT = 5
    TOUCH_MOVE = 6
    MEDIA_INTERACTION = 7
    STYLE_SHEET_RULE = 8
    CANVAS_MUTATION = 9
    FONT = 10
    LOG = 11
    DRAG = 12
    STYLE_DECLARATION = 13
    SELECTION = 14
    ADOPTED_STYLE_SHEET = 15
    CUSTOM_ELEMENT = 16


class Event(msgspec.Struct):
    type: int
    timestamp: int | float
    data: msgspec.Raw = msgspec.Raw(b"{}")


class MetaData(msgspec.Struct):
    href: str = ""
    width: int = 0
    height: int = 0


class IncrementalData(msgspec.Struct):
    source: int = -1


class InputData(msgspec.Struct):
    """An input event's data: the only place rrweb puts what a visitor typed."""

    source: int
    id: int
    text: str = ""
    isChecked: bool = False


class Stamped(msgspec.Struct):
    """Enough of an event to sort by time, keeping the event's own bytes."""

    timestamp: int | float


event_decoder = msgspec.json.Decoder(Event)
meta_decoder = msgspec.json.Decoder(MetaData)
incremental_decoder = msgspec.json.Decoder(IncrementalData)
input_decoder = msgspec.json.Decoder(InputData)
stamped_decoder = msgspec.json.Decoder(Stamped)


_SOURCE_PREFIX = b'{"source":'


def incremental_source(data: bytes | msgspec.Raw) -> int:
    """The `source` of an IncrementalSnapshot's data, read without parsing the rest.

    rrweb writes `source` first, so the common case is a prefix check; anything else is
    decoded properly. Mutations, the bulk of a session's bytes, are never parsed.
    """
    head = memoryview(data)[:16].tobytes()  # msgspec.Raw is a buffer, not bytes: peek, don't copy
    if head.startswith(_SOURCE_PREFIX):
        digits = head[len(_SOURCE_PREFIX) :].split(b",", 1)[0].split(b"}", 1)[0]
        if digits.isdigit():
            return int(digits)
    try:
        return incremental_decoder.decode(data).source
    except msgspec.DecodeError:
        return -1


# rrweb-snapshot's serialized node types.
ELEMENT_NODE, TEXT_NODE, COMMENT_NODE = 2, 3, 5


def walk_nodes(root: Any, parent_tag: str | None = None) -> Iterator[tuple[dict[str, Any], str | None, str]]:
    """Every node of a serialized snapshot tree (a full snapshot's, or a mutation's added node):
    (node, its parent's tag, its own tag: "" unless an element). Iterative, since a crafted
    tree may be deeper than Python's recursion."""
    stack: list[tuple[Any, str | None]] = [(root, parent_tag)]
    while stack:
        node, parent = stack.pop()
        if not isinstance(node, dict):
            continue
        tag = str(node.get("tagName", "")).lower() if node.get("type") == ELEMENT_NODE else ""
        yield node, parent, tag
        children = node.get("childNodes")
        if isinstance(children, list):
            stack.extend((child, tag or parent) for child in reversed(children))  # in document order
