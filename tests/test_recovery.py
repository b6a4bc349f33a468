"""Failure is a test case: SIGKILL mid-ingest, a damaged index, a rebuilt index."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from sessionstory.config import load_settings, prepare_data_dir
from sessionstory.datadir import DataDir
from tests.conftest import batch, meta_event
from tests.server import Server


def _send(url: str, payload: dict[str, object]) -> bool:
    req = urllib.request.Request(f"{url}/api/v1/ingest", data=json.dumps(payload).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def test_sigkill_during_ingest_loses_no_acknowledged_batch(tmp_path: Path) -> None:
    server = Server(tmp_path / "data").start()
    key = server.project()["public_key"]
    acked: list[tuple[str, int]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client(n: int) -> None:
        seq = 0
        while not stop.is_set() and seq < 2000:
            events = [meta_event(1_700_000_000_000 + seq, href=f"https://x.example/{n}/{seq}")]
            if _send(server.url, batch(key, f"crash-{n}", seq, events)):
                with lock:
                    acked.append((f"crash-{n}", seq))
                seq += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while len(acked) < 200 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.kill()
    stop.set()
    for t in threads:
        t.join()
    assert len(acked) >= 200

    server.start()
    try:
        token = server.token()
        for n in range(4):
            want = sorted(seq for sid, seq in acked if sid == f"crash-{n}")
            if not want:
                continue
            events = server.get_json(f"/api/v1/sessions/crash-{n}/events", token)
            got = {int(e["data"]["href"].rsplit("/", 1)[1]) for e in events}  # type: ignore[index, union-attr]
            assert set(want) <= got, f"lost acknowledged batches of crash-{n}: {sorted(set(want) - got)[:10]}"
    finally:
        server.stop()


def _open(tmp_path: Path) -> DataDir:
    return DataDir(prepare_data_dir(load_settings(tmp_path / "data", env={})))


def test_a_damaged_index_is_set_aside_and_rebuilt(tmp_path: Path) -> None:
    dd = _open(tmp_path)
    project = dd.projects.create("Shop")
    from sessionstory.ingest import prepare

    for seq in range(3):
        payload = json.dumps(batch(project.public_key, "s-1", seq, [meta_event(1000 + seq)])).encode()
        prepared = prepare(dd.projects, payload, "", None, "test", dd.settings.limits)
        dd.log.append_now(prepared.record, prepared.facts)
    dd.close()

    index = tmp_path / "data" / "index.duckdb"
    index.write_bytes(b"this is not a duckdb file" * 1000)
    dd = _open(tmp_path)
    try:
        assert dd.index.rebuilt
        assert [p.name for p in dd.projects.all()] == ["Shop"]
        row = dd.index.read(lambda cur: cur.execute("SELECT event_count FROM sessions WHERE id = 's-1'").fetchone())
        assert row == (3,)
        assert list((tmp_path / "data").glob("index.duckdb.broken-*")), "the damaged file is kept for inspection"
    finally:
        dd.close()


def test_the_index_catches_up_from_its_checkpoint(tmp_path: Path) -> None:
    """Records the log has but the index missed (a crash between fsync and indexing)."""
    dd = _open(tmp_path)
    project = dd.projects.create("Shop")
    dd.log._on_commit.clear()  # noqa: SLF001 - simulate dying before the index saw these
    from sessionstory.ingest import prepare

    for seq in range(5):
        payload = json.dumps(batch(project.public_key, "s-late", seq, [meta_event(1000 + seq)])).encode()
        prepared = prepare(dd.projects, payload, "", None, "test", dd.settings.limits)
        dd.log.append_now(prepared.record, prepared.facts)
    assert dd.index.read(lambda cur: cur.execute("SELECT count(*) FROM sessions").fetchone()) == (0,)
    dd.close()
    dd = _open(tmp_path)
    try:
        assert dd.caught_up == 5
        row = dd.index.read(lambda cur: cur.execute("SELECT event_count FROM sessions WHERE id='s-late'").fetchone())
        assert row == (5,)
    finally:
        dd.close()
