"""A session recorded by bare @rrweb/record, by some other tool, imports and replays."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.e2e.conftest import RECORD_VIEWPORT, open_player, pixel_match, save_pair, signed_in_page
from tests.e2e.sites import Sites
from tests.server import Server, cli

RECORDER = Path(__file__).parents[2] / "node_modules" / "@rrweb" / "record" / "dist" / "record.umd.min.cjs"


def test_plain_rrweb_recording_imports_and_replays(browser: Any, sites: Sites, tmp_path: Path) -> None:
    # A server of its own: a bare rrweb recording masks nothing, and the shared server's data
    # directory is checked elsewhere for text that must never be stored.
    server = Server(tmp_path / "own").start()
    try:
        _import_and_replay(browser, server, sites, tmp_path)
    finally:
        server.stop()


def _import_and_replay(browser: Any, server: Server, sites: Sites, tmp_path: Path) -> None:
    context = browser.new_context(viewport=RECORD_VIEWPORT)
    page = context.new_page()
    page.goto(f"{sites.url}/shop/index.html?bare")
    page.add_script_tag(path=str(RECORDER))
    page.evaluate("window.__events = []; rrwebRecord.record({emit: e => window.__events.push(e)})")
    page.click("button[data-name=oolong]")
    page.mouse.move(1000, 690)
    page.wait_for_timeout(500)
    live = page.screenshot()
    events = page.evaluate("window.__events")
    context.close()
    assert not any(e["type"] == 5 for e in events), "no SessionStory SDK was on this page"

    recording = tmp_path / "other-tool.json"
    recording.write_text(json.dumps(events))
    project = server.project("Imported")
    out = cli(server.data_dir, "import", str(recording), "--project", project["id"])
    assert out.returncode == 0, out.stderr
    session_id = json.loads(out.stdout)["session_id"]

    viewer, dashboard = signed_in_page(browser, server)
    frame = open_player(dashboard, server, session_id, events[-1]["timestamp"] - events[0]["timestamp"])
    replay = frame.screenshot()
    viewer.close()
    save_pair("imported", live, replay)
    assert pixel_match(live, replay) >= 0.99
