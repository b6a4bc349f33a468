"""A session as a compact, delimited list of facts: what the model reads, never raw HTML.

Every string a visitor controls is cut short and stripped of line breaks and of the
delimiters the prompt uses, so recorded text can only ever be data.
"""

from __future__ import annotations

import re

import duckdb
import msgspec

MAX_LINES = 40
MAX_TEXT = 80
_UNSAFE = re.compile(r"[\r\n\t<>`]|#{2,}|-{3,}")


class Fact(msgspec.Struct):
    at: int  # ms from the session's first event
    kind: str  # page | click | rage_click | dead_click | error_click | typed | slow_page | error | event | ...
    detail: str
    path: str = ""  # the page it happened on (a failed request: its own path): the only paths a summary may name
    subject: str = ""  # what it is about, cleaned: a click's target, an error's message, a status, an event


_LABELS = re.compile(r"\b(summary|facts)\s*:", re.IGNORECASE)


def clean(text: str | None, limit: int = MAX_TEXT) -> str:
    """Recorded text made inert: one line, no markup, none of the prompt's own labels, and no
    double quote (the facts quote it in double quotes, and a summary's checks trust quotes)."""
    text = _LABELS.sub(r"\1", _UNSAFE.sub(" ", text or "")).replace('"', "'").strip()
    text = re.sub(r"\s+", " ", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def path_of(url: str | None) -> str:
    """`https://shop.example/cart?x=1` -> `/cart`: the part a summary names."""
    if not url:
        return "?"
    path = re.sub(r"^[a-z]+://[^/]+", "", url).split("?")[0].split("#")[0]
    return clean(path or "/", 60)


def session_facts(cur: duckdb.DuckDBPyConnection, session_id: str) -> list[Fact] | None:
    start = cur.execute("SELECT started_ms FROM sessions WHERE id = ?", [session_id]).fetchone()
    if start is None:
        return None
    t0 = start[0]
    facts: list[Fact] = []
    for at, url, title in cur.execute(
            "SELECT at_ms, url, title FROM pages WHERE session_id = ? ORDER BY at_ms", [session_id]).fetchall():
        path = path_of(url)
        facts.append(Fact(at - t0, "page", f"opened {path}" + (f' ("{clean(title, 50)}")' if title else ""), path))
    for at, kind, url, selector, text in cur.execute(
            "SELECT at_ms, kind, url, selector, text FROM interactions WHERE session_id = ? AND kind != 'input' "
            "ORDER BY at_ms", [session_id]).fetchall():
        target = f'"{clean(text, 40)}"' if text else clean(selector, 40) or "the page"
        facts.append(Fact(at - t0, kind, _describe(kind, target, path_of(url)), path_of(url), target))
    # Typing, one line per page at its last keystroke (never what was typed: the SDK does not send it).
    for at, url, fields in cur.execute(
            "SELECT max(at_ms), url, count(DISTINCT (selector, text)) FROM interactions WHERE session_id = ? "
            "AND kind = 'input' GROUP BY url ORDER BY 1", [session_id]).fetchall():
        noun = "field" if fields == 1 else "fields"
        facts.append(Fact(at - t0, "typed", f"typed into {fields} {noun} on {path_of(url)}", path_of(url), str(fields)))
    # A page whose main content came late, as the browser measured it (LCP rated poor: over 4 s).
    for at, url, value in cur.execute(
            "SELECT at_ms, url, value FROM vitals WHERE session_id = ? AND name = 'LCP' AND rating = 'poor' "
            "ORDER BY at_ms", [session_id]).fetchall():
        took = f"{value / 1000:.1f} s"
        facts.append(Fact(at - t0, "slow_page", f"{path_of(url)} was slow: its main content showed after {took} (LCP)",
                          path_of(url), took))
    for at, message in cur.execute(
            "SELECT at_ms, message FROM errors WHERE session_id = ? ORDER BY at_ms", [session_id]).fetchall():
        facts.append(Fact(at - t0, "error", f"error: {clean(message)}", subject=clean(message)))
    for at, method, url, status in cur.execute(
            "SELECT at_ms, method, url, status FROM network WHERE session_id = ? AND (status = 0 OR status >= 400) "
            "ORDER BY at_ms", [session_id]).fetchall():
        answer = str(status or "no answer")
        facts.append(Fact(at - t0, "failed_request", f"request failed: {method} {path_of(url)} -> {answer}",
                          path_of(url), answer))
    for at, name in cur.execute(
            "SELECT at_ms, name FROM custom_events WHERE session_id = ? ORDER BY at_ms", [session_id]).fetchall():
        facts.append(Fact(at - t0, "event", f"event: {clean(name, 40)}", subject=clean(name, 40)))
    facts.sort(key=lambda f: f.at)
    return _squash_clicks(facts)


def _describe(kind: str, target: str, page: str) -> str:
    return {
        "click": f"clicked {target} on {page}",
        "rage_click": f"rage-clicked {target} on {page} (clicked again and again)",
        "dead_click": f"clicked {target} on {page}, nothing happened (dead click)",
        "error_click": f"clicked {target} on {page} and an error followed",
        "thrashed_cursor": f"moved the mouse back and forth on {page} (thrashed cursor)",
        "quick_back": f"left {page} within seconds (quick back)",
        "excessive_scroll": f"scrolled up and down a lot on {page}",
    }.get(kind, f"{kind} on {page}")


def _squash_clicks(facts: list[Fact]) -> list[Fact]:
    """A plain click that a signal describes already says nothing new."""
    signal_moments = {f.at for f in facts if f.kind in ("rage_click", "dead_click", "error_click")}
    kept = [f for f in facts if not (f.kind == "click" and f.at in signal_moments)]
    if len(kept) > MAX_LINES:  # keep the start and the end: how it began and how it ended
        kept = kept[: MAX_LINES // 2] + kept[-MAX_LINES // 2 :]
    return kept


def render(facts: list[Fact]) -> str:
    return "\n".join(f"- {f.detail}" for f in facts)
