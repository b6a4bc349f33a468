"""The session list in Chromium: filters live in the URL, the form writes them there,
and htmx pages through the results."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

from tests.events import meta, page, snapshot
from tests.e2e.conftest import wait_for_sdk
from tests.server import Server

IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/17.0 Mobile/15E148 Safari/604.1")
DESKTOP = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"


def _ingest(server: Server, key: str, sid: str, ua: str, url: str, at: int) -> None:
    body = {"key": key, "session_id": sid, "visitor_id": f"v-{sid}", "seq": 0,
            "events": [meta(at, url), snapshot(at), page(at, url, title="T")]}
    req = urllib.request.Request(f"{server.url}/api/v1/ingest", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json", "User-Agent": ua})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200


def test_filters_from_the_url_and_the_form(server: Server, dashboard: Any) -> None:
    project = server.project("Explorer")
    now = int(time.time() * 1000)
    for i in range(60):
        ua = IPHONE if i % 3 == 0 else DESKTOP
        _ingest(server, project["public_key"], f"ui-{i:02d}", ua, f"https://shop.example/p/{i}", now - i * 60_000)

    dashboard.goto(f"{server.url}/?project={project['id']}&device=mobile")
    rows = dashboard.locator("#rows tr:not(.more)")
    assert rows.count() == 20
    assert dashboard.locator("select[name=device]").input_value() == "mobile"
    assert "20" in dashboard.locator("h1 small").inner_text()

    dashboard.select_option("select[name=device]", "desktop")
    dashboard.click("form.filters button[type=submit]")
    dashboard.wait_for_url("**device=desktop**")
    assert dashboard.locator("#rows tr:not(.more)").count() == 40

    dashboard.fill("input[name=url]", "/p/1")
    dashboard.click("form.filters button[type=submit]")
    dashboard.wait_for_url("**url=%2Fp%2F1**")
    # desktop sessions whose URL contains /p/1: 1, 10, 11, 13, 14, 16, 17, 19
    assert dashboard.locator("#rows tr:not(.more)").count() == 8

    dashboard.goto(f"{server.url}/?project={project['id']}")
    assert dashboard.locator("#rows tr:not(.more)").count() == 50
    dashboard.click("tr.more button")
    # (A locator, not wait_for_function: a string predicate is eval'd in the page, which its CSP refuses.)
    dashboard.locator("#rows tr:not(.more)").nth(59).wait_for()
    assert dashboard.locator("#rows tr:not(.more)").count() == 60
    assert dashboard.locator("tr.more").count() == 0


def test_overview_chart_and_heatmap_render(server: Server, dashboard: Any, sites: Any, browser: Any,
                                           project: dict[str, str]) -> None:
    context = browser.new_context(viewport={"width": 1024, "height": 700})
    page = context.new_page()
    page.goto(f"{sites.url}/shop/index.html")
    wait_for_sdk(page)
    for name in ("sencha", "assam", "oolong"):
        page.click(f"button[data-name={name}]")
    page.evaluate("window.sessionstory.flush()")
    context.close()

    dashboard.goto(f"{server.url}/overview?project={project['id']}")
    dashboard.wait_for_selector(".ss-chart[data-ready=true]", timeout=15_000)
    assert dashboard.locator(".ss-chart canvas").count() >= 1

    dashboard.goto(f"{server.url}/heatmaps?project={project['id']}&url={sites.url}/shop/index.html")
    heat = dashboard.wait_for_selector('[data-testid="heatmap"][data-ready="true"]', timeout=30_000)
    assert int(heat.get_attribute("data-clicks-shown") or 0) >= 3
    assert dashboard.locator('[data-testid="heatmap"] iframe').get_attribute("sandbox") == "allow-same-origin"
