"""Opening a session at a moment: the events from the last page load before it, through the real app."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from sessionstory.datadir import DataDir
from sessionstory.replay import BatchTimes, Slice, opening_slice
from tests.conftest import batch
from tests.events import meta, mutation, snapshot

T0 = 1_700_000_000_000
BATCH_MS = 10_000
LOADS = (0, 4, 8)  # the batches that start with a page load (Meta, full snapshot)


def _long(client: TestClient, key: str, sid: str, batches: int = 12) -> None:  # type: ignore[type-arg]
    for seq in range(batches):
        at = T0 + seq * BATCH_MS
        events = [meta(at, href=f"https://shop.example/p{seq}"), snapshot(at + 1)] if seq in LOADS else []
        events += [mutation(at + 5_000)]
        assert client.post("/api/v1/ingest", json=batch(key, sid, seq, events)).status_code == 200


def _at(client: TestClient, path: str, ms: int, **headers: str) -> Any:  # type: ignore[type-arg]
    return client.get(path, params={"at": ms}, headers=headers)


def test_opening_starts_at_the_last_page_load_and_reaches_the_moment() -> None:
    times = [BatchTimes(T0 + i * BATCH_MS, T0 + i * BATCH_MS if i in LOADS else None) for i in range(12)]
    assert opening_slice(times, 0) == Slice(0, 2, T0)
    assert opening_slice(times, 3 * BATCH_MS + 1) == Slice(0, 5, T0), "no page load since the first"
    assert opening_slice(times, 4 * BATCH_MS) == Slice(4, 6, T0), "a page load at the very moment"
    assert opening_slice(times, 6 * BATCH_MS + 500) == Slice(4, 8, T0)
    assert opening_slice([t._replace(first_ms=t.first_ms + 5_000) if t.meta_ms is None else t for t in times],
                         6 * BATCH_MS + 500) == Slice(4, 7, T0), "batch 6 starts after the moment"
    assert opening_slice(times, 60 * BATCH_MS) == Slice(8, 13, T0), "past the end: up to the last (the caller clips)"
    # Batches without events take no part; a session without any gives everything there is.
    assert opening_slice([BatchTimes(None, None), *times[:3]], BATCH_MS) == Slice(1, 4, T0)
    assert opening_slice([BatchTimes(None, None)] * 3, 0) == Slice(0, 3)


def test_the_events_route_opens_at_a_moment(client: TestClient, project: Any, auth: dict[str, str]) -> None:  # type: ignore[type-arg]
    _long(client, project.public_key, "long")
    path = "/api/v1/sessions/long/events"
    whole = client.get(path, headers=auth).json()
    r = _at(client, path, 6 * BATCH_MS + 500, **auth)
    assert r.status_code == 200
    assert (r.headers["x-batches"], r.headers["x-first-batch"], r.headers["x-next-batch"]) == ("12", "4", "7")
    assert r.headers["x-session-start"] == str(T0)
    events = r.json()
    assert events[0]["type"] == 4 and events[0]["timestamp"] == T0 + 4 * BATCH_MS, "from the page load before"
    assert events[-1]["timestamp"] > T0 + 6 * BATCH_MS + 500, "through the moment"
    # The rest, by the usual ranges, fits around it with nothing lost or repeated.
    before = client.get(path, params={"start": 0, "count": 4}, headers=auth).json()
    after = client.get(path, params={"start": 7, "count": 100}, headers=auth).json()
    assert before + events + after == whole

    late = _at(client, path, 3_600_000, **auth)
    assert (late.headers["x-first-batch"], late.headers["x-next-batch"]) == ("8", "12")
    start = _at(client, path, 0, **auth)
    assert (start.headers["x-first-batch"], start.headers["x-next-batch"]) == ("0", "2")
    for bad in ({"at": -1}, {"at": 5, "start": 0}, {"at": 5, "count": 3}, {"at": "soon"}):
        answer = client.get(path, params=bad, headers=auth)
        assert answer.status_code == 400 and "error" in answer.json(), bad
    assert _at(client, "/api/v1/sessions/nope/events", 0, **auth).status_code == 404


def test_opening_at_a_moment_reads_a_compacted_session_and_a_share_link_alike(
        client: TestClient, datadir: DataDir, project: Any, auth: dict[str, str]) -> None:  # type: ignore[type-arg]
    _long(client, project.public_key, "packed")
    path = "/api/v1/sessions/packed/events"
    before = _at(client, path, 9 * BATCH_MS, **auth)  # its batches' times are now remembered...
    assert datadir.compactor.run(0).sessions >= 1
    after = _at(client, path, 9 * BATCH_MS, **auth)  # ...and read again from where compaction moved them
    assert after.content == before.content and after.headers["x-first-batch"] == "8"

    link = client.post("/api/v1/sessions/packed/share-links", json={"expires_in": "1h"}, headers=auth).json()
    token = link["url"].rsplit("/", 1)[1]
    shared = client.get(f"/share/{token}/events", params={"at": 9 * BATCH_MS})
    assert shared.content == before.content and shared.headers["x-first-batch"] == "8"
    assert shared.headers["cache-control"] == "no-store"
    assert client.get(f"/share/{token}/events", params={"at": -5}).status_code == 400


def test_the_remembered_batch_times_stay_bounded(client: TestClient, project: Any, auth: dict[str, str],  # type: ignore[type-arg]
                                                 monkeypatch: Any) -> None:
    from sessionstory import replay
    monkeypatch.setattr(replay, "TIMES_KEPT", 20)
    for sid in ("b-1", "b-2", "b-3"):
        _long(client, project.public_key, sid)
        assert _at(client, f"/api/v1/sessions/{sid}/events", 11 * BATCH_MS, **auth).headers["x-first-batch"] == "8"
    kept = {sid: len(times) for sid, times in replay._times.items()}
    assert sum(kept.values()) <= 20 and "b-3" in kept, kept
    assert client.delete("/api/v1/sessions/b-3", headers=auth).status_code == 204
    assert "b-3" not in replay._times, "nothing of an erased session stays in memory"
