"""The SDK's transport in Chromium: batches are gzipped and sent by a worker, off the page's main thread,
and a page whose CSP forbids that worker is still recorded (compressed and sent from the main thread)."""

from __future__ import annotations

import gzip
import json
import time
import urllib.request
from typing import Any

import pytest

from tests.e2e.conftest import RECORD_VIEWPORT, wait_for_sdk
from tests.e2e.sites import Sites
from tests.server import Server

def _record(browser: Any, url: str) -> tuple[str, list[Any], list[str]]:
    """Records a visit: (session id, the ingest requests, the page's console lines)."""
    context = browser.new_context(viewport=RECORD_VIEWPORT)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    sent: list[Any] = []
    page.on("request", lambda r: sent.append(r) if r.url.endswith("/api/v1/ingest") else None)
    try:
        page.goto(url)
        wait_for_sdk(page)
        page.click("#go")
        session_id = page.evaluate("window.sessionstory.flush().then(() => window.sessionstory.sessionId())")
    finally:
        context.close()
    assert sent, "batches were sent"
    return session_id, sent, console


@pytest.mark.parametrize("page", ["workers", "no-workers"])  # the second's CSP: worker-src 'none'
def test_batches_are_gzipped_and_stored_with_or_without_a_worker(browser: Any, server: Server, sites: Sites,
                                                                 token: str, page: str) -> None:
    session_id, sent, console = _record(browser, f"{sites.url}/privacy/{page}.html")
    bodies = [r.post_data_buffer for r in sent]
    heads = [json.loads(gzip.decompress(b) if b[:2] == b"\x1f\x8b" else b) for b in bodies]
    assert {h["session_id"] for h in heads} == {session_id}
    assert all(r.headers.get("content-encoding") == "gzip" for r in sent), "compressed either way"
    assert not [line for line in console if "SessionStory" in line], console
    refused = [line for line in console if "Creating a worker" in line and "blocked" in line]
    assert bool(refused) is (page == "no-workers"), console
    events = server.get_json(f"/api/v1/sessions/{session_id}/events", token)
    assert any(e["type"] == 2 for e in events) and any(  # type: ignore[union-attr, index]
        e["type"] == 5 and e["data"]["tag"] == "click" for e in events), "the visit is stored"  # type: ignore[union-attr, index]


def test_after_data_is_lost_the_next_batch_that_gets_through_brings_a_full_snapshot(browser: Any, server: Server,
                                                                                     sites: Sites, token: str) -> None:
    """Batches dropped while the server was unreachable took DOM changes with them: from the first
    acknowledged batch on, the SDK records a fresh full snapshot, so the replay is whole again."""
    context = browser.new_context(viewport=RECORD_VIEWPORT)
    page = context.new_page()
    try:
        page.goto(f"{sites.url}/shop/index.html")
        wait_for_sdk(page)
        session_id = page.evaluate("window.sessionstory.flush().then(() => window.sessionstory.sessionId())")
        context.set_offline(True)
        # Offline, the SDK holds what was not sent up to 8e6 characters: the third batch is dropped.
        page.evaluate("""() => { for (const n of [1, 2, 3]) {
            window.sessionstory.track('big ' + n, {blob: 'x'.repeat(2.7e6)});
            window.sessionstory.flush();
        } }""")
        context.set_offline(False)
        page.click("button[data-name=oolong]")
        page.evaluate("window.sessionstory.flush()")
        deadline = time.monotonic() + 30
        while True:
            events: list[dict[str, Any]] = server.get_json(f"/api/v1/sessions/{session_id}/events",  # type: ignore[assignment]
                                                           token)
            snapshots = [i for i, e in enumerate(events) if e["type"] == 2]
            if len(snapshots) >= 2 or time.monotonic() > deadline:
                break
            time.sleep(0.25)
    finally:
        context.close()
    tracks = {e["data"]["payload"]["name"]: i for i, e in enumerate(events) if e["type"] == 5
              and e["data"]["tag"] == "track"}
    assert set(tracks) == {"big 1", "big 2"}
    assert len(snapshots) == 2 and snapshots[1] > tracks["big 2"]
    assert events[snapshots[1] - 1]["type"] == 4  # with its Meta event


def _ingest_requests_while_changing(page: Any, sent: list[str], seconds: int) -> int:
    """Ingest requests made while the page changes every 100 ms for `seconds`."""
    before = len(sent)
    page.evaluate("""s => new Promise(done => {
        let n = 0;
        const t = setInterval(() => {
            document.body.insertAdjacentHTML('beforeend', `<p class="tick">tick ${n++}</p>`);
            if (n >= s * 10) { clearInterval(t); done(); }
        }, 100);
    })""", seconds)
    return len(sent) - before


def test_the_reply_that_someone_watches_reaches_the_sdk_from_its_worker(browser: Any, server: Server, sites: Sites,
                                                                        token: str) -> None:
    """The worker sends the batches and hands the page the server's reply: once a reply says the session
    is watched live, batches go every 250 ms instead of every 2 s."""
    context = browser.new_context(viewport=RECORD_VIEWPORT)
    page = context.new_page()
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.url.endswith("/api/v1/ingest") else None)
    viewer = None
    try:
        page.goto(f"{sites.url}/shop/index.html")
        wait_for_sdk(page)
        session_id = page.evaluate("window.sessionstory.flush().then(() => window.sessionstory.sessionId())")
        unwatched = _ingest_requests_while_changing(page, sent, 3)
        # A viewer of the live stream (its request is answered once the hub counts it as watching).
        viewer = urllib.request.urlopen(urllib.request.Request(
            f"{server.url}/api/v1/sessions/{session_id}/live", headers={"Authorization": f"Bearer {token}"}), timeout=30)
        page.evaluate("document.body.append('watched now'); window.sessionstory.flush()")
        watched = _ingest_requests_while_changing(page, sent, 3)
    finally:
        if viewer:
            viewer.close()
        context.close()
    assert unwatched <= 2, sent
    assert watched >= 5, (unwatched, watched)
