"""Per-project privacy: the settings, the detectors of personal data, and their enforcement at ingest.

The SDK applies a project's settings in the browser, so masked data never leaves it; ingest
applies the project's level again to every batch before it is stored (other clients can send
anything, and an old SDK or a failed config fetch must not store more than the level allows):

- `relaxed`: inputs only (every input value is masked whatever the level: `ingest.scrub_inputs`).
- `balanced` (the default): e-mail addresses, card numbers that pass Luhn and phone numbers
  are masked in text nodes, attribute values, Meta hrefs, and our own Custom events (page
  URLs and titles, clicks, console, network, errors) and plugin payloads.
- `strict`: all of `balanced`, every text node and text-like attribute masked, media sources
  (`img`, `video`, `audio`, `source`, `canvas` data, SVG `image`...) dropped.

Masking keeps a string's length: each non-space character of what is masked becomes `*`, as
rrweb masks text, so a replay keeps its layout. Pure functions over rrweb events, like
`sanitize.py`; an event that cannot hold anything to mask is stored byte for byte (a byte-level
test decides that without decoding it). `sdk_js/src/privacy.ts` holds the same patterns.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from typing import Any

import cssselect2  # type: ignore[import-untyped]  # it ships no type hints
import msgspec

from sessionstory.events import (
    COMMENT_NODE, ELEMENT_NODE, TEXT_NODE, Event, EventType, event_decoder, incremental_source, input_decoder,
    meta_decoder, walk_nodes,
)

LEVELS = ("strict", "balanced", "relaxed")
DEFAULT_LEVEL = "balanced"
MAX_SELECTORS = 50
MAX_SELECTOR_CHARS = 300
MAX_URL_RULES = 50
MAX_URL_RULE_CHARS = 500


class PrivacyError(ValueError):
    pass


class PrivacySettings(msgspec.Struct, frozen=True, kw_only=True):
    level: str = DEFAULT_LEVEL
    block_selectors: list[str] = []
    mask_selectors: list[str] = []
    ignore_selectors: list[str] = []
    url_rules: list[str] = []  # globs of pages where nothing is recorded: "/admin/*"
    honor_dnt: bool = True  # Do Not Track and Global Privacy Control
    sample_rate: float = 100.0  # % of sessions recorded, decided once per session by the SDK
    retention_days: int = 0  # sessions older than this are deleted (erasure.py); 0 keeps them
    truncated_ip: bool = False  # keep the visitor's IP truncated (context.truncated_ip); else the country only


DEFAULT = PrivacySettings()
MAX_RETENTION_DAYS = 3650


def make_settings(
    level: str = DEFAULT_LEVEL,
    block_selectors: str | Sequence[str] = (),
    mask_selectors: str | Sequence[str] = (),
    ignore_selectors: str | Sequence[str] = (),
    url_rules: str | Sequence[str] = (),
    honor_dnt: bool = True,
    sample_rate: float | str = 100.0,
    retention_days: int | str = 0,
    truncated_ip: bool = False,
) -> PrivacySettings:
    """Validated settings; lists may come as text, one item per line. PrivacyError says what is wrong."""
    if level not in LEVELS:
        raise PrivacyError(f"level must be one of {', '.join(LEVELS)}")
    try:
        rate = float(sample_rate)
    except (TypeError, ValueError):
        raise PrivacyError("the sampling rate is a number from 0 to 100") from None
    if not 0 <= rate <= 100:
        raise PrivacyError("the sampling rate is a number from 0 to 100")
    try:
        days = int(retention_days)
    except (TypeError, ValueError):
        raise PrivacyError("the retention is a whole number of days (0 keeps sessions)") from None
    if not 0 <= days <= MAX_RETENTION_DAYS:
        raise PrivacyError(f"the retention is 0 (keep) to {MAX_RETENTION_DAYS} days")
    return PrivacySettings(
        level=level,
        block_selectors=_selectors(block_selectors, "block"),
        mask_selectors=_selectors(mask_selectors, "mask"),
        ignore_selectors=_selectors(ignore_selectors, "ignore"),
        url_rules=_url_rules(url_rules),
        honor_dnt=bool(honor_dnt),
        sample_rate=round(rate, 2),
        retention_days=days,
        truncated_ip=bool(truncated_ip),
    )


def _items(value: str | Sequence[str], what: str, most: int, longest: int, forbidden: str) -> list[str]:
    """Non-empty lines (or list items), at most `most` of at most `longest` characters, none with a
    character of `forbidden` (a regex class)."""
    items = [s.strip() for s in (value.splitlines() if isinstance(value, str) else value) if isinstance(s, str)]
    items = [s for s in items if s]
    if len(items) > most:
        raise PrivacyError(f"at most {most} {what}s")
    for s in items:
        if len(s) > longest or re.search(forbidden, s):
            raise PrivacyError(f"not a {what}: {s[:80]!r}")
    return items


def _selectors(value: str | Sequence[str], what: str) -> list[str]:
    # A selector is handed to the browser's matches(); the SDK drops one the browser refuses.
    # Braces, "<", backslashes and control characters are never part of ours (">" is: the child combinator).
    return _items(value, f"{what} selector", MAX_SELECTORS, MAX_SELECTOR_CHARS, r"[{}<\x00-\x1f\\]")


def _url_rules(value: str | Sequence[str]) -> list[str]:
    items = _items(value, "URL rule", MAX_URL_RULES, MAX_URL_RULE_CHARS, r"[\s\x00-\x1f<>]")
    for rule in items:
        if not (rule.startswith(("/", "*")) or re.match(r"^https?://", rule)):
            raise PrivacyError(f"a URL rule is a path like /admin/* or a full URL like https://shop.example/admin/*: {rule[:80]!r}")
    return items


def public_config(settings: PrivacySettings) -> dict[str, Any]:
    """What the SDK fetches: the privacy settings, nothing else."""
    return {
        "level": settings.level,
        "block": settings.block_selectors,
        "mask": settings.mask_selectors,
        "ignore": settings.ignore_selectors,
        "urls": settings.url_rules,
        "dnt": settings.honor_dnt,
        "sample": settings.sample_rate,
    }


# -- URL rules ---------------------------------------------------------------------


def _glob(rule: str) -> re.Pattern[str]:
    body = ".*".join(re.escape(part) for part in rule.split("*"))
    if rule.endswith("/*"):  # "/admin/*" covers "/admin" itself too
        body = body[: -len(re.escape("/") + ".*")] + "(?:/.*)?"
    return re.compile(body + r"\Z", re.IGNORECASE | re.DOTALL)


def url_blocked(rules: list[str], url: str) -> bool:
    """True when a rule covers `url`: a rule starting with `/` or `*` matches the path, a full
    URL rule matches the URL without query and fragment; `*` matches anything, `/` included."""
    if not rules:
        return False
    bare = re.split(r"[?#]", url, maxsplit=1)[0]
    path = re.sub(r"^[a-z][a-z0-9+.-]*://[^/]*", "", bare, flags=re.IGNORECASE) or "/"
    return any(_glob(rule).match(bare if "://" in rule else path) for rule in rules)


# -- detectors ---------------------------------------------------------------------

EMAIL = re.compile(
    r"[A-Za-z0-9._%+-]{1,64}(?:@|%40)[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,24}", re.ASCII
)
# 13-19 digits as one run, 4-4-4-4(-1..3) or Amex's 4-6-5 (and 4-6-4, Diners), one separator kind.
CARD = re.compile(r"\b(?:\d{13,19}|\d{4}([ -])\d{4}\1\d{4}\1\d{4}(?:\1\d{1,3})?|\d{4}([ -])\d{6}\2\d{4,5})\b", re.ASCII)
PHONE = re.compile(
    r"\+\d{1,3}(?:[ .-]?\(\d{1,4}\))?(?:[ .-]?\d{1,5}){2,5}\b"  # international: +44 20 7946 0958
    r"|\(\d{2,5}\)[ .-]?\d{2,4}[ .-]?\d{3,4}\b"  # (555) 123-4567
    r"|\b\d{2,4}[ .-]\d{2,4}[ .-]\d{2,4}(?:[ .-]\d{2,4}){0,2}\b",  # 555-123-4567, 06 12 34 56 78
    re.ASCII,
)
_NON_DIGIT = re.compile(r"\D")
_GROUPS = re.compile(r"\d+")


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card_issuer_length(digits: str) -> bool:
    """A length some issuer uses for this prefix (so 13-digit millisecond timestamps, which
    start with 1, and most ids are not cards)."""
    n, p2, p4 = len(digits), int(digits[:2]), int(digits[:4])
    if digits[0] == "4":
        return n in (13, 16, 19)  # Visa
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:
        return n == 16  # Mastercard
    if p2 in (34, 37):
        return n == 15  # American Express
    if p2 in (36, 38, 39) or 300 <= int(digits[:3]) <= 305:
        return 14 <= n <= 19  # Diners Club
    if 3528 <= p4 <= 3589 or p4 == 6011 or p2 in (62, 65) or 644 <= int(digits[:3]) <= 649:
        return 16 <= n <= 19  # JCB, Discover, UnionPay
    if p2 in (50, 56, 57, 58, 67):
        return 16 <= n <= 19  # Maestro
    return False


def is_card(text: str) -> bool:
    digits = _NON_DIGIT.sub("", text)
    return 13 <= len(digits) <= 19 and _card_issuer_length(digits) and luhn_valid(digits)


def is_phone(text: str) -> bool:
    groups = _GROUPS.findall(text)
    n = sum(len(g) for g in groups)
    if text.startswith("+"):
        return 8 <= n <= 15
    if text.startswith("("):
        return 9 <= n <= 11
    if not 10 <= n <= 11:
        return False
    if len(groups[0]) == 4 and len(groups[1]) <= 2:
        return False  # a date: 2024-05-01 10
    if all(len(g) == 3 for g in groups[1:]):
        return False  # thousands: 12 345 678 901, 12.345.678.901
    if "." in text and all(len(g) <= 3 for g in groups):
        return False  # an address: 192.168.100.12
    return True


def _stars(text: str) -> str:
    return "".join(" " if ch.isspace() else "*" for ch in text)


def _mask_if(check: Callable[[str], bool]) -> Callable[[re.Match[str]], str]:
    return lambda m: _stars(m.group()) if check(m.group()) else m.group()


_mask_card, _mask_phone = _mask_if(is_card), _mask_if(is_phone)


def mask_pii(text: str) -> str:
    """`text` with e-mail addresses, Luhn-valid card numbers and phone numbers masked."""
    if "@" in text or "%40" in text:
        text = EMAIL.sub(lambda m: _stars(m.group()), text)
    if _DIGITS.search(text):
        text = CARD.sub(_mask_card, text)
        text = PHONE.sub(_mask_phone, text)
    return text


def find_pii(text: str) -> list[str]:
    """The kinds of personal data in `text` (for tests and reports): "email", "card", "phone"."""
    found = []
    if EMAIL.search(text):
        found.append("email")
    if any(is_card(m.group()) for m in CARD.finditer(text)):
        found.append("card")
    if any(is_phone(m.group()) for m in PHONE.finditer(CARD.sub(_mask_card, text))):
        found.append("phone")
    return found


# Eight digits with at most single separators between them: anything a card or phone can be.
_DIGITS = re.compile(r"\d(?:[ .()+-]{0,2}\d){7}")
_RAW_DIGITS = re.compile(rb"\d(?:[ .()+-]{0,2}\d){7}")


# -- enforcement over rrweb events -------------------------------------------------

MUTATION, INPUT, LOG = 0, 5, 11
# Bound once: a member looked up on its IntEnum class costs ~0.25 µs in CPython 3.11 (see facts.py).
FULL_SNAPSHOT, INCREMENTAL, META = EventType.FULL_SNAPSHOT, EventType.INCREMENTAL_SNAPSHOT, EventType.META
CUSTOM, PLUGIN = EventType.CUSTOM, EventType.PLUGIN
_TEXT_PARENTS_KEPT = {"style", "script"}  # CSS and (already defused) script text: not visible text
# Attribute values never scanned: inlined CSS, and data: URLs (base64 is all letters and digits).
_SKIPPED_ATTRIBUTES = {"_cssText", "style"}
STRICT_TEXT_ATTRIBUTES = {"alt", "title", "placeholder", "aria-label", "aria-description", "aria-valuetext", "label",
                          "value"}
MEDIA_TAGS = {"img", "picture", "video", "audio", "source", "track", "canvas", "image", "input"}
MEDIA_ATTRIBUTES = {"src", "srcset", "poster", "href", "xlink:href", "rr_dataURL"}
# Custom event payloads our SDK records, scanned; others (identify, track) are what the site
# chose to send and are stored as sent.
SCANNED_TAGS = {"page", "click", "input", "error", "console", "network"}
STRICT_TEXT_FIELDS = {"page": ("title",), "click": ("text",)}

_decoder = msgspec.json.Decoder()
_encoder = msgspec.json.Encoder()


def apply_level(raws: list[bytes], events: list[Event], level: str) -> tuple[list[bytes], list[Event]]:
    """The batch's events with the level applied; unchanged events keep their bytes and Event."""
    if level not in ("balanced", "strict"):
        return raws, events
    strict = level == "strict"
    out_raws, out_events = list(raws), list(events)
    for i, (raw, event) in enumerate(zip(raws, events)):
        fixed = apply_to_event(raw, event, strict)
        if fixed is not raw:
            out_raws[i] = fixed
            out_events[i] = event_decoder.decode(fixed)
    return out_raws, out_events


def apply_to_event(raw: bytes, event: Event, strict: bool) -> bytes:
    """The event's JSON with the level applied; `raw` itself when nothing changed."""
    kind = event.type
    if kind == INCREMENTAL:
        source = incremental_source(event.data)
        if source not in (MUTATION, LOG):
            return raw  # mouse, scroll, input (masked already), viewport...: no text
    elif kind not in (FULL_SNAPSHOT, META, CUSTOM, PLUGIN):
        return raw
    if not strict and not _may_hold_pii(bytes(event.data)):
        return raw
    tree = _decoder.decode(raw)
    data = tree.get("data") if isinstance(tree, dict) else None
    if not isinstance(data, dict):
        return raw
    if kind == FULL_SNAPSHOT:
        changed = _walk_node(data.get("node"), None, strict)
    elif kind == INCREMENTAL and source == MUTATION:
        changed = _walk_mutation(data, strict)
    elif kind == META:
        changed = _scan_key(data, "href")
    elif kind == CUSTOM:
        changed = _walk_custom(data, strict)
    else:  # plugin payloads and rrweb's old console log records
        changed = _scan_key(data, "payload")
    return _encoder.encode(tree) if changed else raw


def _may_hold_pii(data: bytes) -> bool:
    return b"@" in data or b"%40" in data or b"\\u" in data or _RAW_DIGITS.search(data) is not None


def _scan_key(container: dict[str, Any] | list[Any], key: Any) -> bool:
    """Masks PII in every string at container[key] (nested lists and dicts too)."""
    value = container[key] if isinstance(container, list) else container.get(key)
    if isinstance(value, str):
        masked = mask_pii(value)
        if masked != value:
            container[key] = masked
            return True
        return False
    changed = False
    if isinstance(value, dict):
        for k in list(value):
            changed |= _scan_key(value, k)
    elif isinstance(value, list):
        for k in range(len(value)):
            changed |= _scan_key(value, k)
    return changed


def _walk_custom(data: dict[str, Any], strict: bool) -> bool:
    tag = data.get("tag")
    payload = data.get("payload")
    if tag not in SCANNED_TAGS or not isinstance(payload, dict):
        return False
    changed = False
    if strict:
        for field in STRICT_TEXT_FIELDS.get(tag, ()):
            value = payload.get(field)
            if isinstance(value, str) and value.strip("* "):
                payload[field] = _stars(value)
                changed = True
    return _scan_key(data, "payload") | changed


def _walk_mutation(data: dict[str, Any], strict: bool) -> bool:
    changed = False
    for text in data.get("texts") or ():
        if isinstance(text, dict) and isinstance(text.get("value"), str):
            if strict and text["value"].strip("* "):
                text["value"] = _stars(text["value"])
                changed = True
            else:
                changed |= _scan_key(text, "value")
    for change in data.get("attributes") or ():
        if isinstance(change, dict) and isinstance(change.get("attributes"), dict):
            changed |= _walk_attributes(change["attributes"], "", strict)  # the tag is not in the mutation
    for add in data.get("adds") or ():
        if isinstance(add, dict):
            changed |= _walk_node(add.get("node"), None, strict)
    return changed


def _walk_node(node: Any, parent_tag: str | None, strict: bool) -> bool:
    changed = False
    for current, parent, tag in walk_nodes(node, parent_tag):
        kind = current.get("type")
        if kind == ELEMENT_NODE:
            attributes = current.get("attributes")
            if isinstance(attributes, dict):
                changed |= _walk_attributes(attributes, tag, strict)
        elif kind in (TEXT_NODE, COMMENT_NODE) and isinstance(current.get("textContent"), str):
            if current.get("isStyle") or parent in _TEXT_PARENTS_KEPT:
                pass
            elif strict and current["textContent"].strip("* \n\t\r"):
                current["textContent"] = _stars(current["textContent"])
                changed = True
            else:
                changed |= _scan_key(current, "textContent")
    return changed


def _walk_attributes(attributes: dict[str, Any], tag: str, strict: bool) -> bool:
    changed = False
    for name in list(attributes):
        value = attributes[name]
        if not isinstance(value, str) or name in _SKIPPED_ATTRIBUTES:
            continue
        if strict:
            if name in MEDIA_ATTRIBUTES and (tag in MEDIA_TAGS or tag == ""):
                # A mutation's tag is unknown: a changed source is dropped whatever it belongs to.
                if name != "href" or tag == "image":
                    del attributes[name]
                    changed = True
                    continue
            if name in STRICT_TEXT_ATTRIBUTES and value.strip("* "):
                attributes[name] = _stars(value)
                changed = True
                continue
        if value.startswith("data:"):
            continue
        changed |= _scan_key(attributes, name)
    return changed


# -- the project's URL rules and selectors, enforced at ingest ----------------------
#
# The SDK applies them in the browser; ingest applies them again to each batch, so an old SDK,
# one whose config fetch failed, or another client stores no more than the project allows.
# A batch is judged on what it shows itself: its Meta and page events for the URL, and for the
# selectors a mirror of the page built from its full snapshot and its mutations' added nodes
# (a selector about ancestors an earlier batch serialized cannot match a later mutation).

# The page's own markers (CONTRACT.md), enforced whatever the project sets.
DEFAULT_BLOCK = (".ss-block", "[data-ss-block]")
DEFAULT_MASK = (".ss-mask", "[data-ss-mask]")
_MARKERS = (b"ss-block", b"ss-mask")
# What rrweb keeps of a blocked element: its class, and its size when the client measured it.
_PLACEHOLDER_ATTRIBUTES = ("class", "rr_width", "rr_height")
_TAG_JUNK = re.compile(r"[^a-z0-9-]")


class _PagePayload(msgspec.Struct):
    url: str = ""


class _Custom(msgspec.Struct):
    tag: str = ""
    payload: msgspec.Raw = msgspec.Raw(b"null")


_custom_decoder = msgspec.json.Decoder(_Custom)
_page_decoder = msgspec.json.Decoder(_PagePayload)


def enforce(raws: list[bytes], events: list[Event], settings: PrivacySettings,
            url: str = "") -> tuple[list[bytes], list[Event]]:
    """The batch as the project's settings allow it to be stored: events on a page a URL rule
    covers dropped, block / mask / ignore selectors (and the page's own markers) applied as
    rrweb applies them, then the level. `url`: the page the session was on before this batch,
    when the caller knows it. The result may be empty: nothing of the batch is to be stored."""
    raws, events = drop_covered_pages(raws, events, settings.url_rules, url)
    raws, events = apply_selectors(raws, events, settings)
    return apply_level(raws, events, settings.level)


def page_url(event: Event) -> str | None:
    """The page an event says the session is on from now (a Meta href or our page event's URL)."""
    try:
        if event.type == META:
            return meta_decoder.decode(event.data).href
        if event.type == CUSTOM:
            custom = _custom_decoder.decode(event.data)
            if custom.tag == "page":
                return _page_decoder.decode(custom.payload).url
    except msgspec.DecodeError:
        pass
    return None


def drop_covered_pages(raws: list[bytes], events: list[Event], rules: list[str],
                       url: str = "") -> tuple[list[bytes], list[Event]]:
    """The events not recorded on a page a rule covers, counting from each event that names a page."""
    if not rules:
        return raws, events
    covered = bool(url) and url_blocked(rules, url)
    kept: list[int] = []
    for i, event in enumerate(events):
        href = page_url(event)
        if href is not None:
            covered = url_blocked(rules, href)
        if not covered:
            kept.append(i)
    if len(kept) == len(events):
        return raws, events
    return [raws[i] for i in kept], [events[i] for i in kept]


class _Rules(msgspec.Struct, frozen=True):
    block: tuple[Any, ...]
    mask: tuple[Any, ...]
    ignore: tuple[Any, ...]
    custom: bool  # the project set selectors of its own (else only the markers matter)


def _compile(selectors: tuple[str, ...]) -> tuple[Any, ...]:
    compiled: list[Any] = []
    for selector in selectors:
        try:
            compiled += cssselect2.compile_selector_list(selector)
        except Exception:  # noqa: BLE001 - a selector cssselect2 cannot read (:has(), a typo) is skipped, as the SDK skips one its browser refuses
            continue
    return tuple(compiled)


@lru_cache(maxsize=256)
def _rules(block: tuple[str, ...], mask: tuple[str, ...], ignore: tuple[str, ...]) -> _Rules:
    return _Rules(_compile(DEFAULT_BLOCK + block), _compile(DEFAULT_MASK + mask), _compile(ignore),
                  custom=bool(block or mask or ignore))


def apply_selectors(raws: list[bytes], events: list[Event],
                    settings: PrivacySettings) -> tuple[list[bytes], list[Event]]:
    """The batch with blocked subtrees replaced by placeholders, masked text starred and input
    on ignored elements dropped; unchanged events keep their bytes and Event."""
    rules = _rules(tuple(settings.block_selectors), tuple(settings.mask_selectors), tuple(settings.ignore_selectors))
    if not rules.custom and not _has_marker(raws):
        return raws, events  # the common case: no selectors and no marker in the batch
    page = _PageMirror(rules)
    out_raws: list[bytes] = []
    out_events: list[Event] = []
    for raw, event in zip(raws, events):
        fixed = page.apply(raw, event)
        if fixed is None:
            continue
        out_raws.append(fixed)
        out_events.append(event if fixed is raw else event_decoder.decode(fixed))
    return out_raws, out_events


def _has_marker(raws: list[bytes]) -> bool:
    # One search per marker over the batch joined (no marker holds a newline), not one per event.
    joined = b"\n".join(raws)
    return any(marker in joined for marker in _MARKERS)


class _PageMirror:
    """The page as far as one batch shows it: its elements as an ElementTree for cssselect2, and
    which node ids are blocked, masked (any node under a masked element) or ignored."""

    def __init__(self, rules: _Rules) -> None:
        self._rules = rules
        self._reset()

    def _reset(self) -> None:
        self._elements: dict[Any, ET.Element] = {}
        self._ids: dict[ET.Element, Any] = {}
        self._parents: dict[ET.Element, ET.Element] = {}
        self.blocked: set[Any] = set()
        self.masked: set[Any] = set()
        self.ignored: set[Any] = set()

    def apply(self, raw: bytes, event: Event) -> bytes | None:
        """The event's JSON with the rules applied; `raw` itself when unchanged; None: dropped."""
        if event.type == FULL_SNAPSHOT:
            return self._snapshot(raw)
        if event.type != INCREMENTAL:
            return raw
        source = incremental_source(event.data)
        if source == MUTATION:
            return self._mutation(raw)
        if source == INPUT:  # rrweb records no input of an ignored or blocked element
            target = input_decoder.decode(event.data).id
            return None if target in self.ignored or target in self.blocked else raw
        return raw

    def _snapshot(self, raw: bytes) -> bytes:
        self._reset()
        tree = _decoder.decode(raw)
        data = tree.get("data") if isinstance(tree, dict) else None
        node = data.get("node") if isinstance(data, dict) else None
        if not isinstance(node, dict):
            return raw
        roots = self._mirror(node)
        block, mask = self._hits(roots)
        return _encoder.encode(tree) if self._apply_tree(node, False, block, mask) else raw

    def _mutation(self, raw: bytes) -> bytes:
        tree = _decoder.decode(raw)
        data = tree.get("data") if isinstance(tree, dict) else None
        if not isinstance(data, dict):
            return raw
        adds = [a for a in data.get("adds") or () if isinstance(a, dict) and isinstance(a.get("node"), dict)]
        # Every added node mirrored first, then linked: an add may be listed before its parent's.
        roots = [root for add in adds for root in self._mirror(add["node"])]
        fresh = set(roots)
        for add in adds:
            self._link(_id(add["node"].get("id")), _id(add.get("parentId")))
        block, mask = self._hits([r for r in roots if self._parents.get(r) not in fresh])
        changed = False
        kept_adds = []
        for add in data.get("adds") or ():
            if isinstance(add, dict) and isinstance(add.get("node"), dict):
                parent = _id(add.get("parentId"))
                if self._under(parent, block, self.blocked):
                    self._drop_subtree(add["node"])
                    changed = True
                    continue
                changed |= self._apply_tree(add["node"], self._under(parent, mask, self.masked), block, mask)
            kept_adds.append(add)
        data["adds"] = kept_adds
        changed |= self._fix_texts(data) | self._fix_attributes(data)
        return _encoder.encode(tree) if changed else raw

    def _fix_texts(self, data: dict[str, Any]) -> bool:
        changed = False
        kept = []
        for text in data.get("texts") or ():
            if isinstance(text, dict) and _id(text.get("id")) in self.blocked:
                changed = True
                continue
            if isinstance(text, dict) and _id(text.get("id")) in self.masked and isinstance(text.get("value"), str):
                changed |= _star_key(text, "value")
            kept.append(text)
        if changed:
            data["texts"] = kept
        return changed

    def _fix_attributes(self, data: dict[str, Any]) -> bool:
        kept = []
        for change in data.get("attributes") or ():
            if not isinstance(change, dict):
                kept.append(change)
                continue
            if _id(change.get("id")) in self.blocked:
                continue
            element = self._elements.get(_id(change.get("id")))
            if element is not None and isinstance(change.get("attributes"), dict):
                for name, value in change["attributes"].items():  # later matches in this batch see it
                    if isinstance(value, (str, int, float)):
                        element.set(str(name), str(value))
                    else:
                        element.attrib.pop(str(name), None)
            kept.append(change)
        if len(kept) == len(data.get("attributes") or ()):
            return False
        data["attributes"] = kept
        return True

    # -- the mirror

    def _mirror(self, node: dict[str, Any]) -> list[ET.Element]:
        """Mirrors the elements of a serialized subtree; returns the new elements with no parent."""
        roots: list[ET.Element] = []
        stack: list[tuple[Any, ET.Element | None]] = [(node, None)]
        while stack:
            current, parent = stack.pop()
            if not isinstance(current, dict):
                continue
            here = parent
            if current.get("type") == ELEMENT_NODE and isinstance(current.get("id"), int):
                here = self._element(current, parent)
                if parent is None:
                    roots.append(here)
            children = current.get("childNodes")
            if isinstance(children, list):
                stack.extend((child, here) for child in reversed(children))
        return roots

    def _element(self, node: dict[str, Any], parent: ET.Element | None) -> ET.Element:
        tag = _TAG_JUNK.sub("", str(node.get("tagName", "")).lower()) or "x"
        attributes = node.get("attributes")
        attrib = {str(k): str(v) for k, v in attributes.items()
                  if isinstance(v, (str, int, float)) and not str(k).startswith(("rr_", "_"))
                  } if isinstance(attributes, dict) else {}
        element = ET.Element(tag, attrib)
        if parent is not None:
            parent.append(element)
            self._parents[element] = parent
        self._elements[node["id"]] = element
        self._ids[element] = node["id"]
        return element

    def _link(self, child_id: Any, parent_id: Any) -> None:
        """Puts a mirrored element under its mirrored parent, unless that would make a cycle."""
        child, parent = self._elements.get(child_id), self._elements.get(parent_id)
        if child is None or parent is None or child in self._parents:
            return
        above: ET.Element | None = parent
        while above is not None:
            if above is child:
                return  # a crafted batch adding a node under its own descendant
            above = self._parents.get(above)
        parent.append(child)
        self._parents[child] = parent

    def _wrapper(self, element: ET.Element) -> Any:
        """cssselect2's view of `element`, with its ancestors and earlier siblings as far as mirrored."""
        chain = [element]
        while (parent := self._parents.get(chain[-1])) is not None:
            chain.append(parent)
        wrapper = cssselect2.ElementWrapper.from_html_root(chain.pop())
        while chain:
            child = chain.pop()
            wrapper = next(w for w in wrapper.iter_children() if w.etree_element is child)
            _ = wrapper.ancestors  # cached top down: cssselect2 finds them recursively from the bottom
        return wrapper

    def _hits(self, roots: list[ET.Element]) -> tuple[set[Any], set[Any]]:
        """The ids of the elements under `roots` that a block or a mask selector matches (the
        ones an ignore selector matches are noted in `ignored`)."""
        block: set[Any] = set()
        mask: set[Any] = set()
        rules = self._rules
        for root in roots:
            for wrapper in self._wrapper(root).iter_subtree():
                _ = wrapper.ancestors  # in document order, so each finds its parent's cached
                node_id = self._ids[wrapper.etree_element]
                if any(s.test(wrapper) for s in rules.block):
                    block.add(node_id)
                if any(s.test(wrapper) for s in rules.mask):
                    mask.add(node_id)
                if rules.ignore and any(s.test(wrapper) for s in rules.ignore):
                    self.ignored.add(node_id)
        return block, mask

    def _under(self, node_id: Any, hits: set[Any], known: set[Any]) -> bool:
        """Whether the node or a mirrored ancestor is among `hits` or `known`."""
        if node_id in hits or node_id in known:
            return True
        element = self._elements.get(node_id)
        while element is not None:
            if self._ids[element] in hits or self._ids[element] in known:
                return True
            element = self._parents.get(element)
        return False

    # -- the serialized tree

    def _apply_tree(self, node: dict[str, Any], masked: bool, block: set[Any], mask: set[Any]) -> bool:
        """Blocked elements made placeholders and text under masked ones starred, in place;
        True when something changed."""
        changed = False
        stack: list[tuple[Any, bool, str | None]] = [(node, masked, None)]
        while stack:
            current, under_mask, parent_tag = stack.pop()
            if not isinstance(current, dict):
                continue
            node_id = _id(current.get("id"))
            kind = current.get("type")
            if node_id in block:
                self._drop_subtree(current)  # its children's ids first: later changes to them are dropped
                changed |= _to_placeholder(current)
            under_mask = under_mask or node_id in mask
            if under_mask:
                self.masked.add(node_id)
                if kind in (TEXT_NODE, COMMENT_NODE) and parent_tag not in _TEXT_PARENTS_KEPT:
                    changed |= _star_key(current, "textContent")
            tag = str(current.get("tagName", "")).lower() if kind == ELEMENT_NODE else ""
            children = current.get("childNodes")
            if isinstance(children, list):
                stack.extend((child, under_mask, tag or parent_tag) for child in reversed(children))
        return changed

    def _drop_subtree(self, node: dict[str, Any]) -> None:
        """Notes every id of a subtree as blocked (later changes to them are dropped)."""
        for current, _, _ in walk_nodes(node):
            self.blocked.add(_id(current.get("id")))


def _id(value: Any) -> int | None:
    """A node id as rrweb writes it (an int); anything else a crafted batch sends is no node."""
    return value if type(value) is int else None


def _to_placeholder(node: dict[str, Any]) -> bool:
    """What rrweb records of a blocked element: the element with its class and size, no children."""
    found = node.get("attributes")
    attributes: dict[str, Any] = found if isinstance(found, dict) else {}
    kept = {name: attributes[name] for name in _PLACEHOLDER_ATTRIBUTES if name in attributes}
    changed = kept != attributes or bool(node.get("childNodes"))
    node["attributes"], node["childNodes"] = kept, []
    return changed


def _star_key(container: dict[str, Any], key: str) -> bool:
    value = container.get(key)
    if not isinstance(value, str) or not value.strip("* \n\t\r"):
        return False
    container[key] = _stars(value)
    return True


def privacy_summary(settings: PrivacySettings) -> str:
    """One line for the audit log: every setting, so an entry says exactly what was set."""
    return (
        f"level {settings.level} · block {settings.block_selectors or '-'} · mask {settings.mask_selectors or '-'}"
        f" · ignore {settings.ignore_selectors or '-'} · urls {settings.url_rules or '-'}"
        f" · dnt/gpc {'on' if settings.honor_dnt else 'off'} · sample {settings.sample_rate:g} %"
        f" · retention {f'{settings.retention_days} days' if settings.retention_days else 'forever'}"
        f" · ip {'truncated' if settings.truncated_ip else 'country only'}"
    )
