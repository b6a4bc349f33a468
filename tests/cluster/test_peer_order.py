"""A session whose batches a balancer without stickiness spread over two nodes: every node's rows
are the seq-order fold a single node gives, though each node indexes the other's batches a seal
time after its own (so below a seq it indexed already). Two in-process nodes on one bucket of
moto's S3 server and one catalog in a real Postgres; the single node beside them is the reference."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from sessionstory.cluster.peers import EVICT_EVERY_MS, KEEP_MS, PeerCopies
from sessionstory.config import load_settings, prepare_data_dir
from sessionstory.datadir import DataDir
from sessionstory.index.sessions import record_locations
from sessionstory.ingest import prepare
from sessionstory.store import BatchMeta, SegmentLog
from tests.cluster.harness import wait_for
from tests.conftest import batch
from tests.test_index_apply import Visit, frustrated_visit, send_visit, session_rows

SEAL = {"SESSIONSTORY_STORE_SEAL_SECONDS": "1"}


@pytest.fixture
def two_nodes(tmp_path: Path, store_env: dict[str, str], catalog_env: dict[str, str]) -> Iterator[list[DataDir]]:
    nodes: list[DataDir] = []
    for name in ("node-1", "node-2"):
        dd = DataDir(prepare_data_dir(load_settings(tmp_path / name, env={**store_env, **catalog_env, **SEAL})))
        dd.start()
        nodes.append(dd)
    yield nodes
    for dd in nodes:
        dd.close()


@pytest.fixture
def single_node(tmp_path: Path) -> Iterator[DataDir]:
    dd = DataDir(prepare_data_dir(load_settings(tmp_path / "single", env={})))
    yield dd
    dd.close()


def _take(dd: DataDir, key: str, sid: str, visit: Visit, seq: int) -> None:
    """Batch `seq` of the visit, acknowledged by node `dd` (durable in its log, indexed there at once)."""
    events, agent, ip = visit[seq]
    body = json.dumps(batch(key, sid, seq, events, visitor_id=f"v-{sid}")).encode()
    prepared = prepare(dd.projects, body, "", None, agent, dd.settings.limits, client_ip=ip)
    dd.log.append_now(prepared.record, prepared.facts)
    dd.index.wait_current()


def _settled(dd: DataDir, sid: str, batches: int) -> None:
    """Wait until the node holds every batch of the session, then judge its pending clicks."""
    wait_for(lambda: len(dd.index.read(lambda cur: record_locations(cur, sid))) == batches,
             f"the node indexes the {batches} batches of {sid}")
    assert dd.peers is not None
    dd.peers.settle_all()
    dd.index.settle_all()


def test_a_visit_taken_in_turn_by_two_nodes_has_the_rows_of_one_node_on_each(
        two_nodes: list[DataDir], single_node: DataDir) -> None:
    """Batch 0 and 2 to node 1, 1 and 3 to node 2: the rage burst begun in batch 0 ends in batch 1,
    the click at the end of batch 1 shows its error in batch 2, and a click of batch 1 comes before
    that batch's page view (its page is batch 0's)."""
    visit = frustrated_visit()
    single_key = single_node.projects.create("Shop").public_key
    send_visit(single_node, single_key, "in-order", visit, [0, 1, 2, 3], together=False)
    want = session_rows(single_node, "in-order")

    key = two_nodes[0].projects.create("Shop").public_key
    two_nodes[1].projects.reload()
    for seq in range(len(visit)):
        _take(two_nodes[seq % 2], key, "split", visit, seq)
    for dd in two_nodes:
        _settled(dd, "split", len(visit))
    for n, dd in enumerate(two_nodes, 1):
        got = session_rows(dd, "split")
        differ = {table: rows for table, rows in got.items() if rows != want[table]}
        assert not differ, f"node {n}'s rows differ from one node's ({ {t: want[t] for t in differ} }): {differ}"


def _copied_batches(dd: DataDir, scratch: Path) -> set[str]:
    """The sessions whose batches the node's copies of peer segments hold, read from the files
    (copied first: opening a log over them would claim its highest segment as the active one)."""
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(dd.settings.data_dir / "peer-segments", scratch)
    copies = SegmentLog(scratch)
    try:
        return {record.meta.session_id for segment in copies.segments()
                for _, record in copies.scan_segment(segment) if record is not None and isinstance(record.meta, BatchMeta)}
    finally:
        copies.close()


def test_a_session_deleted_through_one_node_leaves_every_nodes_copies_of_peer_segments(
        two_nodes: list[DataDir], tmp_path: Path) -> None:
    """Node 1 finds its own tombstone in its index; node 2 reads it from node 1's log."""
    visit = frustrated_visit()
    key = two_nodes[0].projects.create("Shop").public_key
    two_nodes[1].projects.reload()
    for sid in ("doomed", "kept"):
        for seq in range(len(visit)):
            _take(two_nodes[seq % 2], key, sid, visit, seq)
    for dd in two_nodes:
        _settled(dd, "doomed", len(visit))
        _settled(dd, "kept", len(visit))
        assert _copied_batches(dd, tmp_path / "copies") == {"doomed", "kept"}
    assert two_nodes[0].erasure.delete("doomed")
    for n, dd in enumerate(two_nodes, 1):
        wait_for(lambda dd=dd: _copied_batches(dd, tmp_path / "copies") == {"kept"},  # type: ignore[misc]
                 f"node {n}'s copies lose the deleted session's batches")


def test_a_copy_is_kept_while_a_session_in_it_may_get_batches(single_node: DataDir, tmp_path: Path) -> None:
    key = single_node.projects.create("Shop").public_key
    send_visit(single_node, key, "quiet", frustrated_visit(), [0, 1], together=False)
    single_node.log.roll()
    segment = single_node.log.segments()[0]
    copies = PeerCopies(tmp_path / "copies", None, single_node.log)
    copies.put(segment, single_node.log.path(segment).read_bytes())
    for location, record in copies.scan(segment, 0):
        assert record is not None
        copies.hold(location, record)
    received = max(r.meta.received_ms for _, r in copies.scan(segment, 0) if r is not None and isinstance(r.meta, BatchMeta))
    copied = tmp_path / "copies" / single_node.log.path(segment).name
    copies.evict(received + KEEP_MS - 1)
    assert copied.exists() and copies.sessions() == ["quiet"]
    copies.evict(received + KEEP_MS + EVICT_EVERY_MS)  # evictions are EVICT_EVERY_MS apart
    assert not copied.exists() and copies.sessions() == []
    copies.close()
