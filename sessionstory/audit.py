"""The audit log: who changed accounts, projects or data, and when.

Entries are log records like the accounts themselves, so a rebuilt index keeps them,
and nothing in the dashboard can edit or delete one.
"""

from __future__ import annotations

import hashlib
import time
import uuid

import msgspec

from sessionstory import entities
from sessionstory.index import Index
from sessionstory.store import SegmentLog

CLI = "command line"  # the actor of commands run on the server itself


def fingerprint(identifier: str) -> str:
    """What the audit keeps of erased data's id: proof of which one, for whoever has the id,
    without keeping the id itself (an erasure leaves no byte of it behind)."""
    return "sha256:" + hashlib.sha256(identifier.encode()).hexdigest()[:16]


class Entry(msgspec.Struct, frozen=True):
    id: str
    at_ms: int
    actor: str  # the signed-in user's email, or CLI
    action: str  # e.g. "user.create", "session.delete"
    target: str
    detail: str = ""


class AuditLog:
    def __init__(self, log: SegmentLog, index: Index) -> None:
        self._log, self._index = log, index

    def record(self, actor: str, action: str, target: str, detail: str = "") -> Entry:
        entry = Entry(uuid.uuid4().hex[:16], int(time.time() * 1000), actor, action, target, detail)
        entities.save(self._log, self._index, "audit", msgspec.structs.asdict(entry))
        return entry

    def recent(self, limit: int = 200, before_ms: int | None = None) -> list[Entry]:
        rows = self._index.read(lambda cur: cur.execute(
            "SELECT id, at_ms, actor, action, target, detail FROM audit WHERE at_ms < ? ORDER BY at_ms DESC, id LIMIT ?",
            [before_ms if before_ms is not None else 2**62, limit],
        ).fetchall())
        return [Entry(*row) for row in rows]
