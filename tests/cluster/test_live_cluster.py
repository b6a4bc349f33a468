"""Live across nodes: a viewer on node 3 follows a session whose batches go to node 1, through
the catalog's Postgres (cluster/live.py), well before node 1's segments are shipped and indexed
on node 3. Real nodes, a real Postgres and moto's S3 server; a Chromium visitor and viewer for
the latency a person sees, and batches posted as the SDK posts them, read by an SSE client as
the player reads them, for resuming and the SDK's cue."""

from __future__ import annotations

import base64
import itertools
import os
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

import httpx
import psycopg

from bench.live import WATCH_FRAME, _change
from sessionstory.store.records import SEALED
from tests.cluster.harness import wait_for
from tests.e2e.conftest import signed_in_page
from tests.e2e.sites import Sites
from tests.e2e.test_live import _visitor
from tests.events import T0, meta, mutation, snapshot
from tests.server import Server
from tests.test_live import Stream, stamps, watch

# Seals slower than the relay by far: what reaches the viewer within a second came through Postgres.
SEAL = {"SESSIONSTORY_STORE_SEAL_SECONDS": "5"}
CHANGES = 20


def _send(node: Server, key: str, session_id: str, seq: int, events: list[dict[str, Any]]) -> dict[str, Any]:
    body = {"key": key, "session_id": session_id, "visitor_id": "v1", "seq": seq, "events": events}
    answer = httpx.post(f"{node.url}/api/v1/ingest", json=body, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def _listed_on(node: Server, token: str, session_id: str) -> bool:
    return any(s["id"] == session_id for s in node.get_json("/api/v1/sessions?limit=50", token)["items"])  # type: ignore[index]


def test_in_chromium_a_viewer_on_node_3_sees_each_change_of_a_visitor_recorded_through_node_1(
        start_node: Callable[..., Server], catalog_env: dict[str, str], browser: Any) -> None:
    first, _, third = (start_node(f"node-{n}", **catalog_env, **SEAL) for n in (1, 2, 3))
    sites = Sites(first.url, first.project("Shop")["public_key"])  # the page's snippet names node 1
    token = first.token()
    visitor_context, visitor, session_id = _visitor(browser, sites)
    contexts = [visitor_context]
    try:
        wait_for(lambda: _listed_on(third, token, session_id), "node 3 lists the visit node 1 records")
        # Two viewers in the same Chromium (one clock): on node 3 through the relay, and on node 1
        # itself, the single node's path, as the baseline of the same run.
        viewers = {}
        for name, node in (("node 3", third), ("node 1", first)):
            context, viewers[name] = _live_viewer(browser, node, session_id)
            contexts.append(context)
        # As bench.live: the SDK learns that someone watches at its first flush after the viewer
        # opened, at its unwatched pace (seconds); from then on it sends a batch every 250 ms.
        made = {"warmup": _change(visitor, "warmup")}
        for viewer in viewers.values():
            _wait_seen(viewer, "live-warmup", 15_000)
        pause = random.Random(9)
        for n in range(CHANGES):
            made[str(n)] = _change(visitor, str(n))
            time.sleep(pause.uniform(0.3, 0.7))
        seen = {}
        for name, viewer in viewers.items():
            _wait_seen(viewer, f"live-{CHANGES - 1}", 10_000)
            seen[name] = viewer.evaluate("window.__seen")
    finally:
        for context in contexts:
            context.close()
        sites.close()
    for name, frames in seen.items():
        latencies = [frames[f"live-{n}"] - made[str(n)] for n in range(CHANGES)]
        print(f"\nlive in Chromium, {CHANGES} DOM changes recorded through node 1, viewer on {name}: "
              f"p50 {statistics.median(latencies):.0f} ms, max {max(latencies):.0f} ms")
        assert max(latencies) < 10_000  # generous: the figures are printed, not judged, on a shared machine


def _wait_seen(viewer: Any, element_id: str, timeout_ms: int) -> None:
    # A function, not an expression: the dashboard's policy forbids evaluating strings.
    viewer.wait_for_function("id => window.__seen && window.__seen[id]", arg=element_id, timeout=timeout_ms)


def _live_viewer(browser: Any, node: Server, session_id: str) -> tuple[Any, Any]:
    """A dashboard signed in on `node`, in live mode on the session, noting when each change shows."""
    context, viewer = signed_in_page(browser, node)
    viewer.goto(f"{node.url}/sessions/{session_id}?live=1")
    viewer.wait_for_selector('[data-testid="player"][data-ready="true"]', timeout=30_000)
    viewer.evaluate(WATCH_FRAME)
    return context, viewer


def test_a_viewer_on_node_3_follows_a_session_ingested_by_node_1(
        start_node: Callable[..., Server], catalog_env: dict[str, str]) -> None:
    first, _, third = (start_node(f"node-{n}", **catalog_env, **SEAL) for n in (1, 2, 3))
    key, token = first.project("Shop")["public_key"], first.token()
    sid = "followed-1"
    _send(first, key, sid, 0, [meta(T0), snapshot(T0 + 1)])
    wait_for(lambda: _listed_on(third, token, sid), "node 3 lists the session node 1 ingested")
    stream = Stream(watch(third, token, sid))
    kind, opening = stream.next_event()
    assert kind == "start" and stamps(opening) == [T0, T0 + 1]

    # Node 1's ingest answer asks the SDK to hurry once node 3's watch is known (within ~0.5 s).
    seq, hurried = 1, False
    while not hurried:
        assert seq < 30, "node 1 never saw node 3's viewer"
        hurried = _send(first, key, sid, seq, [mutation(T0 + seq)]).get("watched") is True
        seq += 1
    # Every batch sent meanwhile arrives once, in order; the ones before the hint too (the backfill).
    assert [stamps(stream.next_event()[1]) for _ in range(1, seq)] == [[T0 + n] for n in range(1, seq)]

    latencies = []
    for change in range(CHANGES):
        sent_at = time.monotonic()
        _send(first, key, sid, seq, [mutation(T0 + seq)])
        kind, batch = stream.next_event()
        latencies.append(time.monotonic() - sent_at)
        assert kind == "batch" and stamps(batch) == [T0 + seq], f"change {change}"
        seq += 1
        time.sleep(0.1)
    p50, worst = statistics.median(latencies), max(latencies)
    print(f"\nlive across nodes, {CHANGES} batches posted to node 1, read on node 3: "
          f"p50 {p50 * 1000:.0f} ms, max {worst * 1000:.0f} ms")
    assert worst < 5.0  # generous: a benchmark's figure is printed, not judged, on a shared machine

    # A reconnect through node 3 resumes after what it had, from batches only node 1 holds yet.
    resume_from = stream.last_id
    stream.response.close()
    _send(first, key, sid, seq + 1, [mutation(T0 + seq + 1)])
    _send(first, key, sid, seq, [mutation(T0 + seq)])
    _send(first, key, sid, seq - 1, [mutation(T0 + seq - 1)])  # a retry of one the viewer had
    stream = Stream(watch(third, token, sid, last_id=resume_from))
    missed = [stamps(stream.next_event()[1]) for _ in range(2)]
    assert missed == [[T0 + seq + 1], [T0 + seq]]  # in the order node 1 stored them, each once
    _send(first, key, sid, seq + 2, [mutation(T0 + seq + 2)])
    kind, batch = stream.next_event()
    assert kind == "batch" and stamps(batch) == [T0 + seq + 2]
    stream.response.close()

    # Once the viewer has gone, node 1 stops hurrying the SDK (its watch row is dropped within RENEW_S).
    later = itertools.count(seq + 3)
    wait_for(lambda: "watched" not in _send(first, key, sid, (n := next(later)), [mutation(T0 + n)]),
             "node 1 forgets node 3's viewer", timeout=30)


def test_with_encryption_at_rest_the_relayed_batches_are_sealed_in_postgres(
        start_node: Callable[..., Server], catalog_env: dict[str, str]) -> None:
    sealed = {"SESSIONSTORY_ENCRYPTION_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(), **SEAL}
    first, third = (start_node(f"node-{n}", **catalog_env, **sealed) for n in (1, 3))
    key, token = first.project("Shop")["public_key"], first.token()
    sid = "sealed-1"
    _send(first, key, sid, 0, [meta(T0), snapshot(T0 + 1)])
    wait_for(lambda: _listed_on(third, token, sid), "node 3 lists the session node 1 ingested")
    stream = Stream(watch(third, token, sid))
    stream.next_event()
    seq = 1
    while _send(first, key, sid, seq, [mutation(T0 + seq)]).get("watched") is not True:
        seq += 1
    assert [stamps(stream.next_event()[1]) for _ in range(seq)] == [[T0 + n] for n in range(1, seq + 1)]
    stream.response.close()
    with psycopg.connect(catalog_env["SESSIONSTORY_CATALOG_URL"]) as conn:
        kinds = [row[0] for row in conn.execute("SELECT get_byte(record, 4) FROM sessionstory.live_batches")]
    assert kinds and all(kind & SEALED for kind in kinds)  # AES-GCM as on disk, opened by node 3's key


# A seal time far beyond the test: node 3 cannot index node 1's batches meanwhile.
SLOW_SEAL = {"SESSIONSTORY_STORE_SEAL_SECONDS": "600"}


def test_a_viewer_on_node_3_follows_a_session_node_1_began_before_any_segment_ships(
        start_node: Callable[..., Server], catalog_env: dict[str, str]) -> None:
    first, third = (start_node(f"node-{n}", **catalog_env, **SLOW_SEAL) for n in (1, 3))
    key, token = first.project("Shop")["public_key"], first.token()
    sid = "just-begun-1"
    _send(first, key, sid, 0, [meta(T0), snapshot(T0 + 1)])
    _send(first, key, sid, 1, [mutation(T0 + 2)])
    assert not _listed_on(third, token, sid), "node 3 has not indexed it (nothing is shipped yet)"
    stream = Stream(watch(third, token, sid))
    kind, opening = stream.next_event()  # what node 1 relayed on learning of the watch
    assert kind == "start" and stamps(opening) == [T0, T0 + 1, T0 + 2]
    for seq in range(2, 6):
        _send(first, key, sid, seq, [mutation(T0 + seq + 1)])
        kind, batch = stream.next_event()
        assert kind == "batch" and stamps(batch) == [T0 + seq + 1]
    stream.response.close()
    assert not _listed_on(third, token, sid), "all of it came through the relay"
    # A session no node is recording is still unknown, after the relay's short wait.
    started = time.monotonic()
    nobody = watch(third, token, "never-recorded")
    assert nobody.status_code == 404 and time.monotonic() - started < 10
    nobody.close()


def test_in_chromium_a_viewer_on_node_3_opens_a_visit_node_1_just_began(
        start_node: Callable[..., Server], catalog_env: dict[str, str], browser: Any) -> None:
    first, third = (start_node(f"node-{n}", **catalog_env, **SLOW_SEAL) for n in (1, 3))
    sites = Sites(first.url, first.project("Shop")["public_key"])  # the page's snippet names node 1
    token = first.token()
    visitor_context, visitor, session_id = _visitor(browser, sites)
    contexts = [visitor_context]
    try:
        assert not _listed_on(third, token, session_id), "node 3 has not indexed it (nothing is shipped yet)"
        context, viewer = _live_viewer(browser, third, session_id)
        contexts.append(context)
        frame = viewer.frame_locator('[data-testid="player"] iframe')
        assert frame.locator("button[data-name=assam]").count() == 1, "the visitor's page as it is now"
        for n in range(3):
            _change(visitor, str(n))
        _wait_seen(viewer, "live-2", 15_000)
        assert not _listed_on(third, token, session_id), "all of it came through the relay"
    finally:
        for context in contexts:
            context.close()
        sites.close()
