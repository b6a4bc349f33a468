"""Working on a session together: comments pinned to a moment, read-only share links, and a
visitor's other tabs.

Comments and share links are account rows (`entities.Rows`): log records on a single node, so
a rebuilt index keeps them, and the catalog's Postgres in a cluster. Given only the log and the
index, they are a single node's. A share link's token is shown once, at creation; only its SHA-256 is kept.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from typing import Any

import duckdb
import msgspec

from sessionstory.entities import IndexRows, Rows
from sessionstory.index import Index
from sessionstory.store import SegmentLog

MAX_COMMENT_CHARS = 2000
MAX_COMMENTS_PER_SESSION = 500  # a wall of comments helps no one, and bounds what a page loads
HOUR_MS = 3_600_000
# What the session page offers; the API takes any lifetime up to the longest.
SHARE_LIFETIMES = {"1h": ("1 hour", HOUR_MS), "1d": ("1 day", 24 * HOUR_MS), "7d": ("7 days", 7 * 24 * HOUR_MS)}
MAX_SHARE_MS = 7 * 24 * HOUR_MS
TOKEN_BYTES = 32


def now_ms() -> int:
    return int(time.time() * 1000)


class CollabError(ValueError):
    """Input a person can fix (an empty comment, an unknown lifetime): a 400."""


class ShareGone(Exception):
    """A share link that existed but no longer opens anything: expired or revoked (410)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# -- comments -----------------------------------------------------------------------------


class Comment(msgspec.Struct, frozen=True):
    id: str
    project_id: str
    session_id: str
    user_id: str
    at_ms: int
    body: str
    created_ms: int


class CommentView(msgspec.Struct, frozen=True):
    """A comment as a reader sees it: with its author's address and whether this reader may delete it."""

    id: str
    at_ms: int
    body: str
    author: str
    created_ms: int
    can_delete: bool


def clean_comment(body: str) -> str:
    """The text kept: trimmed, control characters other than line breaks dropped, 1 to MAX_COMMENT_CHARS."""
    text = "".join(c for c in body.replace("\r\n", "\n") if c == "\n" or c.isprintable()).strip()
    if not text:
        raise CollabError("a comment needs some text")
    if len(text) > MAX_COMMENT_CHARS:
        raise CollabError(f"a comment is at most {MAX_COMMENT_CHARS} characters")
    return text


class Comments:
    def __init__(self, log: SegmentLog, index: Index, rows: Rows | None = None) -> None:
        self._rows = rows or IndexRows(log, index)

    def add(self, project_id: str, session_id: str, user_id: str, at_ms: int, body: str, duration_ms: int) -> Comment:
        if not 0 <= at_ms <= max(0, duration_ms):
            raise CollabError(f"at_ms must be between 0 and the session's length ({duration_ms} ms)")
        text = clean_comment(body)
        if self.count(session_id) >= MAX_COMMENTS_PER_SESSION:
            raise CollabError(f"a session holds at most {MAX_COMMENTS_PER_SESSION} comments")
        comment = Comment(id=uuid.uuid4().hex[:16], project_id=project_id, session_id=session_id, user_id=user_id,
                          at_ms=at_ms, body=text, created_ms=now_ms())
        self._rows.save("comments", msgspec.structs.asdict(comment))
        return comment

    def get(self, comment_id: str) -> Comment | None:
        row = self._rows.read(lambda cur: cur.execute(
            "SELECT id, project_id, session_id, user_id, at_ms, body, created_ms FROM comments WHERE id = ?",
            [comment_id]).fetchone())
        return Comment(*row) if row else None

    def count(self, session_id: str) -> int:
        row = self._rows.read(lambda cur: cur.execute(
            "SELECT count(*) FROM comments WHERE session_id = ?", [session_id]).fetchone())
        return int(row[0]) if row else 0

    def delete(self, comment_id: str) -> None:
        self._rows.save("comments", {"id": comment_id}, op="delete")

    def for_session(self, session_id: str, reader_id: str, reader_is_admin: bool) -> list[CommentView]:
        """In time order; an author who has since been deleted shows as such."""
        rows = self._rows.read(lambda cur: cur.execute(
            "SELECT c.id, c.at_ms, c.body, coalesce(u.email, 'a deleted user'), c.created_ms, c.user_id "
            "FROM comments c LEFT JOIN users u ON u.id = c.user_id "
            "WHERE c.session_id = ? ORDER BY c.at_ms, c.created_ms", [session_id]).fetchall())
        return [CommentView(id=r[0], at_ms=r[1], body=r[2], author=r[3], created_ms=r[4],
                            can_delete=reader_is_admin or r[5] == reader_id) for r in rows]


# -- share links ---------------------------------------------------------------------------


class ShareLink(msgspec.Struct, frozen=True):
    id: str
    token_hash: str
    project_id: str
    session_id: str
    created_by: str
    created_ms: int
    expires_ms: int
    revoked: bool


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def lifetime_ms(choice: str) -> int:
    """One of the page's choices (1h, 1d, 7d) in ms."""
    if choice not in SHARE_LIFETIMES:
        raise CollabError(f"expires_in must be one of {', '.join(SHARE_LIFETIMES)}")
    return SHARE_LIFETIMES[choice][1]


class ShareLinks:
    def __init__(self, log: SegmentLog, index: Index, rows: Rows | None = None) -> None:
        self._rows = rows or IndexRows(log, index)

    def create(self, project_id: str, session_id: str, user_id: str, lifetime: int,
               now: int | None = None) -> tuple[str, ShareLink]:
        """A new link and its token (the only time the token exists outside the visitor's hands)."""
        if not 0 < lifetime <= MAX_SHARE_MS:
            raise CollabError(f"a share link lives between 1 ms and {MAX_SHARE_MS // HOUR_MS // 24} days")
        created = now_ms() if now is None else now
        token = secrets.token_urlsafe(TOKEN_BYTES)
        link = ShareLink(id=uuid.uuid4().hex[:16], token_hash=token_digest(token), project_id=project_id,
                         session_id=session_id, created_by=user_id, created_ms=created,
                         expires_ms=created + lifetime, revoked=False)
        self._rows.save("share_links", msgspec.structs.asdict(link))
        return token, link

    def get(self, link_id: str) -> ShareLink | None:
        return self._one("id", link_id)

    def open(self, token: str, now: int | None = None) -> ShareLink | None:
        """The link this token opens; None for a token never issued; ShareGone once expired or revoked."""
        if not token or len(token) > 100:
            return None
        link = self._one("token_hash", token_digest(token))
        if link is None:
            return None
        if link.revoked:
            raise ShareGone("This share link was revoked.")
        if (now_ms() if now is None else now) >= link.expires_ms:
            raise ShareGone("This share link has expired.")
        return link

    def revoke(self, link: ShareLink) -> None:
        self._rows.save("share_links",
                      msgspec.structs.asdict(msgspec.structs.replace(link, revoked=True)))

    def for_session(self, session_id: str) -> list[tuple[ShareLink, str]]:
        """Every link of the session, newest first, with its creator's address."""
        rows = self._rows.read(lambda cur: cur.execute(
            f"SELECT {_LINK_COLUMNS}, coalesce(u.email, 'a deleted user') FROM share_links s "
            "LEFT JOIN users u ON u.id = s.created_by WHERE s.session_id = ? ORDER BY s.created_ms DESC",
            [session_id]).fetchall())
        return [(ShareLink(*r[:-1]), r[-1]) for r in rows]

    def _one(self, column: str, value: str) -> ShareLink | None:
        row = self._rows.read(lambda cur: cur.execute(
            f"SELECT {_LINK_COLUMNS} FROM share_links s WHERE s.{column} = ?", [value]).fetchone())
        return ShareLink(*row) if row else None


_LINK_COLUMNS = "s.id, s.token_hash, s.project_id, s.session_id, s.created_by, s.created_ms, s.expires_ms, s.revoked"


# -- tabs ----------------------------------------------------------------------------------


class Tab(msgspec.Struct, frozen=True):
    """One of the visitor's sessions open at the same time as another: each tab records its own."""

    id: str
    offset_ms: int  # when it started, in ms from the start of the session asked about (negative: before it)
    duration_ms: int
    entry_url: str
    current: bool


def forget_sessions(log: SegmentLog, index: Index, session_ids: list[str], rows: Rows | None = None) -> None:
    """Delete the comments and share links of erased sessions (a deletion record each, so a
    rebuilt index agrees). The records that created them stay in the log until compaction
    moves their segment's live records and deletes it: comments are the team's words, not the
    visitor's, but they may quote them."""

    def read(cur: Any) -> list[tuple[str, str]]:  # DuckDB's SQL and Postgres's alike
        found: list[tuple[str, str]] = cur.execute(
            "SELECT 'comments', id FROM comments WHERE session_id IN (SELECT unnest(?::VARCHAR[])) "
            "UNION ALL SELECT 'share_links', id FROM share_links WHERE session_id IN (SELECT unnest(?::VARCHAR[]))",
            [session_ids, session_ids],
        ).fetchall()
        return found

    rows = rows or IndexRows(log, index)
    for table, row_id in rows.read(read):
        rows.save(table, {"id": row_id}, op="delete")


def visitor_tabs(index: Index, session_id: str) -> list[Tab] | None:
    """The sessions of this session's visitor that overlap it in time, itself included, in the order they
    started; None for an unknown session. The SDK keeps one session per tab (sessionStorage), so a
    visitor's sessions open at once are their tabs (a tab opened by script, which starts with a copy of
    its opener's sessionStorage, is recognised by the SDK and records a session of its own)."""

    def read(cur: duckdb.DuckDBPyConnection) -> list[tuple[str, int, int, str, int]] | None:
        this = cur.execute(
            "SELECT project_id, visitor_id, started_ms, ended_ms FROM sessions WHERE id = ?", [session_id]).fetchone()
        if this is None:
            return None
        project_id, visitor_id, started, ended = this
        return cur.execute(
            "SELECT id, started_ms, ended_ms, coalesce(entry_url, ''), started_ms - ? FROM sessions "
            "WHERE project_id = ? AND visitor_id = ? AND started_ms <= ? AND ended_ms >= ? "
            "ORDER BY started_ms, id LIMIT 20", [started, project_id, visitor_id, ended, started]).fetchall()

    rows = index.read(read)
    if rows is None:
        return None
    return [Tab(id=r[0], offset_ms=r[4], duration_ms=r[2] - r[1], entry_url=r[3], current=r[0] == session_id)
            for r in rows]
