"""Working on a session together, in Chromium: comments on the timeline, share links opened without an
account, a screenshot of the frame, and switching between a visitor's tabs."""

from __future__ import annotations

import io
import json
import os
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from PIL import Image

from tests.e2e.conftest import RECORD_VIEWPORT, open_player, pixel_match, wait_for_sdk
from tests.e2e.sites import Sites
from tests.server import Server, cli

READY = '[data-testid="player"][data-ready="true"]'


def _record(browser: Any, sites: Sites) -> str:
    """A real session of a few seconds: three clicks a second apart."""
    context = browser.new_context(viewport=RECORD_VIEWPORT)
    page = context.new_page()
    page.goto(f"{sites.url}/shop/index.html")
    wait_for_sdk(page)
    for name in ("sencha", "assam", "oolong"):
        page.wait_for_timeout(1000)
        page.click(f"button[data-name={name}]")
    page.evaluate("window.sessionstory.flush()")
    session_id = str(page.evaluate("window.sessionstory.sessionId()"))
    context.close()
    return session_id


def _playhead(page: Any) -> float:
    return float(page.locator(".ss-seek").input_value())


def _rewind(page: Any) -> None:
    page.locator(".ss-seek").press("Home")
    page.wait_for_timeout(200)
    assert _playhead(page) == 0


def _comments_tab(page: Any) -> None:
    page.locator(".ss-tab", has_text="Comments").click()


def test_comments_are_pinned_marked_seek_and_survive_reindex(browser: Any, server: Server, sites: Sites,
                                                              dashboard: Any) -> None:
    session_id = _record(browser, sites)
    open_player(dashboard, server, session_id, 2000)
    _comments_tab(dashboard)
    assert dashboard.locator(".ss-comment-add").inner_text() == "Comment at 0:02"
    dashboard.fill(".ss-comment-box", "<img src=x onerror=alert(1)> basket does not update")
    dashboard.click(".ss-comment-add")
    row = dashboard.locator(".ss-row-comment")
    row.wait_for()
    # Text, never markup: the tag is shown as typed and no element came of it.
    assert row.locator(".ss-comment-body").inner_text() == "<img src=x onerror=alert(1)> basket does not update"
    assert row.locator("img").count() == 0
    mark = dashboard.locator(".ss-marks .ss-mark-comment")
    assert mark.count() == 1 and "basket does not update" in (mark.get_attribute("aria-label") or "")

    # The mark and the row both seek to the comment's moment.
    _rewind(dashboard)
    mark.focus()
    dashboard.keyboard.press("Enter")
    dashboard.wait_for_timeout(200)
    assert abs(_playhead(dashboard) - 2000) < 50
    _rewind(dashboard)
    row.locator(".ss-row-time").click()
    dashboard.wait_for_timeout(200)
    assert abs(_playhead(dashboard) - 2000) < 50

    # Kept in the log: a rebuilt index still has it.
    out = cli(server.data_dir, "reindex")
    assert out.returncode == 0, out.stderr
    open_player(dashboard, server, session_id, 0)
    _comments_tab(dashboard)
    dashboard.locator(".ss-row-comment").wait_for()
    assert dashboard.locator(".ss-marks .ss-mark-comment").count() == 1

    # Its author deletes it; the mark goes with it.
    dashboard.locator(".ss-comment-delete").click()
    dashboard.locator(".ss-row-comment").wait_for(state="detached")
    assert dashboard.locator(".ss-marks .ss-mark-comment").count() == 0


def _create_link_on_page(dashboard: Any, server: Server, session_id: str) -> str:
    dashboard.goto(f"{server.url}/sessions/{session_id}")
    card = dashboard.locator(".share-card")
    card.locator("select[name=expires_in]").select_option("1h")
    card.locator("button[type=submit]", has_text="Create share link").click()
    url = card.locator('[data-testid="share-url"]')
    url.wait_for()
    return str(url.input_value())


def test_a_share_link_plays_without_an_account_and_reaches_nothing_else(
        browser: Any, server: Server, sites: Sites, dashboard: Any, token: str) -> None:
    session_id = _record(browser, sites)
    other_id = _record(browser, sites)
    link = _create_link_on_page(dashboard, server, session_id)
    assert link.startswith(f"{server.url}/share/")

    outsider = browser.new_context(viewport={"width": 1440, "height": 1100})
    try:
        page = outsider.new_page()
        page.goto(link)
        page.wait_for_selector(READY, timeout=30_000)
        assert page.locator("form.signout").count() == 0, "nobody is signed in"
        frame = page.frame_locator('[data-testid="player"] iframe')
        assert frame.locator("button[data-name=assam]").count() == 1
        page.locator(".ss-play").click()
        page.locator('[data-testid="player"][data-state="playing"]').wait_for(timeout=5000)
        assert page.locator(".ss-tab", has_text="Comments").count() == 0, "the team's comments stay with the team"
        assert page.locator(".ss-download").is_hidden()

        # The page's cookies (none) and the token open nothing else.
        secret = link.rsplit("/", 1)[1]
        for path in (f"/api/v1/sessions/{other_id}/events", f"/api/v1/sessions/{session_id}/events",
                     "/api/v1/sessions", "/api/v1/projects"):
            assert outsider.request.get(server.url + path).status == 401, path
            bearer = outsider.request.get(server.url + path, headers={"Authorization": f"Bearer {secret}"})
            assert bearer.status == 401, path
        page.goto(f"{server.url}/sessions/{other_id}")
        assert "/login" in page.url

        # Revoked on the session page: the link is a clear 410 page from then on.
        dashboard.once("dialog", lambda dialog: dialog.accept())
        dashboard.locator(".share-card tr.share-active button", has_text="Revoke").first.click()
        dashboard.locator(".share-card tr.share-revoked").wait_for()
        gone = page.goto(link)
        assert gone is not None and gone.status == 410
        assert "revoked" in page.locator('[data-testid="share-gone"]').inner_text()
        assert outsider.request.get(f"{server.url}/share/{secret}/events").status == 410
    finally:
        outsider.close()


def test_a_share_link_expires(browser: Any, server: Server, sites: Sites, token: str) -> None:
    session_id = _record(browser, sites)
    outsider = browser.new_context()
    try:
        # Long enough to load under a busy CI machine, short enough to wait out.
        made = outsider.request.post(f"{server.url}/api/v1/sessions/{session_id}/share-links",
                                     data=json.dumps({"expires_in": 10}),
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        assert made.status == 201
        link = made.json()["url"]
        expires = datetime.fromisoformat(made.json()["expires_at"].replace("Z", "+00:00")).timestamp()
        page = outsider.new_page()
        page.goto(link)
        page.wait_for_selector(READY, timeout=30_000)
        assert time.time() < expires, "the machine was too slow to open the link before it expired"
        time.sleep(max(0.0, expires - time.time()) + 0.3)
        gone = page.goto(link)
        assert gone is not None and gone.status == 410
        assert "expired" in page.locator('[data-testid="share-gone"]').inner_text()
    finally:
        outsider.close()


def test_screenshot_saves_the_frame_as_a_png(browser: Any, server: Server, sites: Sites, dashboard: Any) -> None:
    session_id = _record(browser, sites)
    open_player(dashboard, server, session_id, 3500)
    errors: list[str] = []
    dashboard.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    with dashboard.expect_download() as download:
        dashboard.locator(".ss-screenshot").click()
    saved = download.value
    assert saved.suggested_filename == f"session-{session_id}-at-0m03s.png"
    png = Path(saved.path()).read_bytes()
    out = Path(os.environ.get("SESSIONSTORY_SCREENSHOTS", "test-results"))
    out.mkdir(parents=True, exist_ok=True)
    (out / "player-screenshot.png").write_bytes(png)  # for a person to look at after a run
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.size == (RECORD_VIEWPORT["width"], RECORD_VIEWPORT["height"])
    colours = image.convert("RGB").getcolors(maxcolors=100_000)
    assert colours is None or len(colours) > 20, "a picture of the page, not a blank"
    # The same picture as the browser's own rendering of the frame (text may be antialiased differently).
    shown = dashboard.locator('[data-testid="player"] iframe').screenshot()
    assert pixel_match(shown, png) > 0.97
    assert not [e for e in errors if "Content Security Policy" in e], errors


def test_a_visitors_tabs_are_told_apart_and_switched(browser: Any, server: Server, sites: Sites,
                                                     dashboard: Any, token: str) -> None:
    # One visitor (one browser profile), two tabs: each records its own session.
    context = browser.new_context(viewport=RECORD_VIEWPORT)
    try:
        first = context.new_page()
        first.goto(f"{sites.url}/shop/index.html")
        wait_for_sdk(first)
        first.wait_for_timeout(1500)
        second = context.new_page()
        second.goto(f"{sites.url}/shop/checkout.html")
        wait_for_sdk(second)
        for n in range(3):
            first.wait_for_timeout(700)
            first.click("button[data-name=sencha]")
            second.mouse.move(100 + 50 * n, 200)
        first_id = first.evaluate("window.sessionstory.flush().then(() => window.sessionstory.sessionId())")
        second_id = second.evaluate("window.sessionstory.flush().then(() => window.sessionstory.sessionId())")
    finally:
        context.close()
    assert first_id != second_id

    tabs = server.get_json(f"/api/v1/sessions/{first_id}/tabs", token)
    assert isinstance(tabs, list) and [t["id"] for t in tabs] == [first_id, second_id]
    offset = tabs[1]["offset_ms"]  # when the second tab opened, in the first one's time
    assert offset > 0

    open_player(dashboard, server, first_id, offset + 1000)
    strip = dashboard.locator(".ss-tabstrip")
    strip.wait_for()
    assert strip.locator(".ss-tabstrip-current").inner_text().startswith("Tab 1")
    other = strip.locator(f'a[data-session-id="{second_id}"]')
    assert other.inner_text().startswith("Tab 2") and "/shop/checkout.html" in other.inner_text()
    other.click()
    dashboard.wait_for_url(f"**/sessions/{second_id}?t=*")
    dashboard.wait_for_selector(READY, timeout=30_000)
    # The same moment of the visitor's time: a second after the second tab opened.
    assert dashboard.url.endswith("?t=1000")
    assert dashboard.locator(".ss-tabstrip-current").inner_text().startswith("Tab 2")
    frame = dashboard.frame_locator('[data-testid="player"] iframe')
    assert frame.locator("#pay").count() == 1, "the second tab's page"
    dashboard.locator(f'.ss-tabstrip a[data-session-id="{first_id}"]').click()
    dashboard.wait_for_url(f"**/sessions/{first_id}?t=*")
