"""Ingest under abuse: rate limits, session caps, a nearly full disk, wild timestamps."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from litestar.testing import TestClient

from sessionstory.admission import Admission
from sessionstory.app import create_app
from sessionstory.config import Limits, Settings
from sessionstory.datadir import DataDir
from sessionstory.throttle import RateLimit
from tests.conftest import batch, meta_event
from tests.events import mutation


def _client(settings: Settings, **limits: Any) -> Iterator[tuple[TestClient, DataDir]]:  # type: ignore[type-arg]
    tight = msgspec.structs.replace(settings, limits=Limits(**limits))
    dd = DataDir(tight)
    try:
        with TestClient(create_app(tight, dd)) as client:
            # A clock that stands still: no bucket refills while a slow machine runs the test.
            client.app.state.admission = Admission(tight.limits, tight.data_dir, clock=lambda: 0.0)
            yield client, dd
    finally:
        dd.close()


@pytest.fixture
def limited(settings: Settings) -> Iterator[tuple[TestClient, DataDir]]:  # type: ignore[type-arg]
    yield from _client(settings, per_address_rate=2, per_project_rate=1000)


def test_one_address_past_its_rate_gets_429_with_retry_after(limited: tuple[TestClient, DataDir]) -> None:  # type: ignore[type-arg]
    client, dd = limited
    key = dd.projects.create("Shop").public_key
    codes = [client.post("/api/v1/ingest", json=batch(key, "rate-1", seq=n)).status_code for n in range(6)]
    assert codes[:4] == [200] * 4 and codes[-1] == 429  # a burst of twice the rate, then refused
    refused = client.post("/api/v1/ingest", json=batch(key, "rate-1", seq=9))
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert refused.headers["access-control-expose-headers"] == "Retry-After"  # the SDK can read it


def test_one_project_past_its_rate_gets_429(settings: Settings) -> None:
    for client, dd in _client(settings, per_address_rate=0, per_project_rate=1):
        key = dd.projects.create("Shop").public_key
        codes = [client.post("/api/v1/ingest", json=batch(key, f"p-{n}")).status_code for n in range(4)]
        assert codes[:2] == [200, 200] and 429 in codes


def test_a_nearly_full_disk_is_503_before_anything_is_written(settings: Settings) -> None:
    for client, dd in _client(settings, min_free_bytes=2**62):
        key = dd.projects.create("Shop").public_key
        before = dd.log.disk_bytes()
        refused = client.post("/api/v1/ingest", json=batch(key, "disk-1"))
        assert refused.status_code == 503 and refused.headers["retry-after"] == "60"
        assert "disk" in refused.json()["error"]
        assert dd.log.disk_bytes() == before


def test_a_session_stops_growing_at_its_caps(settings: Settings) -> None:
    for client, dd in _client(settings, max_session_events=5):
        key = dd.projects.create("Shop").public_key
        at = 1_700_000_000_000
        first = [meta_event(at), *(mutation(at + i) for i in range(1, 4))]
        assert client.post("/api/v1/ingest", json=batch(key, "cap-1", seq=0, events=first)).status_code == 200
        too_many = [mutation(at + 10 + i) for i in range(2)]
        refused = client.post("/api/v1/ingest", json=batch(key, "cap-1", seq=1, events=too_many))
        assert refused.status_code == 413 and "size limit" in refused.json()["error"]
        assert client.post("/api/v1/ingest", json=batch(key, "cap-1", seq=1, events=too_many[:1])).status_code == 200
        assert client.post("/api/v1/ingest", json=batch(key, "cap-2", seq=0, events=too_many)).status_code == 200


def test_wild_timestamps_are_clamped(client: TestClient, project: Any, auth: dict[str, str]) -> None:  # type: ignore[type-arg]
    at = 1_700_000_000_000
    events = [meta_event(at), mutation(0), mutation(10**15), mutation(at + 5)]
    assert client.post("/api/v1/ingest", json=batch(project.public_key, "clock-1", events=events)).status_code == 200
    stamps = [e["timestamp"] for e in client.get("/api/v1/sessions/clock-1/events", headers=auth).json()]
    assert stamps[0] == 946_684_800_000 and stamps[1:3] == [at, at + 5] and stamps[3] < 10**13
    session = client.get("/api/v1/sessions/clock-1", headers=auth).json()
    assert session["duration_ms"] < 100 * 365 * 86_400_000


def test_a_token_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    bucket = RateLimit(rate=2, burst=2, clock=lambda: now[0])
    assert [bucket.take("a"), bucket.take("a")] == [0, 0]
    assert bucket.take("a") == pytest.approx(0.5)
    assert bucket.take("b") == 0  # keys are independent
    now[0] = 0.5
    assert bucket.take("a") == 0
