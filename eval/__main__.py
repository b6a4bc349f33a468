"""`python -m eval [--model PATH ...] [--no-model]`: scores search and summaries per model.

Search: exact match of the whole spec, and per-field accuracy (micro precision and recall
over filter=value pairs), for the word parser alone and with the model's fallback.
Summaries: the share of scenarios whose summary mentions every required fact, and the share
grounded (every page it names was visited, every *Error it names was thrown), for the
model's own answers and for what the product shows (the facts stand in for an answer that
is not grounded).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import re
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from eval.questions import KNOWN, QUESTIONS
from eval.scenarios import SCENARIOS, Scenario
from sessionstory.insights.llm import LocalModel
from sessionstory.insights.llm_search import model_spec
from sessionstory.insights.search import fit_to_project, parse_question
from sessionstory.insights.summary import compose, draft, grounded, says
from sessionstory.insights.timeline import Fact, session_facts

Spec = dict[str, str]


def deterministic(question: str) -> Spec:
    return fit_to_project(parse_question(question, KNOWN["event"]), KNOWN)


def with_model(model: LocalModel) -> Callable[[str], Spec]:
    def ask(question: str) -> Spec:
        spec = parse_question(question, KNOWN["event"])
        return fit_to_project(spec or model_spec(model, question, KNOWN), KNOWN)
    return ask


def score_search(ask: Callable[[str], Spec], show: bool = False) -> dict[str, float]:
    exact = tp = fp = fn = 0
    for question, expected in QUESTIONS:
        got = ask(question)
        exact += got == expected
        pairs, want = set(got.items()), set(expected.items())
        tp, fp, fn = tp + len(pairs & want), fp + len(pairs - want), fn + len(want - pairs)
        if show and got != expected:
            print(f"  miss: {question!r}: {got} (expected {expected})", file=sys.stderr)
    return {"exact": exact / len(QUESTIONS), "precision": tp / max(tp + fp, 1), "recall": tp / max(tp + fn, 1)}


def mentions(summary: str, scenario: Scenario) -> bool:
    return all(says(summary, words) for words in scenario.must)


def names_only_real_errors(summary: str, facts: list[Fact]) -> bool:
    thrown = " ".join(f.detail for f in facts if f.kind == "error")
    return all(name in thrown for name in re.findall(r"\b\w*Error\b", summary))


def ingest_scenarios(data_dir: Path, model_path: str) -> list[tuple[Scenario, list[Fact]]]:
    """The scenarios ingested by the real app into a fresh data directory, read back as facts."""
    from litestar.testing import TestClient

    from sessionstory.app import create_app
    from sessionstory.config import load_settings, prepare_data_dir
    from sessionstory.datadir import DataDir

    settings = prepare_data_dir(load_settings(data_dir, env={  # a named admin: no password banner on stdout
        "SESSIONSTORY_LLM_MODEL": model_path, "SESSIONSTORY_ADMIN_EMAIL": "eval@localhost",
        "SESSIONSTORY_ADMIN_PASSWORD": "eval only, thrown away"}))
    dd = DataDir(settings)
    try:  # the app's start-up notes (the Demo project's banner) would land in the printed table
        with contextlib.redirect_stdout(sys.stderr), TestClient(create_app(settings, dd)) as client:
            key = dd.projects.create("Eval").public_key
            for s in SCENARIOS:
                events = sorted(s.events, key=lambda e: e["timestamp"])  # as the SDK sends them
                body = {"key": key, "session_id": s.id, "visitor_id": "v-" + s.id, "seq": 0, "events": events}
                r = client.post("/api/v1/ingest", json=body)
                assert r.status_code == 200, r.text
            dd.index.flush()
            dd.index.settle_all()
            return [(s, dd.index.read(partial(session_facts, session_id=s.id)) or []) for s in SCENARIOS]
    finally:
        dd.close()


def score_summaries(model: LocalModel, recorded: list[tuple[Scenario, list[Fact]]],
                    show: bool = False) -> dict[str, float]:
    """The model's own answers (all of them, kept or not) and what the product shows (summary.compose)."""
    raw_fact = raw_grounded = kept_fact = shown_fact = shown_grounded = 0
    seconds = 0.0
    for scenario, facts in recorded:
        started = time.monotonic()
        answer = draft(model, facts)
        seconds += time.monotonic() - started
        insight = compose(answer, facts, model.name)
        ok = bool(insight.model_text) and names_only_real_errors(insight.model_text, facts)
        raw_grounded += ok
        raw_fact += mentions(answer, scenario)
        kept_fact += ok and mentions(insight.model_text, scenario)
        shown_grounded += grounded(insight.summary, facts) and names_only_real_errors(insight.summary, facts)
        shown_fact += mentions(insight.summary, scenario)
        if show:
            verdict = "kept" if ok else "not grounded"
            print(f"  {scenario.id}: {answer.strip()!r} ({verdict}); added {insight.added}", file=sys.stderr)
    n = len(recorded)
    return {"model_facts": raw_fact / n, "model_grounded": raw_grounded / n, "kept_facts": kept_fact / n,
            "shown_facts": shown_fact / n, "shown_grounded": shown_grounded / n, "seconds": seconds / n}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval", description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", default=[], help="a GGUF file (default: the bundled model)")
    parser.add_argument("--no-model", action="store_true", help="score the word parser only")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each miss and answer on stderr")
    args = parser.parse_args(argv)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    det = score_search(deterministic, args.verbose)
    print(f"{len(QUESTIONS)} questions, {len(SCENARIOS)} scenarios")
    print(f"search, word parser alone: exact {det['exact']:.1%}, precision {det['precision']:.1%}, "
          f"recall {det['recall']:.1%}")
    if args.no_model:
        return 0
    rows: list[tuple[str, dict[str, float], dict[str, float]]] = []
    with tempfile.TemporaryDirectory(prefix="sessionstory-eval-") as tmp:
        for path in args.model or [""]:
            model = LocalModel(Path(tmp), path)
            try:
                search = score_search(with_model(model), args.verbose)
                recorded = ingest_scenarios(Path(tmp) / f"data-{len(rows)}", str(model.path()))
                summaries = score_summaries(model, recorded, args.verbose)
            finally:
                model.close()
            rows.append((model.name, search, summaries))
    print()
    print("| model | search exact | precision | recall | summary facts (model) | grounded (model) "
          "| facts in kept words | summary facts (shown) | grounded (shown) | s/summary |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, s, m in rows:
        print(f"| {name} | {s['exact']:.1%} | {s['precision']:.1%} | {s['recall']:.1%} | {m['model_facts']:.1%} "
              f"| {m['model_grounded']:.1%} | {m['kept_facts']:.1%} | {m['shown_facts']:.1%} "
              f"| {m['shown_grounded']:.1%} | {m['seconds']:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
