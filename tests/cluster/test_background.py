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
from sessionstory.config import load_settings, prepare_data_dir
from sessionstory.datadir import DataDir
from sessionstory.erasure import DAY_MS, Erased
from sessionstory.index.compaction import session_records
from sessionstory.privacy import PrivacySettings
from sessionstory.store import Location
from sessionstory.store.segments import CorruptRecord
from tests.cluster.harness import wait_for
from tests.conftest import batch

SEAL = {"SESSIONSTORY_STORE_SEAL_SECONDS": "1"}
Node = tuple[DataDir, TestClient]  # type: ignore[type-arg]


@pytest.fixture
def two_nodes(tmp_path: Path, store_env: dict[str, str], catalog_env: dict[str, str]) -> Iterator[list[Node]]:
    nodes: list[Node] = []
    for name in ("node-1", "node-2"):  # one after the other: the first makes the Demo project
        settings = prepare_data_dir(load_settings(tmp_path / name, env={**store_env, **catalog_env, **SEAL}))
        dd = DataDir(settings)
        # What DataDir does in a cluster (its constructor's wiring, the lead's line).
        dd.erasure.cluster_lock = dd.cluster_lock
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
