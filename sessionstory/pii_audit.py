"""The privacy audit: where stored events hold personal data, found without showing it.

`Detector` finds e-mail addresses, Luhn-valid card numbers and phone numbers (the detectors of
`privacy.py`), secrets (bearer tokens, long high-entropy values after `token=`, `api_key:` and
the like, JWTs, well-known key prefixes) and an admin's own regular expressions, and masks what
it finds (`mask`, used by retroactive redaction in `redaction.py`).

`strings(event)` walks one decoded rrweb event (full snapshots, mutations, inputs, Meta and
our own Custom events, plugins) and names the field each string is in; `scan` reads every
record of the log (batches and compacted sessions alike, through `store.batches`), one record
at a time, and gathers a `Report`: counts by project, page and field, with a few masked
examples; never a whole value. Memory stays bounded: a record at a time, at most MAX_PAGES
pages per project and EXAMPLES examples per line of the report.
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import msgspec

from sessionstory.events import COMMENT_NODE, ELEMENT_NODE, TEXT_NODE, walk_nodes
from sessionstory.privacy import CARD, EMAIL, PHONE, is_card, is_phone
from sessionstory.store import BatchMeta, CompactedMeta, SegmentLog, batches

KINDS = ("email", "card", "phone", "token", "custom")
MAX_PATTERNS = 20
MAX_PATTERN_CHARS = 300
MAX_PAGES = 200  # per project; the rest are counted under OTHER_PAGES
EXAMPLES = 3  # masked examples per (project, page, field, kind)
MAX_SESSIONS_KEPT = 100_000  # session ids remembered to count sessions per project
PAGES_REMEMBERED = 10_000  # sessions whose current page is remembered across records
OTHER_PAGES = "(other pages)"
UNKNOWN_PAGE = "(page unknown)"

# Secrets: a group 1 is what gets masked (the value, not the `token=` before it).
_BEARER = re.compile(r"\bBearer\s+([A-Za-z0-9._~+/-]{16,}=*)", re.IGNORECASE)
_KEYED = re.compile(
    r"\b(?:access[_-]?token|refresh[_-]?token|id[_-]?token|auth[_-]?token|token|api[_-]?key|apikey|access[_-]?key"
    r"|private[_-]?key|client[_-]?secret|secret|passw(?:or)?d|pwd)[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9._~+/%-]{4,}=*)",
    re.IGNORECASE,
)
_JWT = re.compile(r"\b(eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})")
_PREFIXED = re.compile(
    r"\b((?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{16,}|gh[pousr]_[A-Za-z0-9]{30,}|AKIA[0-9A-Z]{16}"
    r"|xox[abprs]-[A-Za-z0-9-]{10,}|sst_[A-Za-z0-9_-]{20,})"
)
_PASSWORD_KEY = re.compile(r"passw(?:or)?d|pwd", re.IGNORECASE)
# Bytes that any of the built-in detectors needs; a string without them is not decoded further.
_MAY_HOLD = re.compile(
    rb"@|%40|\\u|\d(?:[ .()+-]{0,2}\d){7}|eyJ|bearer|token|key|secret|passw|pwd|sk_|pk_|rk_|gh[pousr]_|AKIA|xox",
    re.IGNORECASE,
)


class AuditError(ValueError):
    """A custom pattern that is not a usable regular expression."""


def entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    counts = Counter(text)
    return -sum(c / len(text) * math.log2(c / len(text)) for c in counts.values()) if text else 0.0


def _secret_value(value: str, key_match: str) -> bool:
    if _PASSWORD_KEY.search(key_match):
        return value.strip("*") != ""
    return len(value) >= 16 and entropy(value) >= 3.0


def compile_patterns(patterns: Sequence[str]) -> list[re.Pattern[str]]:
    items = [p for p in (p.strip() for p in patterns) if p]
    if len(items) > MAX_PATTERNS:
        raise AuditError(f"at most {MAX_PATTERNS} custom patterns")
    out = []
    for p in items:
        if len(p) > MAX_PATTERN_CHARS:
            raise AuditError(f"a pattern is at most {MAX_PATTERN_CHARS} characters")
        try:
            compiled = re.compile(p)
        except re.error as exc:
            raise AuditError(f"not a regular expression: {p[:80]!r} ({exc})") from None
        if compiled.search(""):
            raise AuditError(f"the pattern {p[:80]!r} matches empty text")
        out.append(compiled)
    return out


Span = tuple[int, int, str]  # start, end, kind


class Detector:
    """The built-in detectors and an admin's own patterns (validated by `compile_patterns`)."""

    def __init__(self, patterns: Sequence[str] = ()) -> None:
        self.patterns = compile_patterns(patterns)

    def may_hold(self, data: bytes) -> bool:
        """Could these bytes (an event's JSON) hold anything this detector finds?"""
        return bool(self.patterns) or _MAY_HOLD.search(data) is not None

    def find(self, text: str) -> list[Span]:
        """Non-overlapping findings in `text`, in order."""
        spans: list[Span] = []
        if "@" in text or "%40" in text:
            spans += [(m.start(), m.end(), "email") for m in EMAIL.finditer(text)]
        if any(ch.isdigit() for ch in text):
            cards = [(m.start(), m.end(), "card") for m in CARD.finditer(text) if is_card(m.group())]
            spans += cards
            spans += [(m.start(), m.end(), "phone") for m in PHONE.finditer(text) if is_phone(m.group())]
        for regex in (_BEARER, _JWT, _PREFIXED):
            spans += [(m.start(1), m.end(1), "token") for m in regex.finditer(text)]
        spans += [(m.start(1), m.end(1), "token") for m in _KEYED.finditer(text) if _secret_value(m.group(1), m.group())]
        for regex in self.patterns:
            spans += [(m.start(), m.end(), "custom") for m in regex.finditer(text) if m.end() > m.start()]
        if len(spans) < 2:
            return spans
        spans.sort(key=lambda s: (s[0], s[0] - s[1]))
        kept: list[Span] = []
        for span in spans:
            if not kept or span[0] >= kept[-1][1]:
                kept.append(span)
        return kept

    def mask(self, text: str) -> str:
        """`text` with every finding masked, keeping its length (spaces stay, like `privacy.py`)."""
        spans = self.find(text)
        if not spans:
            return text
        out, at = [], 0
        for start, end, _ in spans:
            out.append(text[at:start])
            out.append("".join(" " if ch.isspace() else "*" for ch in text[start:end]))
            at = end
        out.append(text[at:])
        return "".join(out)


def masked_example(kind: str, value: str) -> str:
    """Enough of a found value to recognise it by, never all of it: `j***@e***.com`,
    `**** **** **** 4242`, `***-***-**67`, `eyJh*** (143 chars)`."""
    if kind == "email":
        local, _, domain = value.replace("%40", "@").partition("@")
        host, _, tld = domain.rpartition(".")
        return f"{local[:1]}***@{host[:1]}***.{tld}"
    if kind == "card":
        digits = re.sub(r"\D", "", value)
        return "**** **** **** " + digits[-4:]
    if kind == "phone":
        total = sum(ch.isdigit() for ch in value)
        seen, out = 0, []
        for ch in value:
            if ch.isdigit():
                seen += 1
                out.append(ch if seen > total - 2 else "*")
            else:
                out.append(ch)
        return "".join(out)
    keep = 4 if kind == "token" and len(value) >= 16 else 1 if len(value) >= 6 else 0
    return f"{value[:keep]}*** ({len(value)} chars)"


# -- walking rrweb events -----------------------------------------------------------

MUTATION, INPUT, LOG = 0, 5, 11
_CSS_PARENTS = {"style", "script"}
_SKIPPED_ATTRIBUTES = {"_cssText", "style", "rr_dataURL"}
# Fields of our SDK's Custom events; any other tag (identify, track, a site's own) is a custom event.
_CUSTOM_FIELDS: dict[str, dict[str, str]] = {
    "page": {"url": "URL", "referrer": "URL", "title": "page title"},
    "click": {"text": "click text", "selector": "click text"},
    "network": {"url": "network URL"},
    "error": {"message": "error message", "stack": "error message", "source": "error message"},
    "input": {},
    "console": {},
}
_CUSTOM_DEFAULT = {"page": "URL", "click": "click text", "network": "network URL", "error": "error message",
                   "input": "input value", "console": "console"}

# A string's place: its field name, the container holding it and the key, so redaction can replace it.
Place = tuple[str, Any, Any]


def strings(event: Any) -> Iterator[Place]:
    """Every string of a decoded rrweb event that a visitor or the page could have filled,
    with its field: text node, attribute NAME, input value, URL, page title, click text,
    console, network URL, error message, custom event prop, plugin."""
    if not isinstance(event, dict) or not isinstance(event.get("data"), dict):
        return
    kind, data = event.get("type"), event["data"]
    if kind == 4:
        if isinstance(data.get("href"), str):
            yield "URL", data, "href"
    elif kind == 2:
        yield from _nodes(data.get("node"), None)
    elif kind == 3:
        source = data.get("source")
        if source == MUTATION:
            yield from _mutation(data)
        elif source == INPUT and isinstance(data.get("text"), str):
            yield "input value", data, "text"
        elif source == LOG:
            yield from _nested("console", data, "payload")
    elif kind == 5:
        tag = data.get("tag")
        if tag in _CUSTOM_FIELDS and isinstance(data.get("payload"), dict):
            payload = data["payload"]
            fields = _CUSTOM_FIELDS[tag]
            for key in list(payload):
                yield from _nested(fields.get(key, _CUSTOM_DEFAULT[tag]), payload, key)
        else:
            yield from _nested("custom event prop", data, "payload")
    elif kind == 6:
        plugin = str(data.get("plugin", ""))
        yield from _nested("console" if "console" in plugin else "plugin", data, "payload")


def _nested(field: str, container: Any, key: Any) -> Iterator[Place]:
    stack = [(container, key)]
    while stack:
        holder, k = stack.pop()
        value = holder[k]
        if isinstance(value, str):
            yield field, holder, k
        elif isinstance(value, dict):
            stack.extend((value, child) for child in value)
        elif isinstance(value, list):
            stack.extend((value, i) for i in range(len(value)))


def _mutation(data: dict[str, Any]) -> Iterator[Place]:
    for text in data.get("texts") or ():
        if isinstance(text, dict) and isinstance(text.get("value"), str):
            yield "text node", text, "value"
    for change in data.get("attributes") or ():
        if isinstance(change, dict) and isinstance(change.get("attributes"), dict):
            yield from _attributes(change["attributes"])
    for add in data.get("adds") or ():
        if isinstance(add, dict):
            yield from _nodes(add.get("node"), None)


def _nodes(node: Any, parent: str | None) -> Iterator[Place]:
    for current, parent_tag, _ in walk_nodes(node, parent):
        if current.get("type") == ELEMENT_NODE:
            if isinstance(current.get("attributes"), dict):
                yield from _attributes(current["attributes"])
        elif current.get("type") in (TEXT_NODE, COMMENT_NODE) and isinstance(current.get("textContent"), str):
            if not current.get("isStyle") and parent_tag not in _CSS_PARENTS:
                yield "text node", current, "textContent"


def _attributes(attributes: dict[str, Any]) -> Iterator[Place]:
    for name, value in attributes.items():
        if isinstance(value, str) and name not in _SKIPPED_ATTRIBUTES and not value.startswith("data:"):
            yield f"attribute {name}", attributes, name


def page_of(event: Any) -> str | None:
    """The page an event says the visitor is on from now (Meta, or our page event)."""
    if not isinstance(event, dict) or not isinstance(event.get("data"), dict):
        return None
    data = event["data"]
    href = data.get("href")
    if event.get("type") == 4 and isinstance(href, str):
        return href
    if event.get("type") == 5 and data.get("tag") == "page" and isinstance(data.get("payload"), dict):
        url = data["payload"].get("url")
        return url if isinstance(url, str) else None
    return None


# -- the report ---------------------------------------------------------------------


class Example(msgspec.Struct):
    value: str  # masked
    session_id: str


class Line(msgspec.Struct):
    field: str
    kind: str
    count: int = 0
    examples: list[Example] = []


class PageReport(msgspec.Struct):
    url: str  # without query and fragment, itself masked
    count: int = 0
    fields: list[Line] = []


class ProjectReport(msgspec.Struct):
    id: str
    name: str
    sessions: int = 0  # sessions with at least one finding
    count: int = 0
    kinds: dict[str, int] = {}
    pages: list[PageReport] = []


class Report(msgspec.Struct):
    projects: list[ProjectReport]
    records: int  # records read
    batches: int
    bytes: int  # of the log read
    patterns: int  # custom patterns used
    unreadable: int = 0  # records that could not be read (a missing dictionary)
    complete: bool = True  # False when stopped before the end

    @property
    def count(self) -> int:
        return sum(p.count for p in self.projects)

    def text(self) -> str:
        head = (f"privacy audit: {self.count} occurrences of personal data in {sum(p.sessions for p in self.projects)} sessions"
                f" ({self.records} records, {self.batches} batches, {self.bytes:,} bytes read"
                f"{f', {self.patterns} custom patterns' if self.patterns else ''}"
                f"{f', {self.unreadable} unreadable records' if self.unreadable else ''}"
                f"{'' if self.complete else ', stopped before the end'})")
        lines = [head]
        for project in self.projects:
            kinds = ", ".join(f"{k} {n}" for k, n in project.kinds.items())
            lines.append(f"\nproject {project.name} ({project.id}): {project.count} in {project.sessions} sessions ({kinds})")
            for page in project.pages:
                lines.append(f"  {page.url}: {page.count}")
                for line in page.fields:
                    examples = ", ".join(f"{e.value} (session {e.session_id})" for e in line.examples)
                    lines.append(f"    {line.field} · {line.kind}: {line.count}  e.g. {examples}")
        return "\n".join(lines)


def _page_key(url: str | None, detector: Detector) -> str:
    if not url:
        return UNKNOWN_PAGE
    return detector.mask(re.split(r"[?#]", url, maxsplit=1)[0]) or UNKNOWN_PAGE


class Collector:
    """Counts findings, keeping a bounded amount of everything."""

    def __init__(self, detector: Detector) -> None:
        self.detector = detector
        self.lines: dict[str, dict[str, dict[tuple[str, str], Line]]] = {}  # project -> page -> (field, kind)
        self.sessions: dict[str, set[str]] = {}
        self.session_counts: Counter[str] = Counter()
        self.pages: OrderedDict[str, str | None] = OrderedDict()  # session -> current page
        self.found = 0

    def batch(self, project_id: str, session_id: str, events: bytes) -> None:
        page = self.pages.pop(session_id, None)
        found_any = False
        for raw in msgspec.json.decode(events, type=list[msgspec.Raw]):
            data = bytes(raw)
            if not self.detector.may_hold(data):
                continue
            event = msgspec.json.decode(data)
            page = page_of(event) or page
            for field, holder, key in strings(event):
                value = holder[key]
                for start, end, kind in self.detector.find(value):
                    self._add(project_id, session_id, page, field, kind, value[start:end])
                    found_any = True
        if page is not None:
            self.pages[session_id] = page
            while len(self.pages) > PAGES_REMEMBERED:
                self.pages.popitem(last=False)
        if found_any:
            seen = self.sessions.setdefault(project_id, set())
            if session_id not in seen and len(seen) < MAX_SESSIONS_KEPT:
                seen.add(session_id)
                self.session_counts[project_id] += 1

    def _add(self, project_id: str, session_id: str, page: str | None, field: str, kind: str, value: str) -> None:
        pages = self.lines.setdefault(project_id, {})
        key = _page_key(page, self.detector)
        if key not in pages and len(pages) >= MAX_PAGES:
            key = OTHER_PAGES
        lines = pages.setdefault(key, {})
        line = lines.get((field, kind))
        if line is None:
            line = lines[(field, kind)] = Line(field, kind, 0, [])
        line.count += 1
        self.found += 1
        if len(line.examples) < EXAMPLES:
            example = Example(masked_example(kind, value), session_id)
            if example not in line.examples:
                line.examples.append(example)

    def report(self, names: dict[str, str], records: int, batches_: int, bytes_: int, unreadable: int,
               complete: bool) -> Report:
        projects = []
        for project_id, pages in self.lines.items():
            page_reports = []
            kinds: Counter[str] = Counter()
            for url, lines in pages.items():
                fields = sorted(lines.values(), key=lambda ln: (-ln.count, ln.field, ln.kind))
                for ln in fields:
                    kinds[ln.kind] += ln.count
                page_reports.append(PageReport(url, sum(ln.count for ln in fields), fields))
            page_reports.sort(key=lambda p: (-p.count, p.url))
            projects.append(ProjectReport(project_id, names.get(project_id, project_id), self.session_counts[project_id],
                                          sum(kinds.values()), {k: kinds[k] for k in KINDS if kinds[k]}, page_reports))
        projects.sort(key=lambda p: (-p.count, p.name))
        return Report(projects, records, batches_, bytes_, len(self.detector.patterns), unreadable, complete)


class Progress(msgspec.Struct):
    bytes_done: int = 0
    bytes_total: int = 0
    records: int = 0
    found: int = 0

    @property
    def percent(self) -> int:
        return int(100 * self.bytes_done / self.bytes_total) if self.bytes_total else 100


def scan(log: SegmentLog, names: dict[str, str], project_id: str | None = None, patterns: Sequence[str] = (),
         progress: Callable[[Progress], None] | None = None, stop: threading.Event | None = None) -> Report:
    """Read every record of the log (of one project when given) and report the personal data
    in its events. Blocking: run it in a thread. AuditError for a bad pattern."""
    detector = Detector(patterns)
    collector = Collector(detector)
    sizes = {}
    for segment in log.segments():
        try:
            sizes[segment] = log.path(segment).stat().st_size
        except FileNotFoundError:
            continue
    state = Progress(bytes_total=sum(sizes.values()))
    before = {s: sum(n for t, n in sizes.items() if t < s) for s in sizes}
    records = batch_count = unreadable = 0
    complete = True
    for location, record in log.scan():
        if stop is not None and stop.is_set():
            complete = False
            break
        meta = record.meta
        if not isinstance(meta, (BatchMeta, CompactedMeta)) or (project_id and meta.project_id != project_id):
            continue
        records += 1
        try:
            held = batches(record, log.dictionaries)
        except Exception:  # a missing dictionary, a damaged body: counted, the scan goes on
            unreadable += 1
            continue
        for b in held:
            batch_count += 1
            collector.batch(b.meta.project_id, b.meta.session_id, b.events)
        if progress is not None:
            state.bytes_done = before.get(location.segment, 0) + location.end
            state.records = records
            state.found = collector.found
            progress(state)
    state.bytes_done = state.bytes_total
    if progress is not None:
        progress(state)
    return collector.report(names, records, batch_count, state.bytes_total, unreadable, complete)
