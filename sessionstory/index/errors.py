"""Errors grouped by fingerprint: how often, since when, whom they hit, where to watch one."""

from __future__ import annotations

import duckdb
import msgspec


class ErrorGroup(msgspec.Struct):
    fingerprint: str
    message: str
    stack: str | None
    occurrences: int
    sessions: int
    visitors: int
    first_ms: int
    last_ms: int
    example_session: str  # the latest session it happened in ...
    example_offset_ms: int  # ... and when, from that session's start (for ?t=)


def error_groups(cur: duckdb.DuckDBPyConnection, project_id: str, from_ms: int, to_ms: int,
                 limit: int = 100) -> list[ErrorGroup]:
    rows = cur.execute(
        """
        WITH grouped AS (
            SELECT fingerprint, arg_max(message, at_ms) AS message, arg_max(stack, at_ms) AS stack,
                   count(*) AS occurrences, count(DISTINCT session_id) AS sessions,
                   count(DISTINCT visitor_id) AS visitors, min(at_ms) AS first_ms, max(at_ms) AS last_ms,
                   arg_max(session_id, at_ms) AS example_session, max(at_ms) AS example_at
            FROM errors WHERE project_id = ? AND at_ms >= ? AND at_ms < ?
            GROUP BY fingerprint
        )
        SELECT g.fingerprint, g.message, g.stack, g.occurrences, g.sessions, g.visitors, g.first_ms, g.last_ms,
               g.example_session, g.example_at - s.started_ms
        FROM grouped g JOIN sessions s ON s.id = g.example_session
        ORDER BY g.sessions DESC, g.last_ms DESC
        LIMIT ?
        """,
        [project_id, from_ms, to_ms, limit],
    ).fetchall()
    return [ErrorGroup(*r) for r in rows]
