"""Sessions in and out, the index as Parquet, backups that hold while ingest goes on."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import duckdb
from litestar.testing import TestClient

from sessionstory.datadir import DataDir
from tests.conftest import batch
from tests.events import T0, click, meta, mutation, page, snapshot
from tests.server import Server, cli


def test_export_then_import_gives_the_same_events(client: TestClient, project: Any, auth: dict[str, str],  # type: ignore[type-arg]
                                                 datadir: DataDir, tmp_path: Path) -> None:
    events = [meta(T0), snapshot(T0 + 1), page(T0 + 2, "https://shop.example/"), click(T0 + 100), mutation(T0 + 200)]
    client.post("/api/v1/ingest", json=batch(project.public_key, "orig", 0, events[:3]))
    client.post("/api/v1/ingest", json=batch(project.public_key, "orig", 1, events[3:]))
    exported = client.get("/api/v1/sessions/orig/export", headers=auth)
    assert exported.headers["content-disposition"] == 'attachment; filename="session-orig.json"'
    other = datadir.projects.create("Copy")
    from sessionstory.portability import import_session

    data = json.loads(exported.content)
    data["session_id"] = "copy-of-orig"
    sid = import_session(datadir, json.dumps(data), other.id)
    copied = client.get(f"/api/v1/sessions/{sid}/events", headers=auth).json()
    assert copied == client.get("/api/v1/sessions/orig/events", headers=auth).json() == events
    facts = client.get(f"/api/v1/sessions/{sid}", headers=auth).json()
    assert facts["project_id"] == other.id and facts["page_count"] == 1 and facts["clicks"] == 1


def test_cli_import_of_a_plain_rrweb_array_and_parquet_export(tmp_path: Path) -> None:
    data = tmp_path / "data"
    project = json.loads(cli(data, "project", "create", "--name", "Imports").stdout)
    plain = tmp_path / "recording.json"
    plain.write_text(json.dumps([meta(T0), snapshot(T0 + 5), mutation(T0 + 900)]))
    out = cli(data, "import", str(plain), "--project", project["id"])
    assert out.returncode == 0, out.stderr
    sid = json.loads(out.stdout)["session_id"]
    exported = cli(data, "export", sid)
    assert json.loads(exported.stdout)["events"][0] == meta(T0)
    bad = tmp_path / "bad.json"
    bad.write_text('{"not": "events"}')
    refused = cli(data, "import", str(bad), "--project", project["id"])
    assert refused.returncode == 1 and "expected a JSON array" in refused.stderr
    parquet = tmp_path / "parquet"
    assert cli(data, "export", "--parquet", str(parquet)).returncode == 0
    sessions = duckdb.sql(f"SELECT id, page_count FROM '{parquet}/sessions.parquet'").fetchall()
    assert sessions == [(sid, 1)]
    assert (parquet / "pages.parquet").exists() and (parquet / "errors.parquet").exists()


def test_backup_while_ingesting_then_restore(tmp_path: Path) -> None:
    server = Server(tmp_path / "data").start()
    key = server.project("Live")["public_key"]
    acked: list[int] = []
    stop = threading.Event()

    def send() -> None:
        from tests.test_recovery import _send

        seq = 0
        while not stop.is_set() and seq < 3000:
            if _send(server.url, batch(key, "busy", seq, [meta(T0 + seq, href=f"https://x.example/{seq}")])):
                acked.append(seq)
                seq += 1

    sender = threading.Thread(target=send)
    sender.start()
    try:
        while len(acked) < 50:
            threading.Event().wait(0.02)
        acked_before = len(acked)
        out = cli(server.data_dir, "backup", str(tmp_path / "backup"))
        assert out.returncode == 0, out.stderr
    finally:
        stop.set()
        sender.join()
        server.stop()
    assert len(acked) > acked_before, "ingest went on during the backup"
    restored = tmp_path / "restored"
    out = cli(restored, "restore", str(tmp_path / "backup"))
    assert out.returncode == 0, out.stderr
    again = Server(restored).start()
    try:
        events: Any = again.get_json("/api/v1/sessions/busy/events", again.token())
        kept = {int(e["data"]["href"].rsplit("/", 1)[1]) for e in events}
        assert set(range(acked_before)) <= kept, "every batch acknowledged before the backup is there"
    finally:
        again.stop()
    assert cli(restored, "restore", str(tmp_path / "backup")).returncode == 1, "refuses a non-empty data dir"
