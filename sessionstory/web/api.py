"""The JSON API of CONTRACT.md: projects, sessions, events, deletion."""

from __future__ import annotations

import time

import msgspec

from litestar import Request, Response, delete, get, post
from litestar.exceptions import NotFoundException, ServiceUnavailableException, ValidationException
from litestar.params import FromPath, FromQuery, RawBody

from sessionstory.audit import fingerprint
from sessionstory.auth import User
from sessionstory.datadir import DataDir
from sessionstory.erasure import Erased
from sessionstory.index.filters import FilterError, parse_filters
from sessionstory.index.sessions import (
    CursorError,
    Moment,
    Page,
    SessionDetail,
    SessionItem,
    get_session,
    list_sessions,
    session_exists,
    session_moments,
)
from sessionstory.insights.llm import ModelUnavailable
from sessionstory.insights.search import question_to_filters
from sessionstory.insights.summary import Insight, session_insight
from sessionstory.portability import export_session
from sessionstory.projects import Project
from sessionstory.replay import session_events_page, session_opening
from sessionstory.web.threads import Encoded, blocking
from sessionstory.web.security import api_user, datadir, require_admin

MAX_LIMIT = 500


def _now_ms() -> int:
    return int(time.time() * 1000)


@get("/healthz", sync_to_thread=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/api/v1/projects")
@blocking
def projects(request: Request) -> Encoded[list[dict[str, str]]]:  # type: ignore[type-arg]
    api_user(request)
    return Encoded([_project_json(p) for p in datadir(request).projects.all()])


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationException(f"limit must be between 1 and {MAX_LIMIT}")


def _project_json(p: Project) -> dict[str, str]:
    return {"id": p.id, "name": p.name, "public_key": p.public_key}


@get("/api/v1/sessions")
@blocking
def sessions(
    request: Request,  # type: ignore[type-arg]
    project: FromQuery[str | None] = None,
    limit: FromQuery[int] = 50,
    cursor: FromQuery[str | None] = None,
    exact_total: FromQuery[bool] = False,
) -> Encoded[Page]:
    """`total` counts a text search (`url`, `q`) up to 1,000 matches (`total_exact: false` past
    that) unless `exact_total=true`; every other total is exact."""
    api_user(request)
    dd = datadir(request)
    _check_limit(limit)
    if project is None:
        project_ids = [p.id for p in dd.projects.all()]
    elif dd.projects.get(project) is None:
        raise NotFoundException(f"no project {project!r}")
    else:
        project_ids = [project]
    now = _now_ms()
    try:
        filters = parse_filters(dict(request.query_params), now)
        page = dd.index.read(lambda cur: list_sessions(cur, project_ids, filters, limit, cursor, now, exact_total))
    except (CursorError, FilterError) as exc:
        raise ValidationException(str(exc)) from None
    return Encoded(page)


@get("/api/v1/sessions/{session_id:str}")
@blocking
def session(request: Request, session_id: FromPath[str]) -> Encoded[SessionDetail]:  # type: ignore[type-arg]
    api_user(request)
    row = datadir(request).index.read(lambda cur: get_session(cur, session_id, _now_ms()))
    if row is None:
        raise NotFoundException(f"no session {session_id!r}")
    return Encoded(row)


def _require_session(dd: DataDir, session_id: str) -> None:
    if not dd.index.read(lambda cur: session_exists(cur, session_id)):
        raise NotFoundException(f"no session {session_id!r}")


@get("/api/v1/sessions/{session_id:str}/events")
@blocking
def events(
    request: Request,  # type: ignore[type-arg]
    session_id: FromPath[str],
    start: FromQuery[int | None] = None,
    count: FromQuery[int | None] = None,
    at: FromQuery[int | None] = None,
) -> Response[bytes]:
    """All events; with `start`/`count`, those of a range of batches (a player's pages); with `at`, those
    a player needs to show that moment (ms after the first event), from the last page load before it."""
    api_user(request)
    dd = datadir(request)
    _require_session(dd, session_id)
    return events_answer(dd, session_id, start, count, at)


def events_answer(dd: DataDir, session_id: str, start: int | None, count: int | None, at: int | None,
                  headers: dict[str, str] | None = None) -> Response[bytes]:
    """The events route's answer, shared with a share link's: the events, and in headers where they lie
    among the session's batches (`X-Batches` in all; for `at`, `X-First-Batch`, `X-Next-Batch` and
    `X-Session-Start`, the first event's timestamp, which the player's times count from)."""
    if at is not None:
        if start is not None or count is not None:
            raise ValidationException("at takes no start or count")
        if at < 0:
            raise ValidationException("at must be 0 or more")
        page = session_opening(dd.log, dd.index, session_id, at)
        where = {"X-First-Batch": str(page.first), "X-Next-Batch": str(page.next)}
        if page.started_ms is not None:
            where["X-Session-Start"] = str(page.started_ms)
    else:
        if (start is not None and start < 0) or (count is not None and count < 1):
            raise ValidationException("start must be 0 or more, count 1 or more")
        page = session_events_page(dd.log, dd.index, session_id, start or 0, count)
        where = {}
    return Response(page.events, media_type="application/json",
                    headers={"X-Batches": str(page.batches), **where, **(headers or {})})


class SearchResult(msgspec.Struct):
    filter: dict[str, str]
    items: list[SessionItem]
    next_cursor: str | None
    total: int
    total_exact: bool


@get("/api/v1/search")
@blocking
def search(request: Request, project: FromQuery[str], q: FromQuery[str],  # type: ignore[type-arg]
           limit: FromQuery[int] = 50) -> Encoded[SearchResult]:
    """A question in plain language, turned into the session filters and run."""
    api_user(request)
    dd = datadir(request)
    if dd.projects.get(project) is None:
        raise NotFoundException(f"no project {project!r}")
    if not q.strip() or len(q) > 500:
        raise ValidationException("q must be a question of 1 to 500 characters")
    _check_limit(limit)
    now = _now_ms()
    spec = question_to_filters(dd.index, project, q, dd.model)
    try:
        filters = parse_filters(spec, now)
    except FilterError as exc:  # the parser only writes valid values; this guards the guard
        raise ValidationException(str(exc)) from None
    page = dd.index.read(lambda cur: list_sessions(cur, [project], filters, limit, None, now))
    return Encoded(SearchResult(filter=spec, items=page.items, next_cursor=page.next_cursor, total=page.total,
                                total_exact=page.total_exact))


@get("/api/v1/sessions/{session_id:str}/insight")
@blocking
def insight(request: Request, session_id: FromPath[str]) -> Insight:  # type: ignore[type-arg]
    """The local model's summary of the session and its signals; made once, then cached."""
    api_user(request)
    dd = datadir(request)
    try:
        made = session_insight(dd.index, dd.model, session_id)
    except ModelUnavailable as exc:
        raise ServiceUnavailableException(f"insights are unavailable: {exc}") from None
    if made is None:
        raise NotFoundException(f"no session {session_id!r}")
    return made


@get("/api/v1/sessions/{session_id:str}/export")
@blocking
def export(request: Request, session_id: FromPath[str]) -> Response[bytes]:  # type: ignore[type-arg]
    """The session as a file: `sessionstory import` takes it back, any rrweb player plays its events."""
    api_user(request)
    dd = datadir(request)
    _require_session(dd, session_id)
    return Response(export_session(dd, session_id), media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="session-{_filename(session_id)}.json"'})


def _filename(session_id: str) -> str:
    return "".join(c for c in session_id if c.isalnum() or c in "-_.")[:80] or "export"


@get("/api/v1/sessions/{session_id:str}/moments")
@blocking
def moments(request: Request, session_id: FromPath[str]) -> Encoded[list[Moment]]:  # type: ignore[type-arg]
    """Clicks, inputs and frustration signals, as offsets from the session's start."""
    api_user(request)
    found = datadir(request).index.read(lambda cur: session_moments(cur, session_id))
    if found is None:
        raise NotFoundException(f"no session {session_id!r}")
    return Encoded(found)


@delete("/api/v1/sessions/{session_id:str}", status_code=204)
@blocking
def remove_session(request: Request, session_id: FromPath[str]) -> None:  # type: ignore[type-arg]
    # Any signed-in user or token, as CONTRACT.md has it from the start; erasing a person's data
    # and deleting by filter are for admins (below).
    user = api_user(request)
    dd = datadir(request)
    if not dd.erasure.delete(session_id):  # in a cluster, a tombstone first: every node drops it
        raise NotFoundException(f"no session {session_id!r}")
    dd.audit.record(user.email, "session.delete", fingerprint(session_id))


def _admin_of(request: Request, project: str | None, doing: str) -> tuple[User, DataDir, str]:  # type: ignore[type-arg]
    """The admin asking (checked first: a forged request learns nothing), for a project that exists
    (its id, given)."""
    user = api_user(request)
    require_admin(user, doing)
    dd = datadir(request)
    if project is None:
        raise ValidationException("give the project: project=ID")
    if dd.projects.get(project) is None:
        raise NotFoundException(f"no project {project!r}")
    return user, dd, project


class ErasureRequest(msgspec.Struct, forbid_unknown_fields=True):
    project: str
    visitor_id: str | None = None
    user_id: str | None = None


@post("/api/v1/erasure", status_code=200)
@blocking
def erase_person(request: Request, body: RawBody) -> Erased:  # type: ignore[type-arg]
    """Everything of one visitor or one identified user: their sessions, facts, traits and caches."""
    api_user(request)  # who asks, before what they ask is read
    try:
        data = msgspec.json.decode(body, type=ErasureRequest)
    except msgspec.DecodeError as exc:
        raise ValidationException(f"invalid erasure request: {exc}") from None
    user, dd, _ = _admin_of(request, data.project, "erase data")
    if (data.visitor_id is None) == (data.user_id is None):
        raise ValidationException("give exactly one of visitor_id and user_id")
    if data.visitor_id is not None:
        erased = dd.erasure.visitor(data.project, data.visitor_id)
        dd.audit.record(user.email, "erase.visitor", fingerprint(data.visitor_id), f"{erased.sessions} sessions")
    else:
        erased = dd.erasure.user(data.project, data.user_id or "")
        dd.audit.record(user.email, "erase.user", fingerprint(data.user_id or ""), f"{erased.sessions} sessions")
    return erased


@delete("/api/v1/sessions", status_code=200)
@blocking
def remove_matching(request: Request, project: FromQuery[str | None] = None, all: FromQuery[bool] = False) -> Erased:  # type: ignore[type-arg]  # noqa: A002
    """Every session of the project matching the filters (the list's, in the query); `all=true`
    with no filter deletes the project's every session, so an empty filter never does by mistake."""
    user, dd, project_id = _admin_of(request, project, "delete sessions")
    now = _now_ms()
    params = {k: v for k, v in request.query_params.items() if k not in ("project", "all") and v != ""}
    try:
        filters = parse_filters(params, now)
    except FilterError as exc:
        raise ValidationException(str(exc)) from None
    if not params and not all:
        raise ValidationException("give at least one filter, or all=true to delete every session of the project")
    erased = dd.erasure.matching(project_id, filters, now)
    dd.audit.record(user.email, "sessions.delete", project_id,
                    f"{erased.sessions} sessions matching {', '.join(sorted(params)) or 'everything'}")
    return erased
