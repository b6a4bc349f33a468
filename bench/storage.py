"""Storage: bytes per session and per recorded minute, before and after compaction,
beside raw JSON and beside per-batch gzip -6 of the same batches.

Sessions are variants of the bundled real recordings of the /demo page
(`sessionstory.demo.recordings()`), made by a seeded generator the way `bench.synth`
shapes its sessions: ~3 page loads a session (each a Meta and the recording's
FullSnapshot, with a URL of the shop in `bench.shop`), the recording's incremental
events replayed over a log-normal time on the page (median 20 s), each replay stretched in
time and its pointer path moved as a whole with a few pixels of tremor, cut into batches as the SDK cuts them (every 2 s, or
at 1,000 events). They go through the real write path (`ingest.prepare`, the segment
log) into a fresh data directory, then `Compactor.run` compacts them all.

    python -m bench.storage                 # 400 sessions
    python -m bench.storage --sessions 100
"""

from __future__ import annotations

import argparse
import copy
import gzip
import json
import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

import msgspec

from bench import shop
from sessionstory.config import load_settings, prepare_data_dir
from sessionstory.datadir import DataDir
from sessionstory.demo import recordings
from sessionstory.ingest import prepare
from sessionstory.store import Kind, batches
from sessionstory.store.compaction import LEVEL, pack
from sessionstory.store.records import encode

SEED = 20_260_126
DEFAULT_SESSIONS = 400
BATCH_MS = 2000  # the SDK seals a batch every 2 s...
BATCH_EVENTS = 1000  # ...or at 1,000 events
AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"


def variant(rng: random.Random, recorded: list[list[dict[str, Any]]], start_ms: int,
            urls: list[str]) -> list[dict[str, Any]]:
    """One synthetic session: a few page loads of the recorded page, visitor actions jittered."""
    events: list[dict[str, Any]] = []
    at = start_ms
    for _ in range(1 + min(int(rng.expovariate(1 / 2.0)), 12)):
        source = recorded[rng.randrange(len(recorded))]
        head = [e for e in source if e["type"] != 3]
        moves = [e for e in source if e["type"] == 3]
        stay_ms = int(min(600_000, max(2000, rng.lognormvariate(9.9, 0.9))))  # median ~20 s on a page
        url = rng.choice(urls)
        for e in head:
            e = copy.deepcopy(e)
            e["timestamp"] = at
            if e["type"] == 4:
                e["data"]["href"] = url
            events.append(e)
        span = max(1, moves[-1]["timestamp"] - moves[0]["timestamp"]) if moves else 1
        end = at + stay_ms
        offset = at + rng.randrange(100, 600)
        while moves and offset < end:  # the recording's actions again and again, never quite alike
            base, stretch = moves[0]["timestamp"], rng.uniform(0.7, 1.6)
            shift = Shift(rng.randrange(-40, 41), rng.randrange(-40, 41), rng.randrange(-200, 200))
            for e in moves:
                e = copy.deepcopy(e)
                e["timestamp"] = offset + int((e["timestamp"] - base) * stretch)
                _jitter(rng, e["data"], shift)
                events.append(e)
            offset += int(span * stretch) + rng.randrange(300, 4000)
        at = max(end, events[-1]["timestamp"]) + rng.randrange(200, 1500)
    events.sort(key=lambda e: e["timestamp"])
    return events


class Shift(NamedTuple):
    """Where one replay of the recorded actions lands beside the recording: a pointer path
    moved as a whole, and a scroll position."""

    x: int
    y: int
    scroll: int


def _jitter(rng: random.Random, data: dict[str, Any], shift: Shift) -> None:
    """The recorded path moved by `shift`, with a hand's tremor of a few pixels a point: a
    path stays smooth, as a real pointer's is. (Until 2026-11-26 each point moved by an
    independent ±40 px and each click by ±25 px with random hundredths: noise no real
    pointer makes, which no compressor can remove; docs/performance.md has both figures.)"""
    for p in data.get("positions", ()):
        p["x"] = max(0, p["x"] + shift.x + rng.randrange(-2, 3))
        p["y"] = max(0, p["y"] + shift.y + rng.randrange(-2, 3))
    for k, d in (("x", shift.x), ("y", shift.y)):
        if isinstance(data.get(k), int | float) and data.get("source") != 3:
            data[k] = max(0, data[k] + d + rng.randrange(-2, 3))
    if data.get("source") == 3:  # scroll
        data["y"] = max(0, int(data.get("y", 0)) + shift.scroll)


def cut(events: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Batches as the SDK seals them."""
    out: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    sealed_at = events[0]["timestamp"]
    for e in events:
        if current and (e["timestamp"] - sealed_at >= BATCH_MS or len(current) >= BATCH_EVENTS):
            out.append(current)
            current, sealed_at = [], e["timestamp"]
        current.append(e)
    if current:
        out.append(current)
    return out


def run(sessions: int, seed: int = SEED, keep: Path | None = None) -> dict[str, Any]:
    rng = random.Random(seed)
    recorded = recordings()
    urls = [f"{shop.ORIGIN}{path}" for _, _, path, _ in shop.paths()]
    root = Path(tempfile.mkdtemp(prefix="sessionstory-storage-"))
    dd = DataDir(prepare_data_dir(load_settings(root / "data", env={})))
    try:
        project = dd.projects.create("Shop")
        account_bytes = dd.log.allocated_bytes()
        raw = gz = minutes_ms = n_batches = 0
        started = time.perf_counter()
        now = int(time.time() * 1000)
        dd.start()  # group commit and the index writer, as in the server
        pending = []
        for n in range(sessions):
            events = variant(rng, recorded, now - 2 * 3_600_000 - n * 60_000, urls)
            minutes_ms += events[-1]["timestamp"] - events[0]["timestamp"]
            for seq, chunk in enumerate(cut(events)):
                body = json.dumps({"key": project.public_key, "session_id": f"bench-{n}", "visitor_id": f"v-{n}",
                                   "seq": seq, "events": chunk}).encode()
                prepared = prepare(dd.projects, body, "", None, AGENT, dd.settings.limits)
                meta = msgspec.structs.replace(prepared.record.meta, received_ms=chunk[-1]["timestamp"])
                pending.append(dd.log.submit(msgspec.structs.replace(prepared.record, meta=meta), prepared.facts))
                stored_json = b"".join(b.events for b in batches(prepared.record, dd.log.dictionaries))
                raw += len(stored_json)
                gz += len(gzip.compress(stored_json, 6))
                n_batches += 1
        for future in pending:
            future.result()
        dd.index.flush()
        ingest_s = time.perf_counter() - started
        before = dd.log.allocated_bytes() - account_bytes

        started = time.perf_counter()
        summary = dd.compactor.run(0)
        compact_s = time.perf_counter() - started
        after = dd.log.allocated_bytes() - account_bytes
        live = {k: 0 for k in ("compacted", "dictionary")}
        nodict = 0
        for location, record in dd.log.scan():
            if record.kind == Kind.COMPACTED:
                live["compacted"] += location.length
                nodict += len(encode(pack(batches(record, dd.log.dictionaries), None)))
            elif record.kind == Kind.DICTIONARY:
                live["dictionary"] += location.length
        minutes = minutes_ms / 60_000
        return {
            "sessions": sessions, "batches": n_batches, "recorded_minutes": round(minutes, 1), "seed": seed,
            "raw_json": raw, "gzip6_per_batch": gz, "log_before": before, "log_after": after,
            "compacted_records": live["compacted"], "dictionary": live["dictionary"],
            "compacted_without_dictionary": nodict, "level": LEVEL,
            "ingest_s": round(ingest_s, 1), "compact_s": round(compact_s, 1), "summary": summary.text(),
        }
    finally:
        dd.close()
        if keep is None:
            shutil.rmtree(root, ignore_errors=True)


def report(r: dict[str, Any]) -> str:
    n, minutes = r["sessions"], r["recorded_minutes"]
    rows = [
        ("raw JSON (as stored, decompressed)", r["raw_json"]),
        ("gzip -6 of each batch (baseline)", r["gzip6_per_batch"]),
        ("log before compaction (zstd -3 per batch)", r["log_before"]),
        ("log after compaction (on disk)", r["log_after"]),
    ]
    lines = [
        f"Storage: {n} sessions of the /demo page ({r['batches']} batches, {minutes:,.0f} recorded minutes, seed {r['seed']})",
        f"{'':44} {'bytes':>12} {'/session':>10} {'/minute':>10} {'/raw':>7} {'/gzip':>7}",
    ]
    for name, value in rows:
        lines.append(f"{name:44} {value:>12,} {value / n:>10,.0f} {value / minutes:>10,.0f} "
                     f"{value / r['raw_json']:>7.1%} {value / r['gzip6_per_batch']:>7.1%}")
    extra_dict = r["compacted_records"] / n
    extra_plain = r["compacted_without_dictionary"] / n
    lines += [
        "",
        f"An extra session of the same page (cross-session dedup): {extra_dict:,.0f} bytes compacted with the project's "
        f"dictionary, {extra_plain:,.0f} without it, {r['gzip6_per_batch'] / n:,.0f} as gzip -6 batches; the "
        f"dictionary itself is {r['dictionary']:,} bytes, once per project.",
        f"Goals after compaction: ≤ 5 % of raw JSON ({r['log_after'] / r['raw_json']:.1%}), "
        f"≤ 60 % of per-batch gzip -6 ({r['log_after'] / r['gzip6_per_batch']:.1%}).",
        f"Ingest {r['ingest_s']} s, compaction {r['compact_s']} s (zstd level {r['level']}): {r['summary']}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.storage", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=DEFAULT_SESSIONS)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    if args.sessions < 20:
        parser.error("--sessions must be at least 20")
    print(report(run(args.sessions, args.seed)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
