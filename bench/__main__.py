"""`python -m bench`: run every benchmark and print its figures beside their baselines.

    python -m bench                          # everything; the queries over 1,000,000 sessions
    python -m bench --sessions 20000         # a quick smoke run (under a minute)
    python -m bench --only queries --markdown

The dashboard-query benchmark builds (or reuses) its synthetic data first.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import queries, stats, synth

DEFAULT_ROOT = synth.DEFAULT_ROOT
BENCHMARKS = ("queries", "handoff", "extraction", "storage", "ingest", "sdk", "summary")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=synth.DEFAULT_SESSIONS,
                        help=f"synthetic sessions (default {synth.DEFAULT_SESSIONS:,})")
    parser.add_argument("--only", choices=BENCHMARKS, action="append", help="run only this benchmark (repeatable)")
    parser.add_argument("--data-root", type=Path, default=DEFAULT_ROOT,
                        help=f"where generated data directories are kept and reused (default {DEFAULT_ROOT}, "
                             "or $SESSIONSTORY_BENCH_DIR)")
    parser.add_argument("--fresh", action="store_true", help="regenerate the data even if a cached copy exists")
    parser.add_argument("--reps", type=int, default=stats.REPS,
                        help=f"timed runs per query, after {stats.WARMUPS} warm-ups (default {stats.REPS})")
    parser.add_argument("--markdown", action="store_true", help="print the result table as Markdown too")
    parser.add_argument("--explain", nargs="*", metavar="QUERY",
                        help="print EXPLAIN ANALYZE of the statements of the named queries ('all'), "
                             "or with no name, of those that missed their latency goal")
    args = parser.parse_args(argv)
    if args.sessions < 100:
        parser.error("--sessions must be at least 100")
    if args.reps < 1:
        parser.error("--reps must be at least 1")
    only = args.only or list(BENCHMARKS)
    started = time.perf_counter()
    command = "python -m bench " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))

    if "storage" in only:
        from bench import storage  # variants of the demo recordings in a fresh data directory, compacted

        print(storage.report(storage.run(storage.DEFAULT_SESSIONS)))
        print()
    if "handoff" in only:
        from bench import handoff  # the event loop's hop to a worker thread and back (~10 s)

        handoff.main([])
        print()
    if "extraction" in only:
        from bench import extraction  # its own small data: the demo recordings through the real app

        extraction.main()
        print()
    if "ingest" in only:
        from bench import ingest  # a real server and a load generator in another process (~3 min)

        ingest.main([])
        print()
    if "sdk" in only:
        from bench import sdk  # Chromium and a real server (~4 min)

        sdk.main([])
        print()
    if "summary" in only:
        from bench import summary  # the eval's scenarios through the real app, then the model (~2-6 min)

        summary.main([])
        print()
    if "queries" in only:
        data_dir, info = synth.ensure(args.data_root, args.sessions, fresh=args.fresh)
        load_before = os.getloadavg()[0]
        report = queries.run(data_dir, info, reps=args.reps)
        load = f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
        when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        print()
        print(f"Dashboard queries: {info.sessions:,} sessions (seed {info.seed}), index {info.index_bytes / 2**20:,.0f} MiB, "
              f"made in {info.seconds:.0f} s")
        print(f"{when}; {queries.machine()}; {load}")
        print(f"`{command}`: {args.reps} runs of raw and web in turns after {stats.WARMUPS} warm-ups; "
              f"times in ms; bare HTTP GET /healthz p50 {stats.ms(stats.p50(report.bare_http))} ms, "
              f"GET /api/v1/projects with the token p50 {stats.ms(stats.p50(report.authed_http))} ms")
        print(f"deep page = cursor after {report.ctx.deep_offset:,} sessions; heatmap page = {report.ctx.top_url}")
        print()
        print(report.text())
        print()
        print("raw = the route's SQL on a read-only DuckDB connection to a copy of the index; fn = the index function")
        print("(SQL + Python result, 5 runs); web = GET through `sessionstory serve` over keep-alive HTTP, alternating")
        print("with raw; web/raw = ratio of the p50s; web-raw = the difference of the p50s in ms.")
        print(f"Goals: session list p95 ≤ {queries.LIST_GOAL_MS} ms, overview p95 ≤ {queries.OVERVIEW_GOAL_MS} ms, "
              f"web ≤ {queries.WEB_OVERHEAD_GOAL:.1f} × raw.")
        if args.markdown:
            print()
            print(report.text(markdown=True))
        print()
        print("Where the raw time goes (p50 per statement):")
        print(report.breakdown())
        out = args.data_root / f"results-queries-{info.sessions}.json"
        out.write_text(json.dumps({"date": when, "command": command, "machine": queries.machine(), "load": load,
                                   **report.to_json()}, indent=2))
        print(f"\n(results also in {out})")
        if args.explain is not None:
            names = set(args.explain) if args.explain else None
            print()
            print(queries.explain(data_dir, report.results, names) or "(nothing missed its latency goal)")
    print(f"\nbench: done in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
