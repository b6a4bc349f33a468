"""Failure is a test case (issue 7): a really full disk, garbage at a segment's tail, a lost
or damaged index file or WAL. Each time: no acknowledged batch is lost, nothing is corrupted,
and the server takes writes again once the cause is gone."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from sessionstory.config import load_settings, prepare_data_dir
from sessionstory.datadir import DataDir
from tests.conftest import batch, meta_event


def _open(tmp_path: Path) -> DataDir:
    return DataDir(prepare_data_dir(load_settings(tmp_path / "data", env={})))


def _store(dd: DataDir, session_id: str, count: int) -> None:
    from sessionstory.ingest import prepare

    key = dd.projects.all()[0].public_key
    for seq in range(count):
        payload = json.dumps(batch(key, session_id, seq, [meta_event(1_700_000_000_000 + seq)])).encode()
        prepared = prepare(dd.projects, payload, "", None, "test", dd.settings.limits)
        dd.log.append_now(prepared.record, prepared.facts)
    dd.index.flush()


def _event_count(dd: DataDir, session_id: str) -> int | None:
    row = dd.index.read(lambda cur: cur.execute("SELECT event_count FROM sessions WHERE id = ?", [session_id]).fetchone())
    return row[0] if row else None


def test_garbage_after_the_last_record_is_cut_reported_and_the_rest_kept(tmp_path: Path,
                                                                         caplog: pytest.LogCaptureFixture) -> None:
    dd = _open(tmp_path)
    dd.projects.create("Shop")
    _store(dd, "s-tail", 5)
    segment = dd.log.path(dd.log.active_segment)
    dd.close()
    good = segment.stat().st_size
    with open(segment, "ab") as f:
        f.write(os.urandom(3000))

    dd = _open(tmp_path)
    try:
        assert segment.stat().st_size == good, "the garbage is cut off"
        assert "dropping 3000 bytes of torn tail" in caplog.text
        assert _event_count(dd, "s-tail") == 5
        _store(dd, "s-after", 2)  # and the log takes writes after it
        assert _event_count(dd, "s-after") == 2
    finally:
        dd.close()


@pytest.mark.parametrize("damage", ["delete index and WAL", "garbage WAL", "truncated index"])
def test_a_lost_or_damaged_index_is_rebuilt_from_the_log(tmp_path: Path, damage: str) -> None:
    dd = _open(tmp_path)
    dd.projects.create("Shop")
    _store(dd, "s-kept", 4)
    dd.close()
    index = tmp_path / "data" / "index.duckdb"
    wal = Path(f"{index}.wal")
    if damage == "delete index and WAL":
        index.unlink()
        wal.unlink(missing_ok=True)
    elif damage == "garbage WAL":
        wal.write_bytes(os.urandom(20_000))
    else:
        with open(index, "r+b") as f:
            f.truncate(index.stat().st_size // 3)

    dd = _open(tmp_path)
    try:
        assert [p.name for p in dd.projects.all()] == ["Shop"], "accounts come back from the log too"
        assert _event_count(dd, "s-kept") == 4
    finally:
        dd.close()


def test_a_failed_fsync_stops_acknowledgements_at_once_until_a_restart(
    client: TestClient, project: Any, datadir: DataDir, monkeypatch: pytest.MonkeyPatch  # type: ignore[type-arg]
) -> None:
    from sessionstory.store import segments

    url = "/api/v1/ingest"
    assert client.post(url, json=batch(project.public_key, "s-io", 0)).status_code == 200
    real_fsync = os.fsync

    def failing_fsync(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(segments.os, "fsync", failing_fsync)
    r = client.post(url, json=batch(project.public_key, "s-io", 1))
    assert r.status_code == 503 and "fsync failed" in r.json()["error"]
    # The disk answers again, but what it dropped after the failed fsync cannot be known:
    # no acknowledgement until a restart re-reads the log.
    monkeypatch.setattr(segments.os, "fsync", real_fsync)
    assert client.post(url, json=batch(project.public_key, "s-io", 1)).status_code == 503
    ready = client.get("/readyz")
    assert ready.status_code == 503 and "fsync failed" in ready.json()["checks"]["log_fsync"]

    settings = datadir.settings
    datadir.close()
    reopened = DataDir(settings)
    try:
        assert reopened.log.failure is None
        assert _event_count(reopened, "s-io") == 1, "the acknowledged batch is there; the refused one is not"
    finally:
        reopened.close()
