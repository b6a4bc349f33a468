"""The SDK's transport in Chromium: batches are gzipped and sent by a worker, off the page's main thread,
and a page whose CSP forbids that worker is still recorded (compressed and sent from the main thread);
a page left while a batch is on its way sends it exactly once."""

from __future__ import annotations

import gzip
import http.client
import json
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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


def _open_recorded(context: Any, url: str) -> tuple[Any, str]:
    """A new page of `context` at `url`, once what the SDK recorded on arrival is acknowledged: (page, session id)."""
    page = context.new_page()
    page.goto(url)
    wait_for_sdk(page)
    return page, page.evaluate("window.sessionstory.flush().then(() => window.sessionstory.sessionId())")


def test_after_data_is_lost_the_next_batch_that_gets_through_brings_a_full_snapshot(browser: Any, server: Server,
                                                                                     sites: Sites, token: str) -> None:
    """Batches dropped while the server was unreachable took DOM changes with them: from the first
    acknowledged batch on, the SDK records a fresh full snapshot, so the replay is whole again."""
    context = browser.new_context(viewport=RECORD_VIEWPORT)
    try:
        page, session_id = _open_recorded(context, f"{sites.url}/shop/index.html")
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


class _Witness:
    """SessionStory as the SDK reaches it, through a loopback forwarder that notes the seq of every ingest
    request it receives (beacons included) and holds back, until `release`, those whose events mention `hold`:
    a server slow to answer them."""

    def __init__(self, upstream: str) -> None:
        self.hold = ""
        self.seqs: Counter[int] = Counter()
        self.texts: dict[int, str] = {}
        self.held = threading.Event()  # a request to hold back has arrived
        self.release = threading.Event()
        witness, target = self, urllib.parse.urlsplit(upstream)

        class Handler(BaseHTTPRequestHandler):
            def _pass(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.command == "POST" and self.path.endswith("/ingest"):
                    witness.note(gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body)
                connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
                try:
                    connection.request(self.command, self.path, body or None, dict(self.headers))
                    reply = connection.getresponse()
                    self.send_response(reply.status)
                    for name, value in reply.getheaders():
                        if name.lower() not in ("connection", "transfer-encoding"):
                            self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(reply.read())
                except OSError:
                    pass  # the page that asked is gone
                finally:
                    connection.close()

            do_GET = do_POST = do_OPTIONS = _pass

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def note(self, raw: bytes) -> None:
        batch = json.loads(raw)
        self.seqs[batch["seq"]] += 1
        self.texts[batch["seq"]] = text = json.dumps(batch["events"])
        if self.hold and self.hold in text:
            self.held.set()
            self.release.wait(30)

    def seq_of(self, marker: str, timeout: float = 10) -> int:
        """The seq of the batch whose events mention `marker`, once it has arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [seq for seq, text in list(self.texts.items()) if marker in text]
            if found:
                return found[0]
            time.sleep(0.05)
        raise AssertionError(f"no batch with {marker!r} arrived: {dict(self.seqs)}")

    def close(self) -> None:
        self.release.set()
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def witness(server: Server, project: dict[str, str]) -> Iterator[tuple[_Witness, Sites]]:
    """The forwarder, and the test sites with a snippet that loads the SDK through it (so it sends through it)."""
    w = _Witness(server.url)
    sites = Sites(w.url, project["public_key"])
    yield w, sites
    sites.close()
    w.close()


# The worker's messages to the page wait in window.__held while it is an array: to the SDK, a worker still
# busy with its batch. The worker itself runs as always.
HOLD_THE_WORKERS_WORD = """(() => {
    const Real = window.Worker;
    window.Worker = class extends Real {
        set onmessage(handler) { super.onmessage = e => window.__held ? window.__held.push(e) : handler(e); }
    };
})()"""


def _track_and_flush(page: Any, name: str) -> None:
    """A track event, sealed into a batch and queued now (without waiting for it to be acknowledged)."""
    page.evaluate("name => { window.sessionstory.track(name); window.sessionstory.flush(); }", name)


def _assert_each_batch_arrived_once(w: _Witness, server: Server, token: str, session_id: str,
                                    *names: str) -> None:
    time.sleep(0.5)  # a second copy would be on its way by now
    assert w.seqs and set(w.seqs) == set(range(max(w.seqs) + 1)), f"none missing: {dict(w.seqs)}"
    assert set(w.seqs.values()) == {1}, f"each once: {dict(w.seqs)}"
    deadline = time.monotonic() + 10
    while True:
        events: list[dict[str, Any]] = server.get_json(f"/api/v1/sessions/{session_id}/events", token)  # type: ignore[assignment]
        tracked = {e["data"]["payload"]["name"] for e in events if e["type"] == 5 and e["data"]["tag"] == "track"}
        if set(names) <= tracked or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert set(names) <= tracked, "stored"


def test_a_batch_the_worker_holds_at_pagehide_is_sent_once_by_the_page(
        browser: Any, server: Server, token: str, witness: tuple[_Witness, Sites]) -> None:
    """The worker has compressed a batch but not sent it when the page is left: the page beacons it, and
    the worker, when it asks, is told not to send it."""
    w, sites = witness
    context = browser.new_context(viewport=RECORD_VIEWPORT)
    context.add_init_script(HOLD_THE_WORKERS_WORD)
    try:
        page, session_id = _open_recorded(context, f"{sites.url}/shop/index.html")
        page.evaluate("window.__held = []")
        _track_and_flush(page, "held")
        page.wait_for_function("window.__held.length > 0")  # compressed, and the worker asks
        page.goto(f"{sites.url}/shop/index.html?bare")  # no SDK there to resend what this page kept
        w.seq_of('"held"')
    finally:
        context.close()
    _assert_each_batch_arrived_once(w, server, token, session_id, "held")


@pytest.mark.parametrize("site_page", ["workers", "no-workers"])  # sent by the worker, or by the page
def test_a_batch_whose_request_is_out_at_pagehide_is_left_to_it(
        browser: Any, server: Server, token: str, witness: tuple[_Witness, Sites], site_page: str) -> None:
    """The server is slow to answer a batch when the page is left: its request answers for it, the page
    sends only what came after."""
    w, sites = witness
    context = browser.new_context(viewport=RECORD_VIEWPORT)
    try:
        page, session_id = _open_recorded(context, f"{sites.url}/privacy/{site_page}.html")
        w.hold = '"slow"'
        _track_and_flush(page, "slow")
        assert w.held.wait(10), "the batch was sent"
        page.evaluate("window.sessionstory.track('after')")  # buffered: sealed and beaconed at pagehide
        page.goto(f"{sites.url}/privacy/{site_page}.html?bare")
        kept = json.loads(page.evaluate("sessionStorage.getItem('sessionstory.pending')") or "[]")
        assert any('"slow"' in body for body in kept), "a copy for the tab's next page, should the request die with this one"
        w.seq_of('"after"')
        w.release.set()
        w.seq_of('"slow"')
    finally:
        context.close()
    _assert_each_batch_arrived_once(w, server, token, session_id, "slow", "after")
