"""A project's daily or weekly digest: the top friction points as facts from SQL, each with
its evidence (the session list's filters and a few session ids), and one short paragraph
the model writes from those facts, shown beside them.

The paragraph is kept only if every page and every number it names is in the facts;
otherwise the facts speak alone. Digests are cached in the `insights` table like session
summaries, keyed by project, period and the hour it ends, for the model's digest and a
stamp of the period's data (so a late session makes a new one).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from urllib.parse import parse_qsl

import msgspec

from sessionstory.index import Index
from sessionstory.index.anomalies import page_rows
from sessionstory.index.digest import data_stamp, sessions_with_clicks, sessions_with_error, slowest_sessions
from sessionstory.index.funnels import funnel
from sessionstory.index.overview import overview
from sessionstory.insights.anomalies import Anomaly, find_anomalies
from sessionstory.insights.llm import LocalModel, ModelUnavailable
from sessionstory.insights.summary import cached, store
from sessionstory.insights.timeline import clean, path_of

HOUR_MS = 3_600_000
PERIODS = {"day": 24 * HOUR_MS, "week": 7 * 24 * HOUR_MS}
TOP = 3  # friction points of each kind

# What a chat model is told before the same examples (a base model just continues them).
TASK = "Write the digest for the last list of facts below, as the examples do: one short paragraph, alone."
PROMPT = """Each list of facts about a website's recent visits is followed by a short paragraph for the team that runs it.

Facts:
- /checkout: 14 rage clicks and 2 dead clicks in 6 of 40 sessions
- error "TypeError: total is undefined" in 9 sessions
- /products: LCP p75 4200 ms over 30 page views
Digest: Checkout needs attention first: a TypeError hit 9 sessions, and visitors rage-clicked 14 times on /checkout. /products is also slow to load.

Facts:
- /pricing: 5 dead clicks in 3 of 25 sessions
- funnel "Signup": 12 of 20 sessions left after step 1 (/signup)
Digest: Most visitors who start signing up stop after the first step of /signup. On /pricing, some clicks do nothing.

Facts:
{facts}
Digest:"""


class FrictionPoint(msgspec.Struct):
    kind: str  # clicks | error | slow | funnel
    fact: str  # one line, as the model reads it
    weight: int  # how much of it there is: clicks, sessions, milliseconds or sessions lost
    filters: dict[str, str]  # the session list's query parameters that show it
    sessions: list[str]  # a few session ids to watch


class Digest(msgspec.Struct):
    project_id: str
    period: str  # day | week
    start: str  # ISO 8601 UTC
    end: str
    summary: str
    # model | facts (the model's paragraph did not hold up, or there is no model) | pending (the
    # model has yet to write it: only from `project_digest(..., write_now=False)`, with no summary)
    source: str
    model: str
    facts: list[FrictionPoint]
    anomalies: list[Anomaly]


def span(period: str, now_ms: int) -> tuple[int, int]:
    """The period ending at the next full hour: stable for an hour, so it can be cached."""
    end = now_ms - now_ms % HOUR_MS + HOUR_MS
    return end - PERIODS[period], end


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms // 1000, UTC).isoformat().replace("+00:00", "Z")


def friction_points(cur: object, project_id: str, from_ms: int, to_ms: int,
                    funnels: list[tuple[str, list[str]]]) -> list[FrictionPoint]:
    """The period's worst pages for rage and dead clicks, errors by sessions affected, slowest
    pages, and the biggest drop-off of each saved funnel."""
    when = {"from": _iso(from_ms), "to": _iso(to_ms)}
    points: list[FrictionPoint] = []
    pages = sorted((p for p in page_rows(cur, project_id, from_ms, to_ms) if p.rage_clicks + p.dead_clicks),  # type: ignore[arg-type]
                   key=lambda p: (-(p.rage_clicks + p.dead_clicks), p.url))[:TOP]
    for p in pages:
        clicks = " and ".join(f"{n} {kind} click{'s' if n != 1 else ''}"
                              for n, kind in ((p.rage_clicks, "rage"), (p.dead_clicks, "dead")) if n)
        affected = max(p.rage_sessions, p.dead_sessions)
        flag = {"rage_clicks": "true"} if p.rage_clicks >= p.dead_clicks else {"dead_clicks": "true"}
        points.append(FrictionPoint("clicks", f"{path_of(p.url)}: {clicks} in {affected} of {p.sessions} sessions",
                                    p.rage_clicks + p.dead_clicks, {"url": p.url, **when, **flag},
                                    sessions_with_clicks(cur, project_id, p.url, from_ms, to_ms)))  # type: ignore[arg-type]
    seen = overview(cur, project_id, from_ms, to_ms, top=TOP)  # type: ignore[arg-type]
    for e in seen.top_errors:
        points.append(FrictionPoint("error", f'error "{clean(e.message)}" in {e.sessions} sessions', e.sessions,
                                    {"q": e.message[:80], "has_errors": "true", **when},
                                    sessions_with_error(cur, project_id, e.fingerprint, from_ms, to_ms)))  # type: ignore[arg-type]
    for s in seen.slowest_pages:
        if s.lcp_p75 is None:
            continue
        inp = f", INP p75 {s.inp_p75:.0f} ms" if s.inp_p75 is not None else ""
        points.append(FrictionPoint("slow", f"{path_of(s.url)}: LCP p75 {s.lcp_p75:.0f} ms{inp} over {s.samples} samples",
                                    int(s.lcp_p75), {"url": s.url, **when},
                                    slowest_sessions(cur, project_id, s.url, from_ms, to_ms)))  # type: ignore[arg-type]
    for name, steps in funnels:
        result = funnel(cur, project_id, steps, from_ms, to_ms)  # type: ignore[arg-type]
        drops = [(result[i - 1].sessions - result[i].sessions, i) for i in range(1, len(result))]
        lost, at = max(drops, default=(0, 0))
        if lost > 0:
            points.append(FrictionPoint(
                "funnel", f'funnel "{clean(name, 40)}": {lost} of {result[at - 1].sessions} sessions left after step '
                          f"{at} ({clean(steps[at - 1], 60)})",
                lost, {"funnel": "|".join(steps), "dropped": str(at), **when}, []))
    return points


def saved_funnels(saved: list[tuple[str, str]]) -> list[tuple[str, list[str]]]:
    """(name, query string) of saved filters -> (name, steps) of those that define a funnel."""
    found = []
    for name, query in saved:
        steps = [s.strip() for s in dict(parse_qsl(query)).get("funnel", "").split("|") if s.strip()]
        if len(steps) >= 2:
            found.append((name, steps))
    return found


def grounded(text: str, facts: list[FrictionPoint]) -> bool:
    """The paragraph names at least one page or number, and only pages and numbers of the facts."""
    lines = "\n".join(f.fact for f in facts)
    paths = set(re.findall(r"(?<![\w.])/[\w\-./]*", lines))
    numbers = set(re.findall(r"\d+", lines))
    named_paths = [p.rstrip(".") for p in re.findall(r"(?<![\w.])/[\w\-./]*", text)]
    named_numbers = re.findall(r"\d+", text)
    return bool(named_paths or named_numbers) and set(named_paths) <= paths and set(named_numbers) <= numbers


def from_facts(facts: list[FrictionPoint]) -> str:
    """The paragraph when the model's is unusable: the heaviest point of each kind."""
    if not facts:
        return "No friction found in this period: no rage or dead clicks, errors, slow pages or funnel drop-offs."
    firsts: dict[str, str] = {}
    for f in facts:
        firsts.setdefault(f.kind, f.fact)
    return "Top friction: " + "; ".join(firsts.values()) + "."


def write(model: LocalModel, facts: list[FrictionPoint]) -> tuple[str, str]:
    """(paragraph, source): the model's, if it holds up; else one made from the facts."""
    if not facts:
        return from_facts(facts), "facts"
    lines = "\n".join(f"- {f.fact}" for f in facts)
    text = model.complete(PROMPT.format(facts=lines), task=TASK, max_tokens=80, stop=["\n", "Facts:"], timeout_s=30)
    paragraph = " ".join(re.split(r"(?<=[.!?])\s+", text.strip())[:3])[:600].strip()
    if paragraph and grounded(paragraph, facts):
        return paragraph, "model"
    return from_facts(facts), "facts"


def project_digest(index: Index, model: LocalModel, project_id: str, period: str,
                   funnels: list[tuple[str, list[str]]], now_ms: int | None = None, write_now: bool = True) -> Digest:
    """The cached digest, or a new one (seconds of model time; facts alone without a model).

    `write_now` False: a digest whose paragraph the model has yet to write comes back at once,
    pending and not cached, so that a page can show its facts while the model writes."""
    from_ms, to_ms = span(period, now_ms if now_ms is not None else int(time.time() * 1000))
    key = f"digest/{project_id}/{period}/{to_ms}"  # '/' is never in a session id
    stamp = index.read(lambda cur: data_stamp(cur, project_id, from_ms, to_ms))
    try:
        digest_of_model = model.sha256()
    except ModelUnavailable:
        digest_of_model = None
    if digest_of_model is not None:
        hit = index.read(lambda cur: cached(cur, key, digest_of_model, stamp, Digest))
        if hit is not None:
            return hit
    facts = index.read(lambda cur: friction_points(cur, project_id, from_ms, to_ms, funnels))
    anomalies = index.read(lambda cur: find_anomalies(cur, project_id, from_ms, to_ms))
    keep = digest_of_model is not None
    if digest_of_model is None:
        summary, source = from_facts(facts), "facts"
    elif facts and not write_now:
        summary, source, keep = "", "pending", False
    else:
        try:
            summary, source = write(model, facts)
        except ModelUnavailable:  # a model file llama.cpp cannot load: the facts speak, and nothing is cached
            summary, source, keep = from_facts(facts), "facts", False
    made = Digest(project_id, period, _iso(from_ms), _iso(to_ms), summary, source, model.name, facts, anomalies)
    if keep and digest_of_model is not None:
        index.write(lambda con: store(con, key, digest_of_model, stamp, made)).result()
    return made
