"""Failure is a test case (issue 7): a really full disk, garbage at a segment's tail, a lost
or damaged index file or WAL. Each time: no acknowledged batch is lost, nothing is corrupted,
and the server takes writes again once the cause is gone."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from sessionstory.config import load_settings, prepare_data_dir
from sessionstory.datadir import DataDir
from sessionstory.store import SegmentLog
from tests.conftest import batch, meta_event
from tests.server import Server


def _post(url: str, payload: dict[str, object]) -> int:
    req = urllib.request.Request(f"{url}/api/v1/ingest", data=json.dumps(payload).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _bulky(session_id: str, key: str, seq: int) -> dict[str, object]:
    """A batch of ~24 KB that compresses poorly, so a small disk fills in a few hundred."""
    now = int(time.time() * 1000)
    events = [meta_event(now + seq, href=f"https://shop.example/{session_id}/{seq}"),
              {"type": 5, "timestamp": now + seq, "data": {"tag": "blob", "payload": {"b": os.urandom(12_000).hex()}}}]
    return batch(key, session_id, seq, events)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 48 MiB tmpfs: a disk that really fills (the kernel's ENOSPC, not an injected one)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(mount)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a size-capped tmpfs here ({done.stderr.strip()}); "
                    "tests/test_ingest.py covers a full disk by injected ENOSPC")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def _fill(path: Path, leave_bytes: int) -> None:
    """Fill the file system of `path` until about `leave_bytes` are free."""
    with open(path, "wb") as f:
        chunk = b"\0" * (1 << 20)
        try:
            while True:
                f.write(chunk)
                f.flush()
        except OSError:
            pass
    os.truncate(path, max(0, path.stat().st_size - leave_bytes))


def test_a_full_disk_answers_503_loses_nothing_and_recovers_when_space_is_freed(small_disk: Path) -> None:
    # No reserve: ingest meets the file system's own ENOSPC, in the log and in DuckDB alike.
    server = Server(small_disk / "data", env={"SESSIONSTORY_MIN_FREE_MB": "0"})
    server.log_path = small_disk.parent / "server.log"  # off the full disk, to be read afterwards
    server.start()
    try:
        key = server.project()["public_key"]
        token = server.token()
        filler = small_disk / "filler"
        _fill(filler, leave_bytes=2 << 20)

        statuses: Counter[int] = Counter()
        acked: dict[str, list[int]] = {"full-a": [], "full-b": []}
        refused_in_a_row = 0
        seq = 0
        while refused_in_a_row < 10 and seq < 400:
            for session_id in acked:
                status = _post(server.url, _bulky(session_id, key, seq))
                statuses[status] += 1
                if status == 200:
                    acked[session_id].append(seq)
                    refused_in_a_row = 0
                else:
                    refused_in_a_row += 1
            seq += 1
        assert set(statuses) <= {200, 503}, f"only 200 or 503 while the disk is full: {statuses}"
        assert statuses[503] >= 10, f"the disk never filled: {statuses}"
        assert acked["full-a"], "some batches fit before the disk filled"

        filler.unlink()
        # Space is back: the SDK's retry of the refused batch (same seq) is taken.
        for session_id in acked:
            assert _post(server.url, _bulky(session_id, key, seq)) == 200
            acked[session_id].append(seq)
        server.kill()  # and a crash on top: recovery must cope with whatever the full disk left

        server.start()
        for session_id, seqs in acked.items():
            events = server.get_json(f"/api/v1/sessions/{session_id}/events", token)
            hrefs = {e["data"]["href"] for e in events if e["type"] == 4}  # type: ignore[index]
            got = {int(h.rsplit("/", 1)[1]) for h in hrefs}
            assert set(seqs) <= got, f"{session_id} lost acknowledged batches {sorted(set(seqs) - got)[:10]}"
            listed = server.get_json(f"/api/v1/sessions/{session_id}", token)
            assert listed["event_count"] == 2 * len(seqs)  # type: ignore[index]
    finally:
        server.stop()
    records = list(SegmentLog(small_disk / "data" / "segments").scan())  # raises on a corrupt record
    assert len(records) >= sum(len(s) for s in acked.values())


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


_INDEX_ON_A_FULL_DISK = '''
import json, os, sys, time
from pathlib import Path
from sessionstory.config import load_settings, prepare_data_dir
from sessionstory.datadir import DataDir
from sessionstory.ingest import prepare
from tests.conftest import batch, meta_event

data, close_while_full = Path(sys.argv[1]), sys.argv[2] == "close"
open_dd = lambda: DataDir(prepare_data_dir(load_settings(data, env={})))
dd = open_dd()
dd.start()
key = dd.projects.create("Shop").public_key

def store(seqs):
    for seq in seqs:
        events = [meta_event(int(time.time() * 1000), href=f"https://x.example/{seq}")]
        prepared = prepare(dd.projects, json.dumps(batch(key, "s-full", seq, events)).encode(), "", None, "t",
                           dd.settings.limits)
        dd.log.append_now(prepared.record, prepared.facts)

def events():
    return dd.index.read(lambda c: c.execute("SELECT event_count FROM sessions WHERE id = 's-full'").fetchone()[0])

store(range(5))
dd.index.flush()
filler = data.parent / "filler"
with open(filler, "wb") as f:
    try:
        while True:
            f.write(bytes(1 << 16)); f.flush()
    except OSError:
        pass
store(range(5, 105))  # durable in the log, on another disk
time.sleep(1.5)
print("stalled", dd.index.lag[0], dd.index.writing, flush=True)
if close_while_full:
    dd.close()
    filler.unlink()
    dd = open_dd()
else:
    filler.unlink()
print("events", events(), flush=True)
dd.close()
'''


@pytest.mark.parametrize("then", ["free the space", "close"])
def test_a_full_disk_under_the_index_stalls_indexing_and_loses_nothing(small_disk: Path, tmp_path: Path, then: str) -> None:
    """The log's segments on another disk, the index on a full one: DuckDB would abort the
    process on a failed WAL write; the writer waits for room instead, and catches up."""
    data = small_disk / "data"
    data.mkdir()
    (tmp_path / "segments").mkdir()
    (data / "segments").symlink_to(tmp_path / "segments")
    script = tmp_path / "index_on_a_full_disk.py"
    script.write_text(_INDEX_ON_A_FULL_DISK)
    done = subprocess.run([sys.executable, str(script), str(data), then], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).parent.parent, env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)})
    assert done.returncode == 0, done.stderr[-2000:]
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    assert lines["stalled"] == "100 True", "the writer waits, alive, with the records not yet applied"
    assert lines["events"] == "105", "every durable batch is indexed once there is room"
    assert "indexing waits for room" in done.stderr
