"""Session summaries: facts from the index, a sentence or three from the local model.

The default model is a small base model, so the prompt is a few-shot completion: worked
examples of facts followed by a summary, then this session's facts. The answer is kept
only if it names no page the session did not visit; otherwise the facts speak alone.
"""

from __future__ import annotations

import re
import time
from typing import TypeVar

import duckdb
import msgspec

from sessionstory.index import Index
from sessionstory.insights.llm import LocalModel
from sessionstory.insights.timeline import Fact, render, session_facts

T = TypeVar("T", bound=msgspec.Struct)

SIGNAL_KINDS = ("rage_click", "dead_click", "error_click", "error", "failed_request", "thrashed_cursor",
                "quick_back", "excessive_scroll")

PROMPT = """Each list of facts about a website visit is followed by a short, plain summary.

Facts:
- opened /products ("Teas")
- clicked "Add to cart" on /products
- opened /cart ("Your cart")
- rage-clicked "Checkout" on /cart (clicked again and again)
- error: TypeError: Cannot read properties of undefined (reading 'total')
Summary: The visitor added a tea to the cart, but checkout broke with a TypeError; they clicked "Checkout" again and again, then gave up.

Facts:
- opened /blog/how-to-brew ("How to brew")
- opened /products/sencha ("Sencha")
- clicked "Add to cart" on /products/sencha
- opened /checkout ("Checkout")
- event: purchase
Summary: The visitor read a brewing guide, then bought sencha without any trouble.

Facts:
- opened /pricing ("Pricing")
- clicked "Compare plans" on /pricing, nothing happened (dead click)
- opened /contact ("Contact")
Summary: The visitor looked at pricing; "Compare plans" did nothing when clicked, and they went to the contact page instead.

Facts:
{facts}
Summary:"""


class Signal(msgspec.Struct):
    kind: str
    at: int  # ms from the session's first event: `?t=` in the player
    detail: str


class Insight(msgspec.Struct):
    summary: str
    signals: list[Signal]
    model: str
    facts: list[str] = []  # what the summary was made from
    source: str = "model"  # model | facts (the model's answer did not hold up)


def summarise(model: LocalModel, facts: list[Fact]) -> Insight:
    signals = [Signal(f.kind, f.at, f.detail) for f in facts if f.kind in SIGNAL_KINDS]
    lines = [f"- {f.detail}" for f in facts]
    if not facts:
        return Insight("Nothing happened in this session beyond loading the page.", [], model.name, [], "facts")
    text = model.complete(PROMPT.format(facts=render(facts)), max_tokens=90, stop=["\n", "Facts:"], timeout_s=30)
    summary = _first_sentences(text)
    if not summary or not grounded(summary, facts):
        return Insight(_from_facts(facts), signals, model.name, lines, "facts")
    return Insight(summary, signals, model.name, lines, "model")


def _first_sentences(text: str, limit: int = 3) -> str:
    sentences = re.split(r"(?<=[.!?])\s+", text.strip())
    return " ".join(s for s in sentences[:limit] if s).strip()[:500]


def grounded(summary: str, facts: list[Fact]) -> bool:
    """Every page path the summary names must be a page the visitor was on (a path inside
    an error message or an event name does not count: that text is the visitor's)."""
    pages = {f.path for f in facts if f.path}
    return all(path.rstrip(".") in pages for path in re.findall(r"(?<![\w.])/[\w\-./]+", summary))


def _from_facts(facts: list[Fact]) -> str:
    """A plain summary when the model's is unusable: first page, trouble, last page."""
    pages = [f.detail.removeprefix("opened ") for f in facts if f.kind == "page"]
    trouble = [f.detail for f in facts if f.kind in SIGNAL_KINDS]
    parts = [f"The visitor opened {pages[0]}" + (f" and {len(pages) - 1} more pages" if len(pages) > 1 else "") + "."
             if pages else "The visitor stayed on one page."]
    if trouble:
        parts.append(f"Trouble: {trouble[0]}" + (f" (and {len(trouble) - 1} more)." if len(trouble) > 1 else "."))
    return " ".join(parts)


# -- the cache ---------------------------------------------------------------------------


def session_insight(index: Index, model: LocalModel, session_id: str) -> Insight | None:
    """The cached insight, or a new one (seconds of model time); None for an unknown session.
    Raises ModelUnavailable when no model can be loaded."""
    found = index.read(lambda cur: facts_for(cur, session_id))
    if found is None:
        return None
    facts, event_count = found
    digest = model.sha256()
    hit = index.read(lambda cur: cached(cur, session_id, digest, event_count))
    if hit is not None:
        return hit
    made = summarise(model, facts)
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

