"""Rows of the account tables (projects, users, tokens): written to the log, then indexed.

The log is the source of truth for these too, so a rebuilt index keeps every account.
"""

from __future__ import annotations

from typing import Any

from sessionstory.index import Index
from sessionstory.store import EntityChange, Record, SegmentLog
from sessionstory.store.records import Kind


def save(log: SegmentLog, index: Index, table: str, row: dict[str, Any], op: str = "upsert") -> None:
    """Make the change durable, then wait until the index shows it (read-your-writes)."""
    log.append_now(Record(Kind.ENTITY, EntityChange(table=table, row=row, op=op)))
    index.flush()
