"""Pages back from the back/forward cache, in Chromium with the cache on: the tab's later page has
carried the session on, so what the replay shows at that point is the later page; the restored page
must be recorded again from a full snapshot of its own, or its clicks and changes land on nodes the
replay does not have."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import CHROMIUM_ARGS, RECORD_VIEWPORT, find_chromium, wait_for_sdk
from tests.e2e.sites import Sites
from tests.e2e.test_journeys import _session
from tests.server import Server

FLUSHED_SESSION_ID = "window.sessionstory.flush().then(() => window.sessionstory.sessionId())"
META, FULL_SNAPSHOT, INCREMENTAL, CUSTOM = 4, 2, 3, 5
MOUSE_INTERACTION, CLICK = 2, 2


@pytest.fixture()
def cached_page(browser: Any) -> Iterator[Any]:
    """A page of a browser that keeps the back/forward cache (Playwright turns it off by default)."""
    cached = browser.browser_type.launch(executable_path=find_chromium(), args=CHROMIUM_ARGS,
                                         ignore_default_args=["--disable-back-forward-cache"])
    try:
        yield cached.new_context(viewport=RECORD_VIEWPORT).new_page()
    finally:
        cached.close()


def _leave_and_come_back(page: Any, sites: Sites) -> None:
    """From the shop's index to its checkout page and back, restored from the cache (not reloaded),
    until the SDK records again: it waits for what the checkout page stored at its pagehide (its
    last batch number, the tab released), which reaches the restored page a little later."""
    page.evaluate("window.__before = true; addEventListener('pageshow', e => window.__restored = e.persisted)")
    page.goto(f"{sites.url}/shop/checkout.html")
    wait_for_sdk(page)
    page.evaluate(FLUSHED_SESSION_ID)
    later = page.evaluate("JSON.parse(sessionStorage.getItem('sessionstory.session'))")
    page.go_back(wait_until="commit")
    page.wait_for_function("window.__restored !== undefined")
    assert page.evaluate("window.__restored === true && window.__before === true"), "restored from the cache"
    page.wait_for_function("""later => {
        const s = JSON.parse(sessionStorage.getItem('sessionstory.session'));
        return sessionStorage.getItem('sessionstory.alive') == '1' && s.seq >= later.seq;
    }""", arg=later)


def _events(server: Server, token: str, session_id: str) -> list[dict[str, Any]]:
    return server.get_json(f"/api/v1/sessions/{session_id}/events", token)  # type: ignore[return-value]


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("childNodes", ()):
        yield from _nodes(child)


def _replays_on_its_own_snapshot(events: list[dict[str, Any]], page_url: str, button: str) -> None:
    """The last Meta is the restored page's, a full snapshot follows it, and the click recorded
    after it names that snapshot's node of `button`."""
    metas = [i for i, e in enumerate(events) if e["type"] == META]
    last = metas[-1]
    assert events[last]["data"]["href"] == page_url
    snapshot = events[last + 1]
    assert snapshot["type"] == FULL_SNAPSHOT
    clicks = [e for e in events[last:] if e["type"] == INCREMENTAL and e["data"]["source"] == MOUSE_INTERACTION
              and e["data"]["type"] == CLICK]
    assert clicks, "the click after the restore was recorded"
    by_id = {n["id"]: n for n in _nodes(snapshot["data"]["node"])}
    clicked = by_id.get(clicks[-1]["data"]["id"])
    assert clicked is not None and clicked.get("attributes", {}).get("data-name") == button


def test_a_restored_page_is_recorded_from_a_full_snapshot_of_its_own(cached_page: Any, server: Server, sites: Sites,
                                                                     token: str) -> None:
    page = cached_page
    index = f"{sites.url}/shop/index.html"
    page.goto(index)
    wait_for_sdk(page)
    page.click("button[data-name=assam]")
    session_id = page.evaluate(FLUSHED_SESSION_ID)
    _leave_and_come_back(page, sites)
    page.click("button[data-name=oolong]")
    assert page.evaluate(FLUSHED_SESSION_ID) == session_id

    session = _session(server, token, session_id, until=lambda s: s["clicks"] >= 2 and len(s["pages"]) >= 3)
    # The restored page numbered its batches after the later page's: none was dropped as a repeat.
    assert session["clicks"] == 2
    # The restored page is a page view of its own, after the checkout page.
    assert [p["url"] for p in session["pages"]] == [index, f"{sites.url}/shop/checkout.html", index]
    events = _events(server, token, session_id)
    assert [e["data"]["href"] for e in events if e["type"] == META] == [
        index, f"{sites.url}/shop/checkout.html", index]
    _replays_on_its_own_snapshot(events, index, "oolong")
    pages = [e["data"]["payload"] for e in events if e["type"] == CUSTOM and e["data"]["tag"] == "page"]
    assert [p["kind"] for p in pages] == ["load", "load", "restore"]
