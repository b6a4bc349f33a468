"""Background work once per cluster: two nodes (each its own data dir and app) on one bucket of
moto's S3 server and one catalog in a real Postgres."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient

from sessionstory.app import create_app
from sessionstory.cluster.compaction import SPLIT_ROUND
from sessionstory.config import load_settings, prepare_data_dir
from sessionstory.datadir import DataDir
from sessionstory.erasure import DAY_MS, Erased
from sessionstory.index.compaction import session_records
from sessionstory.privacy import PrivacySettings
from sessionstory.store import Kind, Location
from sessionstory.store.segments import CorruptRecord
from tests.cluster.harness import wait_for
from tests.conftest import batch, meta_event

SEAL = {"SESSIONSTORY_STORE_SEAL_SECONDS": "1"}
Node = tuple[DataDir, TestClient]  # type: ignore[type-arg]


@pytest.fixture
def two_nodes(tmp_path: Path, store_env: dict[str, str], catalog_env: dict[str, str]) -> Iterator[list[Node]]:
    nodes: list[Node] = []
    for name in ("node-1", "node-2"):  # one after the other: the first makes the Demo project
        settings = prepare_data_dir(load_settings(tmp_path / name, env={**store_env, **catalog_env, **SEAL}))
        dd = DataDir(settings)
        assert dd.erasure.cluster_lock is dd.cluster_lock is dd.compactor.cluster_lock is not None  # type: ignore[attr-defined]
        client = TestClient(create_app(settings, dd))
        client.__enter__()
        nodes.append((dd, client))
    yield nodes
    for dd, client in nodes:
        client.__exit__(None, None, None)
        dd.close()


def _listed(dd: DataDir, session_ids: list[str]) -> set[str]:
    rows = dd.index.read(lambda cur: cur.execute(
        "SELECT id FROM sessions WHERE list_contains(?, id)", [session_ids]).fetchall())
    return {row[0] for row in rows}


def test_retention_runs_on_one_node_a_round_and_its_sessions_leave_every_node(two_nodes: list[Node]) -> None:
    (dd_1, client_1), (dd_2, client_2) = two_nodes
    project = dd_1.projects.create("Shop")
    dd_1.projects.set_privacy(project.id, PrivacySettings(retention_days=30))
    sessions = [f"old-{n}" for n in range(4)]
    for n, session_id in enumerate(sessions):  # half through each node, as a balancer would
        client = (client_1, client_2)[n % 2]
        assert client.post("/api/v1/ingest", json=batch(project.public_key, session_id)).status_code == 200
    for dd in (dd_1, dd_2):
        wait_for(lambda dd=dd: _listed(dd, sessions) == set(sessions), "both nodes list every session")  # type: ignore[misc]
    dd_2.projects.reload()  # the privacy change reached node 2 (it also reads the catalog again every 5 s)
    assert dd_2.projects.privacy(project.id).retention_days == 30

    where = [location for sid in sessions
             for location in dd_1.index.read(lambda cur, sid=sid: session_records(cur, sid)).values()]
    assert len(where) == len(sessions)
    later = int(time.time() * 1000) + 31 * DAY_MS
    results: dict[str, Erased | None] = {}

    def round_on(name: str, dd: DataDir) -> None:
        results[name] = dd.erasure.retention_round(later)

    rounds = [threading.Thread(target=round_on, args=(name, dd)) for name, dd in (("node-1", dd_1), ("node-2", dd_2))]
    for thread in rounds:
        thread.start()
    for thread in rounds:
        thread.join()
    ran = {name: erased for name, erased in results.items() if erased is not None}
    assert len(ran) == 1, results  # one node did the round, the other skipped it
    assert next(iter(ran.values())).sessions == len(sessions)
    assert dd_1.erasure.retention_round(later) is None and dd_2.erasure.retention_round(later) is None  # done this hour

    for dd in (dd_1, dd_2):
        wait_for(lambda dd=dd: not _listed(dd, sessions), "every node dropped the expired sessions")  # type: ignore[misc]
    for dd in (dd_1, dd_2):  # the bytes too: in the objects, and on the disk of the node that wrote them
        wait_for(lambda dd=dd: _all_erased(dd, where), "every node reads the batches as erased")  # type: ignore[misc]


def _all_erased(dd: DataDir, locations: list[Location]) -> bool:
    for location in locations:
        try:
            dd.log.read(location)
        except CorruptRecord:
            continue
        return False
    return True


def test_a_session_split_over_two_nodes_is_compacted_once_and_plays_the_same_on_both(two_nodes: list[Node]) -> None:
    (dd_1, client_1), (dd_2, client_2) = two_nodes
    project = dd_1.projects.create("Shop")
    for seq, client in enumerate((client_1, client_2, client_1, client_2)):  # a balancer without stickiness
        events = [meta_event(1_700_000_000_000 + seq * 1000, href=f"https://shop.example/{seq}")]
        assert client.post("/api/v1/ingest", json=batch(project.public_key, "split", seq, events)).status_code == 200
    for dd in (dd_1, dd_2):
        wait_for(lambda dd=dd: len(_where(dd, "split")) == 4, "both nodes index the four batches")  # type: ignore[misc]
    auth = {"Authorization": f"Bearer {dd_1.accounts.create_token('admin@localhost', 'test')}"}
    before = client_2.get("/api/v1/sessions/split/events", headers=auth).json()
    assert len(before) == 4

    dd_1.compactor.run(0.0)
    dd_2.compactor.run(0.0)  # at once after: node 2 has not yet indexed what node 1 packed
    assert _packed_in_own_log(dd_1, "split") == 1 and _packed_in_own_log(dd_2, "split") == 0
    assert dd_2.cluster_lock is not None and not dd_2.cluster_lock.claim_round(SPLIT_ROUND, 60.0)  # node 1's round

    def one_record_on_both() -> bool:
        return len(set(_where(dd_1, "split").values())) == 1 and _where(dd_1, "split") == _where(dd_2, "split")

    wait_for(one_record_on_both, "both nodes find the session in the one compacted record")
    for client in (client_1, client_2):
        assert client.get("/api/v1/sessions/split/events", headers=auth).json() == before


def _where(dd: DataDir, session_id: str) -> dict[int, Location]:
    return dd.index.read(lambda cur: session_records(cur, session_id))


def _packed_in_own_log(dd: DataDir, session_id: str) -> int:
    return sum(record.kind == Kind.COMPACTED and getattr(record.meta, "session_id", None) == session_id
               for _, record in dd.log.scan(None))
