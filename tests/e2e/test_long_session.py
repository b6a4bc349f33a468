"""A long session opens on what shows the requested moment, from the last page load before it, while the rest
loads behind it: after it, then before it."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

from tests.e2e.conftest import signed_in_page
from tests.events import click, meta, page
from tests.server import Server
from tests.xss_corpus import el, page_snapshot, text

BATCHES = 60  # far more than the opening needs, so the rest must stream in
BATCH_MS = 10_000
SECOND_LOAD = 30  # the batch that starts with the session's second page load


def _long_session(server: Server, key: str, session_id: str, clicks: int = 0) -> int:
    """The session, `clicks` clicks a batch; its length in ms."""
    start = int(time.time() * 1000) - BATCHES * BATCH_MS - 60_000
    text_id = 0
    for seq in range(BATCHES):
        at = start + seq * BATCH_MS
        events: list[dict[str, Any]] = []
        if seq in (0, SECOND_LOAD):
            clock = el("p", {"id": "clock"}, [text("start")])
            heading = "Long session" if seq == 0 else "Second page"
            snapshot, _ = page_snapshot([el("h1", {}, [text(heading)]), clock], 0)
            text_id = clock["childNodes"][0]["id"]
            url = f"https://long.example/{seq}"
            events += [meta(at, href=url), {**snapshot, "timestamp": at + 1}, page(at + 2, url, title=heading)]
        events += [click(at + 100 + 1_000 * i, text=f"Button {seq}.{i}") for i in range(clicks)]
        events.append({"type": 3, "timestamp": at + 5_000, "data": {
            "source": 0, "adds": [], "removes": [], "attributes": [], "texts": [{"id": text_id, "value": f"minute {seq}"}]}})
        body = {"key": key, "session_id": session_id, "visitor_id": "long", "seq": seq, "events": events}
        req = urllib.request.Request(f"{server.url}/api/v1/ingest", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=10).read()
    return (BATCHES - 1) * BATCH_MS + 5_000


# When each EventSource opens, beside the player's own ss:ready mark.
WATCH_STREAMS = """
window.__streams = [];
const Original = window.EventSource;
window.EventSource = class extends Original {
  constructor(url, options) { super(url, options); window.__streams.push([String(url), performance.now()]); }
};
"""


def _queries(requests: list[str]) -> list[str]:
    return [url.split("?")[1] for url in requests]


def _viewer(browser: Any, server: Server, project: dict[str, str], session_id: str,
            clicks: int = 0) -> tuple[Any, Any, list[str], int]:
    """A long session recorded, and a signed-in viewer noting the URLs of the events it asks for."""
    total_ms = _long_session(server, project["public_key"], session_id, clicks)
    context, viewer = signed_in_page(browser, server)
    requests: list[str] = []
    viewer.on("request", lambda r: requests.append(r.url) if "/events" in r.url else None)
    return context, viewer, requests, total_ms


def test_a_long_session_starts_on_its_first_pages_and_grows_to_its_whole_length(
        browser: Any, server: Server, project: dict[str, str]) -> None:
    context, viewer, requests, total_ms = _viewer(browser, server, project, "long-1")
    viewer.add_init_script(WATCH_STREAMS)
    try:
        viewer.goto(f"{server.url}/sessions/long-1")
        viewer.wait_for_selector('[data-testid="player"][data-ready="true"]', timeout=30_000)
        viewer.wait_for_selector('[data-testid="player"][data-loaded="true"]', timeout=30_000)
        # The page's <head> asks for the opening (a preload) and the player reads that very answer: the first
        # two batches (the page load, and the one past the moment); then the rest, after them.
        assert _queries(requests) == ["at=0", "start=2&count=128"], requests
        initiators = viewer.evaluate("""performance.getEntriesByType("resource")
            .filter((r) => r.name.includes("/events?at=")).map((r) => r.initiatorType)""")
        assert initiators == ["link"], initiators
        assert viewer.locator(".ss-seek").get_attribute("max") == str(total_ms)
        frame = viewer.frame_locator('[data-testid="player"] iframe')
        assert frame.locator("#clock").inner_text() == "start"
        # Neither the summary's model nor the steps (the server reads the whole session for them) compete with
        # the first frame: both are asked for after it.
        viewer.wait_for_function("() => window.__streams.length > 0")
        ready = viewer.evaluate("performance.getEntriesByName('ss:ready')[0].startTime")
        [(url, opened)] = viewer.evaluate("window.__streams")
        assert url.endswith("/sessions/long-1/insight/stream") and opened >= ready
        steps = viewer.wait_for_function("""() => performance.getEntriesByType("resource")
            .find((r) => r.name.endsWith("/sessions/long-1/steps"))?.startTime""").json_value()
        assert steps >= ready
    finally:
        context.close()


def test_opening_late_fetches_from_the_last_page_load_and_a_seek_before_it_waits_for_the_rest(
        browser: Any, server: Server, project: dict[str, str]) -> None:
    context, viewer, requests, total_ms = _viewer(browser, server, project, "long-2")
    try:
        held: list[Any] = []  # the batches before the opening, kept back until the seek below is waiting for them
        viewer.route(lambda url: "/events?start=0&" in url, lambda route: held.append(route))
        late = total_ms - BATCH_MS // 2
        viewer.goto(f"{server.url}/sessions/long-2?t={late}")
        viewer.wait_for_selector('[data-testid="player"][data-ready="true"]', timeout=30_000)
        frame = viewer.frame_locator('[data-testid="player"] iframe')
        assert frame.locator("h1").inner_text() == "Second page"
        assert frame.locator("#clock").inner_text() == f"minute {BATCHES - 2}"
        # Only the batches from the second page load on were needed for that frame; the timeline still spans
        # the whole session.
        assert _queries(requests)[0] == f"at={late}", requests
        assert viewer.locator(".ss-seek").get_attribute("max") == str(total_ms)
        viewer.wait_for_timeout(300)
        assert held and _queries(requests)[-1] == f"start=0&count={SECOND_LOAD}", requests

        # Back to the start, before what has arrived: the player says it is loading, then shows it.
        viewer.locator(".ss-seek").press("Home")
        badge = viewer.get_by_text("Loading this part of the session…")
        badge.wait_for(state="visible", timeout=5_000)
        assert float(viewer.locator(".ss-seek").input_value()) == 0
        for route in held:
            route.continue_()
        badge.wait_for(state="hidden", timeout=10_000)
        assert frame.locator("h1").inner_text() == "Long session"
        assert frame.locator("#clock").inner_text() == "start"
        viewer.wait_for_selector('[data-testid="player"][data-loaded="true"]', timeout=30_000)
        pages = viewer.locator(".ss-tab", has_text="Pages").locator(".ss-count")
        assert pages.inner_text() == "2", "once all is in, the panels cover the whole session"
    finally:
        context.close()


# Each mark's centre as a share of the lane's width (the lane is inset by half the thumb, as the seek bar's
# track), its time as its label says it (m:ss), in ms, and how many clicks it stands for ("(and N more)").
MARKS = """() => {
  const lane = document.querySelector(".ss-marks").getBoundingClientRect();
  return Array.from(document.querySelectorAll(".ss-marks .ss-mark-click")).map((mark) => {
    const box = mark.getBoundingClientRect();
    const label = mark.getAttribute("aria-label");
    const [m, s] = label.split(" ")[0].split(":").map(Number);
    const more = label.match(/[(]and (\\d+) more[)]$/);
    return [(box.left + box.width / 2 - lane.left) / lane.width, (m * 60 + s) * 1000, 1 + (more ? Number(more[1]) : 0)];
  });
}"""


def test_thousands_of_rows_and_marks_stay_in_place_and_follow_the_playhead(
        browser: Any, server: Server, project: dict[str, str]) -> None:
    clicks = 5
    context, viewer, _, total_ms = _viewer(browser, server, project, "long-3", clicks)
    try:
        viewer.goto(f"{server.url}/sessions/long-3")
        viewer.wait_for_selector('[data-testid="player"][data-loaded="true"]', timeout=30_000)
        rows = viewer.locator(".ss-panel-events li.ss-row")
        viewer.wait_for_function("(n) => document.querySelectorAll('.ss-panel-events li.ss-row').length >= n",
                                 arg=BATCHES * clicks)
        # A long list renders only the rows near view, yet every row is in the page (search, screen readers).
        assert viewer.locator(".ss-panel-events .ss-rows.ss-many").count() == 1
        assert rows.filter(has_text="Button 59.4").count() == 1

        # Every click has a mark, clicks close together one between them (timeline.ts: LANE_SLOTS), and every mark
        # sits where its time lies on the timeline (CSS places them from their time and the length).
        marks = viewer.evaluate(MARKS)
        assert sum(count for _, _, count in marks) == BATCHES * clicks
        assert len(marks) < BATCHES * clicks, "clicks a second apart in a ten-minute session share marks"
        for share, ms, _ in marks:
            assert abs(share - ms / total_ms) < 0.01, (share, ms)

        # A mark standing for several clicks lists them when focused, and Enter goes to the first.
        index, (_, ms, count) = next((i, m) for i, m in enumerate(marks) if m[2] > 1)
        shared = viewer.locator(".ss-marks .ss-mark-click").nth(index)
        shared.focus()
        assert viewer.locator(".ss-tip .ss-tip-line").count() == min(count, 5)
        shared.press("Enter")
        viewer.wait_for_function("(ms) => Math.abs(Number(document.querySelector('.ss-seek').value) - ms) < 1000", arg=ms)

        # At the end, the last click is the current row, scrolled into view and drawn.
        viewer.locator(".ss-seek").press("End")
        current = viewer.locator(".ss-panel-events li.ss-current")
        current.wait_for()
        # Drawn once the panel is on screen: a row out of view has no innerText until the browser renders it.
        viewer.locator(".ss-panel-events .ss-scroller").evaluate("(list) => list.scrollIntoView({ block: 'end' })")
        viewer.wait_for_function("(row) => row.innerText.includes('Button 59.4')", arg=current.element_handle(),
                                 timeout=5_000)
        box, scroller = current.bounding_box(), viewer.locator(".ss-panel-events .ss-scroller").bounding_box()
        assert box and scroller and scroller["y"] <= box["y"] and box["y"] + box["height"] <= scroller["y"] + scroller["height"]
    finally:
        context.close()
