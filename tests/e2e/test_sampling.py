"""Sampling in Chromium: a project's rate decides, once per session, whether the SDK records it
at all; the decision holds on every page of the session."""

from __future__ import annotations

import urllib.error
from typing import Any

from tests.e2e.conftest import RECORD_VIEWPORT, wait_for_sdk
from tests.e2e.test_privacy import _site_of_new_project
from tests.server import Server

BATCH_PACE_MS = 2500  # longer than the SDK's 2 s between batches


def sampled(session_id: str, rate: float) -> bool:
    """The SDK's rule (sdk_js/src/privacy.ts `sampled`): FNV-1a of the session id, in 0-9999."""
    h = 2166136261
    for ch in session_id:
        h = ((h ^ ord(ch)) * 16777619) & 0xFFFFFFFF
    return h % 10_000 < rate * 100


def _visit(browser: Any, url: str) -> tuple[str, list[str], Any]:
    """A fresh visitor's first page, clicked and flushed: (session id, ingest requests, the open page)."""
    context = browser.new_context(viewport=RECORD_VIEWPORT)
    page = context.new_page()
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.url.endswith("/api/v1/ingest") else None)
    page.goto(url)
    wait_for_sdk(page)
    page.click("#save")
    page.wait_for_timeout(BATCH_PACE_MS)
    page.evaluate("window.sessionstory.flush()")
    return page.evaluate("window.sessionstory.sessionId()"), sent, page


def _events_stored(server: Server, token: str, session_id: str) -> int:
    try:
        return int(server.get_json(f"/api/v1/sessions/{session_id}", token)["event_count"])  # type: ignore[index]
    except urllib.error.HTTPError as missing:
        assert missing.code == 404
        return 0


def test_rate_0_records_nothing_and_100_records_every_session(browser: Any, server: Server, token: str,
                                                              dashboard: Any) -> None:
    for rate, recorded in ((0, False), (100, True)):
        with _site_of_new_project(server, dashboard, f"Sampled {rate}", sample=rate) as url:
            for _ in range(3):
                session_id, sent, page = _visit(browser, url)
                page.context.close()
                assert bool(sent) is recorded, f"rate {rate}: requests sent {sent}"
                assert bool(_events_stored(server, token, session_id)) is recorded, f"rate {rate}"


def test_the_decision_is_made_once_per_session_and_holds_on_every_page(browser: Any, server: Server, token: str,
                                                                       dashboard: Any) -> None:
    seen: set[bool] = set()
    with _site_of_new_project(server, dashboard, "Sampled 50", sample=50) as url:
        # Fresh visitors until both outcomes came up (each is a coin toss: 20 in a row alike is 1 in 500,000).
        for _ in range(20):
            session_id, sent, page = _visit(browser, url)
            try:
                expected = sampled(session_id, 50)
                assert bool(sent) is expected, (session_id, sent)
                first = _events_stored(server, token, session_id)
                page.goto(url + "?second-page")
                wait_for_sdk(page)
                assert page.evaluate("window.sessionstory.sessionId()") == session_id, "one session"
                page.click("#save")
                page.evaluate("window.sessionstory.flush()")
                later = _events_stored(server, token, session_id)
                if expected:
                    assert 0 < first < later, "both pages recorded"
                else:
                    assert first == later == 0 and not sent, "neither page recorded"
            finally:
                page.context.close()
            seen.add(expected)
            if len(seen) == 2:
                break
    assert seen == {True, False}
