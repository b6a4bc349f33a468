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


def test_an_index_of_the_schema_before_page_times_is_rebuilt_with_the_right_exit_page(tmp_path: Path) -> None:
    """Schema 7 kept no time for the exit page: a batch without a page view folded in before an
    earlier batch with one left the exit at an older page. Such an index file is set aside when
    opened and rebuilt from the log, which loses nothing and finds the right exit page."""
    from sessionstory.ingest import prepare

    dd = _open(tmp_path)
    project = dd.projects.create("Shop")
    t0 = 1_700_000_000_000
    move = {"type": 3, "timestamp": t0 + 9000, "data": {"source": 1, "positions": [{"x": 1, "y": 1, "id": 1, "timeOffset": 0}]}}
    arrivals = [(0, [meta_event(t0 + 1000, "https://shop.example/index.html")]), (2, [move]),
                (1, [meta_event(t0 + 5000, "https://shop.example/checkout.html")])]  # the last batch came early
    for seq, events in arrivals:
        payload = json.dumps(batch(project.public_key, "s-exit", seq, events)).encode()
        prepared = prepare(dd.projects, payload, "", None, "test", dd.settings.limits)
        dd.log.append_now(prepared.record, prepared.facts)
    dd.index.read(lambda cur: None)

    def as_schema_7_left_it(con: object) -> None:
        con.execute("ALTER TABLE sessions DROP COLUMN entry_ms")  # type: ignore[attr-defined]
        con.execute("ALTER TABLE sessions DROP COLUMN exit_ms")  # type: ignore[attr-defined]
        con.execute("ALTER TABLE sessions DROP COLUMN user_ms")  # type: ignore[attr-defined]
        con.execute("UPDATE sessions SET exit_url = 'https://shop.example/index.html'")  # type: ignore[attr-defined]
        con.execute("UPDATE meta SET value = '7' WHERE key = 'schema_version'")  # type: ignore[attr-defined]

    dd.index.write(as_schema_7_left_it).result()
    dd.close()
    dd = _open(tmp_path)
    try:
        assert dd.index.rebuilt
        assert [p.name for p in dd.projects.all()] == ["Shop"]
        row = dd.index.read(lambda cur: cur.execute(
            "SELECT entry_url, exit_url, exit_ms, page_count, event_count FROM sessions WHERE id = 's-exit'").fetchone())
        assert row == ("https://shop.example/index.html", "https://shop.example/checkout.html", t0 + 5000, 2, 3)
        assert list((tmp_path / "data").glob("index.duckdb.broken-*")), "the old file is kept for inspection"
    finally:
        dd.close()
