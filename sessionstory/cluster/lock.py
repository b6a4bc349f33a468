"""Background work done once per cluster: the node that holds a named Postgres advisory lock
does it, the others skip that round.

A session-level advisory lock belongs to one connection: it is released when the work ends,
and by Postgres itself when the node dies (its connection closes), so no lock outlives its
holder. The connection is held for the whole of the work.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from psycopg_pool import ConnectionPool

# When each kind of periodic work last ran in the cluster, by the catalog's clock (nodes'
# clocks may differ). Unqualified: the pool's connections have the accounts' schema first.
_ROUNDS = "CREATE TABLE IF NOT EXISTS background_rounds (name TEXT PRIMARY KEY, last_run TIMESTAMPTZ NOT NULL)"
_CLAIM = """INSERT INTO background_rounds (name, last_run) VALUES (%s, now())
ON CONFLICT (name) DO UPDATE SET last_run = now()
WHERE background_rounds.last_run < now() - make_interval(secs => %s)
RETURNING name"""


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for `name` (advisory locks are numbered, not named)."""
    return int.from_bytes(hashlib.sha256(f"sessionstory/{name}".encode()).digest()[:8], "big", signed=True)


class ClusterLock:
    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    @contextmanager
    def held(self, name: str) -> Iterator[bool]:
        """`with lock.held("retention") as mine:` True if this node got it (and keeps it to the
        end of the block), False if another node holds it now."""
        key = lock_key(name)
        with self._pool.connection() as conn:
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchone()
            mine = bool(row and row[0])
            try:
                yield mine
            finally:
                if mine:
                    conn.execute("SELECT pg_advisory_unlock(%s)", [key])

    def claim_round(self, name: str, every_s: float) -> bool:
        """True (and noted in the catalog) if no node of the cluster did `name` in the last
        `every_s` seconds: hourly work then runs once an hour in the cluster, not once an hour
        per node. Call it holding `held(name)`, so a round that runs long is not overlapped."""
        with self._pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [lock_key("background_rounds")])  # CREATE races
            conn.execute(_ROUNDS)
            return conn.execute(_CLAIM, [name, every_s]).fetchone() is not None
