"""In Chromium: a visit recorded through node 1 of a three-node cluster replays on node 3, pixel
for pixel (the player reading node 1's batches from the bucket)."""

from __future__ import annotations

import urllib.error
from collections.abc import Callable
from typing import Any

from tests.cluster.harness import wait_for
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


def test_a_visit_recorded_through_node_1_replays_on_node_3(
        start_node: Callable[..., Server], catalog_env: dict[str, str], browser: Any) -> None:
    nodes = [start_node(f"node-{n}", **catalog_env, **SEAL) for n in (1, 2, 3)]
    sites = Sites(nodes[0].url, nodes[0].project("Shop")["public_key"])  # the page's snippet names node 1
    try:
        session_id, live, context = _record_shop(browser, sites)
        context.close()
    finally:
        sites.close()
    token, third = nodes[0].token(), nodes[2]
    recorded = _event_count(nodes[0], session_id, token)
    wait_for(lambda: _event_count(third, session_id, token) == recorded, "node 3 holds every event node 1 recorded")
    stamps = [e["timestamp"] for e in third.get_json(f"/api/v1/sessions/{session_id}/events", token)]  # type: ignore[union-attr]
    context, dashboard = signed_in_page(browser, third)  # signed in on node 3 itself
    try:
        frame = open_player(dashboard, third, session_id, stamps[-1] - stamps[0])
        replay = frame.screenshot()
    finally:
        context.close()
    save_pair("cluster-shop", live, replay)
    match = pixel_match(live, replay)
    assert match >= 0.99, f"replay on node 3 matches the live page on only {match:.2%} of pixels"
