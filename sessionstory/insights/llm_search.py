"""The model's turn at a question the deterministic parser could not read.

The default model is a small base model, so the prompt is a few-shot completion: worked
questions, each followed by its filters as one line of JSON. Its output is constrained by
a GBNF grammar to exactly the CONTRACT's filter names and value types (browsers,
operating systems and events limited to ones this project or our vocabulary knows), then
decoded and checked by `index.filters.parse_filters` like any query string. Whatever
does not hold up is dropped: a spec that runs is always one a person could have typed,
and never SQL.
"""

from __future__ import annotations

import json
import logging
import re
import time
from concurrent.futures import TimeoutError as FutureTimeout

import msgspec

from sessionstory.index.filters import SORTS, FilterError, parse_filters
from sessionstory.insights.llm import Cancelled, LocalModel, ModelUnavailable
from sessionstory.insights.timeline import clean
from sessionstory.insights.vocabulary import BROWSERS, COUNTRIES, MOBILE_BROWSERS, OPERATING_SYSTEMS

log = logging.getLogger(__name__)

Spec = dict[str, str]

TIMEOUT_S = 15.0
MAX_TOKENS = 64
# What the model may set: the CONTRACT's filters, less funnels (three linked values a
# question never spells) and the free-text `q` (the parser handles quoted text; the model
# would put any leftover word there and match nothing).
FIELDS = ("from", "to", "url", "min_duration_ms", "max_duration_ms", "has_errors", "rage_clicks", "dead_clicks",
          "browser", "os", "device", "country", "user", "event", "live", "sort")

EXAMPLES: list[tuple[str, Spec]] = [
    ("visits that hit a javascript problem", {"has_errors": "true"}),
    ("people on their phones", {"device": "mobile"}),
    ("sessions from visitors in Japan over the last two weeks", {"country": "JP", "from": "14d"}),
    ("where did people click buttons that did nothing", {"dead_clicks": "true"}),
    ("users hammering the checkout button on /checkout", {"rage_clicks": "true", "url": "/checkout"}),
    ("visits lasting more than ten minutes, longest first", {"min_duration_ms": "600000", "sort": "longest"}),
    ("quick visits under 5 seconds from desktop computers", {"max_duration_ms": "5000", "device": "desktop"}),
    ("anyone browsing with firefox on a mac", {"browser": "Firefox", "os": "Mac OS X"}),
    ("who is on the site at this very moment", {"live": "true"}),
    ("what did customer 4711 do", {"user": "4711"}),
    ("sessions with the most errors", {"sort": "errors"}),
    ("anything on the about page", {"url": "/about"}),
    ("clean sessions without any exception in the last 12 hours", {"has_errors": "false", "from": "12h"}),
]

COUNTRY_CODES = frozenset(COUNTRIES.values())
# A value the question gives no cue for is one the model copied from its examples.
_TIME = r"\b(hours?|days?|weeks?|months?|today|yesterday|recent\w*|ago|since|last|past|fortnight)\b|\d"
_LENGTH = r"\b(seconds?|minutes?|hours?|long\w*|short\w*|quick\w*|brief\w*|time)\b"
CUES = {"from": _TIME, "to": _TIME, "min_duration_ms": _LENGTH, "max_duration_ms": _LENGTH,
        "sort": r"\b(most|first|longest|oldest|newest|latest|worst|top|sort\w*|order\w*)\b",
        "live": r"\b(live|now|currently|moment|active|online)\b"}
NEGATION = r"\b(no|not|without|never|zero|free|clean|none)\b|n't"
PROMPT_HEAD = "Each question about recorded website visits is followed by its filters as JSON.\n\n"


def _example(question: str, spec: Spec) -> str:
    return f"Question: {question}\nFilters: {json.dumps(spec)}\n\n"


# What a chat model is told before the same examples (a base model just continues them).
TASK = "Turn the last question below into its filters, as the examples do: reply with the JSON object alone."


def prompt(question: str) -> str:
    shots = "".join(_example(q, s) for q, s in EXAMPLES)
    return f"{PROMPT_HEAD}{shots}Question: {clean(question, 200)}\nFilters:"


def _literal(value: str) -> str:
    """A GBNF literal for a JSON string: `"Chrome"` as the grammar spells it."""
    return json.dumps(json.dumps(value))


def _choice(values: list[str]) -> str:
    return " | ".join(_literal(v) for v in sorted(set(values)))


def grammar(known: dict[str, list[str]]) -> str:
    """One JSON object of filters; each value of its type, names from this project's data."""
    browsers = [*BROWSERS.values(), *MOBILE_BROWSERS.values(), *known.get("browser", [])]
    systems = [*OPERATING_SYSTEMS.values(), *known.get("os", [])]
    events = [e for e in known.get("event", []) if e and len(e) <= 100]
    members = {
        "from": "rel", "to": "rel", "url": "path", "min_duration_ms": "ms", "max_duration_ms": "ms",
        "has_errors": "flag", "rage_clicks": "flag", "dead_clicks": "flag", "browser": "browser", "os": "os",
        "device": "device", "country": "country", "user": "text", "live": "true", "sort": "sort",
    }
    if events:
        members["event"] = "event"
    rules = [
        'root ::= "{" member ("," " "? member){0,5} "}"',
        "member ::= " + " | ".join(f"m-{name.replace('_', '-')}" for name in members),
        *[f'm-{name.replace("_", "-")} ::= {_literal(name)} ": " {kind}' for name, kind in members.items()],
        'rel ::= "\\"" [1-9] [0-9]? [hdw] "\\""',
        'ms ::= "\\"" [1-9] [0-9]{0,8} "\\""',
        'flag ::= "\\"true\\"" | "\\"false\\""',
        'true ::= "\\"true\\""',
        'path ::= "\\"/" [a-zA-Z0-9_./-]{0,60} "\\""',
        'text ::= "\\"" [a-zA-Z0-9_.@+-]{1,64} "\\""',
        'country ::= "\\"" [A-Z] [A-Z] "\\""',
        "device ::= " + _choice(["desktop", "mobile", "tablet"]),
        "sort ::= " + _choice(list(SORTS)),
        "browser ::= " + _choice(browsers),
        "os ::= " + _choice(systems),
    ]
    if events:
        rules.append("event ::= " + _choice(events))
    return "\n".join(rules) + "\n"


def validate(text: str, question: str, known: dict[str, list[str]], now_ms: int | None = None) -> Spec:
    """The model's JSON as a spec the session filters accept, or {} when it does not hold up."""
    try:
        raw = msgspec.json.decode(text.strip().encode())
    except msgspec.DecodeError:
        return {}
    if not isinstance(raw, dict):
        return {}
    spec = {k: v for k, v in raw.items() if k in FIELDS and isinstance(v, str) and v}
    if "event" in spec and spec["event"] not in known.get("event", []):
        del spec["event"]  # an event the project never saw would only ever match nothing
    if "country" in spec and spec["country"] not in COUNTRY_CODES:
        del spec["country"]
    # A user id or a page is only ever one the question spells: a small model otherwise
    # copies one from its examples.
    asked = question.lower()
    if "user" in spec and (spec["user"].lower() not in asked or not re.search(r"\b(user|customer|id|account)\b|@", asked)):
        del spec["user"]
    for field, cue in CUES.items():
        if field in spec and not re.search(cue, asked):
            del spec[field]
    for field in ("has_errors", "rage_clicks", "dead_clicks"):
        if spec.get(field) == "false" and not re.search(NEGATION, asked):
            del spec[field]
    if "url" in spec and not all(word in asked for word in re.findall(r"[a-z0-9]+", spec["url"].lower())):
        del spec["url"]
    try:
        parse_filters(spec, now_ms if now_ms is not None else int(time.time() * 1000))
    except FilterError:
        return {}
    return spec


def model_spec(model: LocalModel, question: str, known: dict[str, list[str]],
               timeout_s: float = TIMEOUT_S) -> Spec:
    """The model's filters for a question; {} when it has none, is unavailable or too slow."""
    try:
        job = model.submit(prompt(question), task=TASK, max_tokens=MAX_TOKENS, stop=["\n"], timeout_s=timeout_s,
                           grammar=grammar(known))
    except ModelUnavailable as exc:
        log.info("search without the model: %s", exc)
        return {}
    try:
        # the worker cuts a job off at its deadline; the wait allows for the jobs queued before it
        text = job.result(timeout=timeout_s * 2)
    except FutureTimeout:
        job.cancel()
        return {}
    except (ModelUnavailable, Cancelled) as exc:
        log.info("search without the model: %s", exc)
        return {}
    return validate(text, question, known)
