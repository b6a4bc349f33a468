"""Privacy in Chromium: under the default level, personal data typed and shown on a page is
stored nowhere; a URL rule keeps a page out of the recording; strict blocks images."""

from __future__ import annotations

import contextlib
import gzip
import json
import urllib.error
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from sessionstory.store import SegmentLog, batches
from sessionstory.store.records import Kind
from tests.e2e.conftest import RECORD_VIEWPORT, wait_for_sdk
from tests.e2e.sites import Sites
from tests.server import Server

# Shown in the page's text, title, attributes (tests/e2e/pages/privacy/index.html).
SHOWN = ["jane.doe@example.org", "jane.doe%40example.org", "(555) 867-5309", "867-5309", "4111 1111 1111 1111",
         "4111111111111111"]
# Typed by the visitor (and echoed by the page into its text, console, a fetch URL and an error).
TYPED_EMAIL = "typed.person@example.net"
TYPED_PHONE = "+1 415 555 0134"
TYPED_CARD = "5555 5555 5555 4444"
TYPED_PASSWORD = "hunter2-Secret-Pass"
TYPED = [TYPED_EMAIL, urllib.parse.quote(TYPED_EMAIL, safe=""), TYPED_PHONE, "415 555 0134", TYPED_CARD,
         "5555555555554444", TYPED_PASSWORD]


def _stored(server: Server) -> tuple[bytes, bytes]:
    """Every byte of the data directory, and every stored batch's events decompressed."""
    raw = b"".join(p.read_bytes() for p in sorted(server.data_dir.rglob("*")) if p.is_file() and not p.is_socket())
    events = b"".join(b.events for _, record in SegmentLog(server.data_dir / "segments").scan()
                      if record.kind != Kind.DICTIONARY for b in batches(record, None))  # type: ignore[arg-type]
    return raw, events


def _session_events(server: Server, token: str, session_id: str) -> list[dict[str, Any]]:
    return server.get_json(f"/api/v1/sessions/{session_id}/events", token)  # type: ignore[return-value]


@contextlib.contextmanager
def _site_of_new_project(server: Server, dashboard: Any, name: str, level: str = "balanced", urls: str = "",
                         path: str = "/privacy/index.html", sample: float = 100) -> Iterator[str]:
    """A new project whose privacy settings an admin sets on its page; yields the URL of
    `path` on a site carrying that project's snippet."""
    project = server.project(name)
    dashboard.goto(f"{server.url}/projects/{project['id']}")
    dashboard.check(f'input[name=level][value="{level}"]')
    dashboard.fill("textarea[name=urls]", urls)
    dashboard.fill("input[name=sample]", f"{sample:g}")
    dashboard.click("text=Save privacy settings")
    dashboard.wait_for_url(f"**/projects/{project['id']}#privacy")
    sites = Sites(server.url, project["public_key"])
    try:
        yield sites.url + path
    finally:
        sites.close()


@pytest.fixture
def recorder(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=RECORD_VIEWPORT)
    yield context.new_page()
    context.close()


def test_default_settings_store_no_personal_data(server: Server, sites: Sites, token: str, project: dict[str, str],
                                                 recorder: Any) -> None:
    page = recorder
    sent: list[Any] = []
    page.on("request", lambda r: sent.append(r) if r.url.endswith("/api/v1/ingest") else None)
    page.goto(f"{sites.url}/privacy/index.html")
    wait_for_sdk(page)
    for field, value in (("#email", TYPED_EMAIL), ("#phone", TYPED_PHONE), ("#cc", TYPED_CARD),
                         ("#password", TYPED_PASSWORD)):
        page.click(field)
        page.keyboard.type(value, delay=5)
    page.click("#save")
    page.wait_for_selector("#saved")
    page.wait_for_timeout(300)  # the page's fetch settles and its error is thrown
    session_id = page.evaluate("window.sessionstory.sessionId()")
    page.evaluate("window.sessionstory.flush()")

    # What left the browser: the SDK masked it before sending (ingest masks again, on its own).
    bodies = [r.post_data_buffer for r in sent]
    left = b"".join(gzip.decompress(b) if b[:2] == b"\x1f\x8b" else b for b in bodies).decode()
    assert "Your account" in left
    for secret in SHOWN + TYPED:
        assert secret not in left, f"{secret!r} sent by the SDK"

    events = _session_events(server, token, session_id)
    text = json.dumps(events)
    tags = {e["data"]["tag"] for e in events if e["type"] == 5}
    assert {"page", "console", "network", "error", "click"} <= tags, f"the page's facts were captured: {tags}"
    assert "Your account" in text and "Mail us" in text, "text without personal data is recorded as is"
    assert "Saved for " in text, "the page's own echo of the typed values is recorded, masked"

    raw, stored = _stored(server)
    session = json.dumps(server.get_json(f"/api/v1/sessions/{session_id}", token))
    log = server.log_path.read_bytes()
    for secret in SHOWN + TYPED:
        assert secret not in text, f"{secret!r} in the recorded events"
        assert secret.encode() not in stored, f"{secret!r} in a stored batch"
        assert secret.encode() not in raw, f"{secret!r} in the data directory's bytes"
        assert secret not in session, f"{secret!r} in the session's index rows"
        assert secret.encode() not in log, f"{secret!r} in the server log"
        found = server.get_json(f"/api/v1/sessions?project={project['id']}&q={urllib.parse.quote(secret)}", token)
        assert found["items"] == [], f"{secret!r} found by free-text search"  # type: ignore[index]


def test_the_pages_mask_markers_hide_text(server: Server, sites: Sites, token: str, recorder: Any) -> None:
    """`ss-mask` and `data-ss-mask`, on an element or an ancestor: its text is masked in nodes added,
    text changed and a full snapshot alike, before it leaves the browser, in shadow roots too; text outside
    them is recorded as is."""
    page = recorder
    sent: list[Any] = []
    page.on("request", lambda r: sent.append(r) if r.url.endswith("/api/v1/ingest") else None)
    page.goto(f"{sites.url}/privacy/index.html")
    wait_for_sdk(page)
    page.evaluate("""() => document.getElementById("view").insertAdjacentHTML("beforeend",
        '<p class="ss-mask">MASKED-BY-CLASS-1</p><div data-ss-mask><p><b>MASKED-BY-ATTRIBUTE-2</b></p></div>' +
        '<section class="ss-mask"><span id="later">MASKED-BY-CLASS-3</span></section><p id="plain">SHOWN-AS-IS</p>')""")
    page.wait_for_timeout(100)
    page.evaluate("""() => {
        document.querySelector("#later").firstChild.data = "MASKED-CHANGED-4";
        document.querySelector("[data-ss-mask] b").firstChild.data = "MASKED-CHANGED-5";
        document.querySelector("#plain").firstChild.data = "SHOWN-CHANGED";
    }""")
    page.wait_for_timeout(100)
    # Web components: closest() stops at a shadow root, yet a shadow host under a mask, or masked itself, shows
    # masked text; and a shadow root's own text node is decided by its host.
    page.evaluate("""() => {
        const under = document.querySelector("section.ss-mask").appendChild(document.createElement("div"));
        under.attachShadow({ mode: "open" }).innerHTML = "<p>MASKED-IN-SHADOW-6</p>";
        const itself = document.getElementById("view").appendChild(document.createElement("div"));
        itself.setAttribute("data-ss-mask", "");
        itself.attachShadow({ mode: "open" }).append("MASKED-SHADOW-TEXT-7");
        const shown = document.getElementById("view").appendChild(document.createElement("div"));
        shown.attachShadow({ mode: "open" }).innerHTML = "<p>SHOWN-IN-SHADOW</p>";
        window.__underMask = under;
    }""")
    page.wait_for_timeout(100)
    page.evaluate("() => { window.__underMask.shadowRoot.firstChild.firstChild.data = 'MASKED-SHADOW-CHANGED-8'; }")
    page.wait_for_timeout(100)
    page.evaluate("window.sessionstory.stop(); window.sessionstory.start()")  # a full snapshot of it all
    session_id = page.evaluate("window.sessionstory.sessionId()")
    page.evaluate("window.sessionstory.flush()")

    # What left the browser (ingest masks these markers again, on its own).
    bodies = [r.post_data_buffer for r in sent]
    text = b"".join(gzip.decompress(b) if b[:2] == b"\x1f\x8b" else b for b in bodies).decode()
    events = _session_events(server, token, session_id)
    assert sum(e["type"] == 2 for e in events) == 2, "the page's first full snapshot and the one after start()"
    assert "SHOWN-AS-IS" in text and "SHOWN-CHANGED" in text, "unmarked text is recorded as is"
    assert text.count("SHOWN-IN-SHADOW") >= 2, "a shadow root's unmarked text, added and in the full snapshot"
    assert "*" * len("MASKED-BY-ATTRIBUTE-2") in text, "masked text keeps its length"
    for n, secret in enumerate(("MASKED-BY-CLASS", "MASKED-BY-ATTRIBUTE", "MASKED-BY-CLASS", "MASKED-CHANGED",
                                "MASKED-CHANGED", "MASKED-IN-SHADOW", "MASKED-SHADOW-TEXT", "MASKED-SHADOW-CHANGED"), 1):
        assert f"{secret}-{n}" not in text, f"{secret}-{n} recorded"


def test_a_url_rule_keeps_pages_out_of_the_recording(server: Server, token: str, dashboard: Any, recorder: Any) -> None:
    with _site_of_new_project(server, dashboard, "Ruled", urls="/privacy/admin/*") as url:
        page = recorder
        page.goto(url)
        wait_for_sdk(page)
        session_id = page.evaluate("window.sessionstory.sessionId()")
        page.click("#admin")  # a page load of a ruled page: never recorded
        page.wait_for_url("**/admin/index.html")
        wait_for_sdk(page)
        page.wait_for_timeout(500)
        page.click("#back")
        page.wait_for_url("**/privacy/index.html")
        wait_for_sdk(page)
        # A single-page app's route to a ruled page: recording stops at once, and resumes after.
        page.evaluate("""() => {
            history.pushState({}, "", "/privacy/admin/settings");
            document.getElementById("view").innerHTML = "<h1>SPA-ADMIN-SECRET-77</h1>";
        }""")
        page.wait_for_timeout(400)
        page.evaluate("""() => {
            history.pushState({}, "", "/privacy/index.html?again");
            document.getElementById("view").innerHTML = "<h1>BACK-ON-A-RECORDED-PAGE</h1>";
        }""")
        page.wait_for_timeout(400)
        assert page.evaluate("window.sessionstory.sessionId()") == session_id
        page.evaluate("window.sessionstory.flush()")

    events = _session_events(server, token, session_id)
    text = json.dumps(events)
    assert "BACK-ON-A-RECORDED-PAGE" in text, "recording resumed on a page no rule covers"
    assert "ADMIN-PAGE-SECRET-31" not in text and "SPA-ADMIN-SECRET-77" not in text
    urls = [e["data"]["payload"]["url"] for e in events if e["type"] == 5 and e["data"]["tag"] == "page"]
    urls += [e["data"]["href"] for e in events if e["type"] == 4]
    assert urls and not [u for u in urls if "/admin" in u], urls
    _, stored = _stored(server)
    assert b"ADMIN-PAGE-SECRET-31" not in stored and b"SPA-ADMIN-SECRET-77" not in stored


def test_strict_blocks_images_and_masks_text(server: Server, token: str, dashboard: Any, recorder: Any) -> None:
    with _site_of_new_project(server, dashboard, "Strict", level="strict", path="/privacy/media.html") as url:
        page = recorder
        page.goto(url)
        wait_for_sdk(page)
        page.wait_for_function("document.getElementById('photo').complete")
        session_id = page.evaluate("window.sessionstory.sessionId()")
        page.evaluate("window.sessionstory.flush()")

    events = _session_events(server, token, session_id)
    text = json.dumps(events)
    assert any(e["type"] == 2 for e in events), "the page was recorded"
    assert "photo.svg" not in text, "the image's source is not recorded"
    assert '"rr_width": "120px"' in text, "the image is recorded as an empty box of its size"
    assert "STRICT-VISIBLE-HEADING" not in text and "never records" not in text and "A photo" not in text


def test_global_privacy_control_is_honoured_by_default(browser: Any, server: Server, sites: Sites, token: str) -> None:
    context = browser.new_context(viewport=RECORD_VIEWPORT)
    context.add_init_script("Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})")
    try:
        page = context.new_page()
        page.goto(f"{sites.url}/privacy/index.html")
        wait_for_sdk(page)
        page.click("#save")
        page.wait_for_timeout(2500)  # past the SDK's batching pace
        session_id = page.evaluate("window.sessionstory.sessionId()")
        page.evaluate("window.sessionstory.flush()")
    finally:
        context.close()
    with pytest.raises(urllib.error.HTTPError) as missing:
        server.get_json(f"/api/v1/sessions/{session_id}", token)
    assert missing.value.code == 404, "nothing of the visit was sent"
