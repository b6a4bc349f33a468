"""What a cluster node pays to index the sessions another node recorded (cluster/peers.py):
node A records sessions and ships its segments to moto's S3 server; node B indexes them from
the bucket. Beside it, the baseline measured in the same run: node A indexing the very same
records from its own log (a reindex, the index writer's path).

    python -m tests.cluster.peer_cost [--sessions N] [--batch-events K]

Not a test (timings are never pass/fail here): it prints records, wall time, records per
second and this process's CPU per record for both, and their ratio.
"""

from __future__ import annotations

import json
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from sessionstory.cluster.peers import PeerIndexer, scratch_dir
from sessionstory.config import load_settings, prepare_data_dir
from sessionstory.datadir import DataDir
from sessionstory.demo import DEMO_AGENTS, recordings
from sessionstory.ingest import prepare
from tests.cluster.harness import MotoS3, Postgres, print_table


def _record(node: DataDir, sessions: int, batch_events: int) -> int:
    """`sessions` copies of the demo recordings, each cut into batches of `batch_events` events,
    prepared as ingest prepares them and appended to node's log."""
    key = node.projects.create("Cost").public_key
    demos, batches = recordings(), 0
    for n in range(sessions):
        events, session_id = demos[n % len(demos)], str(uuid.uuid4())
        for seq, start in enumerate(range(0, len(events), batch_events)):
            body = json.dumps({"key": key, "session_id": session_id, "visitor_id": f"v{n}", "seq": seq,
                               "events": events[start:start + batch_events]}).encode()
            prepared = prepare(node.projects, body, "", None, DEMO_AGENTS[n % len(DEMO_AGENTS)], node.settings.limits)
            node.log.submit(prepared.record, prepared.facts)
            batches += 1
    node.index.flush()
    return batches


def costed(work: Callable[[], object]) -> tuple[float, float]:
    """Wall seconds and this process's CPU seconds of `work`."""
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def shipping_node(work: Path, pg: Postgres, s3: MotoS3, name: str) -> tuple[DataDir, dict[str, str]]:
    """Node A on a fresh bucket and catalog (`name`), its log shipped once sealed by hand; and the
    environment of its peers."""
    env = {"SESSIONSTORY_STORE_URL": f"s3://{s3.create_bucket(name)}/cluster",
           "SESSIONSTORY_STORE_SEAL_SECONDS": "3600", "SESSIONSTORY_CATALOG_URL": pg.create_database(name), **s3.env}
    writer = DataDir(prepare_data_dir(load_settings(work / "a", env=env)))
    writer.index.start()
    writer.log.start()
    writer.shipper.start(writer.log)  # type: ignore[union-attr]
    return writer, env


def measure(sessions: int, batch_events: int) -> list[str]:
    work = Path(tempfile.mkdtemp(prefix="peer-cost-"))
    pg, s3 = Postgres().start(), MotoS3(work).start()
    try:
        writer, env = shipping_node(work, pg, s3, "cost")
        batches = _record(writer, sessions, batch_events)
        writer.log.roll()
        writer.shipper.wait_idle(300)  # type: ignore[union-attr]
        own_wall, own_cpu = costed(writer.reindex)
        reader = DataDir(prepare_data_dir(load_settings(work / "b", env=env)))
        reader.index.start()  # the index writer, not the node's own peer thread
        shipper = reader.shipper
        assert shipper is not None
        peers = PeerIndexer(shipper.objects, shipper.node, reader.index, reader._note,  # noqa: SLF001
                            scratch_dir(work / "b"), poll_s=3600)
        peers.start()  # its thread waits an hour: the poll below is the one that indexes
        indexed: list[int] = []
        peer_wall, peer_cpu = costed(lambda: indexed.append(peers.poll()))
        listed = reader.index.read(lambda cur: cur.execute("SELECT count(*) FROM sessions").fetchone()[0])
        peers.stop()
        for node in (reader, writer):
            node.close()
        records = indexed[0]
        return [
            f"| node A indexes its own log (reindex) | {batches:,} batches | {own_wall:.2f} | "
            f"{batches / own_wall:,.0f} | {own_cpu * 1000 / batches:.3f} | 1.00 |",
            f"| node B indexes A's shipped segments | {records:,} records, {listed:,} sessions | {peer_wall:.2f} | "
            f"{records / peer_wall:,.0f} | {peer_cpu * 1000 / records:.3f} | "
            f"{(peer_cpu / records) / (own_cpu / batches):.2f} |",
        ]
    finally:
        s3.stop()
        pg.stop()


def main() -> None:
    print_table(__doc__.splitlines()[0], ["what", "records", "wall s", "records/s", "CPU ms per record", "CPU ratio"],
                measure, sessions=1000, batch_events=5)


if __name__ == "__main__":
    main()
