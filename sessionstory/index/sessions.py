"""Queries over recorded sessions: the list, one session, its records, deletion."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime

import duckdb
import msgspec

from sessionstory.store import Location

LIVE_WINDOW_MS = 60_000  # a session that sent a batch within this window counts as live


class SessionRow(msgspec.Struct):
    id: str
    project_id: str
    visitor_id: str
    user_id: str | None
    started_at: str
    ended_at: str
    duration_ms: int
    event_count: int
    page_count: int
    entry_url: str | None
    exit_url: str | None
    user_agent: str | None
    live: bool


class Page(msgspec.Struct):
    items: list[SessionRow]
    next_cursor: str | None


_COLUMNS = (
    "id, project_id, visitor_id, user_id, started_ms, ended_ms, event_count, page_count, "
    "entry_url, exit_url, user_agent, last_received_ms"
)


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _row(r: tuple, now_ms: int) -> SessionRow:  # type: ignore[type-arg]
    return SessionRow(
        id=r[0], project_id=r[1], visitor_id=r[2], user_id=r[3], started_at=iso(r[4]), ended_at=iso(r[5]),
        duration_ms=r[5] - r[4], event_count=r[6], page_count=r[7], entry_url=r[8], exit_url=r[9],
        user_agent=r[10], live=now_ms - r[11] < LIVE_WINDOW_MS,
    )


class CursorError(ValueError):
    pass


def encode_cursor(started_ms: int, session_id: str) -> str:
    return base64.urlsafe_b64encode(f"{started_ms}:{session_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, str]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        started, session_id = text.split(":", 1)
        return int(started), session_id
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise CursorError("invalid cursor") from None


def list_sessions(
    cur: duckdb.DuckDBPyConnection, project_ids: list[str], limit: int, cursor: str | None, now_ms: int
) -> Page:
    """Newest first, keyset-paginated on (started_ms, id) so page N costs what page 1 does."""
    where, params = ["project_id IN (SELECT unnest(?::VARCHAR[]))"], [project_ids]
    if cursor:
        started, session_id = decode_cursor(cursor)
        where.append("(started_ms, id) < (?, ?)")
        params += [started, session_id]
    rows = cur.execute(
        f"SELECT {_COLUMNS} FROM sessions WHERE {' AND '.join(where)} "
        "ORDER BY started_ms DESC, id DESC LIMIT ?",
        [*params, limit + 1],
    ).fetchall()
    items = [_row(r, now_ms) for r in rows[:limit]]
    next_cursor = encode_cursor(rows[limit - 1][4], rows[limit - 1][0]) if len(rows) > limit else None
    return Page(items=items, next_cursor=next_cursor)


def get_session(cur: duckdb.DuckDBPyConnection, session_id: str, now_ms: int) -> SessionRow | None:
    row = cur.execute(f"SELECT {_COLUMNS} FROM sessions WHERE id = ?", [session_id]).fetchone()
    return None if row is None else _row(row, now_ms)


def record_locations(cur: duckdb.DuckDBPyConnection, session_id: str) -> list[Location]:
    rows = cur.execute(
        'SELECT segment, "offset", length FROM records WHERE session_id = ? ORDER BY seq', [session_id]
    ).fetchall()
    return [Location(*r) for r in rows]


def delete_session(con: duckdb.DuckDBPyConnection, session_id: str) -> None:
    con.execute("BEGIN")
    con.execute("DELETE FROM records WHERE session_id = ?", [session_id])
    con.execute("DELETE FROM sessions WHERE id = ?", [session_id])
    con.execute("COMMIT")
