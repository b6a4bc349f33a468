"""Canvas in Chromium: the SDK's bundle leaves rrweb's canvas recorder out (scripts/build.mjs), as
the SDK never records what a canvas draws. A page drawing on 2D and WebGL canvases every frame
(pages/shop/canvas.html) is recorded all the same: its canvases are in the snapshot as elements,
no drawing is recorded, and the recorder reports no error."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import RECORD_VIEWPORT, wait_for_sdk
from tests.e2e.sites import Sites
from tests.e2e.test_journeys import _session
from tests.server import Server

CANVAS_MUTATION = 9  # rrweb's IncrementalSource.CanvasMutation


def _nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [node, *(n for child in node.get("childNodes", []) for n in _nodes(child))]


def test_a_page_drawing_on_canvases_is_recorded_without_its_drawing(browser: Any, server: Server, sites: Sites,
                                                                    token: str) -> None:
    context = browser.new_context(viewport=RECORD_VIEWPORT)
    page = context.new_page()
    warnings: list[str] = []
    page.on("console", lambda m: warnings.append(m.text) if m.text.startswith("SessionStory") else None)
    try:
        page.goto(f"{sites.url}/shop/canvas.html")
        wait_for_sdk(page)
        page.wait_for_timeout(1000)  # about 60 frames of drawing while recorded
        page.click("#done")
        session_id = page.evaluate("window.sessionstory.flush().then(() => window.sessionstory.sessionId())")
    finally:
        context.close()

    _session(server, token, session_id, until=lambda s: s["clicks"] >= 1)
    events: list[dict[str, Any]] = server.get_json(f"/api/v1/sessions/{session_id}/events", token)  # type: ignore[assignment]
    snapshot = next(e for e in events if e["type"] == 2)
    canvases = [n for n in _nodes(snapshot["data"]["node"]) if n.get("tagName") == "canvas"]
    assert [c["attributes"].get("id") for c in canvases] == ["flat", "gl"]
    assert not any(c["attributes"].get("rr_dataURL") for c in canvases), "no canvas content recorded"
    assert not [e for e in events if e["type"] == 3 and e["data"].get("source") == CANVAS_MUTATION]
    assert any(e["type"] == 5 and e["data"]["tag"] == "click" for e in events), "recording went on"
    assert warnings == [], warnings
