"""The SDK's build patches rrweb's recorder for speed (scripts/build.mjs, sdkRrweb): what it records must not change
(but for text in shadow roots under a mask, which only the SDK masks: test_privacy.py).

On one page, our SDK and bare @rrweb/record, built from node_modules unpatched and given the options the SDK
gives rrweb, record the same DOM changes: masked and unmasked text, blocked elements, added subtrees, iframes,
a stylesheet link under masked ancestors, a shadow root, and bench/sdk.py's mutation page. Their full
snapshots and mutations, as the SDK sends them and as bare rrweb emits them, must be the same but for their
timestamps (the pages hold no personal data, which the SDK would mask and bare rrweb would not)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from typing import Any

import pytest

from bench.sdk import PAGE, PRIVATE_OPTIONS, build_bare_rrweb, serve_dir
from tests.e2e.conftest import RECORD_VIEWPORT, wait_for_sdk
from tests.server import Server

MASKING = """<!doctype html><html><head><meta charset="utf-8"><title>Masking</title>
{recorder}
</head><body>
<div class="ss-mask" id="a"><p>hidden by class <b>bold</b></p></div>
<section data-ss-mask id="b"><span>hidden by attribute</span><div><i>deeper</i></div></section>
<div data-ss-block id="c"><p>blocked</p></div>
<div id="d"><p id="d1">shown text</p><input value="typed before"></div>
<script>
const frame = () => new Promise((done) => requestAnimationFrame(() => setTimeout(done)));
const loaded = (el) => new Promise((done) => {{ el.addEventListener("load", done); setTimeout(done, 2000); }});
window.mutate = async () => {{
  const [a, b, c, d] = ["a", "b", "c", "d"].map((id) => document.getElementById(id));
  for (const [parent, tag] of [[a, "div"], [b, "p"], [c, "div"], [d, "div"], [a.firstChild, "span"]]) {{
    const el = document.createElement(tag);
    el.innerHTML = "<span>added <em>nested <u>deep</u></em></span> tail <a href='#x'>link</a>";
    parent.appendChild(el);
  }}
  await frame();
  a.querySelector("b").firstChild.data = "bold changed";
  document.getElementById("d1").firstChild.data = "shown changed";
  b.appendChild(document.getElementById("d1"));  // shown text moved under a mask
  d.setAttribute("data-ss-mask", "");  // a container masked after it was recorded
  d.appendChild(document.createElement("p")).textContent = "added after masking";
  await frame();
  // Frames with no src keep the document they are made with. (With srcdoc, the new document replaced the first
  // while each recorder attached the frame in a timeout of its own: one in six runs, the two saw different ones.)
  const iframes = [a, b, d, document.body].map((parent) => parent.appendChild(document.createElement("iframe")));
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = "style.css";
  link.appendChild(document.createTextNode("a link's text"));
  const linkLoaded = loaded(link);
  b.appendChild(link);
  // Unmasked: under a mask the SDK masks a shadow root's text, which bare rrweb misses (test_privacy.py).
  const host = document.body.appendChild(document.createElement("div"));
  host.attachShadow({{ mode: "open" }}).innerHTML = "<p>in a shadow root</p>";
  await frame();  // both recorders have attached every frame
  for (const iframe of iframes) iframe.contentDocument.body.innerHTML = "<p>in a frame <b>bold</b></p>";
  await linkLoaded;
  await frame();
  for (const iframe of iframes) iframe.contentDocument.body.append(" later");
  host.shadowRoot.firstChild.textContent = "shadow changed";
  await frame();
}};
</script></body></html>
"""


@pytest.fixture(scope="module")
def site(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A site with bare rrweb's bundle and the pages, both recorders on each; yields its URL."""
    root = tmp_path_factory.mktemp("rrweb-build")
    build_bare_rrweb(root, "rrweb-record-unpatched", options=PRIVATE_OPTIONS)
    (root / "style.css").write_text("p { color: #333 }")
    httpd, url = serve_dir(root, upstream=server.url)
    key = server.project("rrweb build")["public_key"]
    tags = f'<script src="rrweb-record-unpatched.js"></script><script src="{server.url}/sdk.js" data-key="{key}"></script>'
    (root / "masking.html").write_text(MASKING.format(recorder=tags))
    (root / "mutations.html").write_text(PAGE.format(recorder=tags))
    yield url
    httpd.shutdown()


def _recorded(events: list[dict[str, Any]]) -> list[str]:
    """Full snapshots and DOM mutations from the first snapshot on, without their timestamps."""
    first = next(i for i, e in enumerate(events) if e["type"] == 2)
    return [json.dumps({k: v for k, v in e.items() if k != "timestamp"}) for e in events[first:]
            if e["type"] == 2 or (e["type"] == 3 and e["data"]["source"] == 0)]


@pytest.mark.parametrize(("page", "argument"), [("masking.html", None), ("mutations.html", 20)])
def test_sdk_records_what_unpatched_rrweb_records(browser: Any, site: str, page: str, argument: int | None) -> None:
    context = browser.new_context(viewport=RECORD_VIEWPORT)
    tab = context.new_page()
    sent: list[Any] = []
    tab.on("request", lambda r: sent.append(r) if r.url.endswith("/api/v1/ingest") else None)
    tab.goto(f"{site}/{page}")
    wait_for_sdk(tab)
    tab.wait_for_timeout(500)  # both have taken their full snapshot of the same, unchanged page
    tab.evaluate("a => window.mutate(a)", argument)
    tab.evaluate("window.sessionstory.flush()")
    bare = json.loads(tab.evaluate("JSON.stringify(window.__events)"))
    context.close()
    bodies = [r.post_data_buffer for r in sent]
    ours = [e for b in bodies for e in json.loads(gzip.decompress(b) if b[:2] == b"\x1f\x8b" else b)["events"]]
    expected, got = _recorded(bare), _recorded(ours)
    assert len(expected) > 3 and sum(e.count('"source": 0') for e in expected) > 2, "the page recorded too little"
    if page == "masking.html":  # the page's masks took effect in what was compared
        text = "".join(expected)
        assert "shown text" in text and "in a frame" in text
        assert not any(words in text for words in ("hidden by", "deeper", "after masking"))
    assert got == expected
