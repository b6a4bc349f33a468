"""Sessions recorded through any node are listed and played on every node: real `sessionstory
serve` nodes on one bucket (moto's S3 server) and one catalog (a real Postgres)."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from sessionstory.store import SegmentLog
from sessionstory.store.records import Kind
from tests.cluster.harness import wait_for
from tests.conftest import batch, meta_event
from tests.server import Server, cli

# Sealed a second after a node holds data: other nodes see its batches about a second later
# (the default, 60 s, would make this test a minute long).
SEAL = {"SESSIONSTORY_STORE_SEAL_SECONDS": "1"}
START_MS = 1_700_000_000_000


def _events(seq: int) -> list[dict[str, object]]:
    return [meta_event(START_MS + seq * 1000, href=f"https://shop.example/page-{seq}"),
            {"type": 3, "timestamp": START_MS + seq * 1000 + 10, "data": {"source": 1, "positions": []}}]


def test_a_session_recorded_through_two_nodes_lists_and_plays_on_a_third(
        start_node: Callable[..., Server], catalog_env: dict[str, str]) -> None:
    nodes = [start_node(f"node-{n}", **catalog_env, **SEAL) for n in (1, 2, 3)]
    key = nodes[0].project("Shop")["public_key"]
    token = nodes[0].token()
    for seq, node in enumerate([nodes[0], nodes[1], nodes[0], nodes[1]]):  # the balancer alternates
        answer = httpx.post(f"{node.url}/api/v1/ingest", json=batch(key, "split-1", seq, _events(seq)), timeout=30)
        assert answer.status_code == 200, answer.text
    third = nodes[2]

    def listed() -> object:
        page = third.get_json("/api/v1/sessions?limit=50", token)
        items = [s for s in page["items"] if s["id"] == "split-1"]  # type: ignore[index]
        return items if items and items[0]["event_count"] == 8 else None

    [session] = wait_for(listed, "node 3 lists the session with the events of both nodes")  # type: ignore[misc]
    assert session["duration_ms"] == 3010
    events = third.get_json("/api/v1/sessions/split-1/events", token)
    assert [e["timestamp"] for e in events] == sorted(  # type: ignore[union-attr]
        START_MS + seq * 1000 + d for seq in range(4) for d in (0, 10))  # read from both nodes' objects
    facts = third.get_json("/api/v1/sessions/split-1", token)
    assert [p["url"] for p in facts["pages"]] == [f"https://shop.example/page-{n}" for n in range(4)]  # type: ignore[index]
    # And each writing node shows the other's half.
    for node in nodes[:2]:
        wait_for(lambda node=node: node.get_json("/api/v1/sessions/split-1", token)["event_count"] == 8,  # type: ignore[index,misc]
                  f"{node.url} shows the whole session")


def test_a_visitor_erased_through_one_node_leaves_every_node(
        start_node: Callable[..., Server], catalog_env: dict[str, str]) -> None:
    nodes = [start_node(f"node-{n}", **catalog_env, **SEAL) for n in (1, 2, 3)]
    key, token = nodes[0].project("Shop")["public_key"], nodes[0].token()
    for seq, node in enumerate(nodes[:2]):
        assert httpx.post(f"{node.url}/api/v1/ingest", json=batch(key, "doomed", seq, _events(seq)),
                          timeout=30).status_code == 200

    def count_on(node: Server) -> int:
        return sum(s["id"] == "doomed" for s in node.get_json("/api/v1/sessions?limit=50", token)["items"])  # type: ignore[index]

    wait_for(lambda: all(count_on(node) for node in nodes), "every node lists the session")
    project = next(p for p in nodes[1].get_json("/api/v1/projects", token) if p["name"] == "Shop")  # type: ignore[union-attr,index]
    erased = httpx.post(f"{nodes[1].url}/api/v1/erasure", json={"project": project["id"], "visitor_id": "visitor-1"},
                        headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert erased.status_code == 200 and erased.json()["sessions"] == 1
    wait_for(lambda: not any(count_on(node) for node in nodes), "no node lists it any more")
    gone = httpx.get(f"{nodes[2].url}/api/v1/sessions/doomed/events", headers={"Authorization": f"Bearer {token}"},
                     timeout=30)
    assert gone.status_code == 404


def test_a_session_deleted_through_one_node_leaves_every_node(
        start_node: Callable[..., Server], catalog_env: dict[str, str], tmp_path: Path) -> None:
    nodes = [start_node(f"node-{n}", **catalog_env, **SEAL) for n in (1, 2, 3)]
    key, token = nodes[0].project("Shop")["public_key"], nodes[0].token()
    auth = {"Authorization": f"Bearer {token}"}
    for seq, node in enumerate(nodes[:2]):  # its batches in node 1's segments and in node 2's
        assert httpx.post(f"{node.url}/api/v1/ingest", json=batch(key, "deleted", seq, _events(seq)),
                          timeout=30).status_code == 200
    kept = httpx.post(f"{nodes[0].url}/api/v1/ingest", json=batch(key, "kept", 0, _events(0)), timeout=30)
    assert kept.status_code == 200

    def listed_on(node: Server) -> list[str]:
        return [s["id"] for s in node.get_json("/api/v1/sessions?limit=50", token)["items"]]  # type: ignore[index]

    wait_for(lambda: all({"deleted", "kept"} <= set(listed_on(node)) for node in nodes), "every node lists both")
    assert httpx.delete(f"{nodes[1].url}/api/v1/sessions/deleted", headers=auth, timeout=30).status_code == 204
    # A batch node 1 takes before it has read node 2's tombstone (a seal time and a poll away).
    raced = httpx.post(f"{nodes[0].url}/api/v1/ingest", json=batch(key, "deleted", 2, _events(2)), timeout=30)
    assert raced.status_code == 200
    wait_for(lambda: not any("deleted" in listed_on(node) for node in nodes), "no node lists it any more")
    for node in nodes:
        assert "kept" in listed_on(node)
        for path in ("/api/v1/sessions/deleted", "/api/v1/sessions/deleted/events"):
            assert httpx.get(f"{node.url}{path}", headers=auth, timeout=30).status_code == 404, (node.url, path)
    # A late batch through a node that has read the tombstone is refused, as after an erasure.
    late = httpx.post(f"{nodes[2].url}/api/v1/ingest", json=batch(key, "deleted", 3, _events(3)), timeout=30)
    assert late.status_code == 200
    time.sleep(3)  # a seal time and a poll: what node 3 had taken would show on the others by now
    assert not any("deleted" in listed_on(node) for node in nodes)
    # The raced batch's bytes go at node 1's next compaction pass, like any superseded record.
    assert 2 in _batches_of(nodes[0], "deleted", tmp_path), "node 1 took the raced batch before the tombstone"
    assert cli(nodes[0].data_dir, "compact").returncode == 0
    for node in nodes:  # the other records: erased by node 2 everywhere (a notice each node applies within 10 s)
        wait_for(lambda node=node: not _batches_of(node, "deleted", tmp_path), f"{node.url} holds none of its bytes")
    assert nodes[0].get_json("/api/v1/sessions/kept/events", token), "the other session is untouched"


def _batches_of(node: Server, session_id: str, scratch: Path) -> list[int]:
    """The seqs of the session's batches in the node's own log, read from a copy (opening the
    running node's log itself would truncate what looks like a torn tail mid-append)."""
    copy = Path(tempfile.mkdtemp(dir=scratch)) / "segments"
    shutil.copytree(node.data_dir / "segments", copy)
    return [record.meta.seq for _, record in SegmentLog(copy).scan()  # type: ignore[union-attr]
            if record.kind == Kind.BATCH and record.meta.session_id == session_id]  # type: ignore[union-attr]
