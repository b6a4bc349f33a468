"""Backpressure: when the index writer or the log's committer falls behind its bound,
ingest answers 503 with Retry-After (the SDK keeps the batch and retries) instead of
queueing more in memory, and takes batches again once it has caught up. Nothing
acknowledged is lost."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from litestar.testing import TestClient

from sessionstory import ingest
from sessionstory.config import Limits, Settings
from sessionstory.datadir import DataDir
from tests.conftest import batch, meta_event
from tests.events import mutation
from tests.test_ops import app_with

AT = 1_700_000_000_000


def _send(client: TestClient, key: str, session_id: str, seq: int) -> Any:  # type: ignore[type-arg]
    events = [meta_event(AT + seq * 1000)] if seq == 0 else [mutation(AT + seq * 1000)]
    return client.post("/api/v1/ingest", json=batch(key, session_id, seq=seq, events=events))


def _stored_seqs(client: TestClient, dd: DataDir, session_id: str) -> list[int]:  # type: ignore[type-arg]
    token = dd.accounts.create_token(dd.accounts.create_user(f"{session_id}@example.com", "pw-123456789", "admin").email)
    events = client.get(f"/api/v1/sessions/{session_id}/events", headers={"Authorization": f"Bearer {token}"}).json()
    return [(e["timestamp"] - AT) // 1000 for e in events]


def test_a_held_index_writer_turns_ingest_to_503_and_back(settings: Settings) -> None:
    for client, dd in app_with(settings, limits=Limits(max_index_lag_records=2)):
        key = dd.projects.create("Shop").public_key
        release = threading.Event()
        held = dd.index.write(lambda con: release.wait(30))  # the writer thread waits here
        acknowledged, answers = [], []
        try:
            for seq in range(8):
                answer = _send(client, key, "held-1", seq)
                answers.append(answer.status_code)
                if answer.status_code != 200:
                    break
                acknowledged.append(seq)
            assert answers == [200, 200, 200, 503]  # lag 3 > 2: the fourth waits
            refused = _send(client, key, "held-1", 3)
            assert refused.status_code == 503 and refused.headers["retry-after"] == "5"
            assert refused.headers["access-control-expose-headers"] == "Retry-After"  # the SDK reads it
            assert "catching up" in refused.json()["error"]
            assert dd.index.lag[0] == 3  # memory held for the index stops growing at the bound
            ready = client.get("/readyz")
            assert ready.status_code == 503 and "behind the log" in ready.json()["checks"]["backlog"]
        finally:
            release.set()
        held.result(10)
        dd.index.write(lambda con: None).result(10)  # caught up (a writer that died would time out here)
        assert dd.index.writing and dd.index.lag == (0, 0) and client.get("/readyz").status_code == 200
        for seq in range(3, 6):  # the SDK's retry of the refused batch, and more
            assert _send(client, key, "held-1", seq).status_code == 200
            acknowledged.append(seq)
        assert _stored_seqs(client, dd, "held-1") == acknowledged == [0, 1, 2, 3, 4, 5]


def test_a_long_committer_queue_turns_ingest_to_503(settings: Settings) -> None:
    for client, dd in app_with(settings, limits=Limits(max_commit_queue=1)):
        key = dd.projects.create("Shop").public_key
        bodies = [json.dumps(batch(key, "queued-1", seq=seq, events=[meta_event(AT + seq * 1000)])).encode()
                  for seq in range(3)]
        with dd.log.paused():  # the committer cannot write: the three records wait (queued, or in its group)
            futures = [dd.log.submit(p.record, p.facts) for p in
                       (ingest.prepare(dd.projects, body, "", None, "test", dd.settings.limits) for body in bodies)]
            refused = _send(client, key, "queued-2", 0)
            assert refused.status_code == 503 and "committer" in refused.json()["error"]
            assert dd.log.queued == 3
        assert all(f.result(10) for f in futures)
        assert _send(client, key, "queued-2", 0).status_code == 200
        dd.index.flush()
        assert _stored_seqs(client, dd, "queued-1") == [0, 1, 2]
