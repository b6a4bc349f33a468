"""What it costs a cluster node to fold a peer's late batches in seq order: sessions whose batches
a balancer without stickiness spread over node A and node B (even seqs to A, odd to B), in rounds
of `--round` batches per session (a seal time's worth at the SDK's pace: 60 s / 2 s). Each round,
B indexes its own batches at once, then A's sealed segment from the bucket, every batch of which
is below a seq B indexed: its session folds again from its first batch, read back from B's log and
its copies of A's segments. Beside it, in the same run and alternating per round, a second node B
that takes the same batches as they come (index/apply.py without a log to read back from: the code
before). Prints the peer indexer's CPU per peer record (this process's CPU over the poll: the
index writer's thread included) for both, and their ratio.

    python -m tests.cluster.peer_refold_cost [--sessions N] [--batches L] [--round R]

Not a test (timings are never pass/fail here).
"""

from __future__ import annotations

import json
import random
import tempfile
from collections.abc import Callable
from pathlib import Path

from sessionstory.cluster import peers
from sessionstory.cluster.peers import PeerIndexer, scratch_dir
from sessionstory.config import load_settings, prepare_data_dir
from sessionstory.datadir import DataDir
from sessionstory.demo import DEMO_AGENTS
from sessionstory.index.apply import apply_records
from sessionstory.ingest import prepare
from tests.cluster.harness import MotoS3, Postgres, print_table
from tests.cluster.peer_cost import costed, shipping_node
from tests.cluster.peer_order import PACE_S, _batch_events
from tests.conftest import batch


def _take(node: DataDir, key: str, sessions: int, seqs: range, parity: int) -> int:
    """The batches of each session at these seqs whose parity is the node's, appended to its log
    in time order (the sessions' batches interleaved, as a log holds them)."""
    taken = 0
    for seq in (s for s in seqs if s % 2 == parity):
        for n in range(sessions):
            start = 1_700_000_000_000 + n * 10_000_000
            events = _batch_events(random.Random(n * 100_000 + seq), start + int(seq * PACE_S * 1000), seq)
            body = json.dumps(batch(key, f"s{n}", seq, events, visitor_id=f"v{n}")).encode()
            prepared = prepare(node.projects, body, "", None, DEMO_AGENTS[n % len(DEMO_AGENTS)], node.settings.limits)
            node.log.submit(prepared.record, prepared.facts)
            taken += 1
    node.index.flush()
    return taken


def _node(work: Path, name: str, env: dict[str, str]) -> tuple[DataDir, PeerIndexer]:
    """Node B: its index writer and log, its peer indexer polled by hand, nothing shipped."""
    dd = DataDir(prepare_data_dir(load_settings(work / name, env=env)))
    dd.index.start()
    dd.log.start()
    assert dd.shipper is not None
    indexer = PeerIndexer(dd.shipper.objects, dd.shipper.node, dd.index, dd._note,  # noqa: SLF001
                          scratch_dir(work / name), poll_s=3600)
    indexer.start()  # its thread waits an hour: the polls below are the ones that index
    return dd, indexer


def _as_they_come(poll: PeerIndexer) -> float:
    """The peer indexer's CPU seconds for one poll, with late batches folded in as they come."""
    original = peers.apply_records
    peers.apply_records = lambda con, chunk, log=None, later=None: apply_records(con, chunk)  # type: ignore[assignment]
    try:
        return costed(poll.poll)[1]
    finally:
        peers.apply_records = original


def measure(sessions: int, batches: int, round: int) -> list[str]:  # noqa: A002 (the option's name)
    work = Path(tempfile.mkdtemp(prefix="peer-refold-"))
    pg, s3 = Postgres().start(), MotoS3(work).start()
    try:
        writer, env = shipping_node(work, pg, s3, "refold")
        key = writer.projects.create("Refold").public_key
        refolding, as_they_come = _node(work, "b-refold", env), _node(work, "b-as-they-come", env)
        cpu = {"refold": 0.0, "as they come": 0.0}
        peer_records = 0
        for first in range(0, batches, round):
            seqs = range(first, min(first + round, batches))
            _take(writer, key, sessions, seqs, 0)
            for dd, _ in (refolding, as_they_come):
                dd.projects.reload()
                _take(dd, key, sessions, seqs, 1)
            writer.log.roll()
            writer.shipper.wait_idle(300)  # type: ignore[union-attr]
            polls: list[tuple[str, Callable[[], float]]] = [
                ("refold", lambda: costed(refolding[1].poll)[1]), ("as they come", lambda: _as_they_come(as_they_come[1]))]
            for what, poll in polls if first // round % 2 == 0 else reversed(polls):  # sides alternate
                cpu[what] += poll()
            peer_records += len([s for s in seqs if s % 2 == 0]) * sessions
        late = refolding[1].late
        for dd, indexer in (refolding, as_they_come):
            indexer.stop()
            dd.close()
        writer.close()
        base = cpu["as they come"] * 1000 / peer_records
        return [f"| {what} | {peer_records:,} | {late:,} | {seconds * 1000 / peer_records:.3f} | "
                f"{seconds * 1000 / peer_records / base:.2f} |" for what, seconds in cpu.items()]
    finally:
        s3.stop()
        pg.stop()


def main() -> None:
    print_table(__doc__.splitlines()[0], ["node B takes A's late batches", "peer batches", "of them late", "CPU ms per peer batch",
                                          "ratio"],
                measure, sessions=200, batches=60, round=30)


if __name__ == "__main__":
    main()
