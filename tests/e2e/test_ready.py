"""`data-ready="true"` means the frame is on screen as it will stay: with the recorded page's web fonts drawn, not
a fallback, though the player no longer waits for fonts before the first frame it draws (ready.ts)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ingest_page, signed_in_page
from tests.server import Server
from tests.xss_corpus import el, text

FONT_DELAY_S = 0.8
FONTS = sorted(Path("/usr/share/fonts").glob("**/*.ttf"))  # Chromium's own package brings some


class _SlowFont(BaseHTTPRequestHandler):
    font = b""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        time.sleep(FONT_DELAY_S)
        self.send_response(200)
        self.send_header("Content-Type", "font/ttf")
        self.send_header("Access-Control-Allow-Origin", "*")  # a font from another origin needs CORS
        self.send_header("Content-Length", str(len(self.font)))
        self.end_headers()
        self.wfile.write(self.font)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def font_origin() -> Iterator[str]:
    if not FONTS:
        pytest.skip("no TrueType font on this machine")
    handler = type("Handler", (_SlowFont,), {"font": FONTS[0].read_bytes()})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _session(server: Server, key: str, session_id: str, origin: str) -> None:
    css = f"@font-face {{ font-family: Slow; src: url({origin}/slow.ttf) }} p {{ font: 40px Slow, monospace }}"
    ingest_page(server, key, session_id, [el("style", {}, [text(css)])],
                [el("p", {"id": "words"}, [text("Drawn in the recorded font")])], f"{origin}/page",
                lambda start: [{"type": 3, "timestamp": start + 5_000, "data": {"source": 1, "positions": [
                    {"x": 10, "y": 10, "id": 1, "timeOffset": 0}]}}])


# At the moment the root says data-ready="true": the recorded font's state in the frame.
FONT_AT_READY = """
new MutationObserver((_, observer) => {
  const root = document.querySelector('[data-testid="player"][data-ready="true"]');
  if (!root) return;
  observer.disconnect();
  const fonts = root.querySelector("iframe").contentDocument.fonts;
  window.__fontAtReady = [...fonts].filter((face) => face.family === "Slow").map((face) => face.status).join();
}).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-ready"] });
"""


def test_the_first_frame_is_ready_once_the_recorded_pages_font_is_drawn(browser: Any, server: Server,
                                                                         project: dict[str, str],
                                                                         font_origin: str) -> None:
    _session(server, project["public_key"], "slow-font", font_origin)
    context, page = signed_in_page(browser, server)
    page.add_init_script(FONT_AT_READY)
    opened = time.monotonic()
    page.goto(f"{server.url}/sessions/slow-font?t=1000")
    page.wait_for_selector('[data-testid="player"][data-ready="true"]', timeout=30_000)
    assert page.evaluate("window.__fontAtReady") == "loaded"
    assert time.monotonic() - opened >= FONT_DELAY_S  # the font's load was waited for, not there before
    context.close()
