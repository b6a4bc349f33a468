"""Watching a session as it happens: a visitor in one browser context, a viewer in another."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tests.e2e.conftest import RECORD_VIEWPORT, signed_in_page, wait_for_sdk
from tests.e2e.sites import Sites
from tests.server import Server


def _visitor(browser: Any, sites: Sites) -> tuple[Any, Any, str]:
    context = browser.new_context(viewport=RECORD_VIEWPORT)
    page = context.new_page()
    page.goto(f"{sites.url}/shop/index.html")
    wait_for_sdk(page)
    page.evaluate("window.sessionstory.flush()")
    return context, page, page.evaluate("window.sessionstory.sessionId()")


def _change(page: Any, n: int) -> None:
    page.evaluate(
        "n => document.body.insertAdjacentHTML('beforeend', `<p id=\"live-${n}\">live change ${n}</p>`)", n
    )


def test_a_viewer_follows_a_visitor_across_pages_as_it_happens(browser: Any, server: Server, sites: Sites) -> None:
    visitor_context, visitor, session_id = _visitor(browser, sites)
    viewer_context, viewer = signed_in_page(browser, server)
    try:
        # The stream comes compressed (web/compression.py), each event readable on arrival, as the changes show.
        with viewer.expect_response(lambda r: r.url.endswith(f"/sessions/{session_id}/live")) as streamed:
            viewer.goto(f"{server.url}/sessions/{session_id}?live=1")
        assert streamed.value.headers.get("content-encoding") == "zstd"
        viewer.wait_for_selector('[data-testid="player"][data-ready="true"]', timeout=30_000)
        frame = viewer.frame_locator('[data-testid="player"] iframe')
        assert frame.locator("button[data-name=assam]").count() == 1, "the page as it is now"

        for n in range(3):
            _change(visitor, n)
            frame.locator(f"#live-{n}").wait_for(timeout=10_000)
        assert frame.locator("#live-2").inner_text() == "live change 2"

        # A new page load of the same session replaces the frame's page, as it happens.
        visitor.click("button[data-name=assam]")
        visitor.click("#to-checkout")
        visitor.wait_for_url("**/checkout.html")
        frame.locator("#pay").wait_for(timeout=15_000)
        assert viewer.locator(".ss-url").inner_text().endswith("/shop/checkout.html")
        assert viewer.locator(".ss-live-badge").is_visible()
    finally:
        viewer_context.close()
        visitor_context.close()


def test_the_live_now_list_shows_a_visitor_and_links_to_live_mode(browser: Any, server: Server, sites: Sites,
                                                                  project: dict[str, str]) -> None:
    visitor_context, _, session_id = _visitor(browser, sites)
    viewer_context, viewer = signed_in_page(browser, server)
    try:
        viewer.goto(f"{server.url}/?project={project['id']}")
        link = viewer.locator(f'[data-testid="live-now"] a[href="/sessions/{session_id}?live=1"]')
        link.wait_for(timeout=15_000)
        link.click()
        viewer.wait_for_selector('[data-testid="player"][data-ready="true"]', timeout=30_000)
    finally:
        viewer_context.close()
        visitor_context.close()


def test_a_browser_that_takes_only_gzip_gets_gzip_everywhere(browser: Any, server: Server, sites: Sites) -> None:
    """As a browser on plain HTTP to another host does (Chromium takes zstd and brotli only on localhost and
    over HTTPS): the pages, the bundles, the events and the live stream in gzip, the stream still read as it comes."""
    visitor_context, visitor, session_id = _visitor(browser, sites)
    viewer_context, viewer = signed_in_page(browser, server)
    try:
        viewer_context.set_extra_http_headers({"Accept-Encoding": "gzip"})
        coding: dict[str, str | None] = {}
        viewer.on("response", lambda r: coding.setdefault(urlsplit(r.url).path, r.headers.get("content-encoding")))
        viewer.goto(f"{server.url}/sessions/{session_id}?live=1")
        viewer.wait_for_selector('[data-testid="player"][data-ready="true"]', timeout=30_000)
        _change(visitor, 7)
        viewer.frame_locator('[data-testid="player"] iframe').locator("#live-7").wait_for(timeout=10_000)
        viewer.goto(f"{server.url}/sessions/{session_id}")
        viewer.wait_for_selector('[data-testid="player"][data-ready="true"]', timeout=30_000)
        for path in (f"/sessions/{session_id}", "/static/dist/player.js", f"/api/v1/sessions/{session_id}/live",
                     f"/api/v1/sessions/{session_id}/events"):
            assert coding.get(path) == "gzip", (path, coding.get(path))
    finally:
        viewer_context.close()
        visitor_context.close()
