"""The segment log: durable appends, reads, scans, torn tails and erasure."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest

from sessionstory.config import ConfigError, load_settings
from sessionstory.datadir import DataDir
from sessionstory.store import BatchMeta, EntityChange, Location, Record, SegmentLog
from sessionstory.store.records import Kind
from sessionstory.store.segments import erased_copy

T = TypeVar("T")


def _batch(seq: int, body: bytes = b"x" * 100) -> Record:
    return Record(Kind.BATCH, BatchMeta("p", "s", seq, 0, "v"), body)


def test_append_then_read_back(tmp_path: Path) -> None:
    log = SegmentLog(tmp_path)
    loc = log.append_now(_batch(0, b"hello"))
    entity = log.append_now(Record(Kind.ENTITY, EntityChange("projects", {"id": "p1"})))
    assert log.read(loc).body == b"hello"
    assert log.read(entity).meta == EntityChange("projects", {"id": "p1"})
    assert [rec.meta.seq for _, rec in log.scan() if isinstance(rec.meta, BatchMeta)] == [0]


def test_group_commit_serves_concurrent_writers(tmp_path: Path) -> None:
    log = SegmentLog(tmp_path)
    committed: list[int] = []
    log.on_commit(lambda group: committed.append(len(group)))
    log.start()
    futures = []
    threads = [threading.Thread(target=lambda i=i: futures.append(log.submit(_batch(i)))) for i in range(200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    locations = [f.result(timeout=10) for f in futures]
    log.close()
    assert len(set(locations)) == 200
    assert sum(committed) == 200
    assert len(committed) < 200, "some writers should have shared an fsync"


def _run_in_a_fresh_thread(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """`asyncio.run` on a thread of its own: in the whole suite this thread may already run a
    loop (Playwright's sync API keeps one while a session-scoped browser lives)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


def test_an_event_loops_appends_are_settled_on_it_once_per_group(tmp_path: Path) -> None:
    log = SegmentLog(tmp_path)
    groups: list[int] = []
    log.on_commit(lambda group: groups.append(len(group)))
    log.start()
    callbacks = 0

    async def append_many() -> list[Location]:
        nonlocal callbacks
        loop = asyncio.get_running_loop()
        call_soon_threadsafe = loop.call_soon_threadsafe

        def counted(*args: Any) -> Any:
            nonlocal callbacks
            callbacks += 1
            return call_soon_threadsafe(*args)

        loop.call_soon_threadsafe = counted  # type: ignore[method-assign]
        return await asyncio.gather(*(log.append(_batch(i)) for i in range(200)))

    try:
        locations = _run_in_a_fresh_thread(append_many)
        assert len(set(locations)) == 200 and [log.read(loc).meta.seq for loc in locations] == list(range(200))
        assert callbacks == len(groups) < 200, "one hop back to the loop per fsynced group"
    finally:
        log.close()


def test_a_failed_write_fails_every_waiter_of_its_group(tmp_path: Path) -> None:
    log = SegmentLog(tmp_path)
    log.start()
    os.close(log._fd)  # the next write fails with EBADF, as a dying disk would fail it

    async def append_two() -> list[Location | BaseException]:
        return await asyncio.gather(log.append(_batch(0)), log.append(_batch(1)), return_exceptions=True)

    try:
        assert all(isinstance(outcome, OSError) for outcome in _run_in_a_fresh_thread(append_two))
    finally:
        log._fd = os.open(tmp_path / "unused", os.O_CREAT | os.O_RDWR)
        log.close()


def test_rolls_to_a_new_segment(tmp_path: Path) -> None:
    log = SegmentLog(tmp_path, segment_bytes=1000)
    for seq in range(30):
        log.append_now(_batch(seq))
    assert len(log.segments()) > 1
    assert [r.meta.seq for _, r in log.scan()] == list(range(30))  # type: ignore[union-attr]


def test_a_group_written_at_once_still_rolls_where_a_segment_fills(tmp_path: Path) -> None:
    log = SegmentLog(tmp_path, segment_bytes=1000)
    groups: list[int] = []
    log.on_commit(lambda group: groups.append(len(group)))
    futures = [log.submit(_batch(seq)) for seq in range(30)]  # queued before the committer starts: one group
    log.start()
    locations = [f.result(timeout=10) for f in futures]
    log.close()
    assert groups == [30] and len({loc.segment for loc in locations}) > 1
    assert all(loc.end <= 1000 for loc in locations)
    reopened = SegmentLog(tmp_path)
    try:
        assert [reopened.read(loc).meta.seq for loc in locations] == list(range(30))  # type: ignore[union-attr]
        assert [r.meta.seq for _, r in reopened.scan()] == list(range(30))  # type: ignore[union-attr]
    finally:
        reopened.close()


def test_torn_tail_is_cut_at_open(tmp_path: Path) -> None:
    log = SegmentLog(tmp_path)
    good = log.append_now(_batch(0))
    log.append_now(_batch(1))
    log.close()
    path = log.path(good.segment)
    os.truncate(path, path.stat().st_size - 7)  # a crash in the middle of the second record
    reopened = SegmentLog(tmp_path)
    assert [r.meta.seq for _, r in reopened.scan()] == [0]  # type: ignore[union-attr]
    after = reopened.append_now(_batch(2))
    assert after.offset == good.end
    assert [r.meta.seq for _, r in SegmentLog(tmp_path).scan()] == [0, 2]  # type: ignore[union-attr]


def test_scan_since_a_location(tmp_path: Path) -> None:
    log = SegmentLog(tmp_path)
    first = log.append_now(_batch(0))
    log.append_now(_batch(1))
    assert [r.meta.seq for _, r in log.scan(first)] == [1]  # type: ignore[union-attr]


def test_erase_removes_the_bytes(tmp_path: Path) -> None:
    log = SegmentLog(tmp_path)
    secret = log.append_now(_batch(0, b"TOP-SECRET-CONTENT"))
    log.append_now(_batch(1, b"keep me"))
    log.erase([secret])
    data = log.path(secret.segment).read_bytes()
    assert b"TOP-SECRET-CONTENT" not in data
    assert [r.meta.seq for _, r in log.scan()] == [1]  # type: ignore[union-attr]
    assert log.read_many([secret]) == [None]


def test_anerased_copy_of_a_segment_matches_erasing_it_in_place(tmp_path: Path) -> None:
    """What a node does to another node's segment object (store/shipping.py) is byte for byte
    what `erase` does to a local file."""
    log = SegmentLog(tmp_path)
    secret = log.append_now(_batch(0, b"TOP-SECRET-CONTENT"))
    log.append_now(_batch(1, b"keep me"))
    before = log.path(secret.segment).read_bytes()
    log.erase([secret])
    assert erased_copy(before, [secret]) == log.path(secret.segment).read_bytes()


def test_a_single_node_has_no_object_store(datadir: DataDir) -> None:
    assert datadir.shipper is None and datadir.log.remote is None
    assert datadir.log.active_segment == 1  # numbered as before: a cluster node numbers from its own range


@pytest.mark.parametrize("env, problem", [
    ({"SESSIONSTORY_STORE_URL": "https://bucket/prefix"}, "s3://bucket/prefix"),
    ({"SESSIONSTORY_STORE_URL": "s3://"}, "s3://bucket/prefix"),
    ({"SESSIONSTORY_STORE_URL": "s3://Bad_Bucket/x"}, "s3://bucket/prefix"),
    ({"SESSIONSTORY_STORE_SEAL_SECONDS": "soon"}, "number of seconds"),
    ({"SESSIONSTORY_STORE_SEAL_SECONDS": "0"}, "more than 0"),
])
def test_store_settings_are_checked(tmp_path: Path, env: dict[str, str], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        load_settings(tmp_path, env=env)


def test_store_settings_carry_the_aws_variables(tmp_path: Path) -> None:
    env = {"SESSIONSTORY_STORE_URL": "s3://replays/eu", "AWS_ENDPOINT_URL": "http://127.0.0.1:9000",
           "AWS_ACCESS_KEY_ID": "k", "HOME": "/root"}
    settings = load_settings(tmp_path, env=env)
    assert settings.store_url == "s3://replays/eu" and settings.store_seal_s == 60.0
    assert settings.aws_env == {"AWS_ENDPOINT_URL": "http://127.0.0.1:9000", "AWS_ACCESS_KEY_ID": "k"}
