"""The dashboard's pages: sign-in, the session list, a session's replay, projects."""

from __future__ import annotations

import math
import secrets
import time
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import FromPath, FromQuery, QueryParameter, URLEncodedBody
from litestar.response import Redirect, Template

from sessionstory.index.filters import FilterError, SessionFilter, filter_query, parse_filters
from sessionstory.index.sessions import CursorError, count_sessions, get_session, list_sessions, neighbour_sessions, session_project
from sessionstory.demo import PROJECT_NAME as DEMO_PROJECT
from sessionstory.insights.llm import ModelUnavailable
from sessionstory.insights.search import question_to_filters
from sessionstory.insights.summary import session_insight
from sessionstory.auth import SignIn
from sessionstory.projects import Project, ProjectError
from sessionstory.privacy import LEVELS, PrivacyError, make_settings, privacy_summary
from sessionstory.throttle import SignInLimits
from sessionstory.web.headers import allow_media_from
from sessionstory.web.live import pending_live_session
from sessionstory.web.pages import admin_sign_in, chosen_project, render, require_sign_in
from sessionstory.web.threads import blocking
from sessionstory.web.security import (
    CSRF_FIELD,
    check_csrf,
    datadir,
    login_cookie,
    secure_cookies,
    session_cookie,
    signed_in,
)

PAGE_SIZE = 50


def _safe_next(target: str | None) -> str:
    """Only same-site paths: `next=https://evil.example` must not leave the dashboard."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


# -- signing in and out -------------------------------------------------------------


@get("/login", sync_to_thread=False)
def login_page(request: Request, next: FromQuery[str | None] = None) -> Template:  # type: ignore[type-arg]
    token = secrets.token_urlsafe(24)
    template = render("login.html", request, None, login_token=token, next=_safe_next(next), error=None)
    template.cookies = [_login_cookie(request, token)]
    return template


def _login_cookie(request: Request, token: str) -> Cookie:  # type: ignore[type-arg]
    return Cookie(key=login_cookie(request), value=token, httponly=True, samesite="strict",
                  secure=secure_cookies(request), path="/login", max_age=3600)


@post("/login")
@blocking
def login(request: Request, data: URLEncodedBody[dict[str, str]]) -> Response[Any]:  # type: ignore[type-arg]
    dd = datadir(request)
    expected = request.cookies.get(login_cookie(request), "")
    target = _safe_next(data.get("next"))
    if not expected or not secrets.compare_digest(expected, data.get(CSRF_FIELD, "")):
        return _login_again(request, target, "Your sign-in form expired. Please try again.", 403)
    email, address = data.get("email", ""), request.client.host if request.client else ""
    limits: SignInLimits = request.app.state.sign_in_limits
    wait = limits.retry_after(email, address)
    if wait:  # checked before the password, so guessing costs the attacker time and us no hashing
        minutes = math.ceil(wait / 60)
        page = _login_again(request, target, f"Too many failed sign-ins. Try again in {minutes} minute{'s' * (minutes > 1)}.", 429)
        page.headers["Retry-After"] = str(wait)
        return page
    user = dd.accounts.authenticate(email, data.get("password", ""))
    if user is None:
        limits.failed(email, address)
        return _login_again(request, target, "Wrong email or password.", 401)
    limits.succeeded(email)
    old = request.cookies.get(session_cookie(request))
    if old:
        dd.accounts.sign_out(old)
    sign_in = dd.accounts.sign_in(user)
    response = Redirect(target, status_code=303)
    response.cookies = [
        Cookie(key=session_cookie(request), value=sign_in.sid, httponly=True, samesite="lax",
               secure=secure_cookies(request), path="/", max_age=14 * 24 * 3600),
        Cookie(key=login_cookie(request), value="", path="/login", expires=0, secure=secure_cookies(request)),
    ]
    return response


def _login_again(request: Request, target: str, error: str, status: int) -> Template:  # type: ignore[type-arg]
    token = secrets.token_urlsafe(24)
    template = render("login.html", request, None, login_token=token, next=target, error=error)
    template.status_code = status
    template.cookies = [_login_cookie(request, token)]
    return template


@post("/logout")
@blocking
def logout(request: Request, data: URLEncodedBody[dict[str, str]]) -> Response[Any]:  # type: ignore[type-arg]
    sign_in = require_sign_in(request)
    check_csrf(request, sign_in, data.get(CSRF_FIELD))
    datadir(request).accounts.sign_out(sign_in.sid)
    response = Redirect("/login", status_code=303)
    response.cookies = [Cookie(key=session_cookie(request), value="", path="/", expires=0, secure=secure_cookies(request))]
    return response


# -- sessions -------------------------------------------------------------------------


LIVE_NOW_SIZE = 8


@get("/")
@blocking
def session_list(request: Request, project: FromQuery[str | None] = None, cursor: FromQuery[str | None] = None,  # type: ignore[type-arg]
                 total: FromQuery[str | None] = None) -> Response[Any]:
    """The list; with `total=exact`, only the exact number of matches (htmx asks for it after the
    list when a text search was counted up to the cap: "1,000+")."""
    sign_in = signed_in(request)
    if sign_in is None:
        return render("front.html", request, None)
    dd = datadir(request)
    projects, current = chosen_project(request, project)
    page, error = None, None
    now = int(time.time() * 1000)
    params = dict(request.query_params)
    try:
        filters = parse_filters(params, now)
    except FilterError as exc:
        filters, error = SessionFilter(), str(exc)
    if total == "exact" and current is not None and error is None:
        exact, _ = dd.index.read(lambda cur: count_sessions(cur, [current.id], filters, now))
        return Response(f"{exact:,}", media_type="text/html")
    if current is not None:
        try:
            page = dd.index.read(lambda cur: list_sessions(cur, [current.id], filters, PAGE_SIZE, cursor, now))
        except CursorError:
            raise NotFoundException("that page of sessions does not exist") from None
    name = "_session_rows.html" if request.headers.get("hx-request") and cursor else "sessions.html"
    saved = dd.saved_filters.for_project(current.id) if current else []
    total_label = "" if page is None else f"{page.total:,}" + ("" if page.total_exact else "+")
    return render(name, request, sign_in, projects=projects, project=current, page=page, params=params,
                  total_label=total_label, filter_query=filter_query({**params, "project": current.id if current else ""}), error=error,
                  saved=saved, onboarding=_onboarding(request, projects), asked=params.get("asked", ""))


@post("/sessions/delete")
@blocking
def delete_matching(request: Request, data: URLEncodedBody[dict[str, str]]) -> Response[Any]:  # type: ignore[type-arg]
    """An admin deletes every session the list's filters match (at least one filter: an
    unfiltered list is never deleted by mistake). Erased like a visitor's data, and audited."""
    sign_in = admin_sign_in(request, "delete sessions", data)
    params = {k: v for k, v in parse_qsl(data.get("query", "")) if v}
    _, current = chosen_project(request, params.pop("project", None))
    if current is None:
        raise NotFoundException("no project")
    if not params:
        raise ValidationException("choose filters first: an unfiltered list is not deleted from here")
    now = int(time.time() * 1000)
    try:
        filters = parse_filters(params, now)
    except FilterError as exc:
        raise ValidationException(str(exc)) from None
    dd = datadir(request)
    erased = dd.erasure.matching(current.id, filters, now)
    dd.audit.record(sign_in.user.email, "sessions.delete", current.id,
                    f"{erased.sessions} sessions matching {', '.join(sorted(params))}")
    return Redirect(f"/?project={current.id}&deleted={erased.sessions}", status_code=303)


@get("/live-now")
@blocking
def live_now(request: Request, project: FromQuery[str]) -> Template:  # type: ignore[type-arg]
    """Polled by the session list: who is on the site right now, each a link to watch them live."""
    sign_in, current = _polling(request, project)
    now = int(time.time() * 1000)
    live = parse_filters({"live": "true"}, now)
    page = datadir(request).index.read(lambda cur: list_sessions(cur, [current.id], live, LIVE_NOW_SIZE, None, now))
    return render("_live_now.html", request, sign_in, sessions=page.items, total=page.total)


def _polling(request: Request, project: str) -> tuple[SignIn, Project]:  # type: ignore[type-arg]
    """Who polls, and for which project (the signed-in user's choice when `project` is unknown)."""
    sign_in = require_sign_in(request)
    _, current = chosen_project(request, project)
    assert current is not None
    return sign_in, current


def _onboarding(request: Request, projects: list[Project]) -> dict[str, Any] | None:  # type: ignore[type-arg]
    """Until a site of the team's own has sent a session, the list opens with how to get there."""
    own = [p for p in projects if p.name != DEMO_PROJECT]
    counts = datadir(request).index.read(lambda cur: dict(cur.execute(
        "SELECT project_id, count(*) FROM sessions GROUP BY project_id").fetchall()))
    if any(counts.get(p.id) for p in own):
        return None
    target = own[-1] if own else None
    return {"project": target, "snippet": _snippet(request, target) if target else None}


def _snippet(request: Request, project: Project) -> str:  # type: ignore[type-arg]
    return f'<script src="{datadir(request).settings.base_url}/sdk.js" data-key="{project.public_key}" async></script>'


@get("/onboarding/status")
@blocking
def onboarding_status(request: Request, project: FromQuery[str]) -> Template:  # type: ignore[type-arg]
    """Polled by the welcome card: turns green once the project's first session is in."""
    sign_in, current = _polling(request, project)
    first = datadir(request).index.read(lambda cur: cur.execute(
        "SELECT id FROM sessions WHERE project_id = ? ORDER BY started_ms LIMIT 1", [current.id]).fetchone())
    return render("_onboarding_status.html", request, sign_in, project=current, first=first[0] if first else None)


@get("/ask")
@blocking
def ask(request: Request, project: FromQuery[str], q: FromQuery[str] = "") -> Response[Any]:  # type: ignore[type-arg]
    """The search box: a question becomes filters, shown in the list's form to adjust."""
    require_sign_in(request)
    _, current = chosen_project(request, project)
    assert current is not None
    dd = datadir(request)
    spec = question_to_filters(dd.index, current.id, q[:500], dd.model) if q.strip() else {}
    return Redirect(f"/?{filter_query({**spec, 'project': current.id})}&asked={quote(q[:500])}", status_code=303)


@post("/saved-filters")
@blocking
def save_filter(request: Request, data: URLEncodedBody[dict[str, str]]) -> Response[Any]:  # type: ignore[type-arg]
    sign_in = require_sign_in(request)
    check_csrf(request, sign_in, data.get(CSRF_FIELD))
    _, current = chosen_project(request, data.get("project"))
    if current is None:
        raise NotFoundException("no project")
    try:
        saved = datadir(request).saved_filters.create(current.id, data.get("name", ""), data.get("query", ""))
    except FilterError as exc:
        raise ValidationException(str(exc)) from None
    return Redirect(f"/?{saved.query}", status_code=303)


@post("/saved-filters/{filter_id:str}/delete")
@blocking
def delete_filter(request: Request, filter_id: FromPath[str], data: URLEncodedBody[dict[str, str]]) -> Response[Any]:  # type: ignore[type-arg]
    sign_in = require_sign_in(request)
    check_csrf(request, sign_in, data.get(CSRF_FIELD))
    datadir(request).saved_filters.delete(filter_id)
    return Redirect(f"/?project={data.get('project', '')}", status_code=303)


@get("/sessions/{session_id:str}")
@blocking
def session_page(
    request: Request,  # type: ignore[type-arg]
    session_id: FromPath[str],
    t: FromQuery[int | None] = None,
    live: FromQuery[bool] = False,
    from_list: Annotated[str | None, QueryParameter(name="list")] = None,
) -> Template:
    sign_in = require_sign_in(request)
    dd = datadir(request)
    row = dd.index.read(lambda cur: get_session(cur, session_id, int(time.time() * 1000)))
    if row is None and live:  # in a cluster, another node may have begun it seconds ago
        row = pending_live_session(request.app.state.live, session_id)
    if row is None:
        raise NotFoundException(f"no session {session_id!r}")
    project = dd.projects.get(row.project_id)
    # The replay shows the recorded site's images and fonts: from the sites this session visited only.
    allow_media_from(request, [*(p.url for p in row.pages), row.entry_url, *(project.origins if project else [])])
    start_ms = "" if t is None else str(max(0, t))
    return render("session.html", request, sign_in, session=row, project=project, start_ms=start_ms, live=live,
                  list_query=_list_query(from_list, row.project_id))


@get("/sessions/{session_id:str}/neighbours")
@blocking
def session_neighbours(request: Request, session_id: FromPath[str],  # type: ignore[type-arg]
                       from_list: Annotated[str | None, QueryParameter(name="list")] = None) -> Template:
    """The previous and next sessions of the list the session was opened from (`list`: that list's query), loaded
    by htmx once the player's first frame is on screen."""
    sign_in = require_sign_in(request)
    dd = datadir(request)
    now = int(time.time() * 1000)
    project_id = dd.index.read(lambda cur: session_project(cur, session_id))
    if project_id is None:
        raise NotFoundException(f"no session {session_id!r}")
    query = _list_query(from_list, project_id)
    try:
        filters = parse_filters(dict(parse_qsl(query)), now)
    except FilterError as exc:
        return render("_neighbours.html", request, sign_in, neighbours=None, problem=str(exc), list_query=query)
    found = dd.index.read(lambda cur: neighbour_sessions(cur, [project_id], filters, session_id, now))
    return render("_neighbours.html", request, sign_in, neighbours=found, problem=None, list_query=query)


def _list_query(given: str | None, project_id: str) -> str:
    """The session list a session page steps through: the list's own query (its filters and sort, as
    filter_query writes them) when it was opened from one of the same project, else all of the project's sessions."""
    params = dict(parse_qsl(given or ""))
    if params.get("project") != project_id:
        params = {}
    return filter_query({**params, "project": project_id})


@get("/sessions/{session_id:str}/insight")
@blocking
def session_insight_card(request: Request, session_id: FromPath[str]) -> Template:  # type: ignore[type-arg]
    """Loaded by htmx once the session page is up: the model may take a few seconds."""
    sign_in = require_sign_in(request)
    dd = datadir(request)
    try:
        made, problem = session_insight(dd.index, dd.model, session_id), None
    except ModelUnavailable as exc:
        made, problem = None, str(exc)
    if made is None and problem is None:
        raise NotFoundException(f"no session {session_id!r}")
    return render("_insight.html", request, sign_in, insight=made, problem=problem)


# -- projects -----------------------------------------------------------------------


@get("/projects")
@blocking
def projects_page(request: Request) -> Template:  # type: ignore[type-arg]
    sign_in = require_sign_in(request)
    return render("projects.html", request, sign_in, projects=datadir(request).projects.all(), error=None)


@post("/projects")
@blocking
def create_project(request: Request, data: URLEncodedBody[dict[str, str]]) -> Response[Any]:  # type: ignore[type-arg]
    sign_in = admin_sign_in(request, "create projects", data)
    dd = datadir(request)
    origins = [o for o in data.get("origins", "").split() if o]
    try:
        project = dd.projects.create(data.get("name", ""), origins)
    except ProjectError as exc:
        template = render("projects.html", request, sign_in, projects=dd.projects.all(), error=str(exc))
        template.status_code = 400
        return template
    dd.audit.record(sign_in.user.email, "project.create", project.id, f"{project.name} · origins: {' '.join(origins) or 'any'}")
    then = _safe_next(data.get("then")) if data.get("then") else f"/projects/{project.id}"
    return Redirect(then, status_code=303)


@get("/projects/{project_id:str}")
@blocking
def project_page(request: Request, project_id: FromPath[str]) -> Template:  # type: ignore[type-arg]
    sign_in = require_sign_in(request)
    dd = datadir(request)
    project = dd.projects.get(project_id)
    if project is None:
        raise NotFoundException(f"no project {project_id!r}")
    return render("project.html", request, sign_in, project=project, snippet=_snippet(request, project),
                  privacy=dd.projects.privacy(project.id), privacy_error=None, levels=LEVELS)


@post("/projects/{project_id:str}/privacy")
@blocking
def save_privacy(request: Request, project_id: FromPath[str], data: URLEncodedBody[dict[str, str]]) -> Response[Any]:  # type: ignore[type-arg]
    """An admin changes a project's privacy settings; audited with the whole new setting."""
    sign_in = admin_sign_in(request, "change privacy settings", data)
    dd = datadir(request)
    project = dd.projects.get(project_id)
    if project is None:
        raise NotFoundException(f"no project {project_id!r}")
    try:
        settings = make_settings(
            level=data.get("level", ""), block_selectors=data.get("block", ""), mask_selectors=data.get("mask", ""),
            ignore_selectors=data.get("ignore", ""), url_rules=data.get("urls", ""),
            honor_dnt=data.get("dnt") == "on", sample_rate=data.get("sample", "100") or "100",
            retention_days=data.get("retention", "0") or "0", truncated_ip=data.get("ip") == "on",
        )
    except PrivacyError as exc:
        template = render("project.html", request, sign_in, project=project, snippet=_snippet(request, project),
                          privacy=dd.projects.privacy(project.id), privacy_error=str(exc), levels=LEVELS)
        template.status_code = 400
        return template
    dd.projects.set_privacy(project.id, settings)
    dd.audit.record(sign_in.user.email, "project.privacy", project.id, privacy_summary(settings))
    return Redirect(f"/projects/{project.id}#privacy", status_code=303)
