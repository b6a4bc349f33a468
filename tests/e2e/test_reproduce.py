"""Steps to reproduce, end to end: a journey recorded in Chromium comes back as steps, as a Playwright
test that runs green against the same pages, and as the player's Steps panel."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import find_chromium, open_player, wait_for_sdk
from tests.e2e.sites import Sites
from tests.e2e.test_record_replay import TYPED_PASSWORD, TYPED_TEXT, _record_shop
from tests.server import Server


def _record_journey(browser: Any, sites: Sites) -> str:
    """The shop's journey of test_record_replay (basket, checkout form), then the app page typed in:
    a click that throws, a failed request, an in-app navigation and the browser's back button."""
    session_id, _, context = _record_shop(browser, sites)
    page = context.pages[0]
    page.goto(f"{sites.url}/shop/app.html")
    wait_for_sdk(page)
    page.click("#broken")  # TypeError on purpose
    page.click("#missing")  # a 404
    page.wait_for_timeout(300)
    page.click("#to-list")
    page.wait_for_timeout(400)
    page.go_back()
    page.wait_for_timeout(400)
    assert page.evaluate("window.sessionstory.sessionId()") == session_id
    page.evaluate("window.sessionstory.flush()")
    context.close()
    return session_id


def _get(server: Server, path: str, token: str) -> tuple[bytes, Any]:
    req = urllib.request.Request(server.url + path, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.read(), r.headers


def _steps(server: Server, token: str, session_id: str) -> list[dict[str, Any]]:
    """Polled until the last page's batch is in (earlier pages' batches may land after the final flush)."""
    deadline = time.monotonic() + 10
    while True:
        steps: list[dict[str, Any]] = server.get_json(f"/api/v1/sessions/{session_id}/steps", token)["steps"]  # type: ignore[index]
        if any(s["kind"] == "back" for s in steps) or time.monotonic() > deadline:
            return steps
        time.sleep(0.25)


@pytest.fixture(scope="module")
def journey(browser: Any, server: Server, sites: Sites, token: str) -> tuple[str, list[dict[str, Any]]]:
    session_id = _record_journey(browser, sites)
    return session_id, _steps(server, token, session_id)


def test_a_recorded_journey_reads_as_steps(journey: tuple[str, list[dict[str, Any]]], sites: Sites) -> None:
    _, steps = journey
    texts = [s["text"] for s in steps]
    assert texts[0] == "Opened /shop/index.html (Tea shop)"
    assert any(t.startswith('Clicked "Add to basket"') for t in texts)
    assert "Opened /shop/checkout.html (Checkout · Tea shop)" in texts
    assert 'Typed into "name" (#name)' in texts and 'Typed into "password" (#password)' in texts
    assert not any(TYPED_TEXT in t or TYPED_PASSWORD in t for t in texts), "typed values are never read"
    assert any(t.startswith("Saw TypeError") for t in texts)
    failed = next(i for i, t in enumerate(texts) if t.startswith("Request GET /shop/reviews.json?item=*&token=*"))
    assert texts[failed].endswith("failed (404)") and texts[failed - 1] == 'Clicked "Load reviews" (#missing)'
    assert texts[-2:] == ["Opened /shop/app/list (Tea shop list)", "Went back to /shop/app.html (Tea shop list)"]  # the page keeps its title
    assert [s["n"] for s in steps] == list(range(1, len(steps) + 1))
    assert [s["at"] for s in steps] == sorted(s["at"] for s in steps)


def test_the_exported_playwright_test_runs_green(journey: tuple[str, list[dict[str, Any]]], server: Server,
                                                 sites: Sites, token: str, tmp_path: Path) -> None:
    session_id, _ = journey
    body, headers = _get(server, f"/api/v1/sessions/{session_id}/steps.py", token)
    assert headers["Content-Type"].startswith("text/x-python")
    assert headers["Content-Disposition"].startswith('attachment; filename="test_session_')
    script = tmp_path / "test_exported.py"
    script.write_bytes(body)
    env = {**os.environ, "BASE_URL": sites.url, "SESSIONSTORY_CHROMIUM": find_chromium() or ""}
    run = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Saw TypeError" in run.stdout and "passed" in run.stdout
    under_pytest = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(script)],
                                  cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert under_pytest.returncode == 0, under_pytest.stdout + under_pytest.stderr
    assert "1 passed" in under_pytest.stdout


def test_the_steps_panel_lists_the_steps_and_a_click_seeks(journey: tuple[str, list[dict[str, Any]]],
                                                           server: Server, dashboard: Any) -> None:
    session_id, steps = journey
    open_player(dashboard, server, session_id, 0)
    dashboard.get_by_role("tab", name="Steps").click()
    rows = dashboard.locator(".ss-panel-steps li.ss-row")
    rows.first.wait_for()
    assert rows.count() == len(steps)
    assert rows.nth(0).inner_text().endswith(steps[0]["text"])
    target = next(s for s in steps if s["kind"] == "error")
    dashboard.locator(".ss-panel-steps li.ss-row", has_text=target["text"]).locator(".ss-row-body").click()
    dashboard.wait_for_function(
        "at => Math.abs(window.__ssPlayer.getCurrentTime() - at) < 50", arg=target["at"], timeout=10_000)
    current = dashboard.locator(".ss-panel-steps li.ss-current")
    assert target["text"] in current.inner_text()
    link = dashboard.get_by_role("link", name="Download Playwright test")
    assert link.get_attribute("href") == f"/api/v1/sessions/{session_id}/steps.py"
    dashboard.context.grant_permissions(["clipboard-read", "clipboard-write"])
    dashboard.get_by_role("button", name="Copy steps").click()
    copied = dashboard.evaluate("navigator.clipboard.readText()")
    assert f"1. {steps[0]['text']}" in copied and f"{len(steps)}. {steps[-1]['text']}" in copied
