"""The SQL behind a project's digest that no dashboard page already holds: the sessions
that are evidence of a friction point, and a stamp of the data a digest was made from."""

from __future__ import annotations

import duckdb

EVIDENCE = 3  # session ids named per friction point


def data_stamp(cur: duckdb.DuckDBPyConnection, project_id: str, from_ms: int, to_ms: int) -> int:
    """Changes whenever a session of the period is added or grows: a cached digest's key."""
    row = cur.execute(
        "SELECT count(*) + coalesce(sum(event_count), 0) FROM sessions "
        "WHERE project_id = ? AND started_ms >= ? AND started_ms < ?",
        [project_id, from_ms, to_ms],
    ).fetchone()
    return int(row[0]) if row else 0


def sessions_with_clicks(cur: duckdb.DuckDBPyConnection, project_id: str, url: str, from_ms: int, to_ms: int,
                         limit: int = EVIDENCE) -> list[str]:
    """The sessions with the most rage and dead clicks on one page."""
    rows = cur.execute(
        """SELECT session_id FROM interactions
           WHERE project_id = ? AND url = ? AND at_ms >= ? AND at_ms < ? AND kind IN ('rage_click', 'dead_click')
           GROUP BY session_id ORDER BY count(*) DESC, session_id LIMIT ?""",
        [project_id, url, from_ms, to_ms, limit],
    ).fetchall()
    return [r[0] for r in rows]


def sessions_with_error(cur: duckdb.DuckDBPyConnection, project_id: str, fingerprint: str, from_ms: int, to_ms: int,
                        limit: int = EVIDENCE) -> list[str]:
    """The latest sessions that had one error (by fingerprint)."""
    rows = cur.execute(
        """SELECT session_id FROM errors WHERE project_id = ? AND fingerprint = ? AND at_ms >= ? AND at_ms < ?
           GROUP BY session_id ORDER BY max(at_ms) DESC, session_id LIMIT ?""",
        [project_id, fingerprint, from_ms, to_ms, limit],
    ).fetchall()
    return [r[0] for r in rows]


def slowest_sessions(cur: duckdb.DuckDBPyConnection, project_id: str, url: str, from_ms: int, to_ms: int,
                     limit: int = EVIDENCE) -> list[str]:
    """The sessions with the worst LCP on one page."""
    rows = cur.execute(
        """SELECT session_id FROM vitals
           WHERE project_id = ? AND url = ? AND at_ms >= ? AND at_ms < ? AND name = 'LCP'
           GROUP BY session_id ORDER BY max(value) DESC, session_id LIMIT ?""",
        [project_id, url, from_ms, to_ms, limit],
    ).fetchall()
    return [r[0] for r in rows]
