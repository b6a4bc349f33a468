"""A second session opened in the same browser takes the player's bundles from the browser's cache."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

from tests.e2e.conftest import signed_in_page
from tests.events import meta, page
from tests.server import Server
from tests.xss_corpus import el, page_snapshot, text


def _ingest(server: Server, key: str, session_id: str) -> None:
    at = int(time.time() * 1000) - 60_000
    snapshot, _ = page_snapshot([el("h1", {}, [text(session_id)])], at + 1)
    body = {"key": key, "session_id": session_id, "visitor_id": "cache-visitor", "seq": 0,
            "events": [meta(at), snapshot, page(at + 2, "https://shop.example/", title="Shop")]}
    request = urllib.request.Request(f"{server.url}/api/v1/ingest", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 200


class StaticRequests:
    """The /static requests a page makes, told apart by where Chromium took each answer from (DevTools protocol)."""

    def __init__(self, context: Any, tab: Any) -> None:
        self.urls: dict[str, str] = {}
        self.cached: set[str] = set()
        cdp = context.new_cdp_session(tab)
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.requestServedFromCache", lambda e: self.cached.add(e["requestId"]))  # the memory cache
        cdp.on("Network.responseReceived", self._received)
        cdp.send("Network.enable")

    def _sent(self, event: dict[str, Any]) -> None:
        if "/static/" in event["request"]["url"]:
            self.urls[event["requestId"]] = event["request"]["url"]

    def _received(self, event: dict[str, Any]) -> None:
        if event["response"].get("fromDiskCache"):
            self.cached.add(event["requestId"])

    def from_network(self) -> list[str]:
        return sorted(url for rid, url in self.urls.items() if rid not in self.cached)

    def clear(self) -> None:
        self.urls.clear()
        self.cached.clear()


def test_a_second_opening_fetches_no_bundle(browser: Any, server: Server, project: dict[str, str]) -> None:
    first, second = "cache-e2e-1", "cache-e2e-2"
    for session_id in (first, second):
        _ingest(server, project["public_key"], session_id)
    context, tab = signed_in_page(browser, server)
    try:
        requests = StaticRequests(context, tab)
        tab.goto(f"{server.url}/sessions/{first}")
        tab.wait_for_selector('[data-testid="player"][data-ready="true"]', timeout=30_000)
        assert any("/static/dist/player.js?v=" in url for url in requests.urls.values()), requests.urls
        requests.clear()
        # As a person going back to the list and opening the next session.
        tab.goto(f"{server.url}/?project={project['id']}")
        tab.goto(f"{server.url}/sessions/{second}")
        tab.wait_for_selector('[data-testid="player"][data-ready="true"]', timeout=30_000)
        asked = set(requests.urls.values())
        assert any("/static/dist/player.js?v=" in url for url in asked), asked
        assert any("/static/dist/player.css?v=" in url for url in asked), asked
        assert requests.from_network() == [], "asked the server again"
    finally:
        context.close()
