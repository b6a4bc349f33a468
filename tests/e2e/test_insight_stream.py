"""The session page's summary in Chromium: streamed through htmx's sse extension under the CSP,
the model's words first, then the card whose signals seek the player."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from typing import Any

from tests.e2e.conftest import signed_in_page
from tests.events import click, error, meta, mutation, page, snapshot
from tests.server import Server

# Whether the draft paragraph ever held the model's words before the card replaced it: watched
# from before the page's own scripts, since a fast model may fill and replace it within a frame.
WATCH_THE_DRAFT = """
window.__draftSeen = "";
new MutationObserver(() => {
  const draft = document.querySelector('[data-testid="summary-draft"]');
  if (draft && draft.textContent) window.__draftSeen = draft.textContent;
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


def _record(server: Server, key: str, sid: str) -> None:
    at = int(time.time() * 1000) - 60_000
    url = "https://shop.example/checkout"
    events = [meta(at, url), snapshot(at), page(at, url, "Checkout"),
              *[click(at + 2000 + i * 120, x=300, y=400, text="Pay now") for i in range(4)],
              error(at + 2300, "TypeError: cart.total is undefined"), mutation(at + 9000)]
    body = {"key": key, "session_id": sid, "visitor_id": f"v-{sid}", "seq": 0, "events": events}
    req = urllib.request.Request(f"{server.url}/api/v1/ingest", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200


def test_the_summary_streams_into_its_card_under_the_csp(browser: Any, server: Server) -> None:
    project = server.project("Streamed summary")
    _record(server, project["public_key"], "stream-e2e")
    context, dashboard = signed_in_page(browser, server)
    violations: list[str] = []
    dashboard.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    streams: list[str] = []
    dashboard.on("request", lambda r: streams.append(r.url) if r.url.endswith("/insight/stream") else None)
    context.add_init_script(WATCH_THE_DRAFT)
    try:
        dashboard.goto(f"{server.url}/sessions/stream-e2e")
        card = dashboard.locator('[data-testid="insight"]')
        card.locator('[data-testid="summary"]').wait_for(timeout=90_000)
        assert "Writing…" not in card.inner_text(), "the card replaced the draft"
        assert dashboard.evaluate("window.__draftSeen"), "the model's words showed before the card"
        links = card.locator(".signals-list a")
        assert links.count() >= 2, "the rage click and the error, each a link"
        first = links.first.get_attribute("href") or ""
        assert first.startswith("?t=")
        dashboard.wait_for_timeout(3500)  # longer than EventSource waits to reconnect to a stream that ended
        assert streams == [f"{server.url}/sessions/stream-e2e/insight/stream"], "one stream, closed on done"
        links.first.click()
        dashboard.wait_for_url(f"**/sessions/stream-e2e{first}")
        assert violations == []
    finally:
        context.close()


def test_a_viewer_who_leaves_stops_the_model(server: Server) -> None:
    import httpx

    from tests.server import ADMIN_EMAIL, ADMIN_PASSWORD

    project = server.project("Left summary")
    _record(server, project["public_key"], "stream-left")
    with httpx.Client(base_url=server.url, timeout=60) as client:
        form = re.search(r'name="_csrf" value="([^"]+)"', client.get("/login").text)
        assert form is not None
        client.post("/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "_csrf": form.group(1)})
        with client.stream("GET", "/sessions/stream-left/insight/stream") as r:
            assert next(line for line in r.iter_lines() if line.startswith("event:")) == "event: piece"
        # (A real server: the in-process test client runs a stream to its end before the test reads it.)
        stopped = "stopped the summary of stream-left: its viewer left"
        deadline = time.monotonic() + 30
        while stopped not in server.log_path.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert stopped in server.log_path.read_text()
        with client.stream("GET", "/sessions/stream-left/insight/stream") as r:
            first = next(line for line in r.iter_lines() if line.startswith("event:"))
        assert first == "event: piece", "the stopped summary was not cached: the next viewer sees it written"
