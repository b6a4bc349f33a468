"""In Chromium: a visitor recorded through node 1 and node 2 in turn (a round-robin balancer with
no stickiness in front of them) lists and replays on node 3, pixel for pixel, both pages of the
visit in one session (the player reading the two nodes' batches from the bucket)."""

from __future__ import annotations

import shutil
import urllib.error
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from sessionstory.store import SegmentLog
from sessionstory.store.compression import decompress
from sessionstory.store.records import Kind
from tests.cluster.harness import RoundRobin, wait_for
from tests.cluster.test_shared_sessions import SEAL
from tests.e2e.conftest import open_player, pixel_match, save_pair, signed_in_page
from tests.e2e.test_record_replay import _record_shop  # the e2e tests' own visit: two pages, a form, a payment
from tests.e2e.sites import Sites
from tests.server import Server


def _event_count(node: Server, session_id: str, token: str) -> int | None:
    try:
        return int(node.get_json(f"/api/v1/sessions/{session_id}", token)["event_count"])  # type: ignore[index]
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None  # not indexed there yet
        raise


def _batches_in_own_log(node: Server, session_id: str, scratch: Path) -> dict[int, int]:
    """The session's batches in the node's own segments, as {seq: events}, read from a copy
    (opening the running node's log itself would truncate what looks like a torn tail mid-append)."""
    copy = scratch / node.data_dir.name
    shutil.copytree(node.data_dir / "segments", copy)
    return {record.meta.seq: len(msgspec.json.decode(decompress(record.body)))  # type: ignore[union-attr]
            for _, record in SegmentLog(copy).scan()
            if record.kind == Kind.BATCH and record.meta.session_id == session_id}  # type: ignore[union-attr]


def test_a_visit_recorded_through_nodes_1_and_2_in_turn_replays_on_node_3(
        start_node: Callable[..., Server], catalog_env: dict[str, str], browser: Any, tmp_path: Path) -> None:
    nodes = [start_node(f"node-{n}", **catalog_env, **SEAL) for n in (1, 2, 3)]
    balancer = RoundRobin([nodes[0].url, nodes[1].url])
    shop = nodes[0].project("Shop")
    sites = Sites(balancer.url, shop["public_key"])  # the page's snippet names the balancer
    try:
        session_id, live, context = _record_shop(browser, sites)
        context.close()
    finally:
        sites.close()
        balancer.close()
    # Each node acknowledged some of the visit's batches: they are in its own log.
    held = [_batches_in_own_log(node, session_id, tmp_path / "copies") for node in nodes[:2]]
    assert all(held), f"node 1 and node 2 should both hold batches of the visit (seqs: {held}, " \
                      f"ingest requests: {dict(balancer.ingested)})"
    # A retry that the balancer sent to the other node is kept by both, and counted once.
    recorded = sum({**held[0], **held[1]}.values())
    token, third = nodes[0].token(), nodes[2]
    wait_for(lambda: _event_count(third, session_id, token) == recorded,
             "node 3 holds every event nodes 1 and 2 recorded")
    session = third.get_json(f"/api/v1/sessions/{session_id}", token)
    assert session["entry_url"].endswith("/shop/index.html")  # type: ignore[index]
    pages = [p["url"].rsplit("/", 1)[-1] for p in session["pages"]]  # type: ignore[index]
    assert pages == ["index.html", "checkout.html"] and session["page_count"] == 2  # type: ignore[index]
    listed = third.get_json(f"/api/v1/sessions?project={shop['id']}", token)["items"]  # type: ignore[index]
    assert [s["id"] for s in listed] == [session_id], "one session, not one per node"  # type: ignore[index]
    events = third.get_json(f"/api/v1/sessions/{session_id}/events", token)
    stamps = [e["timestamp"] for e in events]  # type: ignore[union-attr]
    assert stamps == sorted(stamps) and len(stamps) == recorded
    types = [e["type"] for e in events]  # type: ignore[union-attr]
    assert types.count(4) == 2 and types.count(2) >= 2, "a Meta and a FullSnapshot per page load"
    context, dashboard = signed_in_page(browser, third)  # signed in on node 3 itself
    try:
        frame = open_player(dashboard, third, session_id, stamps[-1] - stamps[0])
        replay = frame.screenshot()
    finally:
        context.close()
    save_pair("cluster-shop", live, replay)
    match = pixel_match(live, replay)
    assert match >= 0.99, f"replay on node 3 matches the live page on only {match:.2%} of pixels"
