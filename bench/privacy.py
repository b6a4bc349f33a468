"""CPU that the privacy level adds to ingest, per batch, beside the rest of ingest's pure steps.

    python -m bench.privacy [--reps 200]

Batches: the Demo project's real Chromium recordings (sessionstory/demo), cut into batches
of 50 events (the SDK sends a batch every 2 s: tens of events while a page is calm) (each session's first batch holds its full snapshot),
plus the same batches with personal data planted in every text node and console message
(the slow path: every such event is decoded, walked and encoded again). Each batch goes
through `ingest.prepare` (decode, validate, scrub inputs, sanitize, privacy, compress,
facts) on a real data directory, with the project at `relaxed` (the baseline: the level
adds nothing), `balanced` and `strict`; the figure is CPU time of the calling thread (thread_time: the data directory's own threads are left out) per batch,
median of `--reps` passes, and its ratio to the baseline.

Then the project's selectors and URL rules (`privacy.enforce`, which ends with the level): CPU per
batch of `enforce` on the decoded batches beside `apply_level` alone (its baseline), with no
selectors (only the page's own markers are looked for) and with a block, a mask (with a descendant
combinator) and an ignore selector and a URL rule (every snapshot and mutation mirrored and matched).
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sessionstory.config import Limits, load_settings, prepare_data_dir
from sessionstory.datadir import DataDir
from sessionstory.demo import recordings
from sessionstory.events import Event
from sessionstory.ingest import parse_envelope, prepare
from sessionstory.privacy import apply_level, enforce, make_settings

BATCH_EVENTS = 50
PLANTED = " · jane.doe@example.org, (555) 867-5309, 4111 1111 1111 1111"


def _batches(key: str, planted: bool) -> list[bytes]:
    out = []
    for n, events in enumerate(recordings()):
        events = copy.deepcopy(events)
        if planted:
            for e in events:
                _plant(e)
        for seq, start in enumerate(range(0, len(events), BATCH_EVENTS)):
            out.append(json.dumps({"key": key, "session_id": f"bench-{n}", "visitor_id": "v", "seq": seq,
                                   "events": events[start:start + BATCH_EVENTS]}).encode())
    return out


def _plant(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("type") == 3 and isinstance(node.get("textContent"), str) and node["textContent"].strip():
            node["textContent"] += PLANTED
        if node.get("tag") == "console" and isinstance(node.get("payload"), dict):
            node["payload"]["message"] = str(node["payload"].get("message", "")) + PLANTED
        for value in node.values():
            _plant(value)
    elif isinstance(node, list):
        for value in node:
            _plant(value)


def _cpu_per_batch(dd: DataDir, bodies: list[bytes], reps: int) -> float:
    runs = []
    for _ in range(reps):
        started = time.thread_time()
        for body in bodies:
            prepare(dd.projects, body, "", None, "bench", dd.settings.limits)
        runs.append((time.thread_time() - started) / len(bodies))
    return statistics.median(runs)


def _cpu_of(step: Callable[[list[bytes], list[Event]], object], batches: list[tuple[list[bytes], list[Event]]],
            reps: int) -> float:
    runs = []
    for _ in range(reps):
        started = time.thread_time()
        for raws, events in batches:
            step(raws, events)
        runs.append((time.thread_time() - started) / len(batches))
    return statistics.median(runs)


def _selectors_report(bodies: list[bytes], limits: Limits, reps: int) -> None:
    decoded = []
    for body in bodies:
        env, events = parse_envelope(body, limits)
        decoded.append(([bytes(raw) for raw in env.events], events))
    rules = make_settings("balanced", block_selectors=[".promo", "[data-private]"], mask_selectors=["#account .balance"],
                          ignore_selectors=[".chat input"], url_rules=["/admin/*"])
    cases: dict[str, Callable[[list[bytes], list[Event]], object]] = {
        "apply_level (baseline)": lambda raws, events: apply_level(raws, events, "balanced"),
        "enforce, no selectors": lambda raws, events: enforce(raws, events, make_settings("balanced")),
        "enforce, 4 selectors + 1 URL rule": lambda raws, events: enforce(raws, events, rules),
    }
    figures = {name: (_cpu_of(case, decoded, 1), _cpu_of(case, decoded, reps))[1] for name, case in cases.items()}
    base = figures["apply_level (baseline)"]
    for name, cpu in figures.items():
        print(f"real     {name:34} {cpu * 1e3:7.3f} ms CPU per batch   x{cpu / base:.2f} of apply_level")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.privacy", description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=200)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        dd = DataDir(prepare_data_dir(load_settings(Path(tmp) / "data", env={})))
        try:
            project = dd.projects.create("Bench")
            sets = {"real": _batches(project.public_key, False), "planted": _batches(project.public_key, True)}
            sizes = {name: sum(map(len, bodies)) / len(bodies) for name, bodies in sets.items()}
            print(f"{len(sets['real'])} batches of up to {BATCH_EVENTS} events from {len(recordings())} Demo "
                  f"recordings; mean JSON {sizes['real'] / 1024:.1f} KiB (planted: {sizes['planted'] / 1024:.1f} KiB)")
            for name, bodies in sets.items():
                figures = {}
                for level in ("relaxed", "balanced", "strict"):
                    dd.projects.set_privacy(project.id, make_settings(level))
                    _cpu_per_batch(dd, bodies, 1)  # warm-up
                    figures[level] = _cpu_per_batch(dd, bodies, args.reps)
                base = figures["relaxed"]
                for level, cpu in figures.items():
                    print(f"{name:8} {level:9} prepare {cpu * 1e3:7.3f} ms CPU per batch   "
                          f"x{cpu / base:.3f} of relaxed (privacy adds {(cpu - base) * 1e3:+.3f} ms)")
            _selectors_report(sets["real"], dd.settings.limits, args.reps)
        finally:
            dd.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
