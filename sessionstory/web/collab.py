"""Working on a session together, for signed-in people: comments pinned to a moment, share links
(JSON for the player and scripts, an htmx card on the session page), and the visitor's other tabs.

Handlers only translate HTTP to `sessionstory.collab`; who may do what is decided here: anyone
signed in reads, comments and shares; a comment is deleted and a link revoked by its author or
an admin.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import msgspec
from litestar import Request, delete, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException, ValidationException
from litestar.params import FromPath, RawBody, URLEncodedBody
from litestar.response import Template

from sessionstory.audit import fingerprint
from sessionstory.auth import User
from sessionstory.collab import (
    MAX_SHARE_MS,
    SHARE_LIFETIMES,
    CollabError,
    CommentView,
    ShareLink,
    Tab,
    lifetime_ms,
    now_ms,
    visitor_tabs,
)
from sessionstory.datadir import DataDir
from sessionstory.index.sessions import iso
from sessionstory.web.pages import render, require_sign_in
from sessionstory.web.security import CSRF_FIELD, api_user, check_csrf, datadir
from sessionstory.web.threads import blocking


T = TypeVar("T")


class SessionRef(msgspec.Struct, frozen=True):
    id: str
    project_id: str
    duration_ms: int


def session_ref(dd: DataDir, session_id: str) -> SessionRef:
    row = dd.index.read(lambda cur: cur.execute(
        "SELECT id, project_id, ended_ms - started_ms FROM sessions WHERE id = ?", [session_id]).fetchone())
    if row is None:
        raise NotFoundException(f"no session {session_id!r}")
    return SessionRef(*row)


def _decode(body: bytes, kind: type[msgspec.Struct], what: str) -> msgspec.Struct:
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.DecodeError as exc:
        raise ValidationException(f"invalid {what}: {exc}") from None


def _changeable(user: User, found: T | None, owner_of: Callable[[T], str], what: str) -> T:
    """`found` if this user may change it (its author, or an admin); else a 404 or a 403."""
    if found is None:
        raise NotFoundException(f"no such {what}")
    if user.role != "admin" and user.id != owner_of(found):
        raise PermissionDeniedException(f"only its author or an admin may change a {what}")
    return found


# -- comments ------------------------------------------------------------------------------


class NewComment(msgspec.Struct, forbid_unknown_fields=True):
    at_ms: int
    body: str


@get("/api/v1/sessions/{session_id:str}/comments")
@blocking
def list_comments(request: Request, session_id: FromPath[str]) -> list[CommentView]:  # type: ignore[type-arg]
    """The session's comments in time order, each saying whether the asker may delete it."""
    user = api_user(request)
    dd = datadir(request)
    session_ref(dd, session_id)
    return dd.comments.for_session(session_id, user.id, user.role == "admin")


@post("/api/v1/sessions/{session_id:str}/comments", status_code=201)
@blocking
def add_comment(request: Request, session_id: FromPath[str], body: RawBody) -> CommentView:  # type: ignore[type-arg]
    """`{"at_ms": N, "body": "…"}`: a comment at N ms from the session's first event (plain text, at most
    2000 characters). A dashboard sign-in must send its CSRF token (header X-CSRF-Token)."""
    user = api_user(request)  # who asks (and the CSRF check), before what they send is read
    data = _decode(body, NewComment, "comment")
    assert isinstance(data, NewComment)
    dd = datadir(request)
    ref = session_ref(dd, session_id)
    try:
        made = dd.comments.add(ref.project_id, ref.id, user.id, data.at_ms, data.body, ref.duration_ms)
    except CollabError as exc:
        raise ValidationException(str(exc)) from None
    return CommentView(id=made.id, at_ms=made.at_ms, body=made.body, author=user.email,
                       created_ms=made.created_ms, can_delete=True)


@delete("/api/v1/comments/{comment_id:str}", status_code=204)
@blocking
def delete_comment(request: Request, comment_id: FromPath[str]) -> None:  # type: ignore[type-arg]
    user = api_user(request)
    dd = datadir(request)
    comments = dd.comments
    found = _changeable(user, comments.get(comment_id), lambda c: c.user_id, "comment")
    comments.delete(comment_id)
    if found.user_id != user.id:
        dd.audit.record(user.email, "comment.delete", fingerprint(found.session_id), f"comment {comment_id} by another user")


# -- share links: JSON ---------------------------------------------------------------------


class NewShareLink(msgspec.Struct, forbid_unknown_fields=True):
    # "1h", "1d" or "7d", as the session page offers; or a number of seconds up to 7 days.
    expires_in: str | int = "1d"


class ShareLinkInfo(msgspec.Struct):
    id: str
    session_id: str
    created_by: str
    created_at: str
    expires_at: str
    state: str  # active, expired or revoked
    url: str | None = None  # only in the answer that created it: the token is never kept


def _lifetime(expires_in: str | int) -> int:
    if isinstance(expires_in, str):
        return lifetime_ms(expires_in)
    if not 1 <= expires_in <= MAX_SHARE_MS // 1000:
        raise CollabError(f"expires_in must be 1 to {MAX_SHARE_MS // 1000} seconds")
    return expires_in * 1000


def link_state(link: ShareLink, now: int) -> str:
    return "revoked" if link.revoked else "expired" if now >= link.expires_ms else "active"


def _info(link: ShareLink, author: str, now: int, url: str | None = None) -> ShareLinkInfo:
    return ShareLinkInfo(id=link.id, session_id=link.session_id, created_by=author, created_at=iso(link.created_ms),
                         expires_at=iso(link.expires_ms), state=link_state(link, now), url=url)


def share_url(request: Request, token: str) -> str:  # type: ignore[type-arg]
    return f"{datadir(request).settings.base_url}/share/{token}"


def _create_link(request: Request, user: User, session_id: str, lifetime: int) -> tuple[str, ShareLink]:  # type: ignore[type-arg]
    dd = datadir(request)
    ref = session_ref(dd, session_id)
    token, link = dd.share_links.create(ref.project_id, ref.id, user.id, lifetime)
    dd.audit.record(user.email, "share.create", fingerprint(ref.id), f"link {link.id}, expires {iso(link.expires_ms)}")
    return token, link


def _revoke_link(request: Request, user: User, link_id: str) -> ShareLink:  # type: ignore[type-arg]
    dd = datadir(request)
    links = dd.share_links
    link = _changeable(user, links.get(link_id), lambda s: s.created_by, "share link")
    if not link.revoked:
        links.revoke(link)
        dd.audit.record(user.email, "share.revoke", fingerprint(link.session_id), f"link {link.id}")
    return link


@post("/api/v1/sessions/{session_id:str}/share-links", status_code=201)
@blocking
def create_share_link(request: Request, session_id: FromPath[str], body: RawBody) -> ShareLinkInfo:  # type: ignore[type-arg]
    """A link that opens this one session read-only, without an account, until it expires or is revoked.
    `url` is in this answer only."""
    user = api_user(request)
    data = _decode(body or b"{}", NewShareLink, "share link request")
    assert isinstance(data, NewShareLink)
    try:
        lifetime = _lifetime(data.expires_in)
    except CollabError as exc:
        raise ValidationException(str(exc)) from None
    token, link = _create_link(request, user, session_id, lifetime)
    return _info(link, user.email, now_ms(), share_url(request, token))


@get("/api/v1/sessions/{session_id:str}/share-links")
@blocking
def list_share_links(request: Request, session_id: FromPath[str]) -> list[ShareLinkInfo]:  # type: ignore[type-arg]
    api_user(request)
    dd = datadir(request)
    links = dd.share_links.for_session(session_ref(dd, session_id).id)
    now = now_ms()
    return [_info(link, author, now) for link, author in links]


@delete("/api/v1/share-links/{link_id:str}", status_code=204)
@blocking
def revoke_share_link(request: Request, link_id: FromPath[str]) -> None:  # type: ignore[type-arg]
    _revoke_link(request, api_user(request), link_id)


# -- share links: the session page's card (htmx) --------------------------------------------


def _card(request: Request, session_id: str, new_url: str | None = None) -> Template:  # type: ignore[type-arg]
    sign_in = require_sign_in(request)
    dd = datadir(request)
    session_ref(dd, session_id)
    now = now_ms()
    links = [(link, author, link_state(link, now)) for link, author in dd.share_links.for_session(session_id)]
    return render("_share_links.html", request, sign_in, session_id=session_id, links=links, new_url=new_url,
                  lifetimes=SHARE_LIFETIMES, me=sign_in.user)


@get("/sessions/{session_id:str}/share-links")
@blocking
def share_card(request: Request, session_id: FromPath[str]) -> Template:  # type: ignore[type-arg]
    """Loaded by the session page: its share links and the form that makes one."""
    return _card(request, session_id)


@post("/sessions/{session_id:str}/share-links")
@blocking
def share_from_card(request: Request, session_id: FromPath[str], data: URLEncodedBody[dict[str, str]]) -> Template:  # type: ignore[type-arg]
    sign_in = require_sign_in(request)
    check_csrf(request, sign_in, data.get(CSRF_FIELD))
    try:
        lifetime = lifetime_ms(data.get("expires_in", ""))
    except CollabError as exc:
        raise ValidationException(str(exc)) from None
    token, _ = _create_link(request, sign_in.user, session_id, lifetime)
    return _card(request, session_id, new_url=share_url(request, token))


@post("/share-links/{link_id:str}/revoke")
@blocking
def revoke_from_card(request: Request, link_id: FromPath[str], data: URLEncodedBody[dict[str, str]]) -> Template:  # type: ignore[type-arg]
    sign_in = require_sign_in(request)
    check_csrf(request, sign_in, data.get(CSRF_FIELD))
    link = _revoke_link(request, sign_in.user, link_id)
    return _card(request, link.session_id)


# -- tabs ----------------------------------------------------------------------------------


@get("/api/v1/sessions/{session_id:str}/tabs")
@blocking
def tabs(request: Request, session_id: FromPath[str]) -> list[Tab]:  # type: ignore[type-arg]
    """The visitor's sessions open at the same time as this one (their other tabs), this one included."""
    api_user(request)
    found = visitor_tabs(datadir(request).index, session_id)
    if found is None:
        raise NotFoundException(f"no session {session_id!r}")
    return found


ROUTES = [list_comments, add_comment, delete_comment, create_share_link, list_share_links, revoke_share_link,
          share_card, share_from_card, revoke_from_card, tabs]
