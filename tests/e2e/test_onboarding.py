"""A newcomer's first minutes: sign in, create a site, copy the snippet, see the first session."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.e2e.conftest import wait_for_sdk
from tests.e2e.sites import Sites
from tests.server import ADMIN_EMAIL, ADMIN_PASSWORD, Server


def test_onboarding_turns_green_when_the_first_session_arrives(browser: Any, tmp_path: Path) -> None:
    server = Server(tmp_path / "fresh").start()
    sites = None
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
        page = context.new_page()
        page.goto(server.url)
        page.click("text=Sign in")
        page.fill("input[name=email]", ADMIN_EMAIL)
        page.fill("input[name=password]", ADMIN_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector('[data-testid="onboarding"]')
        page.fill('[data-testid="onboarding"] input[name=name]', "My tea shop")
        page.click('[data-testid="onboarding"] button[type=submit]')
        page.wait_for_selector("text=Waiting for your first session")
        page.click("button[data-copy]")
        page.wait_for_selector("button[data-copy]:text('Copied')")
        snippet = page.evaluate("navigator.clipboard.readText()")
        key = re.search(r'data-key="([^"]+)"', snippet).group(1)  # type: ignore[union-attr]
        assert snippet.startswith(f'<script src="{server.url}/sdk.js"')

        sites = Sites(server.url, key)
        visitor = browser.new_context(viewport={"width": 1024, "height": 700})
        shop = visitor.new_page()
        shop.goto(f"{sites.url}/shop/index.html")
        wait_for_sdk(shop)
        shop.click("button[data-name=sencha]")
        shop.evaluate("window.sessionstory.flush()")
        visitor.close()

        page.wait_for_selector('[data-testid="first-session"]', timeout=15_000)
        page.click('[data-testid="first-session"] a >> nth=0')
        page.wait_for_selector('[data-testid="player"][data-ready="true"]', timeout=30_000)
    finally:
        context.close()
        if sites:
            sites.close()
        server.stop()
