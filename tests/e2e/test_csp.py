"""The strict CSP in a real browser: our pages work under it and violate nothing."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import RECORD_VIEWPORT, signed_in_page, wait_for_sdk
from tests.e2e.sites import Sites
from tests.server import Server


def test_the_dashboard_and_the_replay_run_under_the_csp(browser: Any, server: Server, sites: Sites,
                                                        project: dict[str, str]) -> None:
    visitor = browser.new_context(viewport=RECORD_VIEWPORT)
    shop = visitor.new_page()
    shop.goto(f"{sites.url}/shop/index.html")
    wait_for_sdk(shop)
    shop.click("button[data-name=assam]")
    session_id = shop.evaluate("window.sessionstory.sessionId()")
    shop.evaluate("window.sessionstory.flush()")
    visitor.close()

    context, page = signed_in_page(browser, server)
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    try:
        page.goto(f"{server.url}/sessions/{session_id}")
        page.wait_for_selector('[data-testid="player"][data-ready="true"]', timeout=30_000)
        frame = page.frame_locator('[data-testid="player"] iframe')
        assert frame.locator("button[data-name=assam]").count() == 1
        # The recorded site's stylesheet applies inside the replay (fidelity under the policy).
        color = frame.locator("button[data-name=assam]").evaluate("b => getComputedStyle(b).backgroundColor")
        assert color not in ("", "rgba(0, 0, 0, 0)")
        for path in (f"/?project={project['id']}", f"/overview?project={project['id']}",
                     f"/heatmaps?project={project['id']}", "/demo"):
            page.goto(server.url + path)
            page.wait_for_load_state("networkidle")
        # A self-submitting select works without an inline handler.
        page.goto(f"{server.url}/overview?project={project['id']}")
        page.select_option("select[name=range]", "30d")
        page.wait_for_url("**range=30d**")
        assert violations == []
    finally:
        context.close()


def test_the_api_reader_runs_from_local_assets_under_the_csp(browser: Any, server: Server) -> None:
    context = browser.new_context()
    page = context.new_page()
    outside: list[str] = []
    violations: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(server.url) else None)
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    try:
        page.goto(f"{server.url}/schema")
        page.locator(".opblock-summary-path", has_text="/api/v1/sessions/{session_id}/events").first.wait_for(timeout=20_000)
        assert page.locator(".opblock").count() >= 10
        assert outside == [] and violations == []
    finally:
        context.close()
