"""The player as a person uses it, in Chromium: the timeline's marks (a tip names each, a click goes there, idle
stretches drawn as gaps), the panels following the playhead (Console, Network, Errors, Pages), the controls and
their keys (play, seek, speeds, first error, copy link, URL bar, full screen), skipping an idle minute, one story
across two page loads, and stepping to the list's previous and next sessions."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import signed_in_page
from tests.events import custom, meta, mouse_moves, page
from tests.server import Server
from tests.xss_corpus import el, text

PLAYER = '[data-testid="player"]'
STORY = "controls-story"
IDLE = "controls-idle"
HOME = "https://shop.example/"
CHECKOUT = "https://shop.example/checkout"
VIEWPORT = (1024, 700)

# The story's moments, in ms from its start (STORY below).
WARN_AT, CART_AT, TRACK_AT, PAY_AT, ERROR_AT, CONSOLE_ERROR_AT = 4_000, 5_000, 6_000, 8_000, 9_000, 10_000
SECOND_LOAD_AT = 12_000
CLICKS_AT = (600, 14_000)  # the first near the timeline's start
LAST_MOVE_AT, END_AT = 15_000, 26_000  # nothing happens between: an idle stretch of 11 s, then one move
PAY_MS = 300  # the failed request's duration: the Network panel lists it from its start, PAY_AT - PAY_MS


# -- recording ------------------------------------------------------------------------------------------------


def _send(server: Server, key: str, session_id: str, events: list[dict[str, Any]]) -> None:
    """One batch through ingest, as the SDK sends it."""
    batch = {"key": key, "session_id": session_id, "visitor_id": session_id, "seq": 0, "events": events}
    request = urllib.request.Request(f"{server.url}/api/v1/ingest", data=json.dumps(batch).encode(),
                                     headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=10).read()


def _load(at: int, href: str, title: str, body: list[dict[str, Any]], referrer: str = "") -> list[dict[str, Any]]:
    """A page load as the SDK records it: rrweb's Meta and full snapshot, then our page event."""
    html = el("html", {}, [el("head", {}, [el("title", {}, [text(title)])]), el("body", {}, body)])
    doc = {"type": 0, "childNodes": [{"type": 1, "name": "html", "publicId": "", "systemId": "", "id": 2}, html], "id": 1}
    return [meta(at, href=href, width=VIEWPORT[0], height=VIEWPORT[1]),
            {"type": 2, "timestamp": at + 1, "data": {"node": doc, "initialOffset": {"left": 0, "top": 0}}},
            page(at + 2, href, title=title, referrer=referrer)]


def _click(at: int, button: dict[str, Any], selector: str, label: str) -> list[dict[str, Any]]:
    """A click as the SDK records it: rrweb's mouse interaction, our click event, and the DOM change it caused
    (without one within a second the server would judge it a dead click)."""
    x, y = 200, 150
    return [{"type": 3, "timestamp": at, "data": {"source": 2, "type": 2, "id": button["id"], "x": x, "y": y}},
            custom(at, "click", selector=selector, text=label, tag="button", x=x, y=y, vw=VIEWPORT[0], vh=VIEWPORT[1]),
            {"type": 3, "timestamp": at + 200, "data": {"source": 0, "texts": [], "attributes": [
                {"id": button["id"], "attributes": {"data-clicked": "1"}}], "removes": [], "adds": []}}]


def _story(server: Server, key: str) -> None:
    """Two page loads of a shop: a click, a console warning, a request, a custom event, a failed payment (500),
    the JavaScript error and console error it caused; then the checkout page, a click, and a quiet 11 s."""
    start = int(time.time() * 1000) - 120_000
    add = el("button", {"id": "add"}, [text("Add to cart")])
    pay = el("button", {"id": "pay"}, [text("Pay now")])
    events = [
        *_load(0, HOME, "Home", [el("h1", {"id": "heading"}, [text("Welcome to the shop")]), add]),
        # The pointer moves every second until the quiet stretch: no idle gap before it.
        *(mouse_moves(at, [100 + 10 * (at // 1000 % 2)]) for at in range(1_000, LAST_MOVE_AT + 1, 1_000)),
        *_click(CLICKS_AT[0], add, "button#add", "Add to cart"),
        custom(WARN_AT, "console", level="warn", message="Low stock for SKU 42"),
        custom(CART_AT, "network", type="fetch", method="GET", url="https://shop.example/api/cart", status=200,
               duration=80, res_size=512),
        custom(TRACK_AT, "track", name="added_to_cart", props={"sku": 42}),
        custom(PAY_AT, "network", type="fetch", method="POST", url="https://shop.example/api/pay", status=500,
               duration=PAY_MS, req_size=64, res_size=20),
        custom(ERROR_AT, "error", kind="error", message="Uncaught TypeError: cart.total is not a function",
               stack="TypeError: cart.total is not a function\n    at pay (https://shop.example/app.js:12:7)",
               source="https://shop.example/app.js", line=12, col=7),
        custom(CONSOLE_ERROR_AT, "console", level="error", message="Payment failed: 500",
               stack="    at report (https://shop.example/app.js:30:3)"),
        *_load(SECOND_LOAD_AT, CHECKOUT, "Checkout", [el("h1", {"id": "heading"}, [text("Checkout")]), pay], referrer=HOME),
        *_click(CLICKS_AT[1], pay, "button#pay", "Pay now"),
        mouse_moves(END_AT, [300]),
    ]
    _send(server, key, STORY, [{**e, "timestamp": start + e["timestamp"]} for e in events])


IDLE_FROM, IDLE_TO = 3_000, 63_000  # the idle session's last action before its quiet minute, and the next


def _idle(server: Server, key: str) -> None:
    """A visitor who moves the pointer, leaves it for a minute, and comes back (the page then changes)."""
    start = int(time.time() * 1000) - 150_000
    note = el("p", {"id": "note"}, [text("Before the break")])
    events = [
        *_load(0, "https://idle.example/", "Idle", [note]),
        *(mouse_moves(at, [100 + at // 100]) for at in (1_000, 2_000, IDLE_FROM)),
        mouse_moves(IDLE_TO, [400]),
        {"type": 3, "timestamp": IDLE_TO + 100, "data": {"source": 0, "adds": [], "removes": [], "attributes": [],
                                                          "texts": [{"id": note["childNodes"][0]["id"], "value": "Back"}]}},
        mouse_moves(IDLE_TO + 1_000, [420]),
    ]
    _send(server, key, IDLE, [{**e, "timestamp": start + e["timestamp"]} for e in events])


# -- the viewer -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def viewer(browser: Any, server: Server, project: dict[str, str]) -> Iterator[Any]:
    """A signed-in dashboard page (allowed to use the clipboard) shared by the tests, with the sessions recorded."""
    _story(server, project["public_key"])
    _idle(server, project["public_key"])
    context, page_ = signed_in_page(browser, server)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    yield page_
    context.close()


def _until(page_: Any, script: str, arg: Any = None, timeout_s: float = 10.0) -> Any:
    """Polls a function in the page until it returns something truthy (the dashboard's CSP refuses the string
    functions of wait_for_function)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = page_.evaluate(script, arg)
        if value:
            return value
        assert time.monotonic() < deadline, f"still false after {timeout_s} s: {script}"
        page_.wait_for_timeout(50)


def _open(page_: Any, server: Server, session_id: str, at_ms: int) -> None:
    """The session page at `at_ms`: its frame on screen, all events in, and the server's moments (the clicks)
    in the timeline, so the marks are not replaced under the pointer."""
    page_.goto(f"{server.url}/sessions/{session_id}?t={at_ms}")
    page_.locator(f'{PLAYER}[data-ready="true"][data-loaded="true"]').wait_for(timeout=30_000)
    _until(page_, "() => performance.getEntriesByName('ss:moments').length > 0")


def _playhead(page_: Any) -> float:
    return float(page_.locator(".ss-seek").input_value())


def _at(page_: Any, ms: float, tolerance: float = 1) -> None:
    """Until the seek bar stands at `ms`."""
    try:
        _until(page_, "([ms, tol]) => Math.abs(Number(document.querySelector('.ss-seek').value) - ms) <= tol",
               [ms, tolerance])
    except AssertionError:
        raise AssertionError(f"the playhead is at {_playhead(page_)}, not {ms}") from None


def _tab(page_: Any, name: str) -> Any:
    """Shows the inspector's tab `name`; its panel."""
    page_.locator(".ss-tab", has_text=name).click()
    panel = page_.locator(f".ss-panel-{name.lower()}")
    expect(panel).to_be_visible()
    return panel


def _word(name: str) -> re.Pattern[str]:
    return re.compile(rf"(^|\s){re.escape(name)}(\s|$)")


def _classes(locator: Any, *names: str) -> None:
    """Until the element has each of these classes (among others)."""
    for name in names:
        expect(locator).to_have_class(_word(name))


def _blur(page_: Any) -> None:
    """The keys go to the player again, not to the search box or button last used."""
    page_.evaluate("() => document.activeElement?.blur()")


def _frame_heading(page_: Any) -> str:
    return str(page_.frame_locator(f"{PLAYER} iframe").locator("#heading").inner_text())


# -- the timeline ---------------------------------------------------------------------------------------------

# Each kind of mark the story has: how many, the words the last one's tip says, and the moment a click on it goes to.
MARKS = {
    "click": (2, 'Click · button#pay "Pay now"', CLICKS_AT[1]),
    "console": (1, "Console error · Payment failed: 500", CONSOLE_ERROR_AT),
    "network": (1, "POST /api/pay → 500", PAY_AT),  # at the moment it failed, its end
    "error": (1, "TypeError: cart.total is not a function", ERROR_AT),  # without the browser's "Uncaught "
    "custom": (1, "Custom event · added_to_cart", TRACK_AT),
    "page": (1, "Page view · Checkout", SECOND_LOAD_AT + 2),  # the first page, at the start, has none
}


def test_the_timeline_marks_each_kind_names_it_on_hover_and_seeks_on_click(viewer: Any, server: Server) -> None:
    _open(viewer, server, STORY, 0)
    lane = viewer.locator(".ss-marks")
    lane.scroll_into_view_if_needed()
    kinds = viewer.evaluate("""() => [...document.querySelectorAll(".ss-marks .ss-mark")]
        .map((mark) => [...mark.classList].find((c) => c.startsWith("ss-mark-")).slice(8))""")
    assert sorted(kinds) == sorted(kind for kind, (n, _, _) in MARKS.items() for _ in range(n)), kinds

    # Hovered and clicked: the last mark of each kind, and the first click's, near the start. (The lane once
    # looked for marks up to 7 px beside where they are drawn, its margin counted twice: a click on the centre
    # of a mark that near either end went to a moment beside it.)
    tip = viewer.locator(".ss-tip")
    first_click = ("click", (0, 'Click · button#add "Add to cart"', CLICKS_AT[0]))
    for index, (kind, (_, words, ms)) in enumerate([first_click, *MARKS.items()]):
        mark = viewer.locator(f".ss-marks .ss-mark-{kind}")
        box = (mark.first if index == 0 else mark.last).bounding_box()
        # The marks ignore the pointer (the lane finds the one under it): move to the mark's centre, not onto it.
        viewer.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        expect(tip).to_be_visible()
        expect(tip.locator(".ss-tip-line").first).to_contain_text(words)
        viewer.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        _at(viewer, ms)
        expect(viewer.locator(".ss-time")).to_have_text(f"0:{ms // 1000:02d} / 0:{END_AT // 1000}")
    viewer.mouse.move(0, 0)
    expect(tip).to_be_hidden()

    # The quiet 11 s at the end is the one idle stretch (activity.ts: over 10 s without an action), drawn on the
    # track where it lies.
    idle = viewer.locator(".ss-track .ss-track-idle")
    expect(idle).to_have_count(1)
    left, width = idle.evaluate("(seg) => [parseFloat(seg.style.left), parseFloat(seg.style.width)]")
    assert abs(left - 100 * LAST_MOVE_AT / END_AT) < 0.01 and abs(width - 100 * (END_AT - LAST_MOVE_AT) / END_AT) < 0.01
    track, seg = viewer.locator(".ss-track").bounding_box(), idle.bounding_box()
    assert abs(seg["width"] - track["width"] * (END_AT - LAST_MOVE_AT) / END_AT) < 2
    assert abs(seg["x"] + seg["width"] - (track["x"] + track["width"])) < 2  # up to the end


# -- the panels -----------------------------------------------------------------------------------------------


def test_the_panels_list_what_happened_and_follow_the_playhead(viewer: Any, server: Server) -> None:
    _open(viewer, server, STORY, 7_000)

    console = _tab(viewer, "Console")
    rows = console.locator("li.ss-row")
    expect(rows).to_have_count(2)
    warn, error = rows.nth(0), rows.nth(1)
    _classes(warn, "ss-row-warn")
    expect(warn.locator(".ss-badge")).to_have_text("warning")
    expect(warn.locator(".ss-msg")).to_have_text("Low stock for SKU 42")
    _classes(error, "ss-row-error", "ss-future")  # after the playhead: dimmed
    expect(error.locator(".ss-badge")).to_have_text("error")
    # The current row is the latest at or before the playhead (7 s): the warning.
    expect(console.locator("li.ss-current")).to_have_count(1)
    _classes(warn, "ss-current")
    # The search box filters the rows, and clearing it brings them back.
    search = console.locator(".ss-search")
    search.fill("payment")
    expect(warn).to_be_hidden()
    expect(error).to_be_visible()
    search.fill("")
    expect(warn).to_be_visible()
    # A seek past the console error (→: 5 s) makes it current; a click on the warning's row goes back to it.
    _blur(viewer)
    viewer.keyboard.press("ArrowRight")
    _at(viewer, 12_000)
    _classes(error, "ss-current")
    warn.locator(".ss-msg").click()
    _at(viewer, WARN_AT)
    _classes(warn, "ss-current")
    expect(error).not_to_have_class(_word("ss-current"))
    expect(viewer.locator(".ss-time")).to_have_text(f"0:04 / 0:{END_AT // 1000}")

    network = _tab(viewer, "Network")
    rows = network.locator("li.ss-row")
    expect(rows).to_have_count(2)
    cart, pay = rows.nth(0), rows.nth(1)
    for row, method, url, status, duration in ((cart, "GET", "/api/cart", "200", "80 ms"),
                                               (pay, "POST", "/api/pay", "500", f"{PAY_MS} ms")):
        expect(row.locator(".ss-method")).to_have_text(method)
        expect(row.locator(".ss-url-cell")).to_have_text(url)  # the session's own origin: shown as a path
        expect(row.locator(".ss-status")).to_have_text(status)
        expect(row.locator(".ss-dur")).to_have_text(duration)
        bar = row.locator(".ss-wf-bar").bounding_box()
        assert bar and bar["width"] >= 2
    _classes(pay, "ss-row-failed", "ss-future")
    _classes(pay.locator(".ss-status"), "ss-bad")
    expect(cart).not_to_have_class(_word("ss-row-failed"))
    # The later request's bar starts further along the waterfall.
    assert pay.locator(".ss-wf-bar").bounding_box()["x"] > cart.locator(".ss-wf-bar").bounding_box()["x"]
    # At 4 s neither request has started; a click on the failed one goes to its start.
    expect(network.locator("li.ss-current")).to_have_count(0)
    pay.locator(".ss-row-time").click()
    _at(viewer, PAY_AT - PAY_MS)
    _classes(pay, "ss-current")

    errors = _tab(viewer, "Errors")
    row = errors.locator("li.ss-row")
    expect(row).to_have_count(1)
    expect(row.locator(".ss-error-msg")).to_have_text("TypeError: cart.total is not a function")
    expect(row.locator(".ss-source")).to_have_text("/app.js:12:7")
    stack = row.locator("pre.ss-pre")
    expect(stack).to_be_hidden()
    row.get_by_role("button", name="Stack trace").click()
    expect(stack).to_be_visible()
    expect(stack).to_contain_text("at pay (https://shop.example/app.js:12:7)")
    _classes(viewer.locator(".ss-tab", has_text="Errors").locator(".ss-count"), "ss-count-bad")

    pages = _tab(viewer, "Pages")
    rows = pages.locator("li.ss-row")
    expect(rows).to_have_count(2)
    expect(rows.locator(".ss-page-title")).to_have_text(["Home", "Checkout"])
    expect(rows.locator(".ss-page-url")).to_have_text([HOME, CHECKOUT])
    _classes(rows.nth(0), "ss-current")  # still at 7.7 s: on the first page
    rows.nth(1).locator(".ss-page-title").click()
    _at(viewer, SECOND_LOAD_AT + 2)
    _classes(rows.nth(1), "ss-current")
    expect(viewer.locator(".ss-url")).to_have_text(CHECKOUT)


# -- the controls ---------------------------------------------------------------------------------------------


def test_keys_and_buttons_play_seek_pick_speeds_and_link_to_the_moment(viewer: Any, server: Server) -> None:
    _open(viewer, server, STORY, 6_000)
    root = viewer.locator(PLAYER)
    expect(root).to_have_attribute("data-state", "paused")

    # Space plays and pauses (with the focus on the page, not on one of the player's buttons).
    viewer.keyboard.press("Space")
    expect(root).to_have_attribute("data-state", "playing")
    expect(viewer.locator(".ss-play")).to_have_attribute("aria-label", "Pause")
    _until(viewer, "() => Number(document.querySelector('.ss-seek').value) > 6000")
    viewer.keyboard.press("Space")
    expect(root).to_have_attribute("data-state", "paused")
    expect(viewer.locator(".ss-play")).to_have_attribute("aria-label", "Play")

    # ← and → seek 5 s (keyboard.ts: SEEK_STEP_MS), from wherever playback stopped.
    stopped = _playhead(viewer)
    viewer.keyboard.press("ArrowRight")
    _at(viewer, stopped + 5_000)
    viewer.keyboard.press("ArrowLeft")
    viewer.keyboard.press("ArrowLeft")
    _at(viewer, stopped - 5_000)

    # Each key 1–8 picks the speed it names, which the speed select shows; 9 is no speed, and 0.5x is in the menu.
    speed = viewer.locator(".ss-speed")
    expect(speed).to_have_value("1")
    for key, value in (("2", "2"), ("8", "8"), ("3", "3"), ("9", "3"), ("4", "4")):
        viewer.keyboard.press(key)
        expect(speed).to_have_value(value)
        assert viewer.evaluate(f"document.querySelector('{PLAYER}').replayer.config.speed") == int(speed.input_value())
    speed.select_option("0.5")
    assert viewer.evaluate(f"document.querySelector('{PLAYER}').replayer.config.speed") == 0.5
    viewer.locator("body").click(position={"x": 5, "y": 5})  # the focus off the select, whose keys are its own
    viewer.keyboard.press("1")
    expect(speed).to_have_value("1")

    # ? shows the list of shortcuts, and again hides it.
    help_ = viewer.locator(".ss-help")
    viewer.keyboard.press("?")
    expect(help_).to_be_visible()
    expect(help_).to_contain_text("Back / forward 5 seconds")
    viewer.keyboard.press("Escape")
    expect(help_).to_be_hidden()

    # "First error" goes to 2 s before it, with the Errors panel shown.
    viewer.locator(".ss-first-error").click()
    _at(viewer, ERROR_AT - 2_000)
    expect(viewer.locator(".ss-panel-errors")).to_be_visible()
    expect(viewer.locator(".ss-tab", has_text="Errors")).to_have_attribute("aria-selected", "true")
    expect(viewer.locator(".ss-time")).to_have_text(f"0:07 / 0:{END_AT // 1000}")

    # "Copy link" copies the link to this moment (the clipboard is allowed in this context).
    copy = viewer.locator(".ss-copy")
    copy.click()
    expect(copy).to_have_text("Copied")
    assert viewer.evaluate("navigator.clipboard.readText()") == f"{server.url}/sessions/{STORY}?t={ERROR_AT - 2_000}"

    # The URL bar: the page at the playhead, and the size it was recorded at.
    expect(viewer.locator(".ss-url")).to_have_text(HOME)
    assert viewer.locator(".ss-size").inner_text().startswith(f"{VIEWPORT[0]} × {VIEWPORT[1]}")
    _blur(viewer)
    viewer.keyboard.press("ArrowRight")
    _at(viewer, ERROR_AT + 3_000)
    expect(viewer.locator(".ss-url")).to_have_text(CHECKOUT)


def test_f_puts_the_player_in_full_screen_and_takes_it_out(viewer: Any, server: Server) -> None:
    _open(viewer, server, STORY, 1_000)
    button = viewer.locator(".ss-fullscreen")
    expect(button).to_have_attribute("aria-label", "Full screen")
    if not viewer.evaluate("document.fullscreenEnabled"):
        # Without the Fullscreen API the button says so by being disabled, and f does nothing.
        expect(button).to_be_disabled()
        viewer.keyboard.press("f")
        assert viewer.evaluate("document.fullscreenElement") is None
        pytest.skip("this Chromium has no Fullscreen API (document.fullscreenEnabled is false)")
    viewer.keyboard.press("f")
    _until(viewer, f"() => document.fullscreenElement === document.querySelector('{PLAYER}')")
    expect(button).to_have_attribute("aria-label", "Exit full screen")
    viewer.keyboard.press("f")
    _until(viewer, "() => document.fullscreenElement === null")
    expect(button).to_have_attribute("aria-label", "Full screen")


# -- skipping inactivity --------------------------------------------------------------------------------------

# Each poll: the playhead, and whether the "Skipping inactivity…" badge is on screen.
WATCH = """() => {
  const badge = [...document.querySelectorAll(".ss-skipping")].find((b) => b.textContent === "Skipping inactivity…");
  return [Number(document.querySelector(".ss-seek").value), !badge.hidden && badge.offsetParent !== null];
}"""


def test_skipping_inactivity_crosses_an_idle_minute_in_seconds_and_not_when_turned_off(viewer: Any,
                                                                                      server: Server) -> None:
    _open(viewer, server, IDLE, IDLE_FROM - 500)
    skip = viewer.get_by_role("switch", name="Skip inactivity")
    expect(skip).to_be_checked()  # the default
    viewer.locator(".ss-play").click()
    began = time.monotonic()
    badge_in_gap = False
    while True:
        ms, badge = viewer.evaluate(WATCH)
        badge_in_gap |= badge and IDLE_FROM < ms < IDLE_TO
        if ms >= IDLE_TO - 1_000:
            break
        assert time.monotonic() - began < 15, f"still at {ms} ms after 15 s of playing"
        viewer.wait_for_timeout(50)
    took = time.monotonic() - began
    assert took < 8, f"a minute of nothing took {took:.1f} s to cross"
    assert badge_in_gap, "the badge said nothing while the idle minute was skipped"
    viewer.frame_locator(f"{PLAYER} iframe").locator("#note", has_text="Back").wait_for(timeout=5_000)

    # Without skipping, the same wall time of playing from the same moment stays inside the quiet minute.
    _open(viewer, server, IDLE, IDLE_FROM - 500)
    skip.uncheck()
    viewer.locator(".ss-play").click()
    viewer.wait_for_timeout(took * 1000)  # the time is what is compared: nothing to wait for instead
    ms, badge = viewer.evaluate(WATCH)
    assert IDLE_FROM < ms < IDLE_FROM + 1_000 * (took + 2), ms  # played at 1x, no jump
    assert not badge
    expect(viewer.frame_locator(f"{PLAYER} iframe").locator("#note")).to_have_text("Before the break")


# -- two page loads, one story --------------------------------------------------------------------------------


def test_two_page_loads_play_as_one_story(viewer: Any, server: Server) -> None:
    _open(viewer, server, STORY, SECOND_LOAD_AT - 1_000)
    assert _frame_heading(viewer) == "Welcome to the shop"
    expect(viewer.locator(".ss-url")).to_have_text(HOME)
    # Playing across the second load: the frame becomes the checkout page, and the URL bar says so.
    viewer.locator(".ss-play").click()
    heading = viewer.frame_locator(f"{PLAYER} iframe").locator("#heading")
    expect(heading).to_have_text("Checkout", timeout=5_000)
    expect(viewer.locator(".ss-url")).to_have_text(CHECKOUT)
    viewer.locator(".ss-play").click()
    expect(viewer.locator(PLAYER)).to_have_attribute("data-state", "paused")
    # Seeking back before it shows the first page again, and forward the second.
    _blur(viewer)
    viewer.keyboard.press("ArrowLeft")
    _until(viewer, "() => Number(document.querySelector('.ss-seek').value) < 12000")
    expect(heading).to_have_text("Welcome to the shop")
    expect(viewer.locator(".ss-url")).to_have_text(HOME)
    assert viewer.frame_locator(f"{PLAYER} iframe").locator("#pay").count() == 0
    viewer.keyboard.press("ArrowRight")
    _until(viewer, "() => Number(document.querySelector('.ss-seek').value) > 12002")
    expect(heading).to_have_text("Checkout")
    expect(viewer.locator(".ss-url")).to_have_text(CHECKOUT)
    expect(viewer.frame_locator(f"{PLAYER} iframe").locator("#pay")).to_have_text("Pay now")


# -- the list's previous and next sessions --------------------------------------------------------------------


def _walk_session(server: Server, key: str, session_id: str, minutes_ago: int, path: str) -> None:
    start = int(time.time() * 1000) - minutes_ago * 60_000
    href = f"https://shop.example/walk-list/{path}"
    events = [*_load(0, href, path.title(), [el("h1", {"id": "heading"}, [text(path)])]), mouse_moves(2_000, [50])]
    _send(server, key, session_id, [{**e, "timestamp": start + e["timestamp"]} for e in events])


def test_a_session_opened_from_the_list_steps_to_the_newer_and_the_older_one(viewer: Any, server: Server,
                                                                            project: dict[str, str]) -> None:
    for session_id, minutes, path in (("walk-old", 9, "one"), ("walk-mid", 8, "two"), ("walk-new", 7, "three")):
        _walk_session(server, project["public_key"], session_id, minutes, path)
    viewer.goto(f"{server.url}/?project={project['id']}&url=walk-list")
    links = viewer.locator('a[href^="/sessions/walk-"]')
    expect(links).to_have_count(3)
    hrefs = [links.nth(i).get_attribute("href") for i in range(3)]
    assert [h.split("?")[0] for h in hrefs] == ["/sessions/walk-new", "/sessions/walk-mid", "/sessions/walk-old"]
    listed = parse_qs(urlsplit(hrefs[1]).query)["list"][0]
    assert parse_qs(listed) == {"project": [project["id"]], "url": ["walk-list"]}

    links.nth(1).click()
    viewer.wait_for_url(f"**/sessions/walk-mid?list=*")
    viewer.locator(f'{PLAYER}[data-ready="true"]').wait_for(timeout=30_000)
    neighbours = viewer.locator('[data-testid="neighbours"]')
    prev, next_ = neighbours.locator('a[rel="prev"]'), neighbours.locator('a[rel="next"]')
    expect(prev).to_have_count(1)
    for link, target in ((prev, "walk-new"), (next_, "walk-old")):
        href = urlsplit(link.get_attribute("href"))
        assert href.path == f"/sessions/{target}" and parse_qs(href.query)["list"] == [listed], href

    # Following "previous" keeps the list: there, the newest has no previous, and its next is where we came from.
    prev.click()
    viewer.wait_for_url(f"**/sessions/walk-new?list=*")
    viewer.locator(f'{PLAYER}[data-ready="true"]').wait_for(timeout=30_000)
    expect(next_).to_have_count(1)
    expect(prev).to_have_count(0)
    href = urlsplit(next_.get_attribute("href"))
    assert href.path == "/sessions/walk-mid" and parse_qs(href.query)["list"] == [listed]
    assert _frame_heading(viewer) == "three"
