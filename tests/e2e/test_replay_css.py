"""The player keeps the recorded stylesheets rrweb adapted for replay in the dashboard's localStorage, and builds
the next opening's page from them: only when the stored source is exactly the recorded one."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

from tests.e2e.conftest import signed_in_page
from tests.events import meta, mutation, page
from tests.server import Server
from tests.xss_corpus import el, text

# Long enough to be kept (csscache.ts keeps sheets of 2,000 characters and more), with a hover rule rrweb adapts.
FILLER = "".join(f".filler-{i} {{ margin: {i}px; }}\n" for i in range(120))
CSS = f"#target {{ color: rgb(10, 20, 30); }}\n#target:hover {{ color: rgb(0, 0, 255); }}\n{FILLER}"
SHEET_KEYS = "() => Object.keys(localStorage).filter((k) => k.startsWith('ss:css:'))"
TARGET_COLOR = """() => {
  const frame = document.querySelector('[data-testid="player"] iframe');
  return getComputedStyle(frame.contentDocument.getElementById("target")).color;
}"""


def _session(server: Server, key: str, session_id: str) -> None:
    at = int(time.time() * 1000) - 60_000
    style = el("style", {}, [{**text(CSS), "isStyle": True}])
    body = el("body", {}, [el("p", {"id": "target"}, [text("Styled")])])
    html = el("html", {}, [el("head", {}, [style]), body])
    doc = {"type": 0, "childNodes": [{"type": 1, "name": "html", "publicId": "", "systemId": "", "id": 2}, html], "id": 1}
    snapshot = {"type": 2, "timestamp": at + 1, "data": {"node": doc, "initialOffset": {"left": 0, "top": 0}}}
    events = [meta(at, href="https://css.example/"), snapshot, page(at + 2, "https://css.example/"), mutation(at + 5_000)]
    body_json = {"key": key, "session_id": session_id, "visitor_id": "css", "seq": 0, "events": events}
    req = urllib.request.Request(f"{server.url}/api/v1/ingest", data=json.dumps(body_json).encode(),
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=10).read()


def _open(viewer: Any, server: Server, session_id: str) -> str:
    viewer.goto(f"{server.url}/sessions/{session_id}")
    viewer.wait_for_selector('[data-testid="player"][data-ready="true"]', timeout=30_000)
    return str(viewer.evaluate(TARGET_COLOR))


def test_adapted_stylesheets_are_kept_and_used_only_for_the_same_source(
        browser: Any, server: Server, project: dict[str, str]) -> None:
    _session(server, project["public_key"], "css-kept")
    context, viewer = signed_in_page(browser, server)
    try:
        viewer.evaluate("localStorage.clear()")
        assert _open(viewer, server, "css-kept") == "rgb(10, 20, 30)"
        keys = viewer.evaluate(SHEET_KEYS)
        assert len(keys) == 1, keys
        source, adapted = json.loads(viewer.evaluate("(k) => localStorage.getItem(k)", keys[0]))
        assert source == CSS
        assert "#target.\\:hover" in adapted, "kept as rrweb adapted it: hover replayed through a class"

        # The next opening builds its page from the kept text, not from a new adaptation.
        red = adapted.replace("rgb(10, 20, 30)", "rgb(200, 0, 0)")
        viewer.evaluate("([k, v]) => localStorage.setItem(k, v)", [keys[0], json.dumps([source, red])])
        assert _open(viewer, server, "css-kept") == "rgb(200, 0, 0)"

        # A kept text whose source differs (another sheet under the same key) is never used, and is replaced.
        viewer.evaluate("([k, v]) => localStorage.setItem(k, v)", [keys[0], json.dumps([source + " ", red])])
        assert _open(viewer, server, "css-kept") == "rgb(10, 20, 30)"
        assert json.loads(viewer.evaluate("(k) => localStorage.getItem(k)", keys[0]))[0] == CSS
    finally:
        context.close()
