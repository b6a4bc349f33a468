"""A question in plain language -> the session filters of CONTRACT.md (never SQL).

The deterministic parser below covers the common vocabulary; what it returns is then
validated like any query string (`index.filters.parse_filters`) and checked against the
project's known values, so a spec that runs is always one a person could have typed.
"""

from __future__ import annotations

import re

from sessionstory.insights.llm import LocalModel
from sessionstory.insights.llm_search import model_spec
from sessionstory.insights.vocabulary import (
    BROWSERS,
    COUNTRIES,
    DEVICES,
    MOBILE_BROWSERS,
    NUMBERS,
    OPERATING_SYSTEMS,
    RANGE_UNITS,
    TIME_UNITS_MS,
)

Spec = dict[str, str]

_NUM = r"(\d+(?:\.\d+)?|" + "|".join(NUMBERS) + r")"
_UNIT = r"(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h)\b"
_LONGER = re.compile(rf"\b(?:longer than|more than|over|at least|above|>)\s*{_NUM}\s*{_UNIT}")
_SHORTER = re.compile(rf"\b(?:shorter than|less than|under|at most|below|<)\s*{_NUM}\s*{_UNIT}")
_LAST = re.compile(rf"\b(?:in the |during the |over the )?(?:last|past|previous)\s+{_NUM}?\s*(hours?|days?|weeks?|months?)\b")
_PATH = re.compile(r"(?<![\w.])(/[\w\-./%~]*)")
_QUOTED = re.compile(r"[\"“”']([^\"“”']{2,100})[\"“”']")
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b")


def parse_question(question: str, known_events: list[str] | None = None) -> Spec:
    """The filters a question asks for; words it does not understand are left out."""
    text = " " + question.lower().strip() + " "
    spec: Spec = {}
    _durations(text, spec)
    _dates(text, spec)
    _device_browser_os(text, spec)
    _country(text, spec)
    _signals(text, spec)
    _sort(text, spec)
    _who_what_where(question, text, spec, known_events or [])
    return spec


def _number(word: str) -> float:
    return float(NUMBERS.get(word, word))


def _durations(text: str, spec: Spec) -> None:
    if m := _LONGER.search(text):
        spec["min_duration_ms"] = str(int(_number(m.group(1)) * TIME_UNITS_MS[m.group(2)]))
    if m := _SHORTER.search(text):
        spec["max_duration_ms"] = str(int(_number(m.group(1)) * TIME_UNITS_MS[m.group(2)]))


def _dates(text: str, spec: Spec) -> None:
    if m := _LAST.search(text):
        count = int(_number(m.group(1))) if m.group(1) else 1
        unit = m.group(2)
        if unit.startswith("month"):
            count *= 30
        spec["from"] = f"{count}{RANGE_UNITS[unit]}"
    elif re.search(r"\btoday\b", text):
        spec["from"] = "24h"
    elif re.search(r"\byesterday\b", text):
        spec["from"], spec["to"] = "48h", "24h"
    elif re.search(r"\bthis week\b", text):
        spec["from"] = "7d"
    elif re.search(r"\bthis month\b", text):
        spec["from"] = "30d"


def _word(text: str, words: dict[str, str]) -> str | None:
    """The value of the longest listed word or phrase in the text."""
    for phrase in sorted(words, key=len, reverse=True):
        if re.search(rf"\b{re.escape(phrase)}\b", text):
            return words[phrase]
    return None


def _device_browser_os(text: str, spec: Spec) -> None:
    device = _word(text, DEVICES)
    if device:
        spec["device"] = device
    browser = _word(text, BROWSERS)
    if browser:
        spec["browser"] = MOBILE_BROWSERS.get(browser, browser) if device == "mobile" else browser
    os_name = _word(text.replace(browser.lower() if browser else "\0", " "), OPERATING_SYSTEMS)
    if os_name and not (os_name == "Chrome OS" and browser == "Chrome"):
        spec["os"] = os_name


def _country(text: str, spec: Spec) -> None:
    if code := _word(text, COUNTRIES):
        spec["country"] = code
    elif m := re.search(r"\b(?:from|in) ([a-z]{2})\b(?! \w+ ago)", text):
        code = m.group(1).upper()
        if code in set(COUNTRIES.values()):
            spec["country"] = code


def _signals(text: str, spec: Spec) -> None:
    if re.search(r"\b(without|no|zero|free of) (js |javascript )?errors?\b|\berror[- ]free\b", text):
        spec["has_errors"] = "false"
    elif re.search(r"\b(errors?|exceptions?|crash(es|ed)?|broke|broken|bugs?|failed)\b", text):
        spec["has_errors"] = "true"
    if re.search(r"\brage[- ]?click", text) or re.search(r"\b(angry|rage)\b", text):
        spec["rage_clicks"] = "true"
    if re.search(r"\bdead[- ]?click", text) or re.search(r"\bunresponsive\b", text):
        spec["dead_clicks"] = "true"
    if re.search(r"\b(live|right now|active now|currently|at the moment)\b", text):
        spec["live"] = "true"


def _sort(text: str, spec: Spec) -> None:
    if re.search(r"\b(longest|longer sessions first)\b", text):
        spec["sort"] = "longest"
    elif re.search(r"\boldest\b|\bfirst sessions\b", text):
        spec["sort"] = "oldest"
    elif re.search(r"\bmost errors\b", text):
        spec["sort"] = "errors"
    elif re.search(r"\b(most frustrat\w*|frustrated|struggl\w*|frustration)\b", text):
        spec["sort"] = "frustration"


def _who_what_where(question: str, text: str, spec: Spec, known_events: list[str]) -> None:
    if m := _EMAIL.search(question):
        spec["user"] = m.group(0)
    elif m := re.search(r"\buser (?:id )?[\"']?([\w.@+-]{2,64})[\"']?", question, re.IGNORECASE):
        spec["user"] = m.group(1)
    for event in sorted(known_events, key=len, reverse=True):
        if re.search(_event_pattern(event), text):
            spec["event"] = event
            break
    if m := _PATH.search(question):
        spec["url"] = m.group(1)
    if m := _QUOTED.search(question):
        value = m.group(1)
        if value not in (spec.get("user"), spec.get("event")):
            spec["q"] = value


_PARTICLES = ("up", "in", "out", "on", "off")


def _event_pattern(name: str) -> str:
    """`signup` matches "signed up", `add_to_cart` "added to cart", `purchase` "purchased"."""
    words = [w for w in re.split(r"[\s_\-.]+|(?<=[a-z])(?=[A-Z])", name.strip()) if w]
    if len(words) == 1:
        for particle in _PARTICLES:
            stem = words[0].lower()
            if stem.endswith(particle) and len(stem) > len(particle) + 2:
                words = [stem[: -len(particle)], particle]
                break
    first, rest = re.escape(words[0].lower().rstrip("e")), [re.escape(w.lower()) for w in words[1:]]
    return r"\b" + r"[\s\-_]*".join([first + r"(?:e|ed|es|d|s|ing|ning|ned)?", *rest]) + r"\b"


def fit_to_project(spec: Spec, known: dict[str, list[str]]) -> Spec:
    """Name browsers and operating systems as this project's sessions do ("Chrome" may be
    recorded as "Chrome Mobile"); a value the project has never seen is kept, and simply
    matches nothing."""
    fitted = dict(spec)
    for field in ("browser", "os"):
        value = spec.get(field)
        choices = known.get(field, [])
        if not value or any(c.lower() == value.lower() for c in choices):
            continue
        close = [c for c in choices if value.lower() in c.lower()]
        if close:
            fitted[field] = min(close, key=len)
    return fitted


def known_values(cur: object, project_id: str) -> dict[str, list[str]]:
    """Browsers, operating systems and custom events this project has sessions with."""
    rows = cur.execute(  # type: ignore[attr-defined]
        """SELECT list(DISTINCT browser) FILTER (WHERE browser IS NOT NULL),
                  list(DISTINCT os) FILTER (WHERE os IS NOT NULL),
                  (SELECT list(DISTINCT name) FROM custom_events WHERE project_id = ?)
           FROM sessions WHERE project_id = ?""",
        [project_id, project_id],
    ).fetchone()
    return {"browser": list(rows[0] or []), "os": list(rows[1] or []), "event": list(rows[2] or [])}


def question_to_filters(index: object, project_id: str, question: str, model: LocalModel | None = None) -> Spec:
    """The API's and the search box's one path: parse, then fit to what the project knows.
    A question the parser cannot read at all goes to the model, when there is one
    (`llm_search`: grammar-constrained JSON, validated like any query string)."""
    known = index.read(lambda cur: known_values(cur, project_id))  # type: ignore[attr-defined]
    spec = parse_question(question, known["event"])
    if not spec and model is not None:
        spec = model_spec(model, question, known)
    return fit_to_project(spec, known)
