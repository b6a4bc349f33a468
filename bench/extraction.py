"""Extraction cost per batch beside the whole CPU cost of ingesting it, in the same run.

Batches are the demo project's real recordings (the /demo page recorded in Chromium by
the real SDK), cut into batches as the SDK sends them, plus the same events repeated into
500-event batches as a busy page sends. Ingest CPU is the process CPU time (every thread:
HTTP handling, decoding, scrubbing, compression, extraction, group-commit fsync and the
DuckDB index writer) of posting them all through the real app; extraction CPU is
`facts.batch_facts` + `signals.advance` on the same batches. Goal: under a quarter.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from litestar.testing import TestClient

from sessionstory.app import create_app
from sessionstory.config import Limits, load_settings, prepare_data_dir
from sessionstory.datadir import DataDir
from sessionstory.demo import recordings
from sessionstory.facts import batch_facts
from sessionstory.ingest import parse_envelope
from sessionstory.signals import SessionState, advance


def batches(key: str, run: int) -> list[dict[str, Any]]:
    out = []
    for n, events in enumerate(recordings()):
        sid = f"bench-{run}-{n}"
        for seq, start in enumerate(range(0, len(events), 40)):
            out.append({"key": key, "session_id": sid, "visitor_id": "v", "seq": seq, "events": events[start:start + 40]})
        busy = [dict(e, timestamp=e["timestamp"] + i * 3000) for i in range(20) for e in events][:500]
        out.append({"key": key, "session_id": sid, "visitor_id": "v", "seq": 100, "events": busy})
    return out


def ingest_cpu(client: TestClient, dd: DataDir, payloads: list[dict[str, Any]]) -> float:  # type: ignore[type-arg]
    bodies = [json.dumps(p).encode() for p in payloads]
    start = time.process_time()
    for body in bodies:
        assert client.post("/api/v1/ingest", content=body, headers={"Content-Type": "application/json"}).status_code == 200
    dd.index.flush()
    return time.process_time() - start


def extraction_cpu(payloads: list[dict[str, Any]]) -> float:
    limits = Limits()
    parsed = [parse_envelope(json.dumps(p).encode(), limits)[1] for p in payloads]
    start = time.process_time()
    state = SessionState()
    for events in parsed:
        advance(state, batch_facts(events))
    return time.process_time() - start


def run(repetitions: int = 15) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = prepare_data_dir(load_settings(Path(tmp) / "data", env={}))
        dd = DataDir(settings)
        with TestClient(create_app(settings, dd)) as client:
            key = dd.projects.create("Bench").public_key
            ingest_cpu(client, dd, batches(key, -1))  # warm-up: parsers, caches, DuckDB
            totals, parts = [], []
            for r in range(repetitions):
                payloads = batches(key, r)
                totals.append(ingest_cpu(client, dd, payloads))
                parts.append(extraction_cpu(payloads))
        dd.close()
    payloads = batches("k", 0)
    total, part = statistics.median(totals), statistics.median(parts)
    return {"batches": len(payloads), "events": sum(len(p["events"]) for p in payloads),
            "ingest_cpu_ms": total * 1000, "extraction_cpu_ms": part * 1000, "share": part / total}


def main() -> None:
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)
    r = run()
    goal = "PASS" if r["share"] <= 0.25 else "MISS"
    print(f"extraction: {r['batches']} batches, {r['events']} events: ingest CPU {r['ingest_cpu_ms']:.1f} ms "
          f"(whole app, every thread), extraction {r['extraction_cpu_ms']:.1f} ms = {r['share']:.1%} "
          f"(goal <= 25 %: {goal})")


if __name__ == "__main__":
    main()
