"""A long session opens on its first pages of events while the rest loads behind it."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

from tests.e2e.conftest import signed_in_page
from tests.events import meta, page
from tests.server import Server
from tests.xss_corpus import el, page_snapshot, text

BATCHES = 60  # more than the player's first request (16), so the rest must stream in
BATCH_MS = 10_000


def _long_session(server: Server, key: str, session_id: str) -> int:
    clock = el("p", {"id": "clock"}, [text("start")])
    snapshot, _ = page_snapshot([el("h1", {}, [text("Long session")]), clock], 0)
    text_id = clock["childNodes"][0]["id"]
    start = int(time.time() * 1000) - BATCHES * BATCH_MS - 60_000
    for seq in range(BATCHES):
        at = start + seq * BATCH_MS
        events: list[dict[str, Any]] = []
        if seq == 0:
            events += [meta(at, href="https://long.example/"), {**snapshot, "timestamp": at + 1},
                       page(at + 2, "https://long.example/", title="Long")]
        events.append({"type": 3, "timestamp": at + 5_000, "data": {
            "source": 0, "adds": [], "removes": [], "attributes": [], "texts": [{"id": text_id, "value": f"minute {seq}"}]}})
        body = {"key": key, "session_id": session_id, "visitor_id": "long", "seq": seq, "events": events}
        req = urllib.request.Request(f"{server.url}/api/v1/ingest", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=10).read()
    return (BATCHES - 1) * BATCH_MS + 5_000


def test_a_long_session_starts_on_its_first_pages_and_grows_to_its_whole_length(
        browser: Any, server: Server, project: dict[str, str]) -> None:
    total_ms = _long_session(server, project["public_key"], "long-1")
    context, viewer = signed_in_page(browser, server)
    try:
        requests: list[str] = []
        viewer.on("request", lambda r: requests.append(r.url) if "/events" in r.url else None)
        viewer.goto(f"{server.url}/sessions/long-1")
        viewer.wait_for_selector('[data-testid="player"][data-ready="true"]', timeout=30_000)
        viewer.wait_for_selector('[data-testid="player"][data-loaded="true"]', timeout=30_000)
        assert len(requests) >= 2 and "count=16" in requests[0], requests
        # The page's <head> asks for the first page (a preload) and the player reads that very answer.
        assert sum("start=0&" in url for url in requests) == 1, requests
        initiators = viewer.evaluate("""performance.getEntriesByType("resource")
            .filter((r) => r.name.includes("/events?start=0&")).map((r) => r.initiatorType)""")
        assert initiators == ["link"], initiators
        assert viewer.locator(".ss-seek").get_attribute("max") == str(total_ms)
        frame = viewer.frame_locator('[data-testid="player"] iframe')
        assert frame.locator("#clock").inner_text() == "start"

        # Opening late in the session loads up to that moment before the first frame: the pages up to it are
        # asked for together with the first (once its headers say how many batches there are).
        requests.clear()
        viewer.goto(f"{server.url}/sessions/long-1?t={total_ms - BATCH_MS // 2}")
        viewer.wait_for_selector('[data-testid="player"][data-ready="true"]', timeout=30_000)
        assert frame.locator("#clock").inner_text() == f"minute {BATCHES - 2}"
        assert [url.split("?")[1] for url in requests[:2]] == ["start=0&count=16", f"start=16&count={BATCHES - 16 + 8}"], requests
    finally:
        context.close()
