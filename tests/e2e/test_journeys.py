"""Facts from real journeys: the SDK in Chromium, the server's extraction, the API's answer."""

from __future__ import annotations

import time
from typing import Any

from tests.e2e.conftest import RECORD_VIEWPORT, wait_for_sdk
from tests.e2e.sites import Sites
from tests.server import Server


def _record(browser: Any, sites: Sites, steps: Any) -> str:
    context = browser.new_context(viewport=RECORD_VIEWPORT)
    page = context.new_page()
    page.goto(f"{sites.url}/shop/app.html")
    wait_for_sdk(page)
    page.wait_for_timeout(300)
    steps(page)
    page.wait_for_timeout(1500)  # let every click's outcome window close
    session_id = page.evaluate("window.sessionstory.sessionId()")
    page.evaluate("window.sessionstory.flush()")
    context.close()
    return str(session_id)


def _session(server: Server, token: str, session_id: str, until: Any = None) -> dict[str, Any]:
    """The session's facts; with `until`, polled until they satisfy it (clicks still
    pending when the visitor left are judged after 3 s of silence)."""
    deadline = time.monotonic() + 10
    while True:
        s: dict[str, Any] = server.get_json(f"/api/v1/sessions/{session_id}", token)  # type: ignore[assignment]
        if until is None or until(s) or time.monotonic() > deadline:
            return s
        time.sleep(0.25)


def test_frustration_journey(browser: Any, server: Server, sites: Sites, token: str) -> None:
    def steps(page: Any) -> None:
        for _ in range(4):
            page.click("#dead")  # rage click, and dead: nothing happens
        page.wait_for_timeout(1200)
        page.click("#broken")  # error click
        page.wait_for_timeout(1200)
        page.click("#missing")  # a failed request
        page.wait_for_timeout(800)
        for x in (100, 500, 100, 500, 100, 500, 100):  # thrashed cursor
            page.mouse.move(x, 400, steps=3)
            page.wait_for_timeout(40)

    s = _session(server, token, _record(browser, sites, steps), until=lambda s: s["dead_clicks"] >= 3)
    assert s["rage_clicks"] == 1
    assert s["dead_clicks"] >= 3, "the repeated clicks on a button without a handler changed nothing"
    assert s["error_clicks"] == 1
    assert s["error_count"] == 1
    assert "TypeError" in s["errors"][0]["message"] and "app.html" in s["errors"][0]["stack"]
    assert s["network_errors"] == 1
    assert s["thrashed_cursor"] >= 1
    assert s["clicks"] >= 6


def test_navigation_identity_and_events(browser: Any, server: Server, sites: Sites, token: str, project: dict[str, str]) -> None:
    def steps(page: Any) -> None:
        page.click("#to-list")
        page.wait_for_timeout(400)
        page.click("#to-item")
        page.wait_for_timeout(1500)
        page.go_back()  # back to the list within seconds: a quick back
        page.wait_for_timeout(500)
        page.mouse.wheel(0, 3000)
        page.wait_for_timeout(800)
        page.click("#login")
        page.click("#buy")

    sid = _record(browser, sites, steps)
    s = _session(server, token, sid)
    urls = [p["url"] for p in s["pages"]]
    assert [u.split("/shop/")[1] for u in urls] == ["app.html", "app/list", "app/item/1", "app/list"]
    assert s["pages"][2]["title"] == "Tea shop 1"
    assert s["quick_backs"] == 1
    assert s["user_id"] == "ann@example.com"
    assert "purchase" in s["event_names"]
    assert s["dead_clicks"] == 0 and s["rage_clicks"] == 0 and s["error_count"] == 0
    listed = server.get_json(f"/api/v1/sessions?project={project['id']}&event=purchase&user=ann@example.com", token)
    assert sid in [i["id"] for i in listed["items"]]  # type: ignore[index]
    heat = server.get_json(f"/api/v1/heatmap?project={project['id']}&url={urls[-1]}", token)
    deepest = max(b["depth"] for b in heat["scroll"] if b["sessions"])  # type: ignore[index]
    assert deepest >= 70, "scrolled most of the 4,000 px page"


def test_failed_request_url_keeps_no_query_values(browser: Any, server: Server, sites: Sites, token: str) -> None:
    sid = _record(browser, sites, lambda page: (page.click("#missing"), page.wait_for_timeout(600)))
    events = server.get_json(f"/api/v1/sessions/{sid}/events", token)
    network = [e["data"]["payload"] for e in events if e["type"] == 5 and e["data"]["tag"] == "network"]  # type: ignore[union-attr, index]
    assert network and network[0]["status"] == 404
    assert "secret-token-123" not in str(events) and "token=*" in network[0]["url"]
