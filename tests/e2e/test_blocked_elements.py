"""Blocked elements in Chromium: an element the page blocks (`ss-block`, `data-ss-block`) is recorded as
an empty box of its size, whether it is there at the full snapshot or added later, and its content
never leaves the page. rrweb decides this from each element's `needBlock`, which the SDK's build
keeps on the node as undefined instead of deleting it (scripts/build.mjs): this checks that blocking
still works, and that what is sent carries no trace of the property."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.e2e.conftest import RECORD_VIEWPORT, wait_for_sdk
from tests.e2e.sites import Sites
from tests.e2e.test_canvas import _nodes
from tests.server import Server

DIST = Path(__file__).parents[2] / "sessionstory" / "web" / "static" / "dist"

SECRET = "Vault combination 12-34-56"
ADD_BLOCKED = """secret => {
  const vault = document.createElement("div");
  vault.id = "vault";
  vault.setAttribute("data-ss-block", "");
  vault.innerHTML = `<p>${secret}</p><span>more</span>`;
  const safe = document.createElement("section");
  safe.id = "safe";
  safe.className = "ss-block";
  safe.innerHTML = `<b>${secret}</b>`;
  document.body.append(vault, safe);
}"""


def _recorded_nodes(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every serialized node: in full snapshots and in mutations' adds."""
    tops = [e["data"]["node"] for e in events if e["type"] == 2]
    tops += [a["node"] for e in events if e["type"] == 3 and e["data"].get("source") == 0 for a in e["data"]["adds"]]
    return [n for top in tops for n in _nodes(top)]


def test_blocked_elements_are_empty_boxes_added_or_snapshotted(browser: Any, server: Server, sites: Sites,
                                                              token: str) -> None:
    context = browser.new_context(viewport=RECORD_VIEWPORT)
    page = context.new_page()
    try:
        page.goto(f"{sites.url}/shop/index.html")
        wait_for_sdk(page)
        page.wait_for_timeout(300)  # past rrweb's first full snapshot: the elements come as a mutation
        page.evaluate(ADD_BLOCKED, SECRET)
        page.wait_for_timeout(100)
        # A new full snapshot (start() takes one), with the blocked elements in it.
        page.evaluate("window.sessionstory.stop(); window.sessionstory.start()")
        session_id = page.evaluate("window.sessionstory.flush().then(() => window.sessionstory.sessionId())")
    finally:
        context.close()

    events: list[dict[str, Any]] = server.get_json(f"/api/v1/sessions/{session_id}/events", token)  # type: ignore[assignment]
    assert SECRET not in json.dumps(events)
    nodes = _recorded_nodes(events)
    assert not [n for n in nodes if "needBlock" in n], "rrweb's working property is not sent"
    # rrweb keeps a blocked element's tag and class, and its size as rr_width and rr_height, nothing else.
    boxes = [n for n in nodes if "rr_width" in n.get("attributes", {})]
    assert sorted((n["tagName"], n["attributes"].get("class")) for n in boxes) == [
        ("div", None), ("div", None), ("section", "ss-block"), ("section", "ss-block")], \
        "each blocked element once added, once in the second full snapshot"
    assert all(n["childNodes"] == [] for n in boxes), "recorded without their content"


def test_the_sdk_bundles_set_needblock_to_undefined_instead_of_deleting_it() -> None:
    """scripts/build.mjs (sdkRrweb): a deleted property leaves each element node slow for JSON.stringify."""
    for name in ("sdk.js", "sdk.esm.js"):
        bundle = (DIST / name).read_text()
        assert ".needBlock=void 0" in bundle, name
        assert not re.search(r"delete \w+\.needBlock", bundle), name
