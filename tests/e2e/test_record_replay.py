"""The product's main job, end to end in Chromium: record a visit, find it, replay it."""

from __future__ import annotations

from typing import Any

import zstandard

from sessionstory.store import SegmentLog
from tests.e2e.conftest import RECORD_VIEWPORT, open_player, pixel_match, save_pair, wait_for_sdk
from tests.e2e.sites import Sites
from tests.server import Server

TYPED_TEXT = "visible-text-typed-77"
TYPED_PASSWORD = "my-secret-password-42"


def _record_shop(browser: Any, sites: Sites) -> tuple[str, bytes, Any]:
    context = browser.new_context(viewport=RECORD_VIEWPORT)
    page = context.new_page()
    page.goto(f"{sites.url}/shop/index.html")
    wait_for_sdk(page)
    page.click("button[data-name=assam]")
    page.click("#to-checkout")
    page.wait_for_url("**/checkout.html")
    wait_for_sdk(page)
    page.click("#name")
    page.keyboard.type(TYPED_TEXT, delay=15)
    page.click("#password")
    page.keyboard.type(TYPED_PASSWORD, delay=15)
    page.click("#terms")
    page.click("#pay")
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.mouse.move(1000, 690)
    page.wait_for_timeout(600)
    live = page.screenshot()
    session_id = page.evaluate("window.sessionstory.sessionId()")
    page.evaluate("window.sessionstory.flush()")
    return session_id, live, context


def test_record_list_and_replay_the_shop(browser: Any, server: Server, sites: Sites, project: dict[str, str],
                                         token: str, dashboard: Any) -> None:
    session_id, live, context = _record_shop(browser, sites)
    context.close()

    listed = server.get_json(f"/api/v1/sessions?project={project['id']}", token)
    assert session_id in [item["id"] for item in listed["items"]]  # type: ignore[index]
    session = server.get_json(f"/api/v1/sessions/{session_id}", token)
    assert session["page_count"] == 2  # type: ignore[index]
    assert session["entry_url"].endswith("/shop/index.html")  # type: ignore[index]

    events = server.get_json(f"/api/v1/sessions/{session_id}/events", token)
    stamps = [e["timestamp"] for e in events]  # type: ignore[union-attr]
    assert stamps == sorted(stamps)
    types = [e["type"] for e in events]  # type: ignore[union-attr]
    assert types.count(4) == 2 and types.count(2) >= 2, "a Meta and a FullSnapshot per page load"

    _assert_typed_values_stored_nowhere(server)

    frame = open_player(dashboard, server, session_id, stamps[-1] - stamps[0])
    assert frame.get_attribute("sandbox") == "allow-same-origin"
    replay = frame.screenshot()
    save_pair("shop", live, replay)
    dashboard.screenshot(path="test-results/shop-player-page.png")
    match = pixel_match(live, replay)
    assert match >= 0.99, f"replay matches the live page on only {match:.2%} of pixels"


def _assert_typed_values_stored_nowhere(server: Server) -> None:
    raw = b"".join(p.read_bytes() for p in server.data_dir.rglob("*") if p.is_file() and not p.is_socket())
    log = SegmentLog(server.data_dir / "segments")
    bodies = b"".join(zstandard.ZstdDecompressor().decompress(r.body) for _, r in log.scan() if r.body)
    for secret in (TYPED_TEXT, TYPED_PASSWORD):
        assert secret.encode() not in raw
        assert secret.encode() not in bodies
    assert b"Private note that must be masked" not in bodies, "ss-mask text is masked"


def _record(browser: Any, url: str, act: Any) -> tuple[str, bytes, int]:
    """Visit `url`, let `act(page)` browse, and return the session, a live screenshot and its moment."""
    context = browser.new_context(viewport=RECORD_VIEWPORT)
    page = context.new_page()
    page.goto(url)
    wait_for_sdk(page)
    act(page)
    page.mouse.move(RECORD_VIEWPORT["width"] - 2, RECORD_VIEWPORT["height"] - 2)
    page.wait_for_timeout(800)
    live = page.screenshot()
    session_id = page.evaluate("window.sessionstory.sessionId()")
    page.evaluate("window.sessionstory.flush()")
    context.close()
    return session_id, live, 0


def _replay_at_end(server: Server, token: str, dashboard: Any, session_id: str) -> bytes:
    events = server.get_json(f"/api/v1/sessions/{session_id}/events", token)
    stamps = [e["timestamp"] for e in events]  # type: ignore[union-attr]
    return open_player(dashboard, server, session_id, stamps[-1] - stamps[0]).screenshot()  # type: ignore[no-any-return]


def test_python_docs_replay_faithfully(browser: Any, server: Server, sites: Sites, token: str, dashboard: Any) -> None:
    def browse(page: Any) -> None:
        page.click("text=Library Reference")
        page.wait_for_load_state("load")
        wait_for_sdk(page)
        page.mouse.wheel(0, 900)
        page.wait_for_timeout(400)

    session_id, live, _ = _record(browser, f"{sites.url}/pydocs/index.html", browse)
    replay = _replay_at_end(server, token, dashboard, session_id)
    save_pair("pydocs", live, replay)
    match = pixel_match(live, replay)
    assert match >= 0.99, f"Python docs replay matches on only {match:.2%} of pixels"


def test_swagger_ui_replays_faithfully(browser: Any, server: Server, sites: Sites, token: str, dashboard: Any) -> None:
    def browse(page: Any) -> None:
        page.wait_for_selector(".opblock-summary")
        page.click(".opblock-summary >> nth=1")
        page.wait_for_selector(".opblock-body")
        page.wait_for_timeout(500)

    session_id, live, _ = _record(browser, f"{sites.url}/swagger/index.html", browse)
    replay = _replay_at_end(server, token, dashboard, session_id)
    save_pair("swagger", live, replay)
    match = pixel_match(live, replay)
    assert match >= 0.99, f"Swagger UI replay matches on only {match:.2%} of pixels"
