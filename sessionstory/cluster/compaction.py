"""Compaction on a cluster node, until one node does it for the cluster (an advisory lock).

Every node's index holds every session of the cluster (cluster/peers.py), so the plain
compactor would pack each session on every node at once, each erasing the records the
others are reading, and each training dictionaries whose version numbers collide across
nodes. Here a node packs only the sessions whose records are all in its own segments (a
session whose batches reached two nodes stays as it is), and without dictionaries.
"""

from __future__ import annotations

from sessionstory.compaction import Compactor, Summary
from sessionstory.index import Index
from sessionstory.index import compaction as q
from sessionstory.store import SegmentLog
from sessionstory.store.compaction import Dictionary
from sessionstory.store.shipping import node_of


class NodeCompactor(Compactor):
    def __init__(self, log_: SegmentLog, index: Index, session_timeout_s: float, node: int) -> None:
        super().__init__(log_, index, session_timeout_s)
        self.node = node

    def _compact_all(self, sessions: list[tuple[str, str]], summary: Summary, pause_s: float) -> None:
        super()._compact_all([pair for pair in sessions if self._owns(pair[1])], summary, pause_s)

    def _owns(self, session_id: str) -> bool:
        where = self.index.read(lambda cur: q.session_records(cur, session_id))
        return bool(where) and all(node_of(location.segment) == self.node for location in where.values())

    def _dictionary(self, project_id: str, summary: Summary) -> Dictionary | None:
        return None  # versions are numbered per project, and two nodes would number theirs alike
