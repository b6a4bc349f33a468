"""Replay start: time to the first frame of a long session, beside fetching its events as a static file.

    python -m bench.replay [--minutes 60] [--memory-minutes 120] [--checkout-minutes 5] [--hover] [--throttle MBIT]
                           [--openings-only]

A real page (Python's documentation, recorded by the real SDK in Chromium) is stretched
into a long session by a seeded generator: mouse moves, scrolls, text changes, a new
page load every ten minutes and, between them, a full snapshot every five minutes as the
SDK takes them (`--checkout-minutes 0`: none, as the generator had before), sent through
ingest in 10-second batches. The mouse is over the document, hovering nothing (`--hover`: over
one of the page's links, so a frame after its first move shows a hovered element, as most real
ones do). Then, in Chromium:

- baseline: the same events as one static file served by the same server, fetched and
  parsed (`fetch().json()`), timed in the page, reached from a blank page as the player's
  openings are, and measured in rounds with them (the file, then each position);
- the player, warm (after two untimed openings: the first ones in a browser compile player.js, and the fresh
  browser's row below tells that case): navigation (from a blank page, once the server's local model has stopped
  the last opening's summary: wait_for_idle_model) to `/sessions/{id}?t=T` until the root says
  `data-ready="true"`, at the start, half-way in (30 minutes: a page load's very moment) and 9.5
  minutes later, just before the next page load, where the most events follow the last full
  snapshot (4.5 minutes of them, or 9.5 without checkouts; the requested time must be on screen).

Goal (issue #4): the player within 1.5x of the baseline. Each first frame is also told step by
step (medians, ms since the previous step): the page's HTML in, player.js in, the bundle running,
the first events asked for, their answer's headers (handed over from the page's preload), the
first events parsed, the Replayer built, the frame at ?t= in the DOM, painted (the player's
`ss:*` performance marks), then how long after it the server's moments are shown and how
much of the main thread long tasks take until all of the session is in. A second opening: in a browser
that has just opened the busy session, back to the session list and on to the steady one at 0 (the bundles
from its cache), beside the same opening in a fresh browser that comes from the list (each signed in anew),
with how many of /static's answers came over the network. And the player's JS heap for a 2-hour session,
beside the size of its events (`--memory-minutes 0` leaves it out). The load average is printed: figures from a busy
machine are not comparable with an idle one's.

`--throttle MBIT`: the viewer on a network, not the loopback: Chromium throttles every request of the bench's
pages to MBIT Mbit/s with 40 ms of latency (as DevTools does), and the static file goes gzipped, as a static
server would send it, while the player's answers go as the server compresses them (web/compression.py).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench import stats
from sessionstory.web.collect import DIST
from tests.e2e.conftest import CHROMIUM_ARGS, find_chromium, signed_in_page, wait_for_sdk
from tests.e2e.sites import Sites
from tests.server import Server

STATIC = DIST.parent / "bench-events.json"  # under /static/, served by the server itself
STATIC_GZ = STATIC.with_name(STATIC.name + ".gz")  # its copy for a throttled network (--throttle)
THROTTLE_LATENCY_MS = 40
BATCH_S = 10
REPS = 9
WARM_UPS = 2
PAGE_LOAD_MS = 600_000
# The SDK's rrweb takes a full snapshot every five minutes (checkoutEveryNms in sdk_js/src/recorder.ts), so
# a real session never holds more than five minutes of changes after its last one.
CHECKOUT_MS = 300_000


def record_page(browser: Any, server: Server, sites: Sites, token: str) -> list[dict[str, Any]]:
    """A real recording of a documentation page: its Meta and FullSnapshot events."""
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    page.goto(f"{sites.url}/pydocs/library/functions.html")
    wait_for_sdk(page)
    session_id = page.evaluate("window.sessionstory.sessionId()")
    page.evaluate("window.sessionstory.flush()")
    page.context.close()
    events = _get(server, f"/api/v1/sessions/{session_id}/events", token)
    return [e for e in events if e["type"] in (2, 4)][:2]


def long_session(opening: list[dict[str, Any]], minutes: int, seed: int = 20261126, busy: bool = False,
                 checkout_ms: int = CHECKOUT_MS, hover: bool = False) -> list[dict[str, Any]]:
    """`minutes` of plausible activity over the recorded page, page loads every ten minutes; `busy`
    adds what a single-page app does all the time: a list re-rendered every half second. Between page
    loads, a full snapshot every `checkout_ms` as the SDK takes them (0: none). The mouse is over the
    document, which hovers nothing; `hover`: over one of the page's links, as a recording names the element
    under the pointer (a frame after the first move then shows that link hovered)."""
    rng = random.Random(seed)
    meta, snapshot = opening
    nodes = _nodes(snapshot["data"]["node"])
    text_ids = [n["id"] for n in nodes if n.get("type") == 3 and n.get("textContent", "").strip()]
    links = [n["id"] for n in nodes if n.get("type") == 2 and n.get("tagName") == "a"]
    under_mouse = rng.choice(links) if hover and links else 1
    start = int(time.time() * 1000) - minutes * 60_000 - 60_000
    events: list[dict[str, Any]] = []
    for t in range(0, minutes * 60_000, 500):
        at = start + t
        if t % PAGE_LOAD_MS == 0 or (checkout_ms and t % checkout_ms == 0):
            # rrweb's checkout is a page load's pair of events too (Meta, then the full snapshot), on the same page.
            events += [{**meta, "timestamp": at}, {**snapshot, "timestamp": at + 1}]
            continue
        positions = [{"x": rng.randrange(1280), "y": rng.randrange(800), "id": under_mouse, "timeOffset": -450 + 50 * i}
                     for i in range(10)]
        events.append({"type": 3, "timestamp": at, "data": {"source": 1, "positions": positions}})
        if t % 4_000 == 0:
            events.append({"type": 3, "timestamp": at + 10, "data": {"source": 3, "id": 1, "x": 0,
                                                                    "y": rng.randrange(0, 20_000)}})
        if t % 10_000 == 0 or busy:
            events.append({"type": 3, "timestamp": at + 20, "data": {
                "source": 0, "adds": [], "removes": [], "attributes": [],
                "texts": [{"id": i, "value": f"changed at {t} ms"} for i in rng.sample(text_ids, 40 if busy else 1)]}})
    return events


def _nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    out, stack = [], [node]
    while stack:
        n = stack.pop()
        out.append(n)
        stack.extend(n.get("childNodes", []))
    return out


def ingest(server: Server, key: str, session_id: str, events: list[dict[str, Any]]) -> None:
    batches: dict[int, list[dict[str, Any]]] = {}
    first = events[0]["timestamp"]
    for e in events:
        batches.setdefault((e["timestamp"] - first) // (BATCH_S * 1000), []).append(e)
    for seq, (_, batch) in enumerate(sorted(batches.items())):
        body = json.dumps({"key": key, "session_id": session_id, "visitor_id": "bench", "seq": seq, "events": batch})
        req = urllib.request.Request(f"{server.url}/api/v1/ingest", data=body.encode(),
                                     headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=60).read()


def _get(server: Server, path: str, token: str) -> Any:
    req = urllib.request.Request(server.url + path, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.loads(r.read())


def time_static(page: Any, server: Server) -> float:
    # From a page of the same server, whose policy lets it fetch from there: an HTML one (an asset's does not),
    # and one that does nothing else meanwhile (the not-found page). Reached as each opening of the player is:
    # from a blank page, once the server's model is idle (the summary the last opening asked for is stopped).
    # Straight from the last player's page, the file's parse ran while the browser let go of that large page:
    # about 20 ms slower than from a blank one.
    page.goto("about:blank")
    wait_for_idle_model(server)
    page.goto(f"{server.url}/bench-baseline")
    return float(page.evaluate("""async (url) => {
        const t = performance.now();
        const events = await (await fetch(url, {cache: "no-store"})).json();
        return events.length ? performance.now() - t : -1;
    }""", f"{server.url}/static/{STATIC.name}"))


# The first frame is read in the page: `__readyAt` when the root gets data-ready, and `__ready`, a promise the
# bench awaits through the DevTools protocol (first_frame). Playwright's own waits and evaluations would first
# inject its scripts into the page, 20-25 ms of the main thread in the middle of the first frame, which a
# viewer's page never runs.
READY_CLOCK = """
window.__ready = new Promise((resolve, reject) => {
  new MutationObserver(() => {
    const root = document.querySelector('[data-testid="player"][data-ready]');
    if (!root || window.__readyAt) return;
    if (root.dataset.ready !== "true") return reject(new Error("the player says data-ready=" + root.dataset.ready));
    window.__readyAt = performance.now();
    resolve();
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-ready"] });
  setTimeout(() => reject(new Error("no data-ready in 120 s")), 120000);
});
window.__longTasks = [];
new PerformanceObserver((list) => {
  for (const task of list.getEntries()) window.__longTasks.push([task.startTime, task.duration]);
}).observe({ type: "longtask", buffered: true });
"""


# Where the first frame's time goes, each a moment in ms from the navigation's start: the page's HTML in,
# player.js in, the player's own marks (index.ts: bundle running, first events in, Replayer built, frame
# at ?t= in the DOM), and ready (painted, data-ready).
STEPS = ("html", "bundle", "script", "asked", "answered", "events", "replayer", "seeked", "ready")
# And how many of /static's answers came over the network rather than from the browser's cache (a 304 counts).
# After the first frame: the server's moments shown in the timeline and the Events panel, and the main thread's
# long tasks (over 50 ms, when a click on the page waits) from the first frame until all of the session is in.
AFTER = ("moments", "busy", "fetched")
READ_STEPS = """() => {
  const at = (name) => performance.getEntriesByName("ss:" + name)[0]?.startTime ?? -1;
  const bundle = performance.getEntriesByType("resource").find((r) => new URL(r.name).pathname.endsWith("/player.js"));
  const ready = window.__readyAt;
  return {
    html: performance.getEntriesByType("navigation")[0].responseEnd,
    bundle: bundle ? bundle.responseEnd : -1,
    script: at("script"), asked: at("asked"), answered: at("answered"), events: at("events"), replayer: at("replayer"), seeked: at("seeked"),
    ready, moments: at("moments") - ready,
    busy: window.__longTasks.filter(([start]) => start >= ready).reduce((sum, [, ms]) => sum + ms, 0),
    fetched: performance.getEntriesByType("resource").filter((r) => r.name.includes("/static/") && r.transferSize > 0).length,
  };
}"""


# The viewer's network (--throttle): Chromium's throttling of every request of the bench's pages, as DevTools' is.
NETWORK: dict[str, Any] = {}
_THROTTLED: list[Any] = []  # their DevTools sessions: the throttling lasts as long as its session


def viewer(browser: Any, server: Server) -> tuple[Any, Any]:
    """A signed-in page that keeps its first frame's clock (READY_CLOCK), on NETWORK if one is set."""
    context, page = signed_in_page(browser, server)
    page.add_init_script(READY_CLOCK)
    if NETWORK:
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", NETWORK)
        _THROTTLED.append(cdp)
    return context, page


def first_frame(page: Any) -> None:
    """Waits for the player's data-ready="true" (READY_CLOCK's promise) without running any script in the page."""
    cdp = page.context.new_cdp_session(page)
    try:
        answer = cdp.send("Runtime.evaluate", {"expression": "window.__ready", "awaitPromise": True})
    finally:
        cdp.detach()
    if "exceptionDetails" in answer:
        raise RuntimeError(f"no first frame: {answer['exceptionDetails'].get('exception', {}).get('description')}")


def time_player(page: Any, server: Server, session_id: str, at_ms: int, via: str = "about:blank") -> dict[str, float]:
    """From the navigation's start to the moment the player says the frame at `at_ms` is on screen
    (read in the page, so the rest of the session loading afterwards does not count), step by step;
    then what the page does after it, until all of the session is in. Each opening starts from a blank
    page, as a viewer comes from the session list: leaving the last player (a large page) would
    otherwise be counted in the next one's first frame (`via`: the page it comes from)."""
    page.goto(via)
    wait_for_idle_model(server)
    page.goto(f"{server.url}/sessions/{session_id}?t={at_ms}")
    first_frame(page)
    page.wait_for_selector('[data-testid="player"][data-loaded="true"]', timeout=120_000)
    return {name: float(ms) for name, ms in page.evaluate(READ_STEPS).items()}


def wait_for_idle_model(server: Server, timeout_s: float = 30.0) -> None:
    """Until the server's local model has no job (`sessionstory_model_jobs` in /metrics). Each opening asks for
    its session's summary once drawn; leaving the page stops it, within a step of the prompt. Waiting for that
    starts every opening, like the static file's fetch, on an idle server: on this one machine the summary
    left running took the cores from the next opening's browser (on a real one, the viewer's browser runs
    elsewhere)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{server.url}/metrics") as r:
            jobs = next(float(line.split()[-1]) for line in r.read().decode().splitlines()
                        if line.startswith("sessionstory_model_jobs "))
        if jobs == 0:
            return
        time.sleep(0.02)
    raise RuntimeError(f"the local model still had {jobs:g} job(s) after {timeout_s:g} s")


def second_opening(browser: Any, server: Server, project_id: str, before: str, session_id: str) -> dict[str, dict[str, float]]:
    """`session_id` at 0, coming from the session list: in a fresh browser ("first"), and in a fresh browser
    that has just opened `before` ("second"), as a viewer opening the next session of the list."""
    listing = f"{server.url}/?project={project_id}"
    runs: dict[str, list[dict[str, float]]] = {"first": [], "second": []}
    for _ in range(REPS):
        for kind in ("first", "second"):
            context, page = viewer(browser, server)
            if kind == "second":
                time_player(page, server, before, 0, via=listing)
            runs[kind].append(time_player(page, server, session_id, 0, via=listing))
            context.close()
    return {kind: median_steps(r) for kind, r in runs.items()}


def median_steps(runs: list[dict[str, float]]) -> dict[str, float]:
    """Each step's median over the runs (so the steps of the table need not add up exactly)."""
    return {name: stats.p50([run[name] for run in runs]) for name in STEPS + AFTER}


def show_steps(label: str, steps: dict[str, float]) -> str:
    since = 0.0
    parts = []
    for name in STEPS:
        parts.append(f"{name} +{steps[name] - since:.0f}")
        since = steps[name]
    return (f"    {label}: " + ", ".join(parts) + f" ms; then moments shown +{steps['moments']:.0f}, "
            f"long tasks until all is in {steps['busy']:.0f} ms")


def minute(ms: int) -> str:
    return f"{ms / 60_000:g} min" if ms else "0"


def heap_after_ready(page: Any, server: Server, session_id: str) -> int:
    page.goto(f"{server.url}/sessions/{session_id}")
    page.wait_for_selector('[data-testid="player"][data-loaded="true"]', timeout=120_000)
    cdp = page.context.new_cdp_session(page)
    cdp.send("HeapProfiler.collectGarbage")
    cdp.send("Performance.enable")
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return int(metrics["JSHeapUsedSize"])


def measure(page: Any, server: Server, token: str, key: str, session_id: str, events: list[dict[str, Any]],
            minutes: int) -> dict[str, Any]:
    ingest(server, key, session_id, events)
    stored = _get(server, f"/api/v1/sessions/{session_id}/events", token)
    STATIC.write_text(json.dumps(stored))
    if NETWORK:  # as a static server would send it over a network (the server sends the copy: web/encoding.py)
        STATIC_GZ.write_bytes(gzip.compress(STATIC.read_bytes(), compresslevel=6))
    # Untimed: the browser's first openings are cold (V8 compiles player.js, and keeps its code cache only from
    # its second load on), 350-380 ms against about 240 once warm. The timed openings compare the warm player with
    # the file; a cold one is told apart below (second_opening's fresh browser).
    for _ in range(WARM_UPS):
        time_player(page, server, session_id, 0)
    # A round at a time, the file then each position: a slow minute of this shared machine then slows the file
    # and the player alike, where blocks of each let it fall on one side only.
    statics: list[float] = []
    openings: dict[int, list[dict[str, float]]] = {at: [] for at in positions(minutes)}
    for _ in range(REPS):
        statics.append(time_static(page, server))
        for at, runs in openings.items():
            runs.append(time_player(page, server, session_id, at))
    return {
        "events": len(stored), "bytes": STATIC.stat().st_size, "static": stats.p50(statics),
        "at": {at: median_steps(runs) for at, runs in openings.items()},
    }


def positions(minutes: int) -> list[int]:
    """Where the player opens (ms): the start, half-way (a page load), and just before the next page load."""
    half = minutes * 30_000
    late = half + LATE_AFTER_LOAD_MS
    return [0, half] + ([late] if late < minutes * 60_000 else [])


# Page loads come every ten minutes: just before the next one, 9.5 minutes of events follow the last page load
# (4.5 minutes after the SDK's last full snapshot, 5 minutes after the load).
LATE_AFTER_LOAD_MS = 570_000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.replay", description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--memory-minutes", type=int, default=120, help="0 skips the memory figure")
    parser.add_argument("--checkout-minutes", type=float, default=CHECKOUT_MS / 60_000,
                        help="a full snapshot this often between page loads, as the SDK takes them (0: none)")
    parser.add_argument("--hover", action="store_true",
                        help="the mouse over a link of the page, not over the document: openings after its first move show it hovered")
    parser.add_argument("--throttle", type=float, default=0, metavar="MBIT",
                        help="the viewer's network: this many Mbit/s down, with 40 ms of latency, and the static file "
                             "sent gzipped as a static server would (0, the default: loopback, the file as it is)")
    parser.add_argument("--openings-only", action="store_true",
                        help="only the first and second openings from the list (no static file, no other position)")
    args = parser.parse_args(argv)
    if args.throttle < 0:
        parser.error("--throttle takes 0 or more Mbit/s")
    if args.throttle:
        NETWORK.update(offline=False, latency=THROTTLE_LATENCY_MS, downloadThroughput=args.throttle * 1e6 / 8,
                       uploadThroughput=args.throttle * 1e6 / 8)
    executable = find_chromium()
    if executable is None:
        raise SystemExit("no Chromium found: install Debian's chromium or set SESSIONSTORY_CHROMIUM")
    from playwright.sync_api import sync_playwright

    results = {}
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        server = Server(Path(tmp) / "data").start()
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            project = server.project("Replay bench")
            token, key = server.token(), project["public_key"]
            sites = Sites(server.url, key)
            opening = record_page(browser, server, sites, token)
            sites.close()
            _, page = viewer(browser, server)
            for name, busy in (("steady", False), ("busy", True)):
                session = long_session(opening, args.minutes, busy=busy, checkout_ms=int(args.checkout_minutes * 60_000),
                                       hover=args.hover)
                if args.openings_only:
                    ingest(server, key, f"bench-{name}", session)
                else:
                    results[name] = measure(page, server, token, key, f"bench-{name}", session, args.minutes)
            openings = second_opening(browser, server, project["id"], "bench-busy", "bench-steady")
            if args.memory_minutes:
                ingest(server, key, "bench-2h", long_session(opening, args.memory_minutes, seed=7,
                                                                   checkout_ms=int(args.checkout_minutes * 60_000)))
                heap = heap_after_ready(page, server, "bench-2h")
                size_2h = len(json.dumps(_get(server, "/api/v1/sessions/bench-2h/events", token)))
        finally:
            STATIC.unlink(missing_ok=True)
            STATIC_GZ.unlink(missing_ok=True)
            browser.close()
            server.stop()
    network = f"a {args.throttle:g} Mbit/s network with {THROTTLE_LATENCY_MS} ms of latency" if args.throttle else "loopback"
    print(f"Replay start: {args.minutes}-minute sessions over a recorded documentation page "
          f"(Chromium, {network}, median of {REPS}; a full snapshot every {args.checkout_minutes:g} min between page loads"
          f"{'; the mouse over a link' if args.hover else ''}"
          f"{'; the static file gzipped' if args.throttle else ''}); "
          "first frame = navigation start to data-ready")
    for name, r in results.items():
        firsts = ", ".join(f"at {minute(at)} {steps['ready']:.0f} ms ({steps['ready'] / r['static']:.2f}x)"
                           for at, steps in r["at"].items())
        print(f"  {name}: {r['events']:,} events, {r['bytes'] / 2**20:.1f} MiB; static file fetch + parse {r['static']:.0f} ms; "
              f"player {firsts}")
        for at, steps in r["at"].items():
            print(show_steps(f"steps at {minute(at)}", steps))
    for kind, label in (("first", "first opening, a fresh browser"), ("second", "second opening, after the busy session")):
        steps = openings[kind]
        print(f"  steady at 0 from the list, {label}: {steps['ready']:.0f} ms, "
              f"/static answers over the network {steps['fetched']:.0f}")
        print(show_steps("steps", steps))
    if args.memory_minutes:
        print(f"  {args.memory_minutes}-minute session ({size_2h / 2**20:.1f} MiB of events): player JS heap {heap / 2**20:.0f} MiB "
              f"after it all loaded ({heap / max(size_2h, 1):.1f}x the events' JSON)")
    print(f"  load average (1 min) {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
