"""Compaction: a quiet session rewritten as one record, with nothing lost, duplicated or left behind."""

from __future__ import annotations

import copy
import msgspec
import json
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from sessionstory.config import Settings, load_settings, prepare_data_dir
from sessionstory.datadir import DataDir
from sessionstory.demo import recordings
from sessionstory.index.compaction import Unpacked, session_records
from sessionstory.ingest import prepare
from sessionstory.store import CompactedMeta, Kind, SegmentLog, batches
from sessionstory.store.compaction import pack
from tests.conftest import batch
from tests.server import Server, cli

DEMO = recordings()
T0 = 1_700_000_000_000


def _events(n: int) -> list[dict[str, Any]]:
    """A real recording of the demo page, moved to its own time and URL."""
    events = copy.deepcopy(DEMO[n % len(DEMO)])
    shift = T0 + n * 3_600_000 - events[0]["timestamp"]
    for e in events:
        e["timestamp"] += shift
        if e["type"] == 4:
            e["data"]["href"] = f"https://shop.example/page-{n}"
    return events


def _store(dd: DataDir, key: str, sid: str, n: int, parts: int = 2, events: list[dict[str, Any]] | None = None,
           **extra: Any) -> None:
    """A session (by default the demo's `n`th) in `parts` batches through the real write path,
    received an hour after it ended; `extra`: more fields of the batches (visitor_id...)."""
    events = events or _events(n)
    size = -(-len(events) // parts)
    for seq, start in enumerate(range(0, len(events), size)):
        body = json.dumps(batch(key, sid, seq, events[start : start + size], **extra)).encode()
        prepared = prepare(dd.projects, body, "", None, "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0",
                           dd.settings.limits)
        meta = msgspec.structs.replace(prepared.record.meta, received_ms=events[-1]["timestamp"])
        dd.log.append_now(msgspec.structs.replace(prepared.record, meta=meta), prepared.facts)
    dd.index.flush()


def _rows(dd: DataDir) -> list[tuple[Any, ...]]:
    dd.index.settle_all()
    return dd.index.read(lambda cur: cur.execute("SELECT * FROM sessions ORDER BY id").fetchall())


def _facts(dd: DataDir) -> dict[str, list[tuple[Any, ...]]]:
    tables = ("pages", "interactions", "errors", "console", "network", "vitals", "custom_events", "visitors")
    return {t: dd.index.read(lambda cur, t=t: cur.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()) for t in tables}


def _events_of(dd: DataDir, sid: str) -> bytes:
    from sessionstory.replay import session_events

    return session_events(dd.log, dd.index, sid)


def _open(path: Path) -> DataDir:
    return DataDir(prepare_data_dir(load_settings(path, env={})))


def _all_batches(log: SegmentLog) -> list[tuple[str, int, bytes]]:
    """Every (session, seq, events) any live record of the log holds."""
    return [(b.meta.session_id, b.meta.seq, b.events) for _, r in log.scan() for b in batches(r, log.dictionaries)]


def test_compaction_keeps_events_and_facts_and_a_reindex_agrees(
    client: TestClient, datadir: DataDir, auth: dict[str, str]  # type: ignore[type-arg]
) -> None:
    project = datadir.projects.create("Shop")
    sids = [f"s-{n}" for n in range(16)]
    for n, sid in enumerate(sids):
        _store(datadir, project.public_key, sid, n, parts=3)
    before = {sid: client.get(f"/api/v1/sessions/{sid}/events", headers=auth).content for sid in sids}
    rows, facts = _rows(datadir), _facts(datadir)

    summary = datadir.compactor.run(0)
    assert summary.sessions == 16 + 3 and summary.batches == 48 + 3, "and the Demo project's three recordings"
    assert summary.dictionaries == 1, "enough of the project's own batches to train a dictionary"
    assert summary.bytes_after < summary.bytes_before / 2
    for sid in sids:
        assert client.get(f"/api/v1/sessions/{sid}/events", headers=auth).content == before[sid]
        assert len(set(datadir.index.read(lambda cur, s=sid: session_records(cur, s)).values())) == 1
    assert _rows(datadir) == rows
    kinds = [r.kind for _, r in datadir.log.scan()]
    assert kinds.count(Kind.BATCH) == 0 and kinds.count(Kind.COMPACTED) == 19 and kinds.count(Kind.DICTIONARY) == 1

    assert datadir.compactor.run(0).sessions == 0, "nothing new to compact"
    datadir.reindex()
    assert _rows(datadir) == rows and _facts(datadir) == facts
    for sid in sids:
        assert _events_of(datadir, sid) == before[sid]


def test_batches_after_compaction_are_merged_by_the_next_one(
    client: TestClient, datadir: DataDir, auth: dict[str, str]  # type: ignore[type-arg]
) -> None:
    project = datadir.projects.create("Shop")
    _store(datadir, project.public_key, "late", 0)
    datadir.compactor.run(0)
    extra = [{"type": 5, "timestamp": T0 + 60_000, "data": {"tag": "signup", "payload": {"plan": "pro"}}}]
    retry = client.post("/api/v1/ingest", json=batch(project.public_key, "late", 0, _events(0)[:3]))
    assert retry.status_code == 200, "a retry of a compacted batch is acknowledged"
    assert client.post("/api/v1/ingest", json=batch(project.public_key, "late", 2, extra)).status_code == 200
    before = client.get("/api/v1/sessions/late/events", headers=auth).content
    assert json.loads(before)[-1] == extra[0] and len(json.loads(before)) == len(_events(0)) + 1
    rows = _rows(datadir)

    summary = datadir.compactor.run(0)
    assert summary.sessions == 1 and summary.batches == 3
    assert client.get("/api/v1/sessions/late/events", headers=auth).content == before
    assert _rows(datadir) == rows
    held = [r.meta for _, r in datadir.log.scan() if r.kind == Kind.COMPACTED and r.meta.session_id == "late"]  # type: ignore[union-attr]
    assert len(held) == 1 and held[0].seqs == [0, 1, 2]  # type: ignore[union-attr]


def test_a_crash_between_the_append_and_the_erase_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    dd = _open(tmp_path / "data")
    key = dd.projects.create("Shop").public_key
    for n in range(3):
        _store(dd, key, f"c-{n}", n)
    before = {f"c-{n}": _events_of(dd, f"c-{n}") for n in range(3)}
    rows = _rows(dd)
    dd.close()

    # Crash 1: c-0's compacted record is durable, the index never saw it.
    log = SegmentLog(tmp_path / "data" / "segments")
    olds = [(loc, r) for loc, r in log.scan() if getattr(r.meta, "session_id", "") == "c-0"]
    log.append_now(pack([b for _, r in olds for b in batches(r, log.dictionaries)], None))
    log.close()
    dd = _open(tmp_path / "data")
    try:
        # Crash 2: c-1's compacted record is durable and indexed, its old records not yet erased.
        where = dd.index.read(lambda cur: session_records(cur, "c-1"))
        olds = sorted(set(where.values()), key=lambda loc: loc.offset)
        items = [b for r in dd.log.read_many(olds) for b in batches(r, dd.log.dictionaries)]
        dd.log.append_now(pack(items, None), Unpacked())

        for sid, events in before.items():
            assert _events_of(dd, sid) == events
        assert _rows(dd) == rows, "each (session, seq) counted once"
        dd.reindex()  # from scratch: old records and compacted ones side by side
        assert _rows(dd) == rows
        for sid, events in before.items():
            assert _events_of(dd, sid) == events

        dd.compactor.run(0)  # erases what the interrupted compactions left, compacts c-2
        held = sorted((s, q) for s, q, _ in _all_batches(dd.log))
        assert held == sorted((f"c-{n}", seq) for n in range(3) for seq in range(2)), "one copy of each batch"
        assert _rows(dd) == rows
        for sid, events in before.items():
            assert _events_of(dd, sid) == events
    finally:
        dd.close()


def test_dead_segments_are_deleted_and_accounts_survive_them(tmp_path: Path) -> None:
    dd = _open(tmp_path / "data")
    dd.log.segment_bytes = 4_000  # a segment every few batches
    try:
        project = dd.projects.create("Shop")
        dd.accounts.create_user("ann@example.com", "a long password", "admin")
        kept = dd.saved_filters.create(project.id, "errors", "has_errors=true")
        gone = dd.saved_filters.create(project.id, "old", "device=mobile")
        for n in range(8):
            _store(dd, project.public_key, f"d-{n}", n)
        dd.saved_filters.delete(gone.id)
        before = {f"d-{n}": _events_of(dd, f"d-{n}") for n in range(8)}
        rows = _rows(dd)
        segments = dd.log.segments()
        assert len(segments) >= 5

        summary = dd.compactor.run(0)
        assert summary.segments_deleted >= 3 and 1 not in dd.log.segments()
        assert summary.log_after < summary.log_before / 2
        assert dd.log.active_segment in dd.log.segments(), "never the active segment"
        for sid, events in before.items():
            assert _events_of(dd, sid) == events
        dd.reindex()
        assert _rows(dd) == rows
        assert [p.name for p in dd.projects.all()] == ["Shop"]
        assert dd.accounts.user_count() == 1
        assert [f.id for f in dd.saved_filters.for_project(project.id)] == [kept.id], "a deleted filter stays deleted"
    finally:
        dd.close()


def test_delete_after_compaction_erases_the_data_from_disk(
    client: TestClient, datadir: DataDir, auth: dict[str, str], settings: Settings  # type: ignore[type-arg]
) -> None:
    project = datadir.projects.create("Shop")
    marked = _events(1)
    marked[0]["data"]["href"] = "https://shop.example/UNIQUE-COMPACTED-MARKER"
    client.post("/api/v1/ingest", json=batch(project.public_key, "s-gone", 0, marked))
    client.post("/api/v1/ingest", json=batch(project.public_key, "s-kept", 0, _events(2)))
    kept = client.get("/api/v1/sessions/s-kept/events", headers=auth).content
    datadir.compactor.run(0)
    assert any(b"UNIQUE-COMPACTED-MARKER" in e for _, _, e in _all_batches(datadir.log))

    assert client.delete("/api/v1/sessions/s-gone", headers=auth).status_code == 204
    assert not any(b"UNIQUE-COMPACTED-MARKER" in e for _, _, e in _all_batches(datadir.log))
    assert b"s-gone" not in b"".join(p.read_bytes() for p in settings.segments_dir.iterdir())
    assert client.get("/api/v1/sessions/s-kept/events", headers=auth).content == kept


def test_cli_compact_without_a_server(tmp_path: Path) -> None:
    dd = _open(tmp_path / "data")
    key = dd.projects.create("Shop").public_key
    for n in range(3):
        _store(dd, key, f"x-{n}", n)
    before = _events_of(dd, "x-1")
    dd.close()
    out = cli(tmp_path / "data", "compact", "--idle-seconds", "0")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("compacted 3 sessions (6 batches)") and "segments deleted" in out.stdout
    dd = _open(tmp_path / "data")
    try:
        assert _events_of(dd, "x-1") == before
        assert sum(isinstance(r.meta, CompactedMeta) for _, r in dd.log.scan()) == 3
    finally:
        dd.close()


def test_cli_compact_asks_a_running_server(tmp_path: Path) -> None:
    server = Server(tmp_path / "data").start()
    try:
        token = server.token()
        demo = server.get_json("/api/v1/sessions?limit=10", token)["items"]  # type: ignore[index]
        assert len(demo) == 3, "the Demo project's recordings, received hours ago"
        before = {s["id"]: server.get_json(f"/api/v1/sessions/{s['id']}/events", token) for s in demo}
        out = cli(server.data_dir, "compact")  # default: quiet for the session timeout (30 min)
        assert out.returncode == 0, out.stderr
        assert out.stdout.startswith("compacted 3 sessions"), out.stdout
        for sid, events in before.items():
            assert server.get_json(f"/api/v1/sessions/{sid}/events", token) == events
        again = cli(server.data_dir, "compact", "--idle-seconds", "0")
        assert again.returncode == 0 and again.stdout.startswith("compacted 0 sessions")
    finally:
        server.stop()


@pytest.mark.parametrize(
    "args,message",
    [
        (["--idle-seconds", "-1"], "0 or more"),
        (["--idle-seconds", "soon"], "not a number"),
        (["--idle-seconds", "inf"], "0 or more"),
        (["--frobnicate"], "unrecognized arguments"),
    ],
)
def test_cli_compact_refuses_bad_flags(tmp_path: Path, args: list[str], message: str) -> None:
    out = cli(tmp_path / "data", "compact", *args)
    assert out.returncode == 2 and message in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


def test_a_backup_of_a_compacted_log_restores_with_its_dictionary(tmp_path: Path) -> None:
    from sessionstory import portability

    dd = _open(tmp_path / "data")
    dd.log.segment_bytes = 40_000
    try:
        key = dd.projects.create("Shop").public_key
        for n in range(16):
            _store(dd, key, f"b-{n}", n, parts=3)
        before = {f"b-{n}": _events_of(dd, f"b-{n}") for n in range(16)}
        rows = _rows(dd)
        summary = dd.compactor.run(0)
        assert summary.dictionaries == 1 and summary.segments_deleted >= 1
        dd.compactor.run(0)  # the dictionary's own segment dies too: it is carried past the records using it
        portability.backup(dd, tmp_path / "backup")
    finally:
        dd.close()
    portability.restore(tmp_path / "backup", tmp_path / "restored")
    restored = _open(tmp_path / "restored")  # a fresh index, rebuilt from the copied log alone
    try:
        assert _rows(restored) == rows
        for sid, events in before.items():
            assert _events_of(restored, sid) == events
    finally:
        restored.close()


def test_a_reindex_finds_a_dictionary_carried_past_the_records_using_it(tmp_path: Path) -> None:
    dd = _open(tmp_path / "data")
    key = dd.projects.create("Shop").public_key
    for n in range(16):
        _store(dd, key, f"r-{n}", n, parts=3)
    before = {f"r-{n}": _events_of(dd, f"r-{n}") for n in range(16)}
    rows = _rows(dd)
    assert dd.compactor.run(0).dictionaries == 1
    records = [r for _, r in dd.log.scan()]
    dd.close()
    # The same log with the dictionary last, as after its segment died and it was carried forward.
    moved = SegmentLog(tmp_path / "moved" / "segments")
    for record in sorted(records, key=lambda r: r.kind == Kind.DICTIONARY):
        moved.append_now(record)
    moved.close()
    reopened = _open(tmp_path / "moved")
    try:
        assert _rows(reopened) == rows
        for sid, events in before.items():
            assert _events_of(reopened, sid) == events
    finally:
        reopened.close()
