"""Compaction on a cluster node.

Every node's index holds every session of the cluster (cluster/peers.py), so the plain
compactor would pack each session on every node at once, each erasing the records the
others are reading, and each training dictionaries whose version numbers collide across
nodes. Here a node packs the sessions whose records are all in its own segments (sets that
no two nodes share, so no lock is needed for them), and without dictionaries.

A session whose batches reached two nodes belongs to neither: the node that holds the
cluster's `compaction-split` lock and claims the round (once per compaction interval in the
cluster) packs those. A round is that far apart so that the next node to claim one has long
indexed what the last one packed (a seal time and a poll) and does not pack it again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sessionstory.compaction import EVERY_S, Compactor, Summary
from sessionstory.index import Index
from sessionstory.index import compaction as q
from sessionstory.store import SegmentLog
from sessionstory.store.compaction import Dictionary
from sessionstory.store.shipping import node_of

if TYPE_CHECKING:
    from sessionstory.cluster.lock import ClusterLock

SPLIT_ROUND = "compaction-split"


class NodeCompactor(Compactor):
    def __init__(self, log_: SegmentLog, index: Index, session_timeout_s: float, node: int) -> None:
        super().__init__(log_, index, session_timeout_s)
        self.node = node
        self.cluster_lock: ClusterLock | None = None  # set by DataDir with a catalog: split sessions too

    def _compact_all(self, sessions: list[tuple[str, str]], summary: Summary, pause_s: float) -> None:
        owners = {pair: self._owners(pair[1]) for pair in sessions}
        super()._compact_all([pair for pair, nodes in owners.items() if nodes == {self.node}], summary, pause_s)
        split = [pair for pair, nodes in owners.items() if len(nodes) > 1]
        if split and self.cluster_lock is not None:
            with self.cluster_lock.held(SPLIT_ROUND) as mine:
                # A round a little early is still this interval's: each node's passes drift.
                if mine and self.cluster_lock.claim_round(SPLIT_ROUND, EVERY_S * 0.9):
                    super()._compact_all(split, summary, pause_s)

    def _owners(self, session_id: str) -> set[int]:
        """The nodes whose segments hold the session's records (none: deleted meanwhile)."""
        where = self.index.read(lambda cur: q.session_records(cur, session_id))
        return {node_of(location.segment) for location in where.values()}

    def _dictionary(self, project_id: str, summary: Summary) -> Dictionary | None:
        return None  # versions are numbered per project, and two nodes would number theirs alike
