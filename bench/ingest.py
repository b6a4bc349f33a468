"""Ingest throughput and acknowledgement latency beside the same server's bare endpoint.

    python -m bench.ingest [--seconds 8] [--concurrency 1 4 16 64] [--sessions 200]

A real `sessionstory serve` (fsync on, as always) on loopback takes batches cut as the
SDK cuts them from the demo project's real recordings (sessionstory.demo.recordings(),
varied by bench.storage's seeded generator, every session id new), gzipped as the SDK
sends them. A load generator in a separate process (asyncio, raw HTTP/1.1 keep-alive,
one connection per concurrent client, each sending its next request once the last is
answered) times each request from its first byte sent to its last byte answered.

Baseline, at the same concurrency against the same server in the same run: GET /healthz.
Goals (issue 7): ingest at least 50 % of the bare request rate, p99 at most twice the bare p99.

Also: the fsync latency of this disk (a ~460-byte append then fsync, as the log's group commit
does, in the data directory's file system, before the server starts): at concurrency 1 every
answer waits for one, so 1000 / its p50 in ms bounds the ingest rate there.

Also: the server's CPU per request (every thread, from /proc) at each level, for ingest and for the
bare endpoint, and how much of ingest's is the event loop's thread (the main one), which every
request passes through holding the GIL: the rest is the committer, the index writer and workers.

Also: the log's group commits (a write and an fsync each) during each ingest level, from the
server's own `sessionstory_log_commit_seconds` histogram at /metrics: the bucket holding their
99th percentile, against the acknowledgements' p99 (at concurrency 1 every answer waits for one).

Also: extraction and sanitising CPU per batch (facts.batch_facts + signals.advance, and
ingest's scrub_inputs + sanitize_event, timed here on the same batches) as a share of
the server's whole CPU per acknowledged batch (every thread, from /proc) in the run.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

from bench import stats

SEED = 20_261_126
GOAL_RATE, GOAL_P99 = 0.5, 2.0
RATE_VARIABLE = "SESSIONSTORY_INGEST_RATE_PER_PROJECT"


# -- the load generator (a separate process) -------------------------------------------


async def _client(host: str, port: int, requests: list[bytes], deadline: float, out: dict[str, Any]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for request in requests:
            if time.perf_counter() >= deadline:
                return
            start = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if length:
                await reader.readexactly(length)
            out["latencies"].append((time.perf_counter() - start) * 1000)
            out["statuses"][int(head.split(b" ", 2)[1])] += 1
    finally:
        writer.close()


async def _load(host: str, port: int, per_client: list[list[bytes]], seconds: float) -> dict[str, Any]:
    out: dict[str, Any] = {"latencies": [], "statuses": Counter()}
    start = time.perf_counter()
    await asyncio.gather(*(_client(host, port, reqs, start + seconds, out) for reqs in per_client))
    out["seconds"] = time.perf_counter() - start
    return out


def _requests(spec: dict[str, Any]) -> list[list[bytes]]:
    """Every client's requests, made before the clock starts."""
    host = f"127.0.0.1:{spec['port']}"
    if spec["kind"] == "bare":
        get = f"GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
        return [[get] * spec["max_requests"] for _ in range(spec["concurrency"])]
    sessions = json.loads(Path(spec["sessions_file"]).read_text())
    clients: list[list[bytes]] = [[] for _ in range(spec["concurrency"])]
    n = 0
    while sum(map(len, clients)) < spec["max_requests"] * spec["concurrency"]:
        for c, reqs in enumerate(clients):  # each client sends whole sessions, batch after batch
            batches = sessions[n % len(sessions)]
            sid = f"{spec['run']}-{c}-{n}"
            for seq, events_json in enumerate(batches):
                body = gzip.compress((f'{{"key":"{spec["key"]}","session_id":"{sid}","visitor_id":"v-{sid}",'
                                      f'"seq":{seq},"events":{events_json}}}').encode(), 6)
                reqs.append(f"POST /api/v1/ingest HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                            f"Content-Encoding: gzip\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
            n += 1
    return clients


def generator_main(spec_json: str) -> None:
    spec = json.loads(spec_json)
    per_client = _requests(spec)
    out = asyncio.run(_load("127.0.0.1", spec["port"], per_client, spec["seconds"]))
    json.dump({"latencies": out["latencies"], "statuses": dict(out["statuses"]), "seconds": out["seconds"]}, sys.stdout)


def run_generator(spec: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "bench.ingest", "--generator", json.dumps(spec)],
                          capture_output=True, text=True, timeout=spec["seconds"] + 300)
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout)  # type: ignore[no-any-return]


# -- the batches -------------------------------------------------------------------------


def make_sessions(count: int, seed: int = SEED) -> list[list[list[dict[str, Any]]]]:
    """`count` sessions of SDK-cut batches from the real recordings (bench.storage's generator)."""
    from bench.storage import cut, variant
    from sessionstory.demo import recordings

    rng = random.Random(seed)
    recorded = recordings()
    urls = [f"https://shop.example/{p}" for p in ("", "products", "cart", "checkout", "account")]
    start = int(time.time() * 1000) - 3_600_000
    return [cut(variant(rng, recorded, start + i * 1000, urls)) for i in range(count)]


def fsync_ms(directory: Path, count: int = 300, size: int = 460) -> list[float]:
    """Times of `count` appends of `size` bytes, each followed by fsync, in ms."""
    path = directory / "fsync-probe"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    times = []
    try:
        for _ in range(count):
            start = time.perf_counter()
            os.write(fd, b"x" * size)
            os.fsync(fd)
            times.append((time.perf_counter() - start) * 1000)
    finally:
        os.close(fd)
        path.unlink()
    return times


def server_cpu_s(pid: int, thread: int | None = None) -> float:
    """CPU seconds (user + system) of the whole process, or of one of its threads."""
    path = f"/proc/{pid}/stat" if thread is None else f"/proc/{pid}/task/{thread}/stat"
    fields = Path(path).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_split(pid: int) -> tuple[float, float]:
    """CPU seconds of the whole server and of its event loop's thread (the main one: its id is the
    process id), which every request passes through, holding the GIL."""
    return server_cpu_s(pid), server_cpu_s(pid, pid)


def per_request_ms(before: tuple[float, float], after: tuple[float, float], requests: float) -> tuple[float, float]:
    """CPU per request between two `cpu_split`s: the whole server's, and its event loop's."""
    n = max(1, requests)
    return (after[0] - before[0]) * 1000 / n, (after[1] - before[1]) * 1000 / n


def commit_histogram(url: str) -> dict[float, float]:
    """The server's group commits so far, by duration: {bucket's upper bound in s: commits at most that long}."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=30) as answer:
        text = answer.read().decode()
    buckets = {}
    for line in text.splitlines():
        if line.startswith("sessionstory_log_commit_seconds_bucket{"):
            bound = line.split('le="', 1)[1].split('"', 1)[0]
            buckets[float(bound)] = float(line.rsplit(" ", 1)[1])
    return buckets


def commit_p99_bound_ms(before: dict[float, float], after: dict[float, float]) -> float:
    """The upper bound of the bucket holding the 99th percentile of the commits between two scrapes, in ms."""
    counts = {bound: after[bound] - before.get(bound, 0.0) for bound in sorted(after)}
    total = counts.get(float("inf"), 0.0)
    if not total:
        return float("nan")
    return next(bound for bound, n in counts.items() if n >= 0.99 * total) * 1000


def part_cpu_ms(sessions: list[list[list[dict[str, Any]]]]) -> tuple[float, float, int]:
    """CPU of sanitising (scrub_inputs + sanitize_event) and of extraction (batch_facts +
    signals.advance) over every batch of these sessions, in ms, and the batch count."""
    import msgspec

    from sessionstory.events import event_decoder
    from sessionstory.facts import batch_facts
    from sessionstory.ingest import scrub_inputs
    from sessionstory.sanitize import sanitize_event
    from sessionstory.signals import SessionState, advance

    decoded = []
    for session in sessions:
        for batch in session:
            raws = [msgspec.Raw(json.dumps(e).encode()) for e in batch]
            decoded.append((raws, [event_decoder.decode(r) for r in raws]))
    start = time.process_time()
    for raws, events in decoded:
        for raw, event in zip(scrub_inputs(raws, events), events):
            sanitize_event(raw, event)
    sanitising = time.process_time() - start
    start = time.process_time()
    state = SessionState()
    for _, events in decoded:
        advance(state, batch_facts(events))
    extraction = time.process_time() - start
    return sanitising * 1000, extraction * 1000, len(decoded)


# -- the run -----------------------------------------------------------------------------


def summary(result: dict[str, Any]) -> dict[str, float]:
    lat = sorted(result["latencies"])
    ok = result["statuses"].get("200", 0)
    return {"rps": ok / result["seconds"], "p50": stats.p50(lat) if lat else float("nan"),
            "p99": stats.percentile(lat, 99) if lat else float("nan"), "requests": len(lat),
            "errors": len(lat) - ok}


def run(seconds: float, levels: list[int], sessions: int) -> dict[str, Any]:
    from tests.server import Server

    built = make_sessions(sessions)
    batches_made = sum(map(len, built))
    with tempfile.TemporaryDirectory() as tmp:
        sessions_file = Path(tmp) / "sessions.json"
        sessions_file.write_text(json.dumps([[json.dumps(b, separators=(",", ":")) for b in s] for s in built]))
        fsyncs = fsync_ms(Path(tmp))
        rate_limit = os.environ.get(RATE_VARIABLE)
        os.environ[RATE_VARIABLE] = "0"  # the bench is one project's flood: no per-project rate limit
        try:
            server = Server(Path(tmp) / "data").start()
        finally:
            os.environ.pop(RATE_VARIABLE) if rate_limit is None else os.environ.update({RATE_VARIABLE: rate_limit})
        try:
            key = server.project("Ingest bench")["public_key"]
            assert server.proc is not None
            base = {"port": server.port, "key": key, "sessions_file": str(sessions_file)}
            run_generator({**base, "kind": "ingest", "run": "warm", "concurrency": 4, "seconds": 2,
                           "max_requests": 400})
            rows, cpu_per_batch = [], []
            pid = server.proc.pid
            for level in levels:
                before = cpu_split(pid)
                bare = summary(run_generator({**base, "kind": "bare", "concurrency": level, "seconds": seconds,
                                              "max_requests": 200_000 // level}))
                between = cpu_split(pid)
                commits_before = commit_histogram(server.url)
                # Enough distinct batches that no request is a retry of another.
                raw = run_generator({**base, "kind": "ingest", "run": f"c{level}", "concurrency": level,
                                     "seconds": seconds, "max_requests": max(400, int(2500 * seconds) // level)})
                ingest = summary(raw)
                ingest_cpu = per_request_ms(between, cpu_split(pid), ingest["requests"])
                commit_p99 = commit_p99_bound_ms(commits_before, commit_histogram(server.url))
                cpu_per_batch.append(ingest_cpu[0])
                rows.append({"concurrency": level, "ingest": ingest, "bare": bare, "cpu_ms_per_batch": ingest_cpu[0],
                             "loop_ms_per_batch": ingest_cpu[1], "commit_p99_ms": commit_p99,
                             "bare_cpu_ms": per_request_ms(before, between, bare["requests"])[0]})
                print(f"  c={level}: ingest {ingest['rps']:.0f}/s p50 {ingest['p50']:.1f} p99 {ingest['p99']:.1f} ms, "
                      f"CPU {ingest_cpu[0]:.2f} ms/batch ({ingest_cpu[1]:.2f} on the loop), commit p99 ≤ {commit_p99:g} ms; bare {bare['rps']:.0f}/s "
                      f"p50 {bare['p50']:.2f} p99 {bare['p99']:.2f} ms, CPU {rows[-1]['bare_cpu_ms']:.2f} ms/request "
                      f"(load {os.getloadavg()[0]:.1f})", flush=True)
        finally:
            server.stop()
    sanitising, extraction, counted = part_cpu_ms(built)
    return {"rows": rows, "sessions": sessions, "batches": batches_made, "events_per_batch": sum(len(b) for s in built for b in s) / batches_made,
            "gzip_bytes_per_batch": statistics.mean(len(gzip.compress(json.dumps(b).encode(), 6)) for s in built for b in s),
            "sanitising_ms": sanitising / counted, "extraction_ms": extraction / counted,
            "fsync_p50": stats.p50(fsyncs), "fsync_p99": stats.percentile(fsyncs, 99),
            "server_cpu_ms": statistics.median(cpu_per_batch) if cpu_per_batch else float("nan")}


def report(r: dict[str, Any], command: str, load: str) -> str:
    lines = [f"`{command}`; {load}",
             f"{r['sessions']} generated sessions hold {r['batches']:,} SDK-cut batches (sent again and again, each "
             f"time under new session ids): {r['events_per_batch']:.0f} events and "
             f"{r['gzip_bytes_per_batch']:,.0f} gzipped bytes per batch on average",
             "",
             "| concurrency | ingest req/s | bare req/s | ingest/bare | ingest p50 ms | ingest p99 ms | bare p50 ms "
             "| bare p99 ms | p99 ratio | rate ≥ 50 % | p99 ≤ 2× | CPU ms/batch (on the loop) | bare CPU ms/request "
             "| log commit p99 ≤ ms |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: | ---: |"]
    for row in r["rows"]:
        i, b = row["ingest"], row["bare"]
        rate, p99 = i["rps"] / b["rps"], i["p99"] / b["p99"]
        lines.append(f"| {row['concurrency']} | {i['rps']:,.0f} | {b['rps']:,.0f} | {rate:.1%} | {i['p50']:.1f} | "
                     f"{i['p99']:.1f} | {b['p50']:.2f} | {b['p99']:.2f} | {p99:.1f}× | "
                     f"{'PASS' if rate >= GOAL_RATE else 'MISS'} | {'PASS' if p99 <= GOAL_P99 else 'MISS'} | "
                     f"{row['cpu_ms_per_batch']:.2f} ({row['loop_ms_per_batch']:.2f}) | {row['bare_cpu_ms']:.2f} | "
                     f"{row['commit_p99_ms']:g} |")
    errors = sum(row["ingest"]["errors"] for row in r["rows"])
    share = (r["sanitising_ms"] + r["extraction_ms"]) / r["server_cpu_ms"]
    lines += ["", f"non-200 ingest answers: {errors}",
              f"fsync of a 460-byte append on this disk: p50 {r['fsync_p50']:.2f} ms, p99 {r['fsync_p99']:.2f} ms "
              f"(each answer waits for one; back to back, as here, this disk allows ~{1000 / r['fsync_p50']:,.0f} a second)",
              f"server CPU per acknowledged batch (every thread, median over the levels): {r['server_cpu_ms']:.2f} ms; "
              f"sanitising {r['sanitising_ms']:.3f} ms + extraction {r['extraction_ms']:.3f} ms per batch = "
              f"**{share:.1%}** of it"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="timed seconds per endpoint and level (default 8)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16, 64],
                        help="concurrent clients (default 1 4 16 64)")
    parser.add_argument("--sessions", type=int, default=200, help="distinct recorded-session shapes (default 200)")
    parser.add_argument("--generator", help=argparse.SUPPRESS)  # the load generator's own process
    args = parser.parse_args(argv)
    if args.generator:
        generator_main(args.generator)
        return 0
    command = "python -m bench.ingest " + " ".join(argv if argv is not None else sys.argv[1:])
    load_before = os.getloadavg()
    r = run(args.seconds, args.concurrency, args.sessions)
    load_after = os.getloadavg()
    load = (f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after "
            f"(1 min; {os.cpu_count()} cores, shared)")
    print()
    print(report(r, command.strip(), load))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
