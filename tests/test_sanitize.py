"""Replay sanitising at ingest: what a hostile recording keeps once stored."""

from __future__ import annotations

import json
import re
from typing import Any

import msgspec
from litestar.testing import TestClient

from sessionstory.events import event_decoder
from sessionstory.sanitize import sanitize_event
from tests.conftest import batch, meta_event
from tests.xss_corpus import corpus, mutations, page_snapshot, with_sink

T0 = 1_700_000_000_000
ACTIVE_URL = re.compile(r"^(javascript|vbscript|data:text/html|data:application/)", re.I)


def _attributes(node: Any) -> list[tuple[str, str, Any]]:
    """(tag, attribute, value) of every element in a serialized tree or mutation."""
    found: list[tuple[str, str, Any]] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            if isinstance(current.get("attributes"), dict):
                found += [(str(current.get("tagName", "")), k, v) for k, v in current["attributes"].items()]
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)
    return found


def test_nothing_active_survives_ingest(client: TestClient, project: Any, auth: dict[str, str]) -> None:  # type: ignore[type-arg]
    snapshot, body_id = page_snapshot([node for _, node in corpus()], T0 + 1)
    events = [meta_event(T0, href="https://corpus.example/"), snapshot]
    events += [{"type": 3, "timestamp": T0 + 10 + i, "data": m} for i, m in enumerate(mutations(body_id))]
    events = with_sink(events, "http://127.0.0.1:9/sink")
    assert client.post("/api/v1/ingest", json=batch(project.public_key, "xss-1", events=events)).status_code == 200

    stored = client.get("/api/v1/sessions/xss-1/events", headers=auth).json()
    assert len(stored) == len(events)
    attributes = _attributes(stored)
    assert attributes, "the tree is still there"
    for tag, name, value in attributes:
        lowered = name.lower()
        assert not lowered.startswith("on"), (tag, name)
        assert lowered not in ("srcdoc", "http-equiv", "formaction"), (tag, name)
        assert not (tag == "base" and lowered == "href")
        assert not (tag in ("object", "embed", "iframe", "frame", "script") and lowered in ("src", "data")), (tag, name)
        if isinstance(value, str):
            assert not ACTIVE_URL.match(re.sub(r"[\x00-\x20]", "", value)), (tag, name, value)
    script_texts = re.findall(r'"tagName":"script"[^]]*?"textContent":"([^"]*)"', json.dumps(stored, separators=(",", ":")))
    assert script_texts and all(t == "SCRIPT_PLACEHOLDER" for t in script_texts)


def test_json_escapes_do_not_disguise_a_handler() -> None:
    raw = (b'{"type":3,"timestamp":1,"data":{"source":0,"texts":[],"removes":[],"adds":[],'
           b'"attributes":[{"id":5,"attributes":{"\\u006fnerror":"x","href":"\\u006aavascript:alert(1)","title":"ok"}}]}}')
    cleaned = msgspec.json.decode(sanitize_event(raw, event_decoder.decode(raw)))
    assert cleaned["data"]["attributes"][0]["attributes"] == {"title": "ok"}


def test_a_harmless_event_is_stored_byte_for_byte() -> None:
    snapshot, _ = page_snapshot([{"type": 2, "tagName": "p", "attributes": {"class": "note"}, "childNodes": [], "id": 9}], T0)
    raw = json.dumps(snapshot, indent=1).encode()  # odd spacing: any re-encoding would show
    assert sanitize_event(raw, event_decoder.decode(raw)) is raw


def test_a_mutation_cannot_turn_a_link_into_a_prefetch() -> None:
    raw = (b'{"type":3,"timestamp":1,"data":{"source":0,"texts":[],"removes":[],"adds":[],'
           b'"attributes":[{"id":5,"attributes":{"rel":"prefetch","href":"https://sink.example/x"}},'
           b'{"id":6,"attributes":{"rel":"stylesheet"}}]}}')
    cleaned = msgspec.json.decode(sanitize_event(raw, event_decoder.decode(raw)))
    assert [c["attributes"] for c in cleaned["data"]["attributes"]] == [{"href": "https://sink.example/x"}, {"rel": "stylesheet"}]
