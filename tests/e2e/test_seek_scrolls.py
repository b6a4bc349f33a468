"""A seek shows the page and its scrolled elements where the visitor's last scroll before that moment left them,
and each text as it was last changed, though it applies only each element's last scroll and each text node's last
text (replayer.ts: lastScrollsOnly, lastTextsOnly)."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import ingest_page, signed_in_page
from tests.server import Server
from tests.xss_corpus import el, text


def _scroll(at: int, node: int, y: int) -> dict[str, Any]:
    return {"type": 3, "timestamp": at, "data": {"source": 3, "id": node, "x": 0, "y": y}}


def _session(server: Server, key: str, session_id: str) -> None:
    note = el("p", {"id": "note"}, [text("before")])
    inner = el("div", {"id": "inner", "style": "height: 200px; overflow: auto"},
               [el("div", {"style": "height: 3000px"}, [text("inside")])])
    tall = el("div", {"style": "height: 8000px"}, [note, inner])

    def later(start: int) -> list[dict[str, Any]]:
        changed = {"type": 3, "timestamp": start + 3_000, "data": {
            "source": 0, "adds": [], "removes": [], "attributes": [],
            "texts": [{"id": note["childNodes"][0]["id"], "value": "after"}]}}
        return [_scroll(start + 1_000, 1, 1_000), _scroll(start + 2_000, 1, 2_000), _scroll(start + 2_200, inner["id"], 900),
                _scroll(start + 2_500, inner["id"], 300), changed, _scroll(start + 4_000, 1, 1_500),
                {"type": 3, "timestamp": start + 6_000, "data": {"source": 1, "positions": [
                    {"x": 10, "y": 10, "id": 1, "timeOffset": 0}]}}]
    ingest_page(server, key, session_id, [el("title", {}, [text("Scrolls")])], [tall], "https://scrolls.example/", later)


def _positions(page: Any) -> dict[str, Any]:
    return dict(page.evaluate("""() => {
        const doc = document.querySelector('[data-testid="player"] iframe').contentDocument;
        return { page: doc.defaultView.scrollY, inner: doc.getElementById("inner").scrollTop,
                 note: doc.getElementById("note").textContent };
    }"""))


def test_a_seek_shows_each_elements_last_scroll_before_its_moment(browser: Any, server: Server,
                                                                   project: dict[str, str]) -> None:
    _session(server, project["public_key"], "seek-scrolls")
    context, page = signed_in_page(browser, server)
    for at_ms, expected in ((3_500, {"page": 2_000, "inner": 300, "note": "after"}),
                            (5_000, {"page": 1_500, "inner": 300, "note": "after"}),
                            (1_500, {"page": 1_000, "inner": 0, "note": "before"})):
        page.goto(f"{server.url}/sessions/seek-scrolls?t={at_ms}")
        page.wait_for_selector('[data-testid="player"][data-ready="true"]', timeout=30_000)
        assert _positions(page) == expected, f"at {at_ms} ms"
    # A seek back and forth in the same player, as the timeline does.
    player = 'document.querySelector(\'[data-testid="player"]\').replayer'
    page.evaluate(f"{player}.pause(3500)")
    assert _positions(page) == {"page": 2_000, "inner": 300, "note": "after"}
    page.evaluate(f"{player}.pause(1200)")
    assert _positions(page) == {"page": 1_000, "inner": 0, "note": "before"}
    context.close()


def test_the_recorded_pages_animations_stand_still_while_paused_and_run_while_playing(
        browser: Any, server: Server, project: dict[str, str]) -> None:
    """rrweb's own rule for it keyed the pause on a class it toggled within every paused seek, which styled the
    whole recorded page again after the seek's layout; ours (replayer.ts: PAUSED_ANIMATIONS) changes only when
    the playing state does."""
    _session(server, project["public_key"], "seek-animations")
    context, page = signed_in_page(browser, server)
    page.goto(f"{server.url}/sessions/seek-animations?t=3500")
    page.wait_for_selector('[data-testid="player"][data-ready="true"]', timeout=30_000)
    states = page.evaluate("""async () => {
        const replayer = document.querySelector('[data-testid="player"]').replayer;
        const settled = () => new Promise((done) => setTimeout(done));
        const state = () => getComputedStyle(replayer.iframe.contentDocument.getElementById("note")).animationPlayState;
        const seen = [state()];
        replayer.pause(1500);  // a paused seek to an earlier moment: the page is built again
        await settled();
        seen.push(state());
        replayer.play(1500);
        await settled();
        seen.push(state());
        replayer.pause();
        await settled();
        seen.push(state());
        return seen;
    }""")
    assert states == ["paused", "paused", "running", "paused"]
    context.close()


def _mutation(at: int, texts: list[tuple[int, str]] = (), adds: list[tuple[int, dict[str, Any]]] = (),  # type: ignore[assignment]
              removes: list[tuple[int, int]] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    return {"type": 3, "timestamp": at, "data": {
        "source": 0, "attributes": [], "texts": [{"id": i, "value": v} for i, v in texts],
        "adds": [{"parentId": parent, "nextId": None, "node": node} for parent, node in adds],
        "removes": [{"parentId": parent, "id": i} for parent, i in removes]}}


def test_a_seek_shows_each_texts_last_change_however_the_node_came_and_went(browser: Any, server: Server,
                                                                           project: dict[str, str]) -> None:
    """Texts changed many times, a text changed and then its node taken out and added back with a newer text (the
    add's text wins over the older change), a stylesheet's text changed, and a text that makes the page taller
    before a scroll that only then reaches its place (texts are applied before the scrolls)."""
    counter = text("0")
    moved_text = text("first")
    moved = el("p", {"id": "moved"}, [moved_text])
    holder = el("div", {"id": "holder"}, [moved])
    sheet_text = text("#counter { color: rgb(255, 0, 0); }")
    grow_text = text("short")
    grow = el("pre", {"id": "grow"}, [grow_text])
    head = [el("style", {}, [sheet_text])]
    body = [el("p", {"id": "counter"}, [counter]), holder, grow]

    def later(start: int) -> list[dict[str, Any]]:
        events = [_mutation(start + 1_000 + 10 * n, texts=[(counter["id"], str(n))]) for n in range(1, 301)]
        again = {**moved, "childNodes": []}
        events += [
            _mutation(start + 5_000, texts=[(moved_text["id"], "changed before the move")]),
            _mutation(start + 5_100, removes=[(holder["id"], moved["id"])]),
            _mutation(start + 5_200, adds=[(holder["id"], again), (moved["id"], {**moved_text, "textContent": "added back"})]),
            _mutation(start + 5_300, texts=[(sheet_text["id"], "#counter { color: rgb(0, 0, 255); }")]),
            _mutation(start + 5_400, texts=[(grow_text["id"], "tall\n" * 400)]),
            _scroll(start + 5_500, 1, 5_000),
            _mutation(start + 7_000, texts=[(counter["id"], "the last change")]),  # the session's last event
        ]
        return events
    ingest_page(server, project["public_key"], "seek-texts", head, body, "https://texts.example/", later)
    context, page = signed_in_page(browser, server)
    page.goto(f"{server.url}/sessions/seek-texts?t=6000")
    page.wait_for_selector('[data-testid="player"][data-ready="true"]', timeout=30_000)
    seen = page.evaluate("""() => {
        const doc = document.querySelector('[data-testid="player"] iframe').contentDocument;
        const counter = doc.getElementById("counter");
        return { counter: counter.textContent, moved: doc.getElementById("moved").textContent,
                 color: doc.defaultView.getComputedStyle(counter).color, scrolled: doc.defaultView.scrollY };
    }""")
    assert seen == {"counter": "300", "moved": "added back", "color": "rgb(0, 0, 255)", "scrolled": 5_000}
    # At the session's end (a later ?t= opens there), its last event is shown too.
    page.goto(f"{server.url}/sessions/seek-texts?t=60000")
    page.wait_for_selector('[data-testid="player"][data-ready="true"]', timeout=30_000)
    assert page.evaluate("""() => document.querySelector('[data-testid="player"] iframe').contentDocument
        .getElementById("counter").textContent""") == "the last change"
    # Back before the move, in the same player: the change made before it shows.
    page.evaluate("document.querySelector('[data-testid=\"player\"]').replayer.pause(5050)")
    assert page.evaluate("""() => document.querySelector('[data-testid="player"] iframe').contentDocument
        .getElementById("moved").textContent""") == "changed before the move"
    context.close()
