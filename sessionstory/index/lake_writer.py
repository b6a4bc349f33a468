"""A prototype of one node's index writer on the shared DuckLake (issue #9; not used by
the server yet): the table layout of docs/scaling.md, "The shared index on DuckLake",
small enough to prove that nodes flushing at once never conflict.

- Facts (here `pages`) are shared tables that every node appends to: appends never conflict.
- Session rows change with every batch, and DuckLake fails a delete or update if another
  transaction touched the same table meanwhile, so each node upserts (MERGE INTO) only its
  own `sessions_n{node}`; `sessions` is a view combining the parts of each session.
- Each flush appends the node's log position to `positions` in the same transaction as its
  rows, so a node's catch-up resumes exactly where its last flush ended.
"""

from __future__ import annotations

import duckdb
import msgspec

from sessionstory.store import Location

LAKE = "lake"
_SHARED = (
    """CREATE TABLE IF NOT EXISTS lake.pages (
        node INTEGER NOT NULL, project_id VARCHAR NOT NULL, session_id VARCHAR NOT NULL,
        at_ms BIGINT NOT NULL, url VARCHAR NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS lake.positions (
        node INTEGER NOT NULL, segment INTEGER NOT NULL, "offset" BIGINT NOT NULL, length INTEGER NOT NULL)""",
)
_PART_COLUMNS = "id VARCHAR NOT NULL, project_id VARCHAR NOT NULL, started_ms BIGINT NOT NULL, " \
                "ended_ms BIGINT NOT NULL, event_count BIGINT NOT NULL"


class SessionPart(msgspec.Struct, frozen=True):
    """What one node's batches of a session add up to (the whole session when one node had them all)."""

    id: str
    project_id: str
    started_ms: int
    ended_ms: int
    event_count: int


class Page(msgspec.Struct, frozen=True, array_like=True):
    project_id: str
    session_id: str
    at_ms: int
    url: str


class LakeWriter:
    """One node's writer: the only one writing `sessions_n{node}`; one transaction per flush."""

    def __init__(self, con: duckdb.DuckDBPyConnection, node: int) -> None:
        self.con = con
        self.node = node
        self.table = f"lake.sessions_n{node}"
        for statement in _SHARED:
            con.execute(statement)
        con.execute(f"CREATE TABLE IF NOT EXISTS {self.table} ({_PART_COLUMNS})")
        _replace_sessions_view(con)

    def flush(self, parts: list[SessionPart], pages: list[Page], position: Location) -> None:
        """Fold a flush into the lake: session parts merged, facts and position appended, all or nothing."""
        con = self.con
        con.execute("BEGIN")
        try:
            if parts:  # (a temp table would be a second database written in the transaction: DuckDB refuses)
                rows = ", ".join("(?, ?, ?, ?, ?)" for _ in parts)
                con.execute(f"""MERGE INTO {self.table} AS part
                    USING (SELECT * FROM (VALUES {rows}) v(id, project_id, started_ms, ended_ms, event_count)) AS new
                    ON part.id = new.id
                    WHEN MATCHED THEN UPDATE SET started_ms = least(part.started_ms, new.started_ms),
                        ended_ms = greatest(part.ended_ms, new.ended_ms),
                        event_count = part.event_count + new.event_count
                    WHEN NOT MATCHED THEN INSERT VALUES (new.id, new.project_id, new.started_ms, new.ended_ms,
                                                         new.event_count)""",
                            [value for part in parts for value in msgspec.structs.astuple(part)])
            if pages:
                con.executemany("INSERT INTO lake.pages VALUES (?, ?, ?, ?, ?)",
                                [(self.node, *msgspec.structs.astuple(page)) for page in pages])
            con.execute("INSERT INTO lake.positions VALUES (?, ?, ?, ?)",
                        [self.node, position.segment, position.offset, position.length])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def position(self) -> Location | None:
        """The end of this node's log that the lake has applied: where catch-up starts."""
        row = self.con.execute("""SELECT segment, "offset", length FROM lake.positions WHERE node = ?
                                  ORDER BY segment DESC, "offset" DESC LIMIT 1""", [self.node]).fetchone()
        return Location(*row) if row else None


def _replace_sessions_view(con: duckdb.DuckDBPyConnection) -> None:
    """`lake.sessions`: every node's parts of a session combined into one row."""
    tables = [name for (name,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND regexp_full_match(table_name, "
        "'sessions_n[0-9]+') ORDER BY table_name", [LAKE]).fetchall()]
    union = " UNION ALL ".join(f"SELECT * FROM lake.{name}" for name in tables)
    con.execute(f"""CREATE OR REPLACE VIEW lake.sessions AS
        SELECT id, project_id, min(started_ms) AS started_ms, max(ended_ms) AS ended_ms,
               sum(event_count) AS event_count, count(*) AS parts
        FROM ({union}) GROUP BY id, project_id""")
