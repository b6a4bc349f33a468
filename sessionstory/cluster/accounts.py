"""A cluster's account rows: ordinary Postgres tables in the catalog's database
(`SESSIONSTORY_CATALOG_URL`), shared by every node, so a sign-in, a project or a token made
through one node holds on all of them at once.

Users, projects, tokens, privacy settings, saved filters, comments, share links and
sign-ins are small, change a row at a time and are read on every request: they want a
database with primary keys and `ON CONFLICT`, which DuckLake lacks. They are reached with
psycopg 3 and a connection pool, not through DuckDB's `postgres` extension: a point lookup
costs one round trip on a pooled connection instead of DuckDB planning a scan of a remote
table (measured in docs/scaling.md). In a cluster these tables are the accounts' only home:
they are not written to the nodes' logs, which would scatter them over several disks with
no one place to rebuild them from; back the database up with the catalog.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from sessionstory.cluster.lock import ClusterLock
from sessionstory.config import ConfigError
from sessionstory.entities import RowConflict

T = TypeVar("T")

SCHEMA = "sessionstory"
# Each table's key: what an upsert conflicts on and a delete names.
KEYS = {"projects": "id", "users": "id", "tokens": "id", "saved_filters": "id", "project_privacy": "id",
        "comments": "id", "share_links": "id", "web_sessions": "id_hash"}
# Taken while the tables are created: nodes starting together would race in CREATE TABLE IF NOT EXISTS.
_SCHEMA_LOCK = 0x5E55_0001
POOL_SIZE = 8
CONNECT_TIMEOUT_S = 15.0
PING_TIMEOUT_S = 5.0

# The single node's account tables (index/schema.py), in Postgres's words.
_TABLES = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
CREATE TABLE IF NOT EXISTS {SCHEMA}.projects (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, public_key TEXT NOT NULL UNIQUE,
    origins TEXT[] NOT NULL, created_ms BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS {SCHEMA}.users (
    id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE, role TEXT NOT NULL,
    password_hash TEXT NOT NULL, created_ms BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS {SCHEMA}.tokens (
    id TEXT PRIMARY KEY, user_id TEXT NOT NULL, name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE, created_ms BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS {SCHEMA}.saved_filters (
    id TEXT PRIMARY KEY, project_id TEXT NOT NULL, name TEXT NOT NULL,
    query TEXT NOT NULL, created_ms BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS {SCHEMA}.project_privacy (
    id TEXT PRIMARY KEY, settings TEXT NOT NULL, updated_ms BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS {SCHEMA}.comments (
    id TEXT PRIMARY KEY, project_id TEXT NOT NULL, session_id TEXT NOT NULL, user_id TEXT NOT NULL,
    at_ms BIGINT NOT NULL, body TEXT NOT NULL, created_ms BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS comments_session ON {SCHEMA}.comments (session_id);
CREATE TABLE IF NOT EXISTS {SCHEMA}.share_links (
    id TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE, project_id TEXT NOT NULL,
    session_id TEXT NOT NULL, created_by TEXT NOT NULL, created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL, revoked BOOLEAN NOT NULL);
CREATE INDEX IF NOT EXISTS share_links_session ON {SCHEMA}.share_links (session_id);
CREATE TABLE IF NOT EXISTS {SCHEMA}.web_sessions (
    id_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, csrf_token TEXT NOT NULL, expires_ms BIGINT NOT NULL);
"""


class _QmarkCursor:
    """A psycopg cursor that takes the `?` placeholders the services' SQL is written with.
    (That SQL has no literal `?` or `%`: both would need escaping here.)"""

    def __init__(self, cursor: psycopg.Cursor[Any]) -> None:
        self._cursor = cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor[Any]:
        return self._cursor.execute(sql.replace("?", "%s"), params)


def open_pool(catalog_url: str) -> ConnectionPool:
    """A pool of autocommit connections to the catalog's database, its account tables made if
    absent. An unreachable database is a ConfigError within CONNECT_TIMEOUT_S."""
    pool = ConnectionPool(catalog_url, min_size=1, max_size=POOL_SIZE, open=False, name="catalog",
                          kwargs={"autocommit": True, "connect_timeout": int(CONNECT_TIMEOUT_S)},
                          configure=_search_path)
    try:
        pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
        with pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [_SCHEMA_LOCK])
            conn.execute(_TABLES)
    except (PoolTimeout, psycopg.Error) as exc:
        pool.close()
        raise ConfigError(f"catalog database: {_first_line(exc)}") from None
    return pool


def _search_path(conn: psycopg.Connection[Any]) -> None:
    conn.execute(f"SET search_path TO {SCHEMA}")


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


class SharedRows:
    """The account rows of every node, in the catalog's Postgres (entities.Rows)."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        self.lock = ClusterLock(pool)  # background work once per cluster, on the same database

    def read(self, query: Callable[[Any], T]) -> T:
        with self._pool.connection() as conn:
            return query(_QmarkCursor(conn.cursor()))

    def save(self, table: str, row: dict[str, Any], op: str = "upsert") -> None:
        key = KEYS[table]  # a KeyError is our bug, not input: only the services name tables
        if op == "delete":
            self.execute(f"DELETE FROM {table} WHERE {key} = ?", [row[key]])
            return
        columns = list(row)
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != key)
        self.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)}) "
                     f"ON CONFLICT ({key}) DO UPDATE SET {updates}", list(row.values()))

    def execute(self, sql: str, params: Sequence[Any]) -> None:
        try:
            self.read(lambda cur: cur.execute(sql, params))
        except psycopg.errors.UniqueViolation as exc:
            raise RowConflict(_first_line(exc)) from None

    def ping(self) -> None:
        """Raises unless the database answers within PING_TIMEOUT_S (cluster/health.py)."""
        with self._pool.connection(timeout=PING_TIMEOUT_S) as conn:
            conn.execute("SELECT 1")

    def close(self) -> None:
        self._pool.close()
