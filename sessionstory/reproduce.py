"""Steps to reproduce: a session read as numbered human steps, and those steps as a Playwright test.

Pure functions: rrweb events in, steps out; steps in, Python source out. Every recorded
string (URLs, titles, selectors, texts, error messages) is visitor-controlled, so the
generated source holds them only as repr() literals, never pasted into code or comments.
"""

from __future__ import annotations

import re
from collections import defaultdict, deque
from urllib.parse import urlsplit

import msgspec

from sessionstory.events import Event, EventType, meta_decoder
from sessionstory.facts import BatchFacts, Click, ErrorFact, InputFact, NetworkFact, PageView, ScrollDepth, batch_facts

# A navigation this soon after a click (or a field's change) is taken as its doing: the test waits
# for it instead of causing it. Past this, the visitor typed a URL, or used back or forward.
CAUSE_WINDOW_MS = 5000
# Clicks on the same element this close together are one step ("Clicked … 4 times").
REPEAT_WINDOW_MS = 1000
# A checkbox's or radio's change this soon after a click is that click's doing.
TOGGLE_WINDOW_MS = 500
MAX_LABEL = 100
MAX_MESSAGE = 300
# What the generated test asserts at most: the first few distinct errors are the bug.
MAX_ASSERTED_ERRORS = 5

TOGGLES = ("checkbox", "radio")
CHOICES = ("select-one", "select-multiple", "select")
# Playwright's fill() refuses these; the test can only say what the visitor did.
UNFILLABLE = ("file", "button", "submit", "reset", "image", "hidden")
# What stands in for what the visitor typed, which was never recorded.
PLACEHOLDERS = {
    "email": "someone@example.com", "number": "1", "tel": "+15550100", "url": "https://example.com/",
    "password": "Placeholder-password-1", "date": "2024-01-15", "time": "12:00", "month": "2024-01",
    "week": "2024-W03", "datetime-local": "2024-01-15T12:00", "color": "#336699", "range": "50",
}
PLACEHOLDER_TEXT = "placeholder text"


class Step(msgspec.Struct):
    """One thing the visitor did or saw. `n`, `at`, `text` and `kind` are the API's; the rest feed the test."""

    n: int
    at: int  # ms after the session's first event, as the player counts
    text: str
    kind: str  # open | navigate | back | forward | reload | click | input | scroll | error | network
    url: str = ""  # open, navigate, back, forward, reload: where the visitor ended up
    selector: str = ""
    label: str = ""  # click: the element's text; input: the field's name, placeholder or label
    tag: str = ""  # click: the element's tag name
    x: int | None = None
    y: int | None = None
    times: int = 1  # clicks repeated on one element
    field: str = ""  # input: the field's type
    enter: bool = False  # input: the form was submitted from this field (a navigation followed, no click)
    depth: int = 0  # scroll: % of the page above the viewport's bottom
    message: str = ""  # error: as the page threw it, for the test's check
    error_kind: str = ""


class Reproduction(msgspec.Struct):
    """What a test needs besides the steps: where the session started and ended, and what it threw."""

    steps: list[Step]
    origin: str  # the first page's origin: the test's default base URL
    viewport: tuple[int, int] | None
    last_url: str
    errors: list[str]  # distinct messages of uncaught errors and rejections, "Uncaught " removed


def reproduction(events: list[Event]) -> Reproduction:
    """Reads the whole session as one batch (facts.py), then walks its facts in time order."""
    if not events:
        return Reproduction(steps=[], origin="", viewport=None, last_url="", errors=[])
    start = min(int(e.timestamp) for e in events)
    facts = batch_facts(events)
    reader = _Reader(start, _origin(facts.pages[0].url) if facts.pages else "")
    for _, _, fact in sorted(_timeline(events, facts), key=lambda item: (item[0], item[1])):
        reader.read(fact)
    for n, step in enumerate(reader.steps, 1):
        step.n = n
    errors = list(dict.fromkeys(_uncaught(e) for e in facts.errors if e.kind in ("error", "unhandledrejection")))
    return Reproduction(steps=reader.steps, origin=reader.home, viewport=_viewport(events),
                        last_url=reader.history[reader.pos] if reader.history else "",
                        errors=errors[:MAX_ASSERTED_ERRORS])


Fact = PageView | Click | InputFact | ScrollDepth | ErrorFact | NetworkFact
# The events each kind of fact comes from: our SDK's Custom event of that tag; for a page, else rrweb's Meta
# (a client without our page events).
_KINDS: dict[type, tuple[str, ...]] = {PageView: ("page", "meta"), Click: ("click",), InputFact: ("input",),
                                       ScrollDepth: ("scroll",), NetworkFact: ("network",), ErrorFact: ("error",)}


class _Tag(msgspec.Struct):
    tag: object = None


_tag_decoder = msgspec.json.Decoder(_Tag)


def _timeline(events: list[Event], facts: BatchFacts) -> list[tuple[int, int, Fact]]:
    """The facts a step can come from, each with when it happened and where it was recorded: within one
    millisecond, facts are read in the order they were recorded, not by kind. A field's change fires as
    the next click's mousedown blurs the field, so it often shares that click's millisecond (a quick
    click), and comes before it; a checkbox's change comes after the click that ticked it."""
    places = _places(events)
    timed: list[tuple[int, int, Fact]] = []
    # Kind by kind, each in recorded order: the nth fact of a kind and millisecond is its nth event.
    every: list[Fact] = [*facts.pages, *facts.clicks, *facts.inputs, *facts.scrolls, *facts.network, *facts.errors]
    for fact in every:
        # A request's failure is seen when it settles, when its event was recorded (facts.py keeps when it started).
        at = fact.at + fact.duration if isinstance(fact, NetworkFact) else fact.at
        spots = [places[kind, at] for kind in _KINDS[type(fact)] if places.get((kind, at))]
        # A fact with no event of its own (rrweb's clicks, from a client without ours): after the millisecond's others.
        timed.append((at, spots[0].popleft() if spots else len(events), fact))
    return [item for item in timed if not isinstance(item[2], NetworkFact) or _failed(item[2])]


def _places(events: list[Event]) -> dict[tuple[str, int], deque[int]]:
    """Where each Custom event (by tag) and Meta event sits in the session, by kind and millisecond."""
    places: dict[tuple[str, int], deque[int]] = defaultdict(deque)
    for i, event in enumerate(events):
        if event.type == EventType.META:
            places["meta", int(event.timestamp)].append(i)
        elif event.type == EventType.CUSTOM:
            try:
                tag = _tag_decoder.decode(event.data).tag
            except msgspec.DecodeError:
                continue
            if isinstance(tag, str):
                places[tag, int(event.timestamp)].append(i)
    return places


def _failed(n: NetworkFact) -> bool:
    return n.status == 0 or n.status >= 400


class _Reader:
    """Turns facts into steps, keeping the visitor's history to tell back and forward from a typed URL."""

    def __init__(self, start: int, home: str) -> None:
        self.start = start
        self.home = home
        self.steps: list[Step] = []
        self.history: list[str] = []
        self.pos = -1
        self.page_at = -1  # when the current page was entered
        self.baseline: int | None = None  # the page's first scroll depth, reported on arrival, not scrolled
        self.seen_scroll = False
        self.click_at = -REPEAT_WINDOW_MS - 1  # the latest click, for telling repeats

    def read(self, fact: Fact) -> None:
        if isinstance(fact, PageView):
            self._page(fact)
        elif isinstance(fact, Click):
            self._click(fact)
        elif isinstance(fact, InputFact):
            self._input(fact)
        elif isinstance(fact, ScrollDepth):
            self._scroll(fact)
        elif isinstance(fact, ErrorFact):
            self._error(fact)
        else:
            self._network(fact)

    def _add(self, at: int, kind: str, text: str, **fields: object) -> Step:
        step = Step(n=0, at=max(0, at - self.start), text=text, kind=kind, **fields)  # type: ignore[arg-type]
        self.steps.append(step)
        return step

    def _last(self, *kinds: str) -> Step | None:
        return self.steps[-1] if self.steps and self.steps[-1].kind in kinds else None

    def _cause(self, at: int) -> Step | None:
        """The click or field change on this page that a navigation at `at` followed, if any."""
        for step in reversed(self.steps):
            if step.kind in ("click", "input"):
                recent = self.start + step.at >= self.page_at and at - (self.start + step.at) <= CAUSE_WINDOW_MS
                return step if recent else None
            if step.kind in ("open", "navigate", "back", "forward", "reload"):
                return None
        return None

    def _page(self, p: PageView) -> None:
        named = self._where(p.url) + (f" ({_line(p.title, MAX_LABEL)})" if p.title.strip() else "")
        if not self.history:
            self._add(p.at, "open", f"Opened {named}", url=p.url)
            return self._moved(p)
        # A page loaded by a link, a form or a script has a referrer; a typed URL or a bookmark has none.
        cause = self._cause(p.at) if p.kind != "load" or p.referrer else None
        followed_link = cause is not None and cause.tag == "a"
        if self.pos > 0 and p.url == self.history[self.pos - 1] and not followed_link:
            self.pos -= 1
            self._add(p.at, "back", f"Went back to {named}", url=p.url)
        elif self.pos + 1 < len(self.history) and p.url == self.history[self.pos + 1] and not followed_link:
            self.pos += 1
            self._add(p.at, "forward", f"Went forward to {named}", url=p.url)
        elif cause is not None or p.kind in ("push", "replace", "hash"):
            self._followed(p, cause, named)
            return self._moved(p)
        elif p.url == self.history[self.pos] and p.kind == "load":
            self._add(p.at, "reload", f"Reloaded {named}", url=p.url)
        else:
            self._add(p.at, "open", f"Opened {named}", url=p.url)
            return self._moved(p)
        self._entered(p.at)

    def _followed(self, p: PageView, cause: Step | None, named: str) -> None:
        """A navigation that followed what the visitor did (or that the page made by itself)."""
        if cause is not None and cause.kind == "input" and cause.field not in TOGGLES + CHOICES:
            cause.enter = True  # a field changed and the page left with no click: the form was submitted
            cause.text += ", then submitted"
        # Several in a row with nothing done between (a redirect after a load): wait for the last.
        last = self._last("navigate")
        if last is not None and (cause is None or self.steps.index(cause) < self.steps.index(last)):
            self.steps.pop()
            cause = cause or (last if last.text.startswith("Opened") else None)
        self._add(p.at, "navigate", f"{'Opened' if cause else 'Was taken to'} {named}", url=p.url)

    def _moved(self, p: PageView) -> None:
        """A new entry in the visitor's history (or, for replaceState, the current one rewritten)."""
        if p.kind == "replace" and self.history:
            self.history[self.pos] = p.url
        else:
            self.history[self.pos + 1:] = [p.url]
            self.pos += 1
        self._entered(p.at)

    def _entered(self, at: int) -> None:
        self.page_at = at
        self.baseline = None
        self.seen_scroll = False

    def _click(self, c: Click) -> None:
        last = self._last("click")
        again = c.at - self.click_at <= REPEAT_WINDOW_MS
        self.click_at = c.at
        if last is not None and again and (last.selector, last.label) == (c.selector, c.text):
            last.times += 1
            last.text = _click_text(last)
            return
        step = self._add(c.at, "click", "", selector=c.selector, label=c.text, x=c.x, y=c.y, tag=c.tag)
        step.text = _click_text(step)

    def _input(self, i: InputFact) -> None:
        field = i.type.lower()
        last = self._last("click", "input")
        same = last is not None and last.selector == i.selector
        if field in TOGGLES:
            # The click that ticked it is the step (a click on its label included); the change adds nothing.
            if last is not None and last.kind == "click" and i.at - (self.start + last.at) <= TOGGLE_WINDOW_MS:
                return
        elif same and last is not None:
            if last.kind == "input":
                return  # still typing into the same field: one step
            # A click into a field and typing into it are one step, labelled by what the click read.
            self.steps.pop()
            return self._field(i, field, last.at + self.start, last.label)
        self._field(i, field, i.at, "")

    def _field(self, i: InputFact, field: str, at: int, seen: str) -> None:
        label = _line(seen or i.name, MAX_LABEL)
        named = f'"{label}" ({_line(i.selector, MAX_LABEL)})' if label else _line(i.selector, MAX_LABEL)
        verb = "Changed" if field in TOGGLES else "Chose an option in" if field in CHOICES else "Typed into"
        self._add(at, "input", f"{verb} {named}", selector=i.selector, label=label, field=field)

    def _scroll(self, s: ScrollDepth) -> None:
        if not self.seen_scroll:  # the SDK reports the depth on arrival: where the page opened, not a scroll
            self.seen_scroll = True
            self.baseline = s.depth
            return
        if self.baseline is not None and s.depth <= self.baseline:
            return
        last = self._last("scroll")
        if last is not None:
            last.depth = max(last.depth, s.depth)
            last.text = f"Scrolled to {last.depth} %"
            return
        self._add(s.at, "scroll", f"Scrolled to {s.depth} %", depth=s.depth)

    def _error(self, e: ErrorFact) -> None:
        message = _line(_uncaught(e), MAX_MESSAGE)
        if e.kind == "resource":
            text = f"A resource failed to load ({message.removeprefix('failed to load ')})"
        elif e.kind == "unhandledrejection":
            text = f"Saw an unhandled rejection: {message}"
        else:
            text = f"Saw {message}"
        last = self._last("error")
        if last is not None and last.message == message:
            last.times += 1
            last.text = f"{text} ({last.times} times)"
            return
        self._add(e.at, "error", text, message=message, error_kind=e.kind)

    def _network(self, n: NetworkFact) -> None:
        why = str(n.status) if n.status else (_line(n.error, MAX_LABEL) or "no response")
        self._add(n.at + n.duration, "network", f"Request {n.method} {self._where(n.url)} failed ({why})", url=n.url)

    def _where(self, url: str) -> str:
        """A URL as people read it: the path on the session's own site, host and path elsewhere."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            return _line(url, MAX_MESSAGE)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "") + (f"#{parts.fragment}" if parts.fragment else "")
        return _line(path if _origin(url) == self.home else f"{parts.hostname or ''}{path}", MAX_MESSAGE)


def _click_text(step: Step) -> str:
    label, selector = _line(step.label, MAX_LABEL), _line(step.selector, MAX_LABEL)
    times = f" {step.times} times" if step.times > 1 else ""
    if label:
        return f'Clicked "{label}"{times}' + (f" ({selector})" if selector else "")
    return f"Clicked {selector or f'at {step.x}, {step.y}'}{times}"


def _uncaught(e: ErrorFact) -> str:
    return e.message.removeprefix("Uncaught ")


def _line(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else ""


def _viewport(events: list[Event]) -> tuple[int, int] | None:
    for e in events:
        if e.type == EventType.META:
            try:
                meta = meta_decoder.decode(e.data)
            except msgspec.DecodeError:
                continue
            if meta.width > 0 and meta.height > 0:
                return (min(meta.width, 4096), min(meta.height, 4096))
    return None


def plain_text(steps: list[Step]) -> str:
    """The steps as a numbered list, for a bug report."""
    return "".join(f"{s.n}. {s.text}\n" for s in steps)


_IDENT = re.compile(r"[^A-Za-z0-9_]+")


def filename_for(session_id: str) -> str:
    return f"test_session_{_IDENT.sub('_', session_id)[:80].strip('_') or 'replay'}.py"


# -- the Playwright test ------------------------------------------------------------------

# The fixed part of every generated test. Nothing recorded goes in here: the session's own
# values follow it as constants and calls whose every argument is a repr() literal.
_PRELUDE = '''"""Reproduces a recorded SessionStory session in Chromium, step by step (Playwright, sync API).

Run it with `python THIS_FILE.py` or `pytest THIS_FILE.py`. It opens the page the session
started on and does what the visitor did, then checks that it ends where the session ended
and sees the errors the session saw: while the bug is there, this test passes. Once it is
fixed, turn the error check at the end around.

BASE_URL (environment) points it at another copy of the site, a staging server say; by
default it uses the site the session was recorded on. SESSIONSTORY_CHROMIUM names the
browser (else /usr/bin/chromium, else Playwright's own). Typed text was never recorded
(SessionStory masks every input), so fields get placeholder values.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page, sync_playwright

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]
TIMEOUT_MS = 15_000


def chromium() -> str | None:
    for candidate in (os.environ.get("SESSIONSTORY_CHROMIUM"), "/usr/bin/chromium"):
        if candidate and os.path.exists(candidate):
            return candidate
    return None  # Playwright's own Chromium, if it is installed


def step(n: int, text: str) -> None:
    print(f"{n:>3}. {text}", flush=True)


def same_page(a: str, b: str) -> bool:
    """Same path and fragment; query values often differ from visit to visit."""
    x, y = urlsplit(a), urlsplit(b)
    return (x.path or "/", x.fragment) == (y.path or "/", y.fragment)


def arrive(page: Page, target: str) -> None:
    page.wait_for_url(lambda current: same_page(current, target))


def go(page: Page, direction: str, target: str) -> None:
    """Back or forward, unless what the visitor did last led there already (an app's own Back button)."""
    try:
        page.wait_for_url(lambda current: same_page(current, target), timeout=1000)
    except PlaywrightError:
        page.go_back() if direction == "back" else page.go_forward()
        arrive(page, target)


def find(page: Page, selector: str, text: str, x: int | None = None, y: int | None = None) -> Locator:
    """The element the visitor used: by its recorded selector (where several match, the one with its
    text, nearest to where the visitor clicked), else by its visible text, placeholder or label."""
    found = page.locator(selector) if selector else page.get_by_text(text)
    try:
        found.first.wait_for(state="attached")
    except PlaywrightError:
        if not text or not selector:
            raise
        words = text.rstrip("\\u2026")
        found = page.get_by_text(words).or_(page.get_by_placeholder(words)).or_(page.get_by_label(words))
        found.first.wait_for(state="attached")
    count = found.count()
    if count > 1 and text:
        with_text = found.filter(has_text=text.rstrip("\\u2026"))
        if with_text.count():
            found, count = with_text, with_text.count()
    if count > 1 and x is not None and y is not None:
        return nearest(page, found, count, x, y)
    return found.first


def nearest(page: Page, found: Locator, count: int, x: int, y: int) -> Locator:
    sx, sy = page.evaluate("() => [window.scrollX, window.scrollY]")
    best, best_distance = found.first, float("inf")
    for i in range(min(count, 50)):
        box = found.nth(i).bounding_box()
        if box is None:
            continue
        dx = max(box["x"] + sx - x, 0, x - (box["x"] + sx + box["width"]))
        dy = max(box["y"] + sy - y, 0, y - (box["y"] + sy + box["height"]))
        if dx * dx + dy * dy < best_distance:
            best, best_distance = found.nth(i), dx * dx + dy * dy
    return best


def click(page: Page, selector: str, text: str, x: int | None = None, y: int | None = None, times: int = 1) -> None:
    target = find(page, selector, text, x, y)
    for _ in range(times):
        target.click()


def fill(page: Page, selector: str, label: str, value: str, enter: bool = False) -> None:
    """The visitor's text was never recorded (SessionStory masks every input): `value` stands in."""
    field = find(page, selector, label)
    field.fill(value)
    if enter:
        field.press("Enter")


def choose(page: Page, selector: str, label: str) -> None:
    """Which option the visitor chose was never recorded: the first one not already selected stands in."""
    field = find(page, selector, label)
    chosen = field.evaluate("s => Array.from(s.options).findIndex(o => !o.selected && !o.disabled)")
    field.select_option(index=max(0, chosen))


def scroll_to(page: Page, depth: int) -> None:
    """`depth` is the share of the page above the viewport's bottom, in %."""
    page.evaluate(
        "d => window.scrollTo(0, d / 100 * document.documentElement.scrollHeight - window.innerHeight)", depth)


def saw_error(page: Page, errors: list[PlaywrightError], message: str) -> bool:
    for _ in range(50):
        if any(message in f"{e.name}: {e.message}" or message in e.message for e in errors):
            return True
        page.wait_for_timeout(100)
    return False

'''

_MAIN = '''

def test_reproduce_session() -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=VIEWPORT)
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            errors: list[PlaywrightError] = []
            page.on("pageerror", lambda error: errors.append(error))
            replay(page)
            check(page, errors)
        finally:
            browser.close()


if __name__ == "__main__":
    test_reproduce_session()
    print("passed: the session was reproduced")
'''


def playwright_test(r: Reproduction, session_id: str, replay_url: str) -> str:
    """A runnable Python file (pytest or plain python) that replays the steps and checks the ending."""
    lines = [_PRELUDE]
    lines.append(f"SESSION_ID = {session_id!r}")
    lines.append(f"REPLAY_URL = {replay_url!r}  # the recording, in SessionStory")
    lines.append(f"RECORDED_ORIGIN = {r.origin!r}")
    lines.append('BASE_URL = os.environ.get("BASE_URL", RECORDED_ORIGIN).rstrip("/")')
    width, height = r.viewport or (1280, 800)
    lines.append(f'VIEWPORT = {{"width": {int(width)}, "height": {int(height)}}}')
    lines.append("")
    lines.append("")
    lines.append("def url(path: str) -> str:")
    lines.append("    return BASE_URL + path")
    lines.append("")
    lines.append("")
    lines.append("def replay(page: Page) -> None:")
    body = [line for s in r.steps for line in _step_code(s, r.origin)]
    lines.extend(f"    {line}" for line in body or ["pass"])
    lines.append("")
    lines.append("")
    lines.append("def check(page: Page, errors: list[PlaywrightError]) -> None:")
    lines.append('    """Where the session ended, and what it threw."""')
    if r.last_url:
        lines.append(f"    ended = {_url_code(r.last_url, r.origin)}")
        lines.append("    try:\n        arrive(page, ended)\n    except PlaywrightError:\n        pass")
        lines.append('    assert same_page(page.url, ended), f"the session ended on {ended}, this run on {page.url}"')
    for message in r.errors:
        literal = repr(message.rstrip("…"))
        if message.startswith("Script error"):  # cross-origin: the browser hid the message from the SDK
            lines.append('    assert saw_error(page, errors, ""), "the session saw an error from another origin; this run saw none"')
        else:
            lines.append(f'    assert saw_error(page, errors, {literal}), "the session saw this error, this run did not: " + {literal}')
    if not r.last_url and not r.errors:
        lines.append("    pass")
    lines.append(_MAIN)
    return "\n".join(lines)


def _url_code(url: str, origin: str) -> str:
    """`url('/path')` for the session's own site (so BASE_URL moves it), the literal URL elsewhere."""
    if origin and _origin(url) == origin:
        return f"url({url[len(origin):] or '/'!r})"
    return repr(url)


def _step_code(s: Step, origin: str) -> list[str]:
    code = [f"step({s.n}, {s.text!r})"]
    if s.kind == "open":
        code.append(f"page.goto({_url_code(s.url, origin)})")
    elif s.kind == "navigate":
        code.append(f"arrive(page, {_url_code(s.url, origin)})")
    elif s.kind in ("back", "forward"):
        code.append(f"go(page, {s.kind!r}, {_url_code(s.url, origin)})")
    elif s.kind == "reload":
        code.append("page.reload()")
    elif s.kind == "click":
        times = f", times={s.times}" if s.times > 1 else ""
        code.append(f"click(page, {s.selector!r}, {s.label!r}, {s.x!r}, {s.y!r}{times})")
    elif s.kind == "input":
        code.extend(_input_code(s))
    elif s.kind == "scroll":
        code.append(f"scroll_to(page, {int(s.depth)})")
    return code


def _input_code(s: Step) -> list[str]:
    if s.field in TOGGLES:
        return [f"click(page, {s.selector!r}, {s.label!r})"]
    if s.field in CHOICES:
        return [f"choose(page, {s.selector!r}, {s.label!r})"]
    if s.field in UNFILLABLE:
        return ["# Nothing to do here: a test cannot make this choice for the visitor."]
    value = PLACEHOLDERS.get(s.field, PLACEHOLDER_TEXT)
    enter = ", enter=True" if s.enter else ""
    return [f"fill(page, {s.selector!r}, {s.label!r}, {value!r}{enter})  # a placeholder: the typed text was never stored"]
