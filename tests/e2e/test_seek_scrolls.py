"""A seek shows the page and its scrolled elements where the visitor's last scroll before that moment left them,
though it applies only each element's last scroll (replayer.ts: lastScrollsOnly)."""

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
