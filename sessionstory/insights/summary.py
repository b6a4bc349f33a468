"""Session summaries: facts from the index, the key points from rules, a sentence or so from
the local model.

The default model is a small base model, so the prompt is a few-shot completion: worked
examples (from other sites than any real one, so a copied story is easy to catch) of facts,
their key points, and a summary that states them. The key points are ours: the decisive
facts (errors, frustration, failed requests, events, how the visit ended), picked by rules.
The model's words are kept only if they hold up (no page not visited, no quoted label not in
the facts, no claim of an error, a dead or rage click, a purchase or a sign-up the facts do
not show, no name from the worked examples); then every key point they leave out is added
as a sentence from our template. What is whose stays visible: `model_text` is the model's,
`added` the template's.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from typing import TypeVar

import duckdb
import msgspec

from sessionstory.index import Index
from sessionstory.insights.llm import Job, LocalModel
from sessionstory.insights.timeline import Fact, render, session_facts

T = TypeVar("T", bound=msgspec.Struct)

SIGNAL_KINDS = ("rage_click", "dead_click", "error_click", "error", "failed_request", "thrashed_cursor",
                "quick_back", "excessive_scroll")
MAX_SUMMARY = 500
MAX_TOKENS = 80
STOP = ("\n", "Facts:")
TIMEOUT_S = 30.0
# What a chat model is told before the same examples (a base model just continues them).
TASK = "Write the summary of the last visit below, as the examples do: one to three short sentences, alone."


class Signal(msgspec.Struct):
    kind: str
    at: int  # ms from the session's first event: `?t=` in the player
    detail: str


class Insight(msgspec.Struct):
    summary: str  # what is shown: the model's words, then the template's sentences for what they left out
    signals: list[Signal]
    model: str
    facts: list[str] = []  # what the summary was made from
    source: str = "model"  # model | model+facts | facts (the model's answer did not hold up)
    model_text: str = ""  # the model's own words, as kept
    added: list[str] = []  # the template's sentences, one per key point the model left out


class Point(msgspec.Struct):
    """A decisive fact: a short cue the model reads, the sentence the template writes for it,
    and the words by which a summary mentions it (lower case, any one will do)."""
    kind: str
    cue: str
    sentence: str
    words: list[str]


# -- the key points: rules, no model ------------------------------------------------------


def key_points(facts: list[Fact]) -> list[Point]:
    """The decisive facts, most telling first: trouble, then what the visitor achieved, then how it ended."""
    first: dict[str, Fact] = {}
    for f in facts:
        first.setdefault(f.kind, f)
    makers: list[tuple[str, Callable[[Fact], Point]]] = [
        ("error", _error_point), ("rage_click", _rage_point), ("dead_click", _dead_point),
        ("error_click", _error_click_point), ("failed_request", _failed_point)]
    points = [make(first[kind]) for kind, make in makers if kind in first]
    if "slow_page" in first:
        points.append(_slow_point(first["slow_page"]))
    if "quick_back" in first:
        points.append(_quick_back_point(first["quick_back"]))
    events = list(dict.fromkeys(f.subject for f in facts if f.kind == "event" and f.subject))
    if events:
        points.append(_events_point(events))
    pages = [f for f in facts if f.kind == "page"]
    left_typing = _typed_then_left(facts, pages)
    if left_typing is not None:
        points.append(_typed_point(left_typing))
    if pages:
        points.append(_ending_point(pages))
    return points


ACTS = ("click", "rage_click", "dead_click", "error_click", "event")


def _typed_then_left(facts: list[Fact], pages: list[Fact]) -> Fact | None:
    """The typing on the last page when nothing was clicked or sent after it: a form left unsent."""
    typed = [f for f in facts if f.kind == "typed" and pages and f.path == pages[-1].path]
    if not typed or any(f.kind in ACTS and f.at > typed[-1].at for f in facts):
        return None
    return typed[-1]


def _error_point(f: Fact) -> Point:
    name = _error_name(f.subject)
    return Point("error", f.subject, f'It hit an error: "{f.subject}".', [name.lower(), "error"])


def _rage_point(f: Fact) -> Point:
    return Point("rage_click", f"rage-clicked {f.subject}",
                 f"They clicked {f.subject} on {f.path} again and again (rage click).",
                 ["again", "rage", "repeated", "kept clicking", "over and over"])


def _dead_point(f: Fact) -> Point:
    return Point("dead_click", f"{f.subject} did nothing",
                 f"Clicking {f.subject} on {f.path} did nothing (dead click).",
                 ["nothing", "dead", "did not", "didn't", "no response"])


def _error_click_point(f: Fact) -> Point:
    return Point("error_click", f"clicking {f.subject} led to an error",
                 f"Clicking {f.subject} on {f.path} was followed by an error.", ["error"])


def _failed_point(f: Fact) -> Point:
    method = f.detail.removeprefix("request failed: ").split(" ", 1)[0]
    return Point("failed_request", f"{method} {f.path} failed with {f.subject}",
                 f'A {method} request to "{f.path}" failed with {f.subject}.', [f.subject.lower(), "fail"])


def _slow_point(f: Fact) -> Point:
    return Point("slow_page", f"{f.path} was slow ({f.subject})",
                 f"The page {f.path} was slow: its main content took {f.subject} to show.", ["slow", "took"])


def _quick_back_point(f: Fact) -> Point:
    return Point("quick_back", f"left {f.path} within seconds",
                 f"They left {f.path} within seconds and went back (quick back).", ["back", "within seconds", "quick"])


def _typed_point(f: Fact) -> Point:
    fields = "a field" if f.subject == "1" else f"{f.subject} fields"
    return Point("typed", f"typed into {fields} on {f.path}, then left",
                 f"They typed into {fields} on {f.path} and left without clicking anything after.",
                 ["typed", "filled", "form", "field"])


def _events_point(names: list[str]) -> Point:
    # An event's name is the site's text: named only when it looks like a name, not like prose.
    quoted = ", ".join(f'"{n}"' if _EVENT_NAME.fullmatch(n) else "a custom" for n in names[:3])
    words = [w for n in names for w in (n.lower(), n.lower().replace("_", " "))]
    return Point("event", "event " + quoted, f"The visit recorded the {quoted} event{'s' if len(names) > 1 else ''}.",
                 words + [w for n in names for w in _EVENT_WORDS.get(_event_stem(n), [])])


def _ending_point(pages: list[Fact]) -> Point:
    last = pages[-1].path
    if len({p.path for p in pages}) == 1:
        return Point("ending", f"left after one page, {last}", f"They left after one page, {last}.",
                     ["one page", "left", "bounce"])
    return Point("ending", f"ended on {last}", f"They opened {len(pages)} pages and ended on {last}.", [last.lower()])


_EVENT_NAME = re.compile(r"[\w.\- ]{1,40}")
_EVENT_WORDS = {"purchase": ["bought", "purchas", "order"], "order": ["bought", "purchas", "order"],
                "signup": ["sign"], "sign_up": ["sign"], "login": ["logged in", "signed in"]}


def _event_stem(name: str) -> str:
    return next((stem for stem in _EVENT_WORDS if stem in name.lower()), "")


def _error_name(message: str) -> str:
    found = re.match(r"\s*(\w*(?:Error|Exception))\b", message)
    return found.group(1) if found else "error"


PATH = re.compile(r"(?<![\w.])/[\w\-./]+")


def mentioned(text: str, point: Point) -> bool:
    return says(text, point.words)


def says(text: str, words: list[str]) -> bool:
    """Whether the text uses one of the words (lower case): a page path counts only for words
    that are paths ("/signup.html" does not say the visitor signed up)."""
    low = text.lower()
    prose = PATH.sub(" ", low)
    return any(word and word in (low if word.startswith("/") else prose) for word in words)


# -- the prompt ---------------------------------------------------------------------------


def block(facts: list[Fact]) -> str:
    """One visit as the model reads it: the facts in order, then our key points, then the cue."""
    cues = "; ".join(p.cue for p in key_points(facts))
    return f"Facts:\n{render(facts)}\nKey points: {cues}\nSummary:"


def _stem(word: str) -> str:
    return word.removesuffix("s")


def _example(lines: list[tuple[str, str, str, str]], summary: str) -> tuple[list[Fact], str]:
    return [Fact(i * 1000, kind, detail, path, subject) for i, (kind, detail, path, subject) in enumerate(lines)], summary


# Sites no real session comes from, each showing one kind of key point put into words. The
# most telling come last: a small model leans on the example nearest to its answer.
EXAMPLES = [
    _example([("page", 'opened /jobs ("Jobs")', "/jobs", "")],
             "The visitor looked at the job listings and left after one page, /jobs."),
    _example([("page", 'opened /rooms ("Rooms")', "/rooms", ""),
              ("click", 'clicked "Book now" on /rooms', "/rooms", '"Book now"'),
              ("page", 'opened /booking ("Your booking")', "/booking", ""),
              ("rage_click", 'rage-clicked "Confirm" on /booking (clicked again and again)', "/booking", '"Confirm"'),
              ("error", "error: TypeError: booking.dates is undefined", "", "TypeError: booking.dates is undefined")],
             'The visitor picked a room, but confirming the booking threw a TypeError; they clicked "Confirm" '
             "again and again and left from /booking."),
    _example([("page", 'opened /novels ("Novels")', "/novels", ""),
              ("click", 'clicked "Buy" on /novels', "/novels", '"Buy"'),
              ("page", 'opened /basket ("Basket")', "/basket", ""),
              ("event", "event: order_placed", "", "order_placed")],
             'The visitor bought a novel: they clicked "Buy", placed the order (order_placed) without trouble and '
             "ended on /basket."),
    _example([("page", 'opened /statements ("Statements")', "/statements", ""),
              ("dead_click", 'clicked "Download PDF" on /statements, nothing happened (dead click)', "/statements",
               '"Download PDF"')],
             'The visitor wanted a statement, but "Download PDF" did nothing when clicked, and they left from '
             "/statements."),
    _example([("page", 'opened /recipes/soup ("Soup")', "/recipes/soup", ""),
              ("click", 'clicked "Post comment" on /recipes/soup', "/recipes/soup", '"Post comment"'),
              ("failed_request", "request failed: POST /api/comments -> 503", "/api/comments", "503")],
             "The visitor read the soup recipe, but posting a comment failed: POST /api/comments answered 503, "
             "and they left after that one page."),
]

HEADER = "Each website visit below is a list of facts and its key points, then a short summary that states every key point.\n\n"
PROMPT = HEADER + "".join(block(facts) + f" {summary}\n\n" for facts, summary in EXAMPLES)
PROMPT_DIGEST = hashlib.sha256((TASK + PROMPT).encode()).hexdigest()[:12]  # a new prompt makes new summaries
# The worked examples' pages by name ("room", "novel", …): a summary that uses one this
# session lacks copied an example's story.
EXAMPLE_NAMES = {_stem(w) for facts, _ in EXAMPLES for f in facts if f.kind == "page"
                 for w in re.findall(r"[a-z]{3,}", f.path)}


def prompt_for(facts: list[Fact]) -> str:
    return PROMPT + block(facts)


# -- the summary ----------------------------------------------------------------------------


def draft(model: LocalModel, facts: list[Fact], on_text: Callable[[str], None] | None = None,
          on_job: Callable[[Job], None] | None = None) -> str:
    """The model's answer to this session's prompt, as it wrote it (seconds of model time);
    `on_text` sees each piece as it comes, `on_job` the job's handle (to cancel it) once queued."""
    job = model.submit(prompt_for(facts), task=TASK, max_tokens=MAX_TOKENS, stop=list(STOP), timeout_s=TIMEOUT_S,
                       on_text=on_text)
    if on_job is not None:
        on_job(job)
    return job.result()


def summarise(model: LocalModel, facts: list[Fact], on_text: Callable[[str], None] | None = None,
              on_job: Callable[[Job], None] | None = None) -> Insight:
    if not facts:
        return Insight("Nothing happened in this session beyond loading the page.", [], model.name, [], "facts")
    return compose(draft(model, facts, on_text, on_job), facts, model.name)


def compose(answer: str, facts: list[Fact], model_name: str) -> Insight:
    """What is shown: the model's sentences if they hold up and state a key point, then a template
    sentence for each key point they leave out (all of them, after an opening line, otherwise)."""
    signals = [Signal(f.kind, f.at, f.detail) for f in facts if f.kind in SIGNAL_KINDS]
    lines = [f"- {f.detail}" for f in facts]
    text = _first_sentences(answer)
    points = key_points(facts)
    # A sentence that states none of the key points is no summary ("One to three short
    # sentences." is a chat model repeating its task), however true.
    kept = text if text and grounded(text, facts) and any(mentioned(text, p) for p in points) else ""
    added = [] if kept else [_opening(facts)]
    summary = kept or added[0]
    for point in points:
        if not mentioned(summary, point) and len(summary) + len(point.sentence) < MAX_SUMMARY:
            summary += " " + point.sentence
            added.append(point.sentence)
    source = "facts" if not kept else "model+facts" if added else "model"
    return Insight(summary, signals, model_name, lines, source, kept, added)


def _first_sentences(text: str, limit: int = 3) -> str:
    """Up to `limit` whole sentences: an answer cut by the token budget or the timeout loses its tail."""
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s.endswith((".", "!", "?"))]
    return " ".join(sentences[:limit])[:300]


def _opening(facts: list[Fact]) -> str:
    pages = [f.path for f in facts if f.kind == "page"]
    if len(set(pages)) <= 1:
        return f"The visitor saw one page, {pages[0]}." if pages else "The visitor stayed on one page."
    return f"The visitor started on {pages[0]}."  # how many pages, and the last, are a key point


def _bought(facts: list[Fact]) -> bool:
    return any(f.kind == "event" and re.search(r"purchas|order|buy|paid", f.subject.lower()) for f in facts)


# Claims a summary may make only when the facts show them: (what the words claim, the evidence).
CLAIMS: list[tuple[re.Pattern[str], Callable[[list[Fact]], bool]]] = [
    (re.compile(r"error|\bbroke|crash|exception"),
     lambda fs: any(f.kind in ("error", "error_click", "failed_request") for f in fs)),
    (re.compile(r"\bfail"),  # "the purchase failed" after an unrelated TypeError is not what happened
     lambda fs: any(f.kind == "failed_request" for f in fs)),
    (re.compile(r"nothing happened|did nothing|\bdead\b|no response|did not respond|unresponsive"),
     lambda fs: any(f.kind == "dead_click" for f in fs)),
    (re.compile(r"again and again|repeatedly|\brage|over and over|kept clicking"),
     lambda fs: any(f.kind == "rage_click" for f in fs)),
    (re.compile(r"\b(bought|buys?|purchased?|paid|orders?|ordered)\b"), _bought),
    (re.compile(r"without doing anything|did(?: not|n't) do anything"),
     lambda fs: not any(f.kind not in ("page", "event") for f in fs)),
    (re.compile(r"did(?: not|n't) (?:work|load|find|respond|open)|not loaded"),
     lambda fs: any(f.kind in ("error", "error_click", "failed_request", "dead_click") for f in fs)),
    (re.compile(r"\bslow"),
     lambda fs: any(f.kind == "slow_page" for f in fs)),
    (re.compile(r"\btyped|filled (?:in|out)"),
     lambda fs: any(f.kind == "typed" for f in fs)),
    (re.compile(r"signed up|registered"),
     lambda fs: any(f.kind == "event" and re.search(r"sign|regist", f.subject.lower()) for f in fs)),
    (re.compile(r"logged in|signed in"),
     lambda fs: any(f.kind == "event" and re.search(r"log_?in|sign_?in", f.subject.lower()) for f in fs)),
]


_NEGATED = r"(?:\bnot|n't|\bnever|\bno|\bwithout)\s+(?:\w+\s+){0,2}"
# Denials of what happened: a small model negates a true fact as readily as it states one
# ("The visitor paid for a tea, but the product was not purchased." of a purchase).
DENIALS: list[tuple[re.Pattern[str], Callable[[list[Fact]], bool]]] = [
    (re.compile(_NEGATED + r"(?:buy|bought|buying|purchas\w*|pay|paid|paying|order\w*|check(?:ed)? ?out)"), _bought),
    (re.compile(_NEGATED + r"(?:errors?|problems?|issues?|trouble)\b"),
     lambda fs: any(f.kind in ("error", "error_click", "failed_request") for f in fs)),
]


def grounded(summary: str, facts: list[Fact]) -> bool:
    """The summary invents nothing we can check: every label it quotes is in the facts, every
    page path it names outside those quotes is one the session touched (a quoted error message
    may hold any path), every number it gives is in the facts, every claim above has its evidence,
    it denies none of the facts it could deny, and no name from the worked examples appears that
    this session lacks."""
    said = " ".join(f.detail for f in facts).lower()
    if not all(label.lower() in said for label in re.findall(r'"([^"]+)"', summary)):
        return False
    paths = {f.path for f in facts if f.path}
    unquoted = re.sub(r'"[^"]*"', "", summary)  # the visitor's own text, checked above
    if not all(path.rstrip(".,;:") in paths for path in PATH.findall(unquoted)):
        return False
    if not all(number in said for number in re.findall(r"\d{2,}", summary)):
        return False
    low = unquoted.lower()
    if any(claim.search(low) and not evidence(facts) for claim, evidence in CLAIMS):
        return False
    if any(denial.search(low) and fact(facts) for denial, fact in DENIALS):
        return False
    words = {_stem(w) for w in re.findall(r"[a-z]{3,}", low)}
    return not (words & EXAMPLE_NAMES) - {_stem(w) for w in re.findall(r"[a-z]{3,}", said)}


# -- the cache ---------------------------------------------------------------------------


def session_insight(index: Index, model: LocalModel, session_id: str,
                    on_text: Callable[[str], None] | None = None,
                    on_job: Callable[[Job], None] | None = None) -> Insight | None:
    """The cached insight, or a new one (seconds of model time; `on_text` sees the model's
    pieces as they come, for a page that streams them; `on_job` gets the handle that cancels
    the model's job); None for an unknown session. Raises ModelUnavailable when no model can
    be loaded, Cancelled when the job is cancelled: then nothing is cached."""
    found = index.read(lambda cur: facts_for(cur, session_id))
    if found is None:
        return None
    facts, event_count = found
    digest = f"{model.sha256()}/{PROMPT_DIGEST}"
    hit = index.read(lambda cur: cached(cur, session_id, digest, event_count))
    if hit is not None:
        return hit
    made = summarise(model, facts, on_text, on_job)
    index.write(lambda con: store(con, session_id, digest, event_count, made)).result()
    return made


def cached(cur: duckdb.DuckDBPyConnection, session_id: str, model_sha: str, event_count: int,
           kind: type[T] = Insight) -> T | None:  # type: ignore[assignment]
    """What the model made for this key, model and data (`kind`: an Insight, or a digest's)."""
    row = cur.execute(
        "SELECT body FROM insights WHERE session_id = ? AND model_sha = ? AND event_count = ?",
        [session_id, model_sha, event_count],
    ).fetchone()
    return msgspec.json.decode(row[0], type=kind) if row else None


def store(con: duckdb.DuckDBPyConnection, session_id: str, model_sha: str, event_count: int,
          insight: msgspec.Struct) -> None:
    con.execute(
        "INSERT OR REPLACE INTO insights VALUES (?, ?, ?, ?, ?)",
        [session_id, model_sha, event_count, msgspec.json.encode(insight).decode(), int(time.time() * 1000)],
    )


def facts_for(cur: duckdb.DuckDBPyConnection, session_id: str) -> tuple[list[Fact], int] | None:
    row = cur.execute("SELECT event_count FROM sessions WHERE id = ?", [session_id]).fetchone()
    if row is None:
        return None
    return session_facts(cur, session_id) or [], row[0]

