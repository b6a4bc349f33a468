"""Real Chromium against a real server: the fixtures of the browser tests."""

from __future__ import annotations

import io
import json
import os
import shutil
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops

from tests.e2e.sites import Sites
from tests.events import meta
from tests.server import ADMIN_EMAIL, ADMIN_PASSWORD, Server
from tests.xss_corpus import el

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]


def find_chromium() -> str | None:
    for candidate in (os.environ.get("SESSIONSTORY_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser",
                      shutil.which("chromium"), shutil.which("google-chrome")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = find_chromium()
    if executable is None:
        pytest.skip("no Chromium found: install Debian's chromium or set SESSIONSTORY_CHROMIUM")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = Server(tmp_path_factory.mktemp("e2e") / "data").start()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def project(server: Server) -> dict[str, str]:
    return server.project("E2E")


@pytest.fixture(scope="session")
def token(server: Server) -> str:
    return server.token()


@pytest.fixture(scope="session")
def sites(server: Server, project: dict[str, str]) -> Iterator[Sites]:
    s = Sites(server.url, project["public_key"])
    yield s
    s.close()


def signed_in_page(browser: Any, server: Server) -> tuple[Any, Any]:
    """A browser context and a dashboard page signed in as the admin, wide enough that a
    1024 px recording replays at scale 1."""
    context = browser.new_context(viewport={"width": 1440, "height": 1100})
    page = context.new_page()
    page.goto(f"{server.url}/login")
    page.fill("input[name=email]", ADMIN_EMAIL)
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/")
    return context, page


@pytest.fixture
def dashboard(browser: Any, server: Server) -> Iterator[Any]:
    context, page = signed_in_page(browser, server)
    yield page
    context.close()


RECORD_VIEWPORT = {"width": 1024, "height": 700}


def open_player(dashboard: Any, server: Server, session_id: str, at_ms: int) -> Any:
    dashboard.goto(f"{server.url}/sessions/{session_id}?t={at_ms}")
    dashboard.wait_for_selector('[data-testid="player"][data-ready="true"]', timeout=30_000)
    # The replayer draws its own cursor over the frame; the live page had none.
    dashboard.add_style_tag(content=".replayer-mouse, .replayer-mouse-tail { display: none !important; }")
    return dashboard.locator('[data-testid="player"] iframe')


def pixel_match(a_png: bytes, b_png: bytes, tolerance: int = 24) -> float:
    """Share of pixels whose colour channels all differ by at most `tolerance`."""
    a = Image.open(io.BytesIO(a_png)).convert("RGB")
    b = Image.open(io.BytesIO(b_png)).convert("RGB")
    assert a.size == b.size, f"replay is {b.size}, live page was {a.size}"
    diff = ImageChops.difference(a, b).convert("L").point(lambda v: 255 if v > tolerance else 0)
    differing = diff.histogram()[255]
    return 1 - differing / (a.size[0] * a.size[1])


def save_pair(name: str, live: bytes, replay: bytes) -> None:
    """Keep both screenshots where a person can look at them after a run."""
    out = Path(os.environ.get("SESSIONSTORY_SCREENSHOTS", "test-results"))
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}-live.png").write_bytes(live)
    (out / f"{name}-replay.png").write_bytes(replay)


def wait_for_sdk(page: Any) -> None:
    """Until the SDK on a recorded page has started its session."""
    page.wait_for_function("window.sessionstory && typeof window.sessionstory.sessionId() === 'string'")


def ingest_page(server: Server, key: str, session_id: str, head: list[dict[str, Any]], body: list[dict[str, Any]],
                href: str, later: Callable[[int], list[dict[str, Any]]] = lambda start: []) -> None:
    """A session of one recorded page (its head's and body's nodes, built with tests.xss_corpus's `el`), whose full
    snapshot is a minute old, then the events `later(start)` gives; sent through ingest in one batch."""
    html = el("html", {}, [el("head", {}, head), el("body", {}, body)])
    doc = {"type": 0, "childNodes": [{"type": 1, "name": "html", "publicId": "", "systemId": "", "id": 2}, html], "id": 1}
    start = int(time.time() * 1000) - 60_000
    events = [meta(start, href=href, width=1024, height=700),
              {"type": 2, "timestamp": start + 1, "data": {"node": doc, "initialOffset": {"left": 0, "top": 0}}},
              *later(start)]
    batch = {"key": key, "session_id": session_id, "visitor_id": session_id, "seq": 0, "events": events}
    request = urllib.request.Request(f"{server.url}/api/v1/ingest", data=json.dumps(batch).encode(),
                                     headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=10).read()
