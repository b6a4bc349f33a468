"""The recorded page's :hover rules and device-width media features, as rrweb rewrites them for replay, whether the
player rewrites them before its first frame (a hovered element, a device media feature) or right after it."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import ingest_page, signed_in_page
from tests.server import Server
from tests.xss_corpus import el, text

BLUE, RED, GREEN = "rgb(0, 0, 255)", "rgb(255, 0, 0)", "rgb(0, 128, 0)"
STYLE = (".box { width: 200px; height: 200px; background: rgb(0, 0, 255); }\n.box:hover { background: rgb(255, 0, 0); }\n"
         "@media screen { p, .box:is(:hover, .never) { outline: 3px solid rgb(0, 128, 0); } }")
# rrweb turns device-width into width for replay: in a 1024 px recording, this rule must not apply, although the
# viewer's screen (1440 px) is that wide.
LINKED = "@media (min-device-width: 1200px) { .wide { color: rgb(0, 128, 0); } }\n.badge:hover { color: rgb(255, 0, 0); }"
HOVER_AT = 2_000  # the visitor's mouse comes over the box


# A style element with two text nodes, as the SDK's rrweb records one: its text in `_cssText` with a marker where
# the second node begins, the nodes themselves empty. rrweb shares the rewritten text out between them.
SPLIT = ".box { width: 200px; height: 200px; background: rgb(0, 0, 255); }/* rr_split */.box:hover { background: rgb(255, 0, 0); }"


def _session(server: Server, key: str, session_id: str, split: bool = False) -> None:
    box = el("div", {"class": "box", "id": "box"})
    style = el("style", {"_cssText": SPLIT}, [text(""), text("")]) if split else el("style", {}, [{**text(STYLE), "isStyle": True}])
    linked = el("link", {"rel": "stylesheet", "_cssText": LINKED})
    over_box = {"x": 100, "y": 100, "id": box["id"], "timeOffset": 0}
    ingest_page(server, key, session_id, [el("title", {}, [text("Hover")]), style, linked],
                [box, el("p", {"class": "wide badge", "id": "wide"}, [text("Wide")])], "https://hover.example/",
                lambda start: [{"type": 3, "timestamp": start + HOVER_AT, "data": {"source": 1, "positions": [over_box]}},
                               {"type": 3, "timestamp": start + 5_000, "data": {"source": 1, "positions": [{**over_box, "x": 150}]}}])


# Read in the page as soon as the player says its first frame is on screen, in the same task (a mutation
# observer's callback): before anything the player leaves for later. Then a seek onto the hovered box, at once.
AT_FIRST_FRAME = """
new MutationObserver((_, watch) => {
  const root = document.querySelector('[data-testid="player"][data-ready]');
  if (!root) return;
  watch.disconnect();
  const doc = root.querySelector("iframe").contentDocument;
  const color = (id, property) => getComputedStyle(doc.getElementById(id))[property];
  window.__firstFrame = { box: color("box", "backgroundColor"), wide: color("wide", "color"), outline: color("box", "outlineColor"),
                          boxRewritten: [...doc.querySelectorAll("style")].some((s) => s.textContent.includes(".box.\\\\:hover")) };
  if (window.__seekAtOnce !== undefined) {
    root.replayer.pause(window.__seekAtOnce);
    window.__afterSeek = color("box", "backgroundColor");
  }
}).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-ready"] });
"""


def _open(browser: Any, server: Server, session_id: str, at_ms: int, seek_at_once: int | None = None) -> Any:
    context, page = signed_in_page(browser, server)
    if seek_at_once is not None:
        page.add_init_script(f"window.__seekAtOnce = {seek_at_once};")
    page.add_init_script(AT_FIRST_FRAME)
    page.goto(f"{server.url}/sessions/{session_id}?t={at_ms}")
    page.wait_for_selector('[data-testid="player"][data-ready="true"]', timeout=30_000)
    return page


def _frame_color(page: Any, element_id: str, prop: str) -> str:
    return str(page.evaluate("""([id, prop]) => getComputedStyle(document.querySelector('[data-testid="player"] iframe')
        .contentDocument.getElementById(id))[prop]""", [element_id, prop]))


def test_a_frame_without_hover_is_drawn_first_and_its_hover_rules_follow(browser: Any, server: Server,
                                                                         project: dict[str, str]) -> None:
    _session(server, project["public_key"], "hover-later")
    page = _open(browser, server, "hover-later", 500)
    first = page.evaluate("window.__firstFrame")
    assert first["box"] == BLUE
    assert first["wide"] != GREEN, "device-width media features are rewritten before the first frame"
    # Right after the frame, by itself: the stylesheets as rrweb rewrites them, its copies for .\:hover included.
    page.wait_for_function("""() => [...document.querySelector('[data-testid="player"] iframe').contentDocument
        .querySelectorAll("style")].filter((s) => s.textContent.includes(".\\\\:hover")).length >= 2""", timeout=10_000)
    page.evaluate(f"document.querySelector('[data-testid=\"player\"]').replayer.pause({HOVER_AT + 500})")
    assert _frame_color(page, "box", "backgroundColor") == RED
    assert _frame_color(page, "wide", "color") != GREEN
    page.context.close()


def test_a_first_frame_on_a_hovered_element_shows_its_hover_style(browser: Any, server: Server,
                                                                  project: dict[str, str]) -> None:
    _session(server, project["public_key"], "hover-first")
    page = _open(browser, server, "hover-first", HOVER_AT + 500)
    first = page.evaluate("window.__firstFrame")
    assert first["box"] == RED and not first["boxRewritten"], "rrweb's :hover copies put in the rules, not the text"
    assert first["outline"] == GREEN, "in a rule within @media too, one selector of a list with commas inside :is()"
    assert first["wide"] != GREEN
    # Then the text as rrweb rewrites it, which takes the place of those rules: the box stays hovered.
    page.wait_for_function("""() => [...document.querySelector('[data-testid="player"] iframe').contentDocument
        .querySelectorAll("style")].some((s) => s.textContent.includes(".box.\\\\:hover"))""", timeout=10_000)
    assert _frame_color(page, "box", "backgroundColor") == RED
    page.context.close()


def test_a_seek_right_after_the_first_frame_waits_for_the_hover_rules(browser: Any, server: Server,
                                                                      project: dict[str, str]) -> None:
    _session(server, project["public_key"], "hover-seek")
    page = _open(browser, server, "hover-seek", 500, seek_at_once=HOVER_AT + 500)
    first = page.evaluate("window.__firstFrame")
    assert first["box"] == BLUE and not first["boxRewritten"], "the frame without hover is drawn before the rewrite"
    assert page.evaluate("window.__afterSeek") == RED, "a seek in the same task as data-ready hovers correctly"
    page.context.close()


# The frame's style elements as the viewer's browser has them: the text of each of their text nodes.
STYLE_TEXTS = """() => [...document.querySelector('[data-testid="player"] iframe').contentDocument.querySelectorAll("style")]
    .map((style) => [...style.childNodes].filter((node) => node.nodeType === Node.TEXT_NODE).map((node) => node.data))"""


def test_a_style_element_split_over_text_nodes_is_rewritten_before_the_frame(browser: Any, server: Server,
                                                                             project: dict[str, str]) -> None:
    """rrweb shares a split stylesheet out between the element's text nodes as it builds them: the player has it
    rewritten then (seeking again to the same moment would build nothing, and the rule would never hover)."""
    _session(server, project["public_key"], "hover-split", split=True)
    page = _open(browser, server, "hover-split", 500)
    first = page.evaluate("window.__firstFrame")
    assert first["box"] == BLUE and first["boxRewritten"], "rewritten before the first frame, hovering nothing"
    split = [texts for texts in page.evaluate(STYLE_TEXTS) if len(texts) == 2]
    assert len(split) == 1, "the split style element keeps its two text nodes"
    head, tail = split[0]
    assert ".box {" in head and ":hover" not in head
    assert tail.count(".box:hover") == 1 and tail.count(".box.\\:hover") == 1, "each rule once, in its own node"
    page.evaluate(f"document.querySelector('[data-testid=\"player\"]').replayer.pause({HOVER_AT + 500})")
    assert _frame_color(page, "box", "backgroundColor") == RED
    page.context.close()
    page = _open(browser, server, "hover-split", HOVER_AT + 500)
    assert page.evaluate("window.__firstFrame")["box"] == RED
    page.context.close()
