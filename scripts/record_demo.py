"""Record the demo sessions that a fresh install shows (sessionstory/demo/sessions.json.zst).

Run after changing the demo page or the SDK:  .venv/bin/python scripts/record_demo.py
It starts a throwaway server, browses /demo in Chromium as three different visitors,
and keeps their events (already masked by the SDK) for `sessionstory.demo.seed`.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import zstandard

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.conftest import CHROMIUM_ARGS, find_chromium  # noqa: E402
from tests.server import Server  # noqa: E402

OUT = ROOT / "sessionstory" / "demo" / "sessions.json.zst"


def browse_and_buy(page: Any) -> None:
    page.mouse.move(200, 200)
    page.click("text=Add >> nth=0")
    page.wait_for_timeout(700)
    page.click("text=Add >> nth=2")
    page.mouse.wheel(0, 400)
    page.wait_for_timeout(500)
    page.click("input[name=email]")
    page.keyboard.type("ann@example.com", delay=40)
    page.click("input[name=card]")
    page.keyboard.type("4242 4242 4242 4242", delay=30)
    page.click("text=Pay")
    page.wait_for_timeout(1200)


def hesitate(page: Any) -> None:
    for x, y in [(300, 260), (520, 260), (740, 260), (520, 260)]:
        page.mouse.move(x, y, steps=8)
        page.wait_for_timeout(400)
    for _ in range(4):  # a rage click on a price that is not a button
        page.click("text=€5")
    page.wait_for_timeout(1500)


def just_look(page: Any) -> None:
    page.mouse.move(400, 300, steps=10)
    page.mouse.wheel(0, 500)
    page.wait_for_timeout(900)
    page.click("text=Shipping and returns")
    page.wait_for_timeout(1500)
    page.mouse.wheel(0, -500)
    page.wait_for_timeout(900)


def main() -> None:
    from playwright.sync_api import sync_playwright

    journeys = [browse_and_buy, hesitate, just_look]
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        server = Server(Path(tmp) / "data").start()
        try:
            token = server.token()
            browser = p.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_ARGS)
            sessions = []
            for journey in journeys:
                context = browser.new_context(viewport={"width": 1024, "height": 700})
                page = context.new_page()
                page.goto(f"{server.url}/demo")
                page.wait_for_function("window.sessionstory && window.sessionstory.sessionId()")
                journey(page)
                session_id = page.evaluate("window.sessionstory.sessionId()")
                page.evaluate("window.sessionstory.flush()")
                context.close()
                sessions.append({"events": server.get_json(f"/api/v1/sessions/{session_id}/events", token)})
            browser.close()
        finally:
            server.stop()
    OUT.write_bytes(zstandard.ZstdCompressor(level=19).compress(json.dumps(sessions).encode()))
    print(f"wrote {len(sessions)} sessions to {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
