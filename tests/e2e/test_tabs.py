"""Tabs in Chromium: a tab opened by script starts with a copy of its opener's sessionStorage, ids
included; the SDK gives it a session of its own, while a reload of either tab carries its session on
(a page restored from the back/forward cache after a later page of its tab: test_bfcache.py)."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import RECORD_VIEWPORT, wait_for_sdk
from tests.e2e.sites import Sites
from tests.e2e.test_journeys import _session
from tests.server import Server

SESSION_ID = "window.sessionstory.sessionId()"
FLUSHED_SESSION_ID = "window.sessionstory.flush().then(() => window.sessionstory.sessionId())"


def _page_urls(server: Server, token: str, session_id: str, expected: int) -> list[str]:
    """The pages the server stored for a session, once it has `expected` of them."""
    session = _session(server, token, session_id, until=lambda s: len(s.get("pages") or []) >= expected)
    return [p["url"] for p in session["pages"]]


def test_a_tab_opened_by_script_records_its_own_session(browser: Any, server: Server, sites: Sites,
                                                        token: str) -> None:
    context = browser.new_context(viewport=RECORD_VIEWPORT)
    try:
        opener = context.new_page()
        opener.goto(f"{sites.url}/shop/index.html")
        wait_for_sdk(opener)
        opener.click("button[data-name=assam]")
        opener_session = opener.evaluate(FLUSHED_SESSION_ID)

        with context.expect_page() as opened:
            opener.evaluate("url => { window.open(url) }", f"{sites.url}/shop/index.html?opened")
        tab = opened.value
        tab.wait_for_load_state()
        wait_for_sdk(tab)
        assert tab.evaluate("sessionStorage.length") > 0, "Chromium copied the opener's sessionStorage"
        tab.click("button[data-name=oolong]")
        tab_session = tab.evaluate(FLUSHED_SESSION_ID)
        assert tab_session != opener_session

        # The opener carries on with its own session, and each tab's reload keeps its session.
        opener.click("button[data-name=oolong]")
        assert opener.evaluate(FLUSHED_SESSION_ID) == opener_session
        tab.reload()
        wait_for_sdk(tab)
        tab.click("button[data-name=assam]")
        assert tab.evaluate(FLUSHED_SESSION_ID) == tab_session

        # Both tabs' batches were stored, each under its own session (none dropped as a repeat).
        assert _page_urls(server, token, opener_session, 1) == [f"{sites.url}/shop/index.html"]
        assert _page_urls(server, token, tab_session, 2) == [f"{sites.url}/shop/index.html?opened"] * 2
    finally:
        context.close()
