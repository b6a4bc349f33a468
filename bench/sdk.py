"""The SDK's weight: gzipped size and main-thread time, beside bare @rrweb/record.

    python -m bench.sdk [--runs 3] [--seconds 5] [--sdk NEW_SDK.js] [--before OLD_SDK.js] [--pages rrweb,sdk,...]

Size: `gzip -9` of sessionstory/web/static/dist/sdk.js beside a bundle of bare
`@rrweb/record` built the same way (esbuild from node_modules, bundled, minified, es2020,
IIFE), in a temporary directory. The bare bundle is rrweb's record whole; the SDK's leaves
out rrweb's canvas recorder, which it never enables (scripts/build.mjs), 3.1 KB gzipped.

Main-thread time: a page that mutates its DOM without pause for `--seconds` (each
animation frame adds 30 elements with text and attributes, changes 30 attributes and
texts, removes the oldest 30; `--seconds` x 60 frames, the same work whatever a recorder
costs) in Chromium, five ways: no recording; bare @rrweb/record
(its bundle served beside the page, `record({emit})` keeping events in an array); the same
with the SDK's privacy options (reference); the same
serializing each event as it comes (JSON.stringify, which any recorder that sends its events
pays; shown for reference, the goal is against bare rrweb); our SDK (the snippet pointing at a
real `sessionstory serve`, which stores what it sends). CDP's
Performance.getMetrics (thread ticks: CPU time, not wall time, on a shared machine)
gives TaskDuration and ScriptDuration of the main thread over the
mutation window plus one second after it (the SDK's batching and sending included).
Runs alternate between the pages; medians. Goal (issue 7): our overhead over no
recording at most 110 % of bare rrweb's.

On a loaded machine those CPU figures swing by a third from run to run, so a second figure
divides the page's own work out: in runs of their own, CDP's sampling profiler attributes the
main thread's samples to the nearest script on the stack, and the recorder's samples (bare
rrweb's bundle, or our SDK; the SDK's compression worker is another thread, not counted) are
counted per sample of the page's own script (the same mutation work in every run). Our
ratio divided by bare rrweb's is the overhead figure; it still varies with load, less. Not under
real-time scheduling (`chrt -r`, which Chromium's threads inherit): it skews these counts (2026-11-27,
load 3: bare rrweb 8.5-10.6 recorder samples a page sample, 3.6-4.0 without; one SDK's runs 9-22).
Samples are counted, not summed by their time deltas: a thread the machine descheduled has its
whole gap in the delta of the one sample after it (same-SDK A/A runs at load 6-9: counts 4 %
apart, deltas 16 %). The profiled runs of a round go page after page, every other round in reverse, so no
page always runs first or last. Besides the medians' ratio (the figure docs/performance.md has always
given), the same samples are given paired (each round's run over the bare rrweb run of that round: a
moment when the machine is slower slows both) and pooled (all runs' recorder samples over all their page
samples: a page runs about 1,700 samples of its own, so one run's figure moves by a few % by chance alone).

Two references beside the goal's baseline split our overhead: bare rrweb with the privacy options
the SDK gives it by default (`PRIVATE_OPTIONS`: every input masked, the block and mask selectors,
as recorder.ts sets them at the balanced level), and bare rrweb serializing each event as it
comes (JSON.stringify, which any recorder that sends its events pays).

A/B of the SDK: `--before` takes another build of `dist/sdk.js` (say, one built at an earlier commit
and kept aside) and adds its page, run in turn with the others. Both SDK bundles are then served
from the bench's own site, which forwards their requests under `api/` to the real server: the same
origin for both (the page's own, so no CORS preflight), unlike the default run, where the SDK comes
from the server as the snippet loads it. `--sdk` takes the build measured as "our SDK" in place of
`dist/sdk.js` (served the same way): an A/B of two builds kept aside, which a rebuild of the shared
`dist/` during the run cannot change. `--pages` runs only some of the pages (`none` always runs).
"""

from __future__ import annotations

import argparse
import gzip
import http.server
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parents[1]
SDK = ROOT / "sessionstory" / "web" / "static" / "dist" / "sdk.js"
ESBUILD = ROOT / "node_modules" / ".bin" / "esbuild"
GOAL_SIZE, GOAL_OVERHEAD = 30 * 1024, 1.10
FPS = 60  # the page runs seconds x 60 frames of the same work whatever the recorder costs

BARE_ENTRY = """import {{ record }} from "@rrweb/record";
const events = [];
window.__events = events;
window.__stop = record({{ emit(e) {{ events.push({kept}); }}, {options} }});
"""
# rrweb's options as sessionstory/sdk_js/src/recorder.ts sets them at the default level (keep in step).
PRIVATE_OPTIONS = """maskAllInputs: true, blockClass: "ss-block", blockSelector: "[data-ss-block]",
maskTextClass: "ss-mask", maskTextSelector: "[data-ss-mask]", slimDOMOptions: true,
sampling: { mousemove: 50, scroll: 150, input: "last" }, checkoutEveryNms: 300000,
recordAfter: "DOMContentLoaded", recordCanvas: false, errorHandler: () => true"""

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Mutations</title>
<style>.item{{padding:2px;margin:1px;border:1px solid #ccc}} .hot{{color:#c00}}</style>
{recorder}
</head><body><h1>A page that never sits still</h1><main id="root"></main>
<script>
window.mutate = (frames) => new Promise((done) => {{
  const root = document.getElementById("root");
  let n = 0, left = frames;
  const frame = () => {{
    for (let i = 0; i < 30; i++, n++) {{
      const el = document.createElement("div");
      el.className = "item";
      el.dataset.n = String(n);
      el.innerHTML = `<span>row ${{n}}</span> <a href="#r${{n}}">link</a> <b>${{(n * 7919) % 1000}}</b>`;
      root.appendChild(el);
    }}
    const items = root.children;
    for (let i = 0; i < 30 && i < items.length; i++) {{
      const el = items[(n * 31 + i * 17) % items.length];
      el.classList.toggle("hot");
      el.firstElementChild.textContent = `row ${{el.dataset.n}} seen ${{n}}`;
      el.style.width = `${{50 + (n + i) % 50}}%`;
    }}
    while (root.children.length > 300) root.firstElementChild.remove();
    if (--left > 0) requestAnimationFrame(frame); else done(n);
  }};
  requestAnimationFrame(frame);
}});
</script></body></html>
"""


def build_bare_rrweb(out_dir: Path, name: str = "rrweb-record", kept: str = "e", options: str = "") -> Path:
    """Bare @rrweb/record, bundled as scripts/build.mjs bundles the SDK; `kept`: what it keeps of each event `e`;
    `options`: more of record()'s options."""
    entry = ROOT / f".bench-{name}-entry.js"  # inside the repo, so esbuild resolves node_modules
    out = out_dir / f"{name}.js"
    entry.write_text(BARE_ENTRY.format(kept=kept, options=options))
    try:
        subprocess.run([str(ESBUILD), str(entry), "--bundle", "--minify", "--target=es2020", "--format=iife",
                        "--legal-comments=none", "--log-level=warning", f"--outfile={out}"], check=True, cwd=ROOT)
    finally:
        entry.unlink(missing_ok=True)
    return out


def gzip9(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), 9))


def serve_dir(directory: Path, upstream: str = "") -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serves `directory`; requests under an `api/` path go to `upstream` (see _SiteHandler)."""
    handler = partial(_SiteHandler, directory=str(directory), upstream=upstream)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


class _SiteHandler(http.server.SimpleHTTPRequestHandler):
    """The bench's pages and bundles. An SDK sends to `api/v1/…` beside its own script, so an SDK bundle
    served from here (the `--before` A/B) reaches the real server through this forwarding."""

    def __init__(self, *args: Any, upstream: str, **kwargs: Any) -> None:
        self.upstream = upstream
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:
        if "/api/" in self.path:
            self.forward()
        else:
            super().do_GET()

    def do_POST(self) -> None:
        if "/api/" in self.path:
            self.forward()
        else:
            self.send_error(404)

    def forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) or None
        headers = {k: v for k, v in self.headers.items() if k.lower() in ("content-type", "content-encoding")}
        request = urllib.request.Request(self.upstream + self.path[self.path.find("/api/"):], data=body,
                                         headers=headers, method=self.command)
        try:
            with urllib.request.urlopen(request, timeout=30) as r:
                status, content_type, answer = r.status, r.headers.get("Content-Type"), r.read()
        except urllib.error.HTTPError as e:
            status, content_type, answer = e.code, e.headers.get("Content-Type"), e.read()
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type or "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
        except OSError:
            pass  # the page was closed before its request was answered

    def log_message(self, *args: Any) -> None:
        pass


def measure(page_url: str, seconds: float, browser: Any, sdk: bool) -> dict[str, float]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Performance.enable", {"timeDomain": "threadTicks"})
    page.goto(page_url)
    if sdk:
        page.wait_for_function("window.sessionstory && typeof window.sessionstory.sessionId() === 'string'")
    page.wait_for_timeout(1000)  # the recorder's first full snapshot is done with

    def metrics() -> dict[str, float]:
        return {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}

    before = metrics()
    started = time.perf_counter()
    page.evaluate("f => window.mutate(f)", int(seconds * FPS))
    wall = time.perf_counter() - started
    page.wait_for_timeout(1000)  # what the recorder does right after (batching, compressing, sending)
    after = metrics()
    context.close()
    return {"task_ms": (after["TaskDuration"] - before["TaskDuration"]) * 1000,
            "script_ms": (after["ScriptDuration"] - before["ScriptDuration"]) * 1000,
            "wall_s": wall}


def recorder_samples(page_url: str, seconds: float, browser: Any, sdk: bool) -> tuple[int, int]:
    """Profile samples on the main thread under the recorder's script, and under the page's own."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    page.goto(page_url)
    if sdk:
        page.wait_for_function("window.sessionstory && typeof window.sessionstory.sessionId() === 'string'")
    page.wait_for_timeout(1000)
    cdp.send("Profiler.enable")
    cdp.send("Profiler.setSamplingInterval", {"interval": 200})
    cdp.send("Profiler.start")
    page.evaluate("f => window.mutate(f)", int(seconds * FPS))
    page.wait_for_timeout(1000)
    profile = cdp.send("Profiler.stop")["profile"]
    context.close()
    nodes = {n["id"]: n for n in profile["nodes"]}
    parents = {child: n["id"] for n in profile["nodes"] for child in n.get("children", ())}
    spent = {"page": 0, "recorder": 0}
    for sample in profile["samples"]:
        node: int | None = sample
        while node in nodes:  # natives count for the script that called them
            url = nodes[node]["callFrame"]["url"]
            if url.endswith(".html"):
                spent["page"] += 1
                break
            if url.endswith(".js"):
                spent["recorder"] += 1
                break
            node = parents.get(node)
    return spent["recorder"], spent["page"]


PAGES = ("none", "rrweb", "rrweb_private", "rrweb_json", "sdk", "sdk_before")
LABELS = {"none": "no recording", "rrweb": "bare @rrweb/record (baseline)",
          "rrweb_private": "bare @rrweb/record with the SDK's privacy options (reference)",
          "rrweb_json": "bare @rrweb/record + JSON.stringify of each event (reference)",
          "sdk": "our SDK (dist/sdk.js, or --sdk)", "sdk_before": "our SDK before (--before)"}


def recorder_tags(server_url: str, key: str, site: Path, before: Path | None, sdk: Path = SDK) -> dict[str, str]:
    """Each page's recorder. With `before` or another `sdk`, the SDK bundles are served by the site (see _SiteHandler)."""
    tags = {"none": "", "rrweb": '<script src="rrweb-record.js"></script>',
            "rrweb_private": '<script src="rrweb-record-private.js"></script>',
            "rrweb_json": '<script src="rrweb-record-json.js"></script>',
            "sdk": f'<script src="{server_url}/sdk.js" data-key="{key}"></script>'}
    if before or sdk != SDK:
        for name, bundle in (("sdk", sdk), ("sdk_before", before)):
            if bundle is None:
                continue
            (site / name).mkdir()
            (site / name / "sdk.js").write_bytes(bundle.read_bytes())
            tags[name] = f'<script src="{name}/sdk.js" data-key="{key}"></script>'
    return tags


def run(runs: int, seconds: float, before: Path | None = None, only: tuple[str, ...] = PAGES,
        sdk: Path = SDK) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM_ARGS, find_chromium
    from tests.server import Server

    executable = find_chromium()
    if executable is None:
        raise SystemExit("no Chromium found: install Debian's chromium or set SESSIONSTORY_CHROMIUM")
    if not sdk.exists():
        raise SystemExit("sessionstory/web/static/dist/sdk.js is not built: run `make build`")
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        site.mkdir()
        bare = build_bare_rrweb(site)
        build_bare_rrweb(site, "rrweb-record-json", kept="JSON.stringify(e)")
        build_bare_rrweb(site, "rrweb-record-private", options=PRIVATE_OPTIONS)
        sizes = {"sdk": gzip9(sdk), "rrweb": gzip9(bare), "sdk_raw": sdk.stat().st_size, "rrweb_raw": bare.stat().st_size}
        if before:
            sizes |= {"sdk_before": gzip9(before), "sdk_before_raw": before.stat().st_size}
        server = Server(Path(tmp) / "data").start()
        httpd, origin = serve_dir(site, upstream=server.url)
        try:
            tags = recorder_tags(server.url, server.project("SDK bench")["public_key"], site, before, sdk)
            pages = [name for name in PAGES if name in tags and (name == "none" or name in only)]
            for name in pages:
                (site / f"{name}.html").write_text(PAGE.format(recorder=tags[name]))
            samples: dict[str, list[dict[str, float]]] = {name: [] for name in pages}
            counts: dict[str, list[tuple[int, int]]] = {name: [] for name in pages if name != "none"}
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
                measure(f"{origin}/{pages[-1]}.html", 1, browser, sdk=pages[-1].startswith("sdk"))  # warm-up: caches, JIT
                for round_ in range(runs):
                    for name in samples:
                        samples[name].append(measure(f"{origin}/{name}.html", seconds, browser, sdk=name.startswith("sdk")))
                    # Every other round in reverse, so that no page always runs first or last of a round.
                    for name in list(counts)[::-1 if round_ % 2 else 1]:
                        counts[name].append(recorder_samples(f"{origin}/{name}.html", seconds, browser,
                                                             sdk=name.startswith("sdk")))
                browser.close()
        finally:
            httpd.shutdown()
            server.stop()
    med = {name: {k: statistics.median(s[k] for s in runs_) for k in ("task_ms", "script_ms", "wall_s")}
           for name, runs_ in samples.items()}
    return {"sizes": sizes, "median": med, "samples": samples, "counts": counts}


def _of(part: float, whole: float) -> str:
    return f"{part / whole:.0%}" if whole > 0 else "n/a"


def report(r: dict[str, Any], command: str, load: str, seconds: float) -> str:
    s, m = r["sizes"], r["median"]
    lines = [f"`{command}`; {load}", "",
             "| bundle | bytes | gzip -9 bytes | of bare rrweb |", "| --- | ---: | ---: | ---: |",
             f"| bare @rrweb/record (baseline) | {s['rrweb_raw']:,} | {s['rrweb']:,} | 100% |"]
    for name in ("sdk", "sdk_before"):
        if name in s:
            lines.append(f"| {LABELS[name]} | {s[name + '_raw']:,} | {s[name]:,} | {s[name] / s['rrweb']:.0%} |")
    lines += ["", f"size goal ≤ {GOAL_SIZE:,} bytes gzipped: {'PASS' if s['sdk'] <= GOAL_SIZE else 'MISS'}", "",
              f"Main-thread CPU for {int(seconds * FPS)} frames of mutation (90 nodes touched a frame) + 1 s after "
              f"(median of {len(r['samples']['none'])} runs each):", "",
              "| page | TaskDuration ms | ScriptDuration ms | wall s | overhead over none (task ms) | of bare rrweb's |",
              "| --- | ---: | ---: | ---: | ---: | ---: |"]
    over = {name: m[name]["task_ms"] - m["none"]["task_ms"] for name in m}
    base = over.get("rrweb", float("nan"))
    for name in m:
        lines.append(f"| {LABELS[name]} | {m[name]['task_ms']:,.0f} | {m[name]['script_ms']:,.0f} | "
                     f"{m[name]['wall_s']:.1f} | {'—' if name == 'none' else f'{over[name]:+,.0f}'} | "
                     f"{'—' if name == 'none' else _of(over[name], base)} |")
    if "sdk" in over and base > 0:
        ratio = over["sdk"] / base
        lines += ["", f"our overhead / bare rrweb's overhead: **{ratio:.0%}** (goal ≤ {GOAL_OVERHEAD:.0%}: "
                      f"{'PASS' if ratio <= GOAL_OVERHEAD else 'MISS'})"]
    lines.append("runs (task ms): " + "; ".join(f"{n} " + ", ".join(f"{x['task_ms']:.0f}" for x in v)
                                                for n, v in r["samples"].items()))
    per_run = {name: [rec / page if page else float("nan") for rec, page in v] for name, v in r["counts"].items()}
    shares = {name: statistics.median(v) for name, v in per_run.items()}
    rrweb = shares.get("rrweb", float("nan"))
    lines += ["", "Per the page's own work: main-thread profile samples under the recorder per sample under the page's "
                  f"own script (median of {len(r['samples']['none'])} profiled runs each), and of bare rrweb's:",
              "; ".join(f"{LABELS[n]} {v:.2f} ({_of(v, rrweb)})" for n, v in shares.items())]
    if "sdk" in shares and rrweb > 0:
        lines.append(f"our SDK: **{shares['sdk'] / rrweb:.0%}** of bare rrweb's (goal ≤ {GOAL_OVERHEAD:.0%}: "
                     f"{'PASS' if shares['sdk'] / rrweb <= GOAL_OVERHEAD else 'MISS'})")
    lines.append("runs (share): " + "; ".join(f"{n} " + ", ".join(f"{x:.2f}" for x in v) for n, v in per_run.items()))
    if "rrweb" in per_run:
        lines += ["", "The same samples, two more ways: paired (each round's run over the bare rrweb run of the same "
                      "round; median and range), and pooled (all runs' recorder samples over all their page samples):",
                  "; ".join(f"{LABELS[n]}: paired {_paired(per_run[n], per_run['rrweb'])}, pooled "
                            f"{_of(_pooled(r['counts'][n]), _pooled(r['counts']['rrweb']))}"
                            for n in per_run if n != "rrweb")]
    return "\n".join(lines)


def _paired(runs: list[float], base: list[float]) -> str:
    ratios = sorted(x / b for x, b in zip(runs, base))
    return f"**{statistics.median(ratios):.0%}** ({ratios[0]:.0%}–{ratios[-1]:.0%})"


def _pooled(counts: list[tuple[int, int]]) -> float:
    page = sum(p for _, p in counts)
    return sum(rec for rec, _ in counts) / page if page else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sdk", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each page, alternating (default 3)")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds of mutation per run (default 5)")
    parser.add_argument("--sdk", type=Path, default=SDK, help="the build measured as our SDK (default: dist/sdk.js)")
    parser.add_argument("--before", type=Path, help="another build of dist/sdk.js to compare with (A/B, same run)")
    parser.add_argument("--pages", default=",".join(PAGES[1:]),
                        help=f"the pages to run besides `none`, comma-separated (default: all of {', '.join(PAGES[1:])})")
    args = parser.parse_args(argv)
    for flag, path in (("--sdk", args.sdk), ("--before", args.before)):
        if path and not path.is_file():
            parser.error(f"{flag}: no file {path}")
    command = ("python -m bench.sdk " + " ".join(argv if argv is not None else sys.argv[1:])).strip()
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    r = run(args.runs, args.seconds, args.before, tuple(args.pages.split(",")), args.sdk)
    load = (f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after (1 min; {os.cpu_count()} cores, "
            f"shared); {time.perf_counter() - started:.0f} s")
    print(report(r, command, load, args.seconds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
