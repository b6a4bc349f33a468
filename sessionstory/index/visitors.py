"""Visitors and identified users, and the story of one visitor across sessions."""

from __future__ import annotations

import json

import duckdb
import msgspec

from sessionstory.index.sessions import iso


class Visitor(msgspec.Struct):
    visitor_id: str
    user_id: str | None
    traits: dict[str, object]
    first_seen: str
    last_seen: str
    sessions: int
    country: str | None
    device: str | None
    browser: str | None
    os: str | None


class StorySession(msgspec.Struct):
    id: str
    started_at: str
    duration_ms: int
    pages: list[str]
    errors: list[str]
    frustration: int
    rage_clicks: int
    dead_clicks: int


_COLUMNS = "visitor_id, user_id, traits, first_ms, last_ms, session_count, country, device, browser, os"


def _visitor(r: tuple) -> Visitor:  # type: ignore[type-arg]
    traits = json.loads(r[2]) if r[2] else {}
    return Visitor(visitor_id=r[0], user_id=r[1], traits=traits if isinstance(traits, dict) else {},
                   first_seen=iso(r[3]), last_seen=iso(r[4]), sessions=r[5], country=r[6], device=r[7],
                   browser=r[8], os=r[9])


def list_visitors(cur: duckdb.DuckDBPyConnection, project_id: str, identified_only: bool, limit: int,
                  before_ms: int | None = None, query: str | None = None) -> list[Visitor]:
    where = ["project_id = ?"]
    params: list[object] = [project_id]
    if identified_only:
        where.append("user_id IS NOT NULL")
    if before_ms is not None:
        where.append("last_ms < ?")
        params.append(before_ms)
    if query:
        where.append("(visitor_id ILIKE ? OR user_id ILIKE ? OR traits ILIKE ?)")
        params += [f"%{query}%"] * 3
    rows = cur.execute(
        f"SELECT {_COLUMNS} FROM visitors WHERE {' AND '.join(where)} ORDER BY last_ms DESC LIMIT ?",
        [*params, limit],
    ).fetchall()
    return [_visitor(r) for r in rows]


def get_visitor(cur: duckdb.DuckDBPyConnection, project_id: str, visitor_id: str) -> Visitor | None:
    row = cur.execute(f"SELECT {_COLUMNS} FROM visitors WHERE project_id = ? AND visitor_id = ?",
                      [project_id, visitor_id]).fetchone()
    return None if row is None else _visitor(row)


def visitor_story(cur: duckdb.DuckDBPyConnection, project_id: str, visitor_id: str) -> list[StorySession]:
    """Every session of the visitor, oldest first, with its pages, errors and frustration."""
    rows = cur.execute(
        """SELECT s.id, s.started_ms, s.ended_ms - s.started_ms,
                  (SELECT list(url ORDER BY at_ms) FROM pages p WHERE p.session_id = s.id),
                  (SELECT list(DISTINCT message) FROM errors e WHERE e.session_id = s.id),
                  s.rage_clicks + s.dead_clicks + s.error_clicks + s.thrashed_cursor + s.quick_backs
                    + s.excessive_scrolls, s.rage_clicks, s.dead_clicks
           FROM sessions s WHERE s.project_id = ? AND s.visitor_id = ? ORDER BY s.started_ms""",
        [project_id, visitor_id],
    ).fetchall()
    return [
        StorySession(id=r[0], started_at=iso(r[1]), duration_ms=r[2], pages=list(r[3] or []),
                     errors=list(r[4] or []), frustration=r[5], rage_clicks=r[6], dead_clicks=r[7])
        for r in rows
    ]
