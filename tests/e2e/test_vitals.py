"""Web vitals in Chromium: the SDK (capture/vitals.ts, measuring with the web-vitals library) reports
all five when the page is left, with the values Chromium's performance timeline gives. The INP
comes from a click the visitor leaves right after: headless Chromium runs no idle callback after
an input, so this is the page hidden before web-vitals processed the interaction."""

from __future__ import annotations

import math
from typing import Any

from tests.e2e.conftest import RECORD_VIEWPORT, wait_for_sdk
from tests.e2e.sites import Sites
from tests.e2e.test_journeys import _session
from tests.server import Server

SLOW_CLICK_MS = 120


def test_all_five_vitals_are_reported_when_the_page_is_left(browser: Any, server: Server, sites: Sites,
                                                           token: str) -> None:
    context = browser.new_context(viewport=RECORD_VIEWPORT)
    page = context.new_page()
    page.goto(f"{sites.url}/shop/index.html")
    wait_for_sdk(page)
    # A click whose handler blocks the main thread: an interaction at least that slow (INP).
    page.evaluate("""ms => document.addEventListener("click", () => {
        const until = performance.now() + ms; while (performance.now() < until) {} })""", SLOW_CLICK_MS)
    page.click("button[data-name=assam]")
    page.wait_for_timeout(300)
    timeline = page.evaluate("""() => ({
        fcp: performance.getEntriesByName("first-contentful-paint")[0].startTime,
        ttfb: performance.getEntriesByType("navigation")[0].responseStart,
    })""")
    session_id = page.evaluate("window.sessionstory.sessionId()")
    page.evaluate("window.sessionstory.flush()")
    page.close()  # pagehide: the vitals go out with the last batch
    context.close()

    vitals = _session(server, token, session_id, until=lambda s: all(
        (s.get("vitals") or {}).get(k) is not None for k in ("lcp", "inp", "cls", "fcp", "ttfb")))["vitals"]
    # The browser's own figures, rounded as JavaScript's Math.round does (4.5 -> 5; Python's round gives 4).
    assert vitals["fcp"] == math.floor(timeline["fcp"] + 0.5) and vitals["ttfb"] == math.floor(timeline["ttfb"] + 0.5)
    assert vitals["lcp"] >= vitals["fcp"], "the largest paint comes with or after the first"
    assert vitals["inp"] >= SLOW_CLICK_MS, vitals
    assert 0 <= vitals["cls"] < 1
