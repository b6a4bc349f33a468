"""Hostile recordings replayed in Chromium: nothing runs, nothing navigates, nothing calls out.

Two doors are attacked: the replayed DOM (the corpus in tests/xss_corpus.py, sent through
ingest as any client may), and every visitor-controlled string the dashboard shows.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.e2e.conftest import signed_in_page
from tests.events import custom, error, meta, network, page
from tests.server import Server
from tests.xss_corpus import JS, corpus, mutations, page_snapshot, with_sink

T0 = int(time.time() * 1000) - 60_000


class Sink:
    """A server that records every request made to it: a replay must make none."""

    def __init__(self) -> None:
        hits = self.hits = []  # type: list[str]

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                hits.append(self.path)
                self.send_response(204)
                self.end_headers()

            do_POST = do_GET  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def sink() -> Iterator[Sink]:
    s = Sink()
    yield s
    s.close()


def _ingest(server: Server, key: str, session_id: str, events: list[dict[str, Any]], **extra: Any) -> None:
    body = {"key": key, "session_id": session_id, "visitor_id": extra.pop("visitor_id", "xss-visitor"), "seq": 0,
            "events": events, **extra}
    req = urllib.request.Request(f"{server.url}/api/v1/ingest", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json", **extra.pop("headers", {})})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200


def _watch(page: Any) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {"dialogs": [], "navigations": []}
    page.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))
    page.on("framenavigated", lambda f: seen["navigations"].append(f.url) if f != page.main_frame else None)
    return seen


def test_the_replay_xss_corpus_runs_nothing(browser: Any, server: Server, project: dict[str, str], sink: Sink) -> None:
    items = corpus()
    assert len(items) >= 50
    snapshot, body_id = page_snapshot([node for _, node in items], T0 + 1)
    events = [meta(T0, href="https://corpus.example/"), snapshot]
    events += [{"type": 3, "timestamp": T0 + 500 + i, "data": m} for i, m in enumerate(mutations(body_id))]
    events.append({"type": 3, "timestamp": T0 + 3000, "data": {"source": 1, "positions": [{"x": 5, "y": 5, "id": body_id, "timeOffset": 0}]}})
    _ingest(server, project["public_key"], "xss-replay", with_sink(events, sink.url))

    context, viewer = signed_in_page(browser, server)
    seen = _watch(viewer)
    try:
        viewer.goto(f"{server.url}/sessions/xss-replay?t=3000")
        viewer.wait_for_selector('[data-testid="player"][data-ready="true"]', timeout=30_000)
        frame = viewer.frame_locator('[data-testid="player"] iframe')
        assert frame.locator("body").count() == 1
        viewer.keyboard.press("Space")  # play through the mutations too
        viewer.wait_for_timeout(2500)
        assert viewer.evaluate("window.__xss") is None, "a payload ran in the dashboard"
        assert sink.hits == [], f"the replay called out: {sink.hits}"
        assert seen["dialogs"] == []
        assert [u for u in seen["navigations"] if u not in ("about:blank", "")] == []
        assert viewer.url.startswith(f"{server.url}/sessions/xss-replay")
    finally:
        context.close()


HOSTILE = [
    f'<img src=x onerror="{JS}">',
    f"\"><script>{JS}</script>",
    f"javascript:{JS}",
    f"<svg onload=\"{JS}\">",
    f"'-{JS}-'",
]


def test_visitor_strings_stay_text_on_every_dashboard_page(browser: Any, server: Server, project: dict[str, str],
                                                           sink: Sink) -> None:
    key = project["public_key"]
    for n, payload in enumerate(HOSTILE):
        hostile = with_sink(payload, sink.url)
        url = f"https://shop.example/{hostile}"
        events = [
            meta(T0, href=url), page_snapshot([], T0 + 1)[0], page(T0 + 2, url, title=hostile, referrer=hostile),
            error(T0 + 3, message=hostile, stack=hostile), custom(T0 + 4, "console", level="error", args=[hostile]),
            network(T0 + 5, url, 500), custom(T0 + 6, "track", name=hostile, props={"x": hostile}),
            custom(T0 + 7, "click", selector=hostile, text=hostile, tag="a", x=1, y=1, vw=800, vh=600),
        ]
        _ingest(server, key, f"xss-strings-{n}", events, user_id=hostile, visitor_id=f"xss-v{n}",
                headers={"User-Agent": hostile})

    context, viewer = signed_in_page(browser, server)
    seen = _watch(viewer)
    project_q = f"project={project['id']}"
    try:
        for path in (f"/?{project_q}", f"/?{project_q}&q=script", f"/errors?{project_q}", f"/overview?{project_q}",
                     f"/visitors?{project_q}", f"/visitors/xss-v0?{project_q}", f"/funnels?{project_q}",
                     f"/heatmaps?{project_q}"):
            viewer.goto(server.url + path)
            viewer.wait_for_load_state("networkidle")
        for n in range(len(HOSTILE)):
            viewer.goto(f"{server.url}/sessions/xss-strings-{n}")
            viewer.wait_for_selector('[data-testid="player"][data-ready]', timeout=30_000)
            for tab in viewer.locator(".ss-tab").all():  # every panel of the player renders its rows
                tab.click()
        viewer.wait_for_timeout(500)
        assert viewer.evaluate("window.__xss") is None
        assert sink.hits == []
        assert seen["dialogs"] == []
        assert viewer.locator("img[src=x], svg[onload]").count() == 0
    finally:
        context.close()
