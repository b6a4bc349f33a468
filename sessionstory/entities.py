"""Rows of the account tables (projects, users, tokens, privacy settings, saved filters,
comments, share links, sign-ins): where they are kept and read.

On a single node the log is their source of truth and the index shows them, so a rebuilt
index keeps every account (`IndexRows`). A cluster keeps them in its catalog's Postgres
instead, shared by every node (`sessionstory.cluster.accounts.SharedRows`). The services
over them (`Accounts`, `Projects`, `SavedFilters`, `Comments`, `ShareLinks`) take either.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from sessionstory.index import Index
from sessionstory.store import EntityChange, Record, SegmentLog
from sessionstory.store.records import Kind

T = TypeVar("T")


class RowConflict(ValueError):
    """A change another change got to first (a unique email or key taken meanwhile)."""


class Rows(Protocol):
    def read(self, query: Callable[[Any], T]) -> T:
        """`query(cursor)`: the cursor's `execute(sql, params)` takes `?` placeholders and
        returns something with `fetchone()` and `fetchall()`."""
        ...

    def save(self, table: str, row: dict[str, Any], op: str = "upsert") -> None:
        """Upsert (or delete, by its key) one row, visible to the next read."""
        ...

    def execute(self, sql: str, params: Sequence[Any]) -> None:
        """A write kept nowhere else (sign-ins: a rebuilt single-node index signs people out)."""
        ...


def save(log: SegmentLog, index: Index, table: str, row: dict[str, Any], op: str = "upsert") -> None:
    """Make the change durable, then wait until the index shows it (read-your-writes)."""
    log.append_now(Record(Kind.ENTITY, EntityChange(table=table, row=row, op=op)))
    index.flush()


class IndexRows:
    """A single node's account rows: changes logged, then read from the local index."""

    def __init__(self, log: SegmentLog, index: Index) -> None:
        self._log, self._index = log, index

    def read(self, query: Callable[[Any], T]) -> T:
        return self._index.read(query)

    def save(self, table: str, row: dict[str, Any], op: str = "upsert") -> None:
        save(self._log, self._index, table, row, op)

    def execute(self, sql: str, params: Sequence[Any]) -> None:
        self._index.write(lambda con: con.execute(sql, params)).result()
