"""Session-summary latency (first token, total) and generation speed, beside llama.cpp's own.

The sessions are the eval's scenarios (`eval/scenarios.py`), ingested by the real app and
read back as facts. Each is summarised the product's way (`summary.draft` through the
model's worker thread and queue, then `summary.compose`), and the same prompt, the same
token budget and stops are then given to a bare `llama_cpp.Llama` of the same file and
settings, called directly: llama.cpp's own speed for the same model and prompt size. The
product's runs come first, with only the worker's model in the process as when it serves;
the bare model is loaded after them (two models in one process changed the first's speed
under load). Each keeps its own prompt cache, so from the second session on both reuse the
worked examples (the prompt's fixed head) and evaluate only the session's part; the first
session, with nothing cached, is reported apart.

    python -m bench.summary [--scenarios N]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench.stats import p50
from eval.__main__ import ingest_scenarios
from eval.scenarios import SCENARIOS
from sessionstory.insights.llm import DEFAULT_CONTEXT, LocalModel
from sessionstory.insights.summary import MAX_TOKENS, STOP, compose, draft, prompt_for
from sessionstory.insights.timeline import Fact


class Run:
    """One generation's clock: seconds to the first piece of text, to the end, and tokens made."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.first = 0.0
        self.total = 0.0
        self.text = ""
        self.tokens = 0  # counted once a tokenizer is at hand

    def saw(self, piece: str) -> None:
        if not self.first and piece:
            self.first = time.perf_counter() - self.started

    def done(self, text: str) -> None:
        self.total = time.perf_counter() - self.started
        self.text = text

    @property
    def tokens_per_s(self) -> float:
        generating = self.total - self.first
        return (self.tokens - 1) / generating if self.tokens > 1 and generating > 0 else 0.0


def product(model: LocalModel, facts: list[Fact]) -> Run:
    run = Run()
    answer = draft(model, facts, on_text=run.saw)
    compose(answer, facts, model.name)  # the checks and the template's sentences are part of the wait
    run.done(answer)
    return run


def bare(llama: object, prompt: str) -> Run:
    run = Run()
    stream: Iterator[dict] = llama(prompt, max_tokens=MAX_TOKENS, stop=list(STOP),  # type: ignore[operator]
                                   temperature=0.0, stream=True)
    text = ""
    for chunk in stream:
        piece = chunk["choices"][0]["text"]
        run.saw(piece)
        text += piece
    run.done(text)
    return run


def measure(scenarios: int) -> dict[str, object]:
    from llama_cpp import Llama

    with tempfile.TemporaryDirectory(prefix="sessionstory-bench-summary-") as tmp:
        model = LocalModel(Path(tmp))
        path = model.path()
        recorded = ingest_scenarios(Path(tmp) / "data", str(path))[:scenarios]
        model.complete("Hello", max_tokens=1)  # loaded before the clock starts
        load_before = os.getloadavg()[0]
        ours = [product(model, facts) for _, facts in recorded]
        model.close()
        llama = Llama(model_path=str(path), n_ctx=DEFAULT_CONTEXT, n_threads=2, verbose=False)
        llama("Hello", max_tokens=1)
        prompts = [prompt_for(facts) for _, facts in recorded]
        theirs = [bare(llama, prompt) for prompt in prompts]
        for run in ours + theirs:
            run.tokens = len(llama.tokenize(run.text.encode(), add_bos=False, special=False))
        return {"ours": ours, "theirs": theirs, "prompt_tokens": [len(llama.tokenize(p.encode())) for p in prompts],
                "model": path.name, "load": (load_before, os.getloadavg()[0])}


def report(r: dict[str, object]) -> str:
    ours: list[Run] = r["ours"]  # type: ignore[assignment]
    theirs: list[Run] = r["theirs"]  # type: ignore[assignment]
    tokens: list[int] = r["prompt_tokens"]  # type: ignore[assignment]
    load: tuple[float, float] = r["load"]  # type: ignore[assignment]
    lines = [f"summary latency, {r['model']}, {len(ours)} scenario sessions, prompts of {min(tokens)}-{max(tokens)} "
             f"tokens, up to {MAX_TOKENS} generated; load average {load[0]:.1f} before, {load[1]:.1f} after",
             f"{'':34}{'ours':>10}{'llama.cpp':>11}{'ratio':>8}"]

    def row(label: str, a: float, b: float, unit: str) -> None:
        lines.append(f"{label:34}{a:>8.2f} {unit}{b:>9.2f} {unit}{a / b if b else 0:>7.2f}x")

    row("first session: first token", ours[0].first, theirs[0].first, "s")
    row("first session: total", ours[0].total, theirs[0].total, "s")
    rest_ours, rest_theirs = ours[1:] or ours, theirs[1:] or theirs
    row("p50 first token (prefix cached)", p50([x.first for x in rest_ours]), p50([x.first for x in rest_theirs]), "s")
    row("p50 total (prefix cached)", p50([x.total for x in rest_ours]), p50([x.total for x in rest_theirs]), "s")
    lines.append(f"{'p50 generation speed':34}{p50([x.tokens_per_s for x in ours]):>6.1f} t/s"
                 f"{p50([x.tokens_per_s for x in theirs]):>7.1f} t/s"
                 f"{p50([x.tokens_per_s for x in ours]) / max(p50([x.tokens_per_s for x in theirs]), 1e-9):>7.2f}x")
    lines.append(f"{'p50 tokens generated':34}{p50([float(x.tokens) for x in ours]):>8.0f}  "
                 f"{p50([float(x.tokens) for x in theirs]):>9.0f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.summary", description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=len(SCENARIOS),
                        help=f"how many of the eval's scenario sessions (default all {len(SCENARIOS)})")
    args = parser.parse_args(argv)
    if not 1 <= args.scenarios <= len(SCENARIOS):
        parser.error(f"--scenarios must be between 1 and {len(SCENARIOS)}")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    print(report(measure(args.scenarios)))


if __name__ == "__main__":
    main(sys.argv[1:])
