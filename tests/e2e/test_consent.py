"""Consent: with data-require-consent, nothing is recorded or sent until consent(true)."""

from __future__ import annotations

from typing import Any

from tests.e2e.sites import Sites
from tests.server import Server

ADD_SNIPPET = """([src, key]) => new Promise((resolve) => {
  const s = document.createElement("script");
  s.src = src; s.dataset.key = key; s.setAttribute("data-require-consent", "");
  s.onload = resolve;
  document.head.append(s);
})"""


def test_nothing_is_sent_before_consent(browser: Any, server: Server, sites: Sites, project: dict[str, str],
                                        token: str) -> None:
    context = browser.new_context()
    page = context.new_page()
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.url.endswith("/api/v1/ingest") else None)
    try:
        page.goto(f"{sites.url}/shop/index.html?bare")
        page.evaluate(ADD_SNIPPET, [f"{server.url}/sdk.js", project["public_key"]])
        page.click("button[data-name=assam]")
        page.evaluate("window.sessionstory.flush()")
        page.wait_for_timeout(2500)  # longer than a batch's 2 s pace
        assert sent == [], "nothing before consent"
        assert page.evaluate("sessionStorage.length + localStorage.length") == 0, "not even an id stored"

        page.evaluate("window.sessionstory.consent(true)")
        page.click("button[data-name=oolong]")
        session_id = page.evaluate("window.sessionstory.flush().then(() => window.sessionstory.sessionId())")
        assert sent, "recording starts with consent"
        listed = server.get_json(f"/api/v1/sessions/{session_id}", token)
        assert listed["id"] == session_id  # type: ignore[index]
    finally:
        context.close()
