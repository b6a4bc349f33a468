"""Real `sessionstory serve` nodes on the shared segment store."""

from __future__ import annotations

import json
import shutil
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from sessionstory.config import load_settings
from sessionstory.store import BatchMeta, SegmentLog
from sessionstory.store.objects import ObjectStore
from sessionstory.store.segments import segment_numbers, segment_path
from sessionstory.store.shipping import SEGMENTS_PER_NODE, segment_of
from tests.conftest import batch, meta_event
from tests.server import Server

BATCHES = 20


def _post(node: Server, payload: dict[str, object]) -> int:
    request = urllib.request.Request(f"{node.url}/api/v1/ingest", data=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=30) as answer:
        return int(answer.status)


def _shipped_batches(objects: ObjectStore, into: Path) -> set[tuple[str, int]]:
    """Every batch in the bucket's segment objects, read back with the log's own scanner."""
    into.mkdir()
    for item in objects.list("segments/"):
        segment_path(into, segment_of(item.key)).write_bytes(objects.read(item.key))
    return {(r.meta.session_id, r.meta.seq) for _, r in SegmentLog(into).scan() if isinstance(r.meta, BatchMeta)}


def test_a_node_killed_during_ingest_ships_every_acknowledged_batch_after_restart(
        start_node: Callable[..., Server], store_env: dict[str, str], tmp_path: Path) -> None:
    node = start_node("node-1", SESSIONSTORY_STORE_SEAL_SECONDS="1")
    key = node.project("Shop")["public_key"]
    acknowledged = set()
    for seq in range(BATCHES):
        events = [meta_event(1_700_000_000_000 + seq * 1000, href=f"https://shop.example/{seq}")]
        if _post(node, batch(key, "crashed", seq, events)) == 200:
            acknowledged.add(("crashed", seq))
    node.kill()  # no shutdown code runs: whatever was not sealed and shipped is on this disk alone
    assert len(acknowledged) == BATCHES
    assert all(segment // SEGMENTS_PER_NODE == 1 for segment in segment_numbers(node.data_dir / "segments"))

    node.start()  # the same data dir: the tail is recovered, sealed after a second, shipped
    objects = ObjectStore(store_env["SESSIONSTORY_STORE_URL"], load_settings(env=store_env).aws_env)
    deadline, attempt = time.monotonic() + 60, 0
    while not acknowledged <= (found := _shipped_batches(objects, tmp_path / f"bucket-{attempt}")):
        assert time.monotonic() < deadline, f"missing from the store: {sorted(acknowledged - found)}"
        attempt += 1
        time.sleep(0.5)
    node.stop()
    shutil.rmtree(node.data_dir)  # the node's disk is gone: the store alone has them
    assert acknowledged <= _shipped_batches(objects, tmp_path / "bucket-final")
