"""Defusing recorded DOM at ingest: defence in depth behind the replay sandbox.

Every byte of a recording is attacker-controlled. The player renders it in an iframe
sandboxed without `allow-scripts`, under a strict CSP; this module makes sure the
stored recording carries nothing that would act if either of those ever failed: no
event handler attributes, no `javascript:` / `vbscript:` / `data:text/html` URLs, no
`srcdoc`, no `<meta http-equiv>` (refresh), no `<base href>`, no script text, no
plugin content, no prefetching links. It walks full snapshots and DOM mutations (rrweb-snapshot's node
format) and leaves everything else, byte for byte, as recorded.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from sessionstory.events import ELEMENT_NODE, TEXT_NODE, Event, EventType, IncrementalSource, incremental_source, walk_nodes

# Browsers drop ASCII whitespace and control characters inside a URL's scheme: "java\tscript:" runs.
_IGNORED_IN_SCHEME = re.compile(r"[\x00-\x20]")
# (data:image/svg+xml stays: an <img> cannot run it, and where it could, the tag rules below drop the URL.)
_ACTIVE_SCHEMES = ("javascript:", "vbscript:", "data:text/html", "data:application/", "data:text/xml")
_DROPPED_ATTRIBUTES = {"srcdoc", "http-equiv", "formaction"}
_DROPPED_BY_TAG = {
    "base": {"href", "target"},
    "object": {"data", "codebase", "classid", "type"},
    "embed": {"src", "code", "type"},
    "applet": {"code", "codebase", "archive", "object"},
    "script": {"src"},
    "iframe": {"src"},  # rrweb records a same-origin frame's document as nodes; a cross-origin one is blank
    "frame": {"src"},
    "portal": {"src"},
}
# A <link> may only style or name an icon: prefetch, preload, preconnect, dns-prefetch and
# the like would make the viewer's browser contact a host of the recording's choosing
# (browsers do not hold prefetches to the CSP).
_LINK_RELATIONS = {"stylesheet", "alternate", "icon", "shortcut", "apple-touch-icon", "mask-icon"}
SCRIPT_PLACEHOLDER = "SCRIPT_PLACEHOLDER"  # what rrweb's recorder puts in place of script text
# Bound once: a member looked up on its IntEnum class costs ~0.25 µs in CPython 3.11 (see facts.py).
FULL_SNAPSHOT, INCREMENTAL, MUTATION = EventType.FULL_SNAPSHOT, EventType.INCREMENTAL_SNAPSHOT, IncrementalSource.MUTATION
# Cheap byte-level test: an event without any of these cannot hold anything this module removes.
# (`\u` covers JSON escapes that would spell the same words in disguise.)
_MARKERS = (b"on", b"script", b"srcdoc", b"http-equiv", b"base", b"object", b"embed", b"applet", b"frame",
            b"portal", b"data:", b"action", b"rel", b"\\u")

_decoder = msgspec.json.Decoder()
_encoder = msgspec.json.Encoder()


def sanitize_event(raw: bytes, event: Event) -> bytes:
    """The event's JSON with anything active removed; `raw` itself when nothing was."""
    if not _may_carry_dom(event) or not _has_marker(raw):
        return raw
    tree = _decoder.decode(raw)
    data = tree.get("data") if isinstance(tree, dict) else None
    if not isinstance(data, dict):
        return raw
    changed = _defuse_node(data.get("node"), None) if event.type == FULL_SNAPSHOT else _defuse_mutation(data)
    return _encoder.encode(tree) if changed else raw


def _may_carry_dom(event: Event) -> bool:
    if event.type == FULL_SNAPSHOT:
        return True
    return event.type == INCREMENTAL and incremental_source(event.data) == MUTATION


def _has_marker(raw: bytes) -> bool:
    lowered = raw.lower()
    return any(marker in lowered for marker in _MARKERS)


def _defuse_mutation(data: dict[str, Any]) -> bool:
    changed = False
    for add in data.get("adds") or ():
        if isinstance(add, dict):
            changed |= _defuse_node(add.get("node"), None)
    for change in data.get("attributes") or ():
        if isinstance(change, dict) and isinstance(change.get("attributes"), dict):
            # The tag is not in the mutation; the rules that need it were applied when the node was added.
            changed |= _defuse_attributes(change["attributes"], "")
    return changed


def _defuse_node(node: Any, parent_tag: str | None) -> bool:
    changed = False
    for current, parent, tag in walk_nodes(node, parent_tag):
        if current.get("type") == TEXT_NODE and parent == "script":
            if current.get("textContent") not in ("", SCRIPT_PLACEHOLDER, None):
                current["textContent"] = SCRIPT_PLACEHOLDER
                changed = True
        if current.get("type") == ELEMENT_NODE and isinstance(current.get("attributes"), dict):
            changed |= _defuse_attributes(current["attributes"], tag)
    return changed


def _defuse_attributes(attributes: dict[str, Any], tag: str) -> bool:
    doomed = [name for name, value in attributes.items() if _is_active(str(name), value, tag)]
    for name in doomed:
        del attributes[name]
    return bool(doomed)


def _is_active(name: str, value: Any, tag: str) -> bool:
    lowered = name.strip().lower()
    if lowered.startswith("on") or lowered in _DROPPED_ATTRIBUTES or lowered in _DROPPED_BY_TAG.get(tag, ()):
        return True
    if not isinstance(value, str):
        return False  # a style object (CSS property changes) or null (a removal)
    if lowered == "rel" and tag in ("link", ""):  # "": a mutation, whose tag is unknown
        return not set(value.lower().split()) <= _LINK_RELATIONS
    return _IGNORED_IN_SCHEME.sub("", value).lower().startswith(_ACTIVE_SCHEMES)
