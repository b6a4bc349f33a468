"""The ingest endpoint: the CONTRACT's answers for good and bad batches."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest
from litestar.testing import TestClient

from sessionstory.config import Limits, Settings
from sessionstory.datadir import DataDir
from tests.conftest import batch, gzipped, meta_event, stored_bytes
from tests.events import mutation
from tests.test_ops import app_with

URL = "/api/v1/ingest"


def _session_count(datadir: DataDir) -> int:
    datadir.index.flush()
    return datadir.index.read(lambda cur: cur.execute(
        "SELECT count(*) FROM sessions WHERE project_id NOT IN (SELECT id FROM projects WHERE name = 'Demo')"
    ).fetchone()[0])


def test_a_batch_is_acknowledged_and_indexed(client: TestClient, project: Any, datadir: DataDir) -> None:  # type: ignore[type-arg]
    r = client.post(URL, json=batch(project.public_key, "s-1"))
    assert r.status_code == 200 and r.json() == {"ok": True}
    assert _session_count(datadir) == 1


def test_gzip_by_header_and_by_magic(client: TestClient, project: Any, datadir: DataDir) -> None:  # type: ignore[type-arg]
    body = gzipped(batch(project.public_key, "s-gz"))
    r = client.post(URL, content=body, headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert r.status_code == 200
    # sendBeacon cannot set Content-Encoding: a gzip body sent as text/plain is recognised by its magic.
    body = gzipped(batch(project.public_key, "s-gz", seq=1))
    assert client.post(URL, content=body, headers={"Content-Type": "text/plain"}).status_code == 200
    datadir.index.flush()
    row = datadir.index.read(lambda cur: cur.execute("SELECT event_count FROM sessions WHERE id='s-gz'").fetchone())
    assert row == (2,)


def test_a_resent_batch_is_stored_once(client: TestClient, project: Any, datadir: DataDir) -> None:  # type: ignore[type-arg]
    payload = batch(project.public_key, "s-dup", seq=3)
    for _ in range(3):
        assert client.post(URL, json=payload).json() == {"ok": True}
    datadir.index.flush()
    assert datadir.index.read(lambda cur: cur.execute("SELECT count(*) FROM records WHERE session_id = 's-dup'").fetchone()) == (1,)
    batches = [r for _, r in datadir.log.scan() if getattr(r.meta, "session_id", None) == "s-dup"]
    assert len(batches) == 1


def test_a_late_retry_the_process_no_longer_remembers_is_stored_once(
        client: TestClient, project: Any, datadir: DataDir, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[type-arg]
    monkeypatch.setattr(datadir.ingestor, "RECENT", 2)  # remember only the last two batches
    for seq in range(4):
        assert client.post(URL, json=batch(project.public_key, "s-late", seq=seq)).status_code == 200
    datadir.index.flush()
    assert client.post(URL, json=batch(project.public_key, "s-late", seq=0)).json() == {"ok": True}  # long forgotten
    assert len([r for _, r in datadir.log.scan() if getattr(r.meta, "session_id", None) == "s-late"]) == 4


def test_after_a_restart_a_session_keeps_its_caps_and_its_retries_are_stored_once(settings: Settings) -> None:
    """A new process knows no session: it asks the index what is stored (two key lookups, then the
    session's records), and the answer must count what the log already holds."""
    tight = Limits(max_session_events=5)
    at = 1_700_000_000_000
    for client, dd in app_with(settings, limits=tight):
        key = dd.projects.create("Capped").public_key
        first = batch(key, "s-restart", seq=0, events=[meta_event(at), *(mutation(at + i) for i in range(1, 4))])
        assert client.post(URL, json=first).status_code == 200
    for client, dd in app_with(settings, limits=tight):
        assert client.post(URL, json=first).json() == {"ok": True}  # a retry this process never saw
        two = [mutation(at + 10), mutation(at + 11)]
        refused = client.post(URL, json=batch(key, "s-restart", seq=1, events=two))
        assert refused.status_code == 413 and "size limit" in refused.json()["error"]
        assert client.post(URL, json=batch(key, "s-restart", seq=1, events=two[:1])).status_code == 200
        stored = [r.meta.seq for _, r in dd.log.scan() if getattr(r.meta, "session_id", None) == "s-restart"]
        assert sorted(stored) == [0, 1]


def test_typed_input_text_is_masked_even_from_other_clients(
    client: TestClient, project: Any, settings: Settings, auth: dict[str, str]  # type: ignore[type-arg]
) -> None:
    events = [meta_event(1000), {"type": 3, "timestamp": 1001, "data": {"source": 5, "id": 7, "text": "s3cr3t-v4lue", "isChecked": False}}]
    assert client.post(URL, json=batch(project.public_key, "s-input", events=events)).status_code == 200
    replayed = client.get("/api/v1/sessions/s-input/events", headers=auth).json()
    assert replayed[1]["data"]["text"] == "*" * len("s3cr3t-v4lue")
    assert b"s3cr3t-v4lue" not in stored_bytes(settings)


def test_cors_preflight_and_origin_rules(client: TestClient, datadir: DataDir) -> None:  # type: ignore[type-arg]
    locked = datadir.projects.create("Locked", ["https://shop.example.com"])
    pre = client.options(URL, headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert pre.status_code == 204 and "Content-Encoding" in pre.headers["access-control-allow-headers"]
    ok = client.post(URL, json=batch(locked.public_key), headers={"Origin": "https://shop.example.com"})
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == "https://shop.example.com"
    bad = client.post(URL, json=batch(locked.public_key), headers={"Origin": "https://evil.example"})
    assert bad.status_code == 403
    assert bad.headers["access-control-allow-origin"] == "https://evil.example", "the SDK must be able to read a 403"


def test_a_streamed_body_past_the_cap_is_refused_as_it_arrives(client: TestClient, project: Any, datadir: DataDir) -> None:  # type: ignore[type-arg]
    """Without a Content-Length (chunked), the cap holds on the bytes read so far."""
    chunk = b"x" * (1024 * 1024)
    before = datadir.log.disk_bytes()
    r = client.post(URL, content=iter([chunk] * 11), headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "error" in r.json()
    assert r.headers["access-control-allow-origin"] == "*"
    assert datadir.log.disk_bytes() == before


def test_other_methods_are_refused_with_cors(client: TestClient) -> None:  # type: ignore[type-arg]
    r = client.get(URL, headers={"Origin": "https://shop.example"})
    assert r.status_code == 405 and r.headers["allow"] == "OPTIONS, POST" and "error" in r.json()
    assert r.headers["access-control-allow-origin"] == "https://shop.example"


def test_a_session_id_cannot_cross_projects(client: TestClient, project: Any, datadir: DataDir) -> None:  # type: ignore[type-arg]
    other = datadir.projects.create("Other")
    assert client.post(URL, json=batch(project.public_key, "shared-id")).status_code == 200
    datadir.index.flush()
    r = client.post(URL, json=batch(other.public_key, "shared-id", seq=1))
    assert r.status_code == 409


def _bomb() -> bytes:
    # 60 MB of zeros inside a valid batch shape (the cap is 50 MB): ~60 KB on the wire.
    return gzip.compress(b'{"key":"k","session_id":"s","visitor_id":"v","seq":0,"events":[{"type":4,"timestamp":1,"data":"' + b"0" * 60_000_000 + b'"}]}', 1)


BAD_BODIES: list[tuple[str, Any, dict[str, str], int]] = [
    ("malformed JSON", b'{"key": ', {}, 400),
    ("not an object", b"[1, 2, 3]", {}, 400),
    ("wrong type for seq", {"seq": "zero"}, {}, 400),
    ("negative seq", {"seq": -1}, {}, 400),
    ("events not a list", {"events": {"type": 4}}, {}, 400),
    ("event without timestamp", {"events": [{"type": 4}]}, {}, 400),
    ("empty events", {"events": []}, {}, 400),
    ("script in session id", {"session_id": "<script>alert(1)</script>"}, {}, 400),
    ("unknown key", {"key": "pk_nope"}, {}, 401),
    ("nesting 10,000 deep", "deep", {}, 400),
    ("too many events", {"events": [meta_event(i) for i in range(20_001)]}, {}, 413),
    ("oversize body", "huge", {}, 413),
    ("gzip bomb", "bomb", {"Content-Encoding": "gzip"}, 413),
    ("broken gzip", b"\x1f\x8b\x08\x00garbage", {"Content-Encoding": "gzip"}, 400),
    ("unknown encoding", b"{}", {"Content-Encoding": "br"}, 415),
]


@pytest.mark.parametrize("name,patch,headers,status", BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_bad_input_gets_a_4xx_and_stores_nothing(
    client: TestClient, project: Any, datadir: DataDir, name: str, patch: Any, headers: dict[str, str], status: int  # type: ignore[type-arg]
) -> None:
    if isinstance(patch, bytes):
        body = patch
    elif patch == "deep":
        body = b'{"key":"%s","session_id":"s","visitor_id":"v","seq":0,"events":[{"type":4,"timestamp":1,"data":' % project.public_key.encode() + b"[" * 10_000 + b"]" * 10_000 + b"}]}"
    elif patch == "huge":
        body = json.dumps(batch(project.public_key, events=[meta_event(1, href="x" * (11 * 1024 * 1024))])).encode()
    elif patch == "bomb":
        body = _bomb()
    else:
        body = json.dumps({**batch(project.public_key), **patch}).encode()
    before = datadir.log.disk_bytes()
    r = client.post(URL, content=body, headers={"Content-Type": "application/json", **headers})
    assert r.status_code == status, r.text
    assert "error" in r.json()
    assert datadir.log.disk_bytes() == before
    assert _session_count(datadir) == 0


def test_a_full_disk_answers_503_and_keeps_the_log_clean(
    client: TestClient, project: Any, datadir: DataDir, monkeypatch: pytest.MonkeyPatch  # type: ignore[type-arg]
) -> None:
    import errno
    import os

    from sessionstory.store import segments

    assert client.post(URL, json=batch(project.public_key, "s-disk", 0)).status_code == 200
    before = datadir.log.disk_bytes()
    real_write = os.write

    def full_disk(fd: int, data: bytes) -> int:
        real_write(fd, data[: len(data) // 2])  # a partial write, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(segments.os, "write", full_disk)
    r = client.post(URL, json=batch(project.public_key, "s-disk", 1))
    assert r.status_code == 503 and r.headers["retry-after"] == "5"
    assert "No space left" in r.json()["error"]
    assert datadir.log.disk_bytes() == before, "the partial write is cut off"
    monkeypatch.setattr(segments.os, "write", real_write)
    assert client.post(URL, json=batch(project.public_key, "s-disk", 1)).status_code == 200
    assert [r.meta.seq for _, r in datadir.log.scan() if getattr(r.meta, "session_id", "") == "s-disk"] == [0, 1]  # type: ignore[union-attr]


def test_the_answer_waits_for_the_fsync_only_and_a_read_for_the_index(
    client: TestClient, project: Any, datadir: DataDir, auth: dict[str, str]  # type: ignore[type-arg]
) -> None:
    import threading

    release = threading.Event()
    held = datadir.index.write(lambda con: release.wait(30))  # the index writer is busy elsewhere
    try:
        r = client.post(URL, json=batch(project.public_key, "s-ryw"))
        assert r.status_code == 200, "acknowledged once durable, with the index held"
        assert datadir.index.lag[0] == 1
        assert [loc for loc, rec in datadir.log.scan() if getattr(rec.meta, "session_id", "") == "s-ryw"]
        threading.Timer(0.3, release.set).start()
        # A read right after the answer (a client's flush() then a listing) shows the batch: the
        # read waits until the index holds everything durable when it arrived.
        listed = client.get(f"/api/v1/sessions?project={project.id}", headers=auth).json()["items"]
        assert [s["id"] for s in listed] == ["s-ryw"]
        assert datadir.index.lag[0] == 0
    finally:
        release.set()
        held.result(10)


def test_a_gzip_body_that_understates_its_size_is_cut_off(
    client: TestClient, project: Any, datadir: DataDir  # type: ignore[type-arg]
) -> None:
    """A small batch is prepared on the event loop, trusting the size a gzip body states in its
    last 4 bytes only as far as the cut-off: one that lies gets a 413 and stores nothing."""
    big = gzipped(batch(project.public_key, "s-liar", events=[meta_event(1, href="x" * 200_000)]))
    liar = big[:-4] + (100).to_bytes(4, "little")
    before = datadir.log.disk_bytes()
    r = client.post(URL, content=liar, headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert r.status_code == 413 and "error" in r.json()
    assert datadir.log.disk_bytes() == before
    honest = client.post(URL, content=big, headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert honest.status_code == 200, "the same batch stating its size goes through a worker thread"


def test_the_ip_is_kept_only_truncated_and_only_where_the_project_asks(datadir: DataDir, project: Any) -> None:
    from sessionstory.ingest import prepare
    from sessionstory.privacy import make_settings

    def ingest(session_id: str, ip: str) -> None:
        body = json.dumps(batch(project.public_key, session_id)).encode()
        prepared = prepare(datadir.projects, body, "", None, "test", datadir.settings.limits, client_ip=ip)
        datadir.log.append_now(prepared.record, prepared.facts)

    ingest("s-country-only", "203.0.113.77")
    datadir.projects.set_privacy(project.id, make_settings(truncated_ip=True))
    ingest("s-truncated", "203.0.113.77")
    ingest("s-v6", "2001:db8:85a3:8d3:1319:8a2e:370:7348")
    datadir.index.flush()
    rows = dict(datadir.index.read(lambda cur: cur.execute("SELECT id, ip FROM sessions WHERE id LIKE 's-%'").fetchall()))
    assert rows == {"s-country-only": None, "s-truncated": "203.0.113.0", "s-v6": "2001:db8:85a3::"}
    on_disk = b"".join(p.read_bytes() for p in datadir.settings.data_dir.rglob("*") if p.is_file())
    assert b"203.0.113.77" not in on_disk and b"1319:8a2e" not in on_disk


def test_the_session_api_shows_the_truncated_ip(client: TestClient, datadir: DataDir, project: Any,  # type: ignore[type-arg]
                                                auth: dict[str, str]) -> None:
    from sessionstory.privacy import make_settings

    datadir.projects.set_privacy(project.id, make_settings(truncated_ip=True))
    assert client.post(URL, json=batch(project.public_key, "s-ip")).status_code == 200
    # The test client's address is "testclient", no IP at all: nothing to keep.
    assert client.get("/api/v1/sessions/s-ip", headers=auth).json()["ip"] is None
