"""Live latency: from a DOM change on a visitor's page to the viewer's replayed frame.

    python -m bench.live [--changes 20]

A visitor (the server's own /demo page, recorded by the real SDK) and a viewer (the
dashboard's live mode) run in one Chromium, so both read the same clock. The visitor
adds an element every 300 to 700 ms; a MutationObserver in the viewer's replay frame
notes when it appears. Goal (issue #4): p50 <= 1 s and max <= 2 s on loopback.

Baseline, measured in the same run: the server's own path alone: a batch POSTed to
ingest and read back from the live stream by a plain HTTP client, no SDK batching, no
browser. The difference is what the SDK's pacing and the player add.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from bench import stats
from tests.e2e.conftest import CHROMIUM_ARGS, find_chromium, signed_in_page, wait_for_sdk
from tests.server import Server

GOAL_P50_MS, GOAL_MAX_MS = 1000, 2000

WATCH_FRAME = """() => {
  const frame = document.querySelector('[data-testid="player"] iframe');
  window.__seen = {};
  new MutationObserver(() => {
    for (const el of frame.contentDocument.querySelectorAll('p[id^="live-"]'))
      window.__seen[el.id] ??= Date.now();
  }).observe(frame.contentDocument, { childList: true, subtree: true });
}"""


def browser_latencies(server: Server, changes: int, seed: int = 7) -> list[float]:
    from playwright.sync_api import sync_playwright

    executable = find_chromium()
    if executable is None:
        raise SystemExit("no Chromium found: install Debian's chromium or set SESSIONSTORY_CHROMIUM")
    rng = random.Random(seed)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        visitor = browser.new_context(viewport={"width": 1024, "height": 700}).new_page()
        visitor.goto(f"{server.url}/demo")
        wait_for_sdk(visitor)
        visitor.evaluate("window.sessionstory.flush()")
        session_id = visitor.evaluate("window.sessionstory.sessionId()")
        _, viewer = signed_in_page(browser, server)
        viewer.goto(f"{server.url}/sessions/{session_id}?live=1")
        viewer.wait_for_selector('[data-testid="player"][data-ready="true"]', timeout=30_000)
        viewer.evaluate(WATCH_FRAME)
        # One change to let the SDK learn that someone watches (its next answer says so).
        _change(visitor, "warmup")
        # A function, not an expression: the dashboard's CSP has no 'unsafe-eval' for Playwright's eval.
        viewer.wait_for_function("key => window.__seen[key]", arg="live-warmup", timeout=10_000)
        made: dict[str, int] = {}
        for n in range(changes):
            made[f"live-{n}"] = _change(visitor, str(n))
            time.sleep(rng.uniform(0.3, 0.7))
        viewer.wait_for_function("key => window.__seen[key]", arg=f"live-{changes - 1}", timeout=10_000)
        seen: dict[str, int] = viewer.evaluate("window.__seen")
        browser.close()
    return [float(seen[key] - at) for key, at in made.items()]


def _change(page: Any, name: str) -> int:
    return int(page.evaluate(
        "n => { const t = Date.now(); document.body.insertAdjacentHTML('beforeend', `<p id=\"live-${n}\">change ${n}</p>`); return t; }",
        name,
    ))


def server_latencies(server: Server, changes: int) -> list[float]:
    """POST a batch, time until the live stream hands it out: the server's part of the path."""
    token = server.token()
    key = server.project("Live bench")["public_key"]
    session_id = f"bench-live-{time.time_ns()}"
    base = {"key": key, "session_id": session_id, "visitor_id": "bench"}
    now = int(time.time() * 1000)
    httpx.post(f"{server.url}/api/v1/ingest", json={**base, "seq": 0, "events": [
        {"type": 4, "timestamp": now, "data": {"href": "https://bench.example/", "width": 800, "height": 600}}]})
    arrived: dict[int, float] = {}
    ready = threading.Event()

    def listen() -> None:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.stream("GET", f"{server.url}/api/v1/sessions/{session_id}/live", headers=headers, timeout=30) as r:
            for line in r.iter_lines():
                ready.set()
                if line.startswith("data:") and '"events"' in line and '"received_ms":null' not in line:
                    arrived[len(arrived) + 1] = time.perf_counter()
                    if len(arrived) == changes:
                        return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    ready.wait(10)
    sent: dict[int, float] = {}
    with httpx.Client() as client:
        for seq in range(1, changes + 1):
            sent[seq] = time.perf_counter()
            event = {"type": 3, "timestamp": now + seq, "data": {"source": 0, "texts": [], "attributes": [], "removes": [], "adds": []}}
            client.post(f"{server.url}/api/v1/ingest", json={**base, "seq": seq, "events": [event]})
            time.sleep(0.1)
    thread.join(15)
    return [(arrived[seq] - sent[seq]) * 1000 for seq in sent if seq in arrived]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.live", description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=20, help="DOM changes to time (default 20)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp) / "data").start()
        try:
            viewer = browser_latencies(server, args.changes)
            bare = server_latencies(server, args.changes)
        finally:
            server.stop()
    print("per change (ms):", " ".join(f"{v:.0f}" for v in viewer))
    p50, worst = stats.p50(viewer), max(viewer)
    print(f"Live latency over {len(viewer)} DOM changes (Chromium, loopback):")
    print(f"  visitor change -> viewer frame: p50 {p50:.0f} ms, p95 {stats.p95(viewer):.0f} ms, max {worst:.0f} ms"
          f"  (goal p50 <= {GOAL_P50_MS}, max <= {GOAL_MAX_MS}: {'met' if p50 <= GOAL_P50_MS and worst <= GOAL_MAX_MS else 'MISSED'})")
    print(f"  baseline, ingest POST -> live stream: p50 {stats.p50(bare):.1f} ms, max {max(bare):.1f} ms"
          f"  (ratio of p50s {p50 / max(stats.p50(bare), 0.1):.0f}x: the SDK's 250 ms pacing and the player's)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
