"""A project's URL rules and block / mask / ignore selectors, enforced on a batch at ingest
(`privacy.enforce`) as the SDK and rrweb apply them in the browser."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from sessionstory.events import event_decoder
from sessionstory.privacy import PrivacySettings, enforce, make_settings
from tests.conftest import meta_event
from tests.test_privacy import _el, _text

T0 = 1_700_000_000_000
SECRET = "Balance 12,345.67 EUR"


def _snapshot(ts: int, *body: dict[str, Any]) -> dict[str, Any]:
    html = _el(2, "html", {}, _el(3, "head", {}), _el(4, "body", {}, *body))
    return {"type": 2, "timestamp": ts, "data": {"node": {"type": 0, "id": 1, "childNodes": [html]},
                                                 "initialOffset": {"left": 0, "top": 0}}}


def _mutation(ts: int, adds: list[Any] = (), texts: list[Any] = (), attributes: list[Any] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    return {"type": 3, "timestamp": ts, "data": {"source": 0, "texts": list(texts), "attributes": list(attributes),
                                                 "removes": [], "adds": list(adds)}}


def _input(ts: int, node_id: int) -> dict[str, Any]:
    return {"type": 3, "timestamp": ts, "data": {"source": 5, "id": node_id, "text": "****", "isChecked": False}}


def _page(ts: int, url: str) -> dict[str, Any]:
    return {"type": 5, "timestamp": ts, "data": {"tag": "page", "payload": {"url": url, "title": "", "referrer": "",
                                                                          "kind": "push"}}}


def _run(events: list[dict[str, Any]], settings: PrivacySettings = PrivacySettings(), url: str = "") -> list[Any]:
    raws = [msgspec.json.encode(e) for e in events]
    out_raws, out_events = enforce(raws, [event_decoder.decode(r) for r in raws], settings, url)
    assert [e.timestamp for e in out_events] == [json.loads(r)["timestamp"] for r in out_raws], "bytes and events agree"
    return [json.loads(r) for r in out_raws]


def _nodes(tree: Any) -> dict[int, dict[str, Any]]:
    """Every serialized node of a snapshot or an add, by id."""
    found: dict[int, dict[str, Any]] = {}
    stack = [tree]
    while stack:
        node = stack.pop()
        found[node["id"]] = node
        stack.extend(node.get("childNodes", []))
    return found


# -- URL rules --------------------------------------------------------------------


def test_events_on_a_page_a_rule_covers_are_dropped_until_an_allowed_page() -> None:
    events = [
        meta_event(T0, "https://shop.example/cart"), _snapshot(T0 + 1, _text(5, "cart")),
        _page(T0 + 2, "https://shop.example/admin/users"), _mutation(T0 + 3, texts=[{"id": 5, "value": SECRET}]),
        meta_event(T0 + 4, "https://shop.example/admin"), _snapshot(T0 + 5, _text(5, SECRET)),
        meta_event(T0 + 6, "https://shop.example/administrator"), _snapshot(T0 + 7, _text(5, "a page of its own")),
    ]
    kept = _run(events, make_settings(url_rules=["/admin/*"]))
    assert [e["timestamp"] for e in kept] == [T0, T0 + 1, T0 + 6, T0 + 7]
    assert SECRET not in json.dumps(kept)


def test_a_batch_that_names_no_page_is_judged_by_the_page_the_session_was_on() -> None:
    events = [_mutation(T0, texts=[{"id": 5, "value": SECRET}]), _input(T0 + 1, 5)]
    assert _run(events, make_settings(url_rules=["/admin/*"]), url="https://shop.example/admin/x") == []
    assert len(_run(events, make_settings(url_rules=["/admin/*"]), url="https://shop.example/")) == 2
    assert len(_run(events, make_settings(url_rules=["/admin/*"]))) == 2, "an unknown page is not covered"


# -- block selectors --------------------------------------------------------------


def test_a_blocked_element_becomes_a_placeholder_and_its_later_changes_are_dropped() -> None:
    form = _el(10, "form", {"class": "pay card-form", "id": "pay", "rr_width": "300px", "rr_height": "90px"},
               _el(11, "label", {"title": "card"}, _text(12, "Card 4111 1111 1111 1111")),
               _el(13, "input", {"name": "cc", "value": "4111"}))
    events = [
        _snapshot(T0, _el(5, "h1", {}, _text(6, "Checkout")), form),
        _mutation(T0 + 1, texts=[{"id": 12, "value": SECRET}, {"id": 6, "value": "Pay now"}],
                  attributes=[{"id": 13, "attributes": {"value": SECRET}}, {"id": 5, "attributes": {"class": "big"}}],
                  adds=[{"parentId": 10, "nextId": None, "node": _el(20, "p", {}, _text(21, SECRET))},
                        {"parentId": 20, "nextId": None, "node": _text(22, SECRET)},
                        {"parentId": 4, "nextId": None, "node": _el(23, "p", {}, _text(24, "kept"))}]),
        _input(T0 + 2, 13),
    ]
    snapshot, mutation = _run(events, make_settings(block_selectors=["form.card-form"]))
    placeholder = _nodes(snapshot["data"]["node"])[10]
    assert placeholder == {"type": 2, "id": 10, "tagName": "form", "childNodes": [],
                           "attributes": {"class": "pay card-form", "rr_width": "300px", "rr_height": "90px"}}
    assert SECRET not in json.dumps(mutation) and "4111" not in json.dumps([snapshot, mutation])
    assert mutation["data"]["texts"] == [{"id": 6, "value": "Pay now"}]
    assert mutation["data"]["attributes"] == [{"id": 5, "attributes": {"class": "big"}}]
    assert [a["node"]["id"] for a in mutation["data"]["adds"]] == [23], "nothing added under a blocked element"


def test_the_pages_own_markers_are_enforced_without_settings() -> None:
    events = [_snapshot(T0, _el(5, "div", {"data-ss-block": ""}, _text(6, SECRET)),
                        _el(7, "p", {"class": "note ss-mask"}, _text(8, "Jane Doe"), _el(9, "b", {}, _text(10, "VIP"))),
                        _el(11, "p", {}, _text(12, "public")))]
    (snapshot,) = _run(events)
    nodes = _nodes(snapshot["data"]["node"])
    assert nodes[5]["childNodes"] == [] and 6 not in nodes
    assert nodes[8]["textContent"] == "**** ***" and nodes[10]["textContent"] == "***", "length and spaces kept"
    assert nodes[12]["textContent"] == "public"


def test_an_element_blocked_by_the_client_already_is_stored_as_sent() -> None:
    placeholder = _el(5, "div", {"class": "ss-block", "rr_width": "10px", "rr_height": "20px"})
    events = [_snapshot(T0, placeholder)]
    raws = [msgspec.json.encode(e) for e in events]
    out, _ = enforce(raws, [event_decoder.decode(r) for r in raws], PrivacySettings())
    assert out[0] is raws[0], "unchanged events keep their bytes"


# -- mask selectors ---------------------------------------------------------------


def test_mask_selectors_with_combinators_reach_text_added_and_changed_later() -> None:
    account = _el(5, "section", {"id": "account"}, _el(6, "span", {"class": "balance"}, _text(7, SECRET)),
                  _el(8, "span", {"class": "label"}, _text(9, "Your balance")))
    events = [
        _snapshot(T0, account, _el(10, "span", {"class": "balance"}, _text(11, "demo balance"))),
        _mutation(T0 + 1, texts=[{"id": 7, "value": "Balance 99.00 EUR"}, {"id": 11, "value": "demo 2"}],
                  # listed child first: rrweb may list an add before its parent's
                  adds=[{"parentId": 12, "nextId": None, "node": _text(13, "Savings 1,000.00 EUR")},
                        {"parentId": 5, "nextId": None, "node": _el(12, "span", {"class": "balance"})},
                        {"parentId": 6, "nextId": None, "node": _text(14, "+ 12.00")}]),
    ]
    snapshot, mutation = _run(events, make_settings(mask_selectors=["#account .balance"]))
    nodes = _nodes(snapshot["data"]["node"])
    assert nodes[7]["textContent"] == "******* ********* ***"
    assert nodes[9]["textContent"] == "Your balance" and nodes[11]["textContent"] == "demo balance"
    assert mutation["data"]["texts"] == [{"id": 7, "value": "******* ***** ***"}, {"id": 11, "value": "demo 2"}]
    added = {a["node"]["id"]: a["node"] for a in mutation["data"]["adds"]}
    assert added[13]["textContent"] == "******* ******** ***" and added[14]["textContent"] == "* *****"


def test_style_text_under_a_masked_element_is_kept() -> None:
    events = [_snapshot(T0, _el(5, "div", {"class": "ss-mask"}, _el(6, "style", {}, _text(7, "p { color: red }")),
                                _text(8, "hidden")))]
    nodes = _nodes(_run(events)[0]["data"]["node"])
    assert nodes[7]["textContent"] == "p { color: red }" and nodes[8]["textContent"] == "******"


# -- ignore selectors -------------------------------------------------------------


def test_input_on_an_ignored_element_is_dropped() -> None:
    events = [_snapshot(T0, _el(5, "input", {"class": "chat-box"}), _el(6, "input", {"name": "q"})),
              _input(T0 + 1, 5), _input(T0 + 2, 6)]
    kept = _run(events, make_settings(ignore_selectors=[".chat-box"]))
    assert [e["timestamp"] for e in kept] == [T0, T0 + 2]


# -- hostile batches --------------------------------------------------------------


@pytest.mark.parametrize("adds", [
    [{"parentId": 30, "node": _el(31, "p", {})}, {"parentId": 31, "node": _el(30, "div", {"class": "x"})}],  # a cycle
    [{"parentId": [4], "node": {"type": 2, "id": {"a": 1}, "tagName": "p", "attributes": [], "childNodes": 5}}],
    [{"parentId": 4, "node": _el(32, "<svg/onload=x>", {"{bad}": "1", "class": 7})}],
    ["not a node", None, {"node": None}],
])
def test_crafted_mutations_do_not_break_enforcement(adds: list[Any]) -> None:
    events = [_snapshot(T0, _el(5, "div", {})), _mutation(T0 + 1, adds=adds, texts=[{"id": [1]}, "x"],
                                                          attributes=[{"id": {}}, 3])]
    kept = _run(events, make_settings(block_selectors=[".x"], mask_selectors=["div > p", "p:has(b)", "::before"]))
    assert len(kept) == 2


def test_the_deepest_tree_ingest_decodes_is_matched_without_recursion() -> None:
    node = _text(100_000, SECRET)
    for i in range(440):  # about as deep as ingest decodes (two JSON levels per element, under 1,000)
        node = _el(10 + i, "div", {}, node)
    node["attributes"] = {"class": "account"}
    (snapshot,) = _run([_snapshot(T0, node)], make_settings(mask_selectors=[".account div div"]))
    assert SECRET not in json.dumps(snapshot)


# -- through the real app ---------------------------------------------------------


def test_ingest_enforces_the_projects_selectors_and_url_rules(client: Any, datadir: Any, project: Any,
                                                              auth: dict[str, str]) -> None:
    datadir.projects.set_privacy(project.id, make_settings(block_selectors=[".card-form"], mask_selectors=["#account"],
                                                           url_rules=["/admin/*"]))
    shown = [meta_event(T0, "https://shop.example/account"),
             _snapshot(T0 + 1, _el(5, "section", {"id": "account"}, _text(6, "Jane Doe")),
                       _el(7, "form", {"class": "card-form"}, _text(8, SECRET)), _el(9, "p", {}, _text(10, "Welcome")))]
    ruled = [meta_event(T0 + 2, "https://shop.example/admin/users"), _snapshot(T0 + 3, _text(5, "ADMIN-ONLY-77"))]
    for seq, events in enumerate((shown, ruled)):
        body = {"key": project.public_key, "session_id": "rules-1", "visitor_id": "v", "seq": seq, "events": events}
        assert client.post("/api/v1/ingest", json=body).status_code == 200
    stored = json.dumps(client.get("/api/v1/sessions/rules-1/events", headers=auth).json())
    assert "Welcome" in stored and "Jane Doe" not in stored and "**** ***" in stored
    assert SECRET not in stored and "ADMIN-ONLY-77" not in stored and "/admin" not in stored
