"""Visitors and identified users, and one visitor's story across sessions."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from sessionstory.audit import fingerprint

from sessionstory.index.visitors import get_visitor, list_visitors, visitor_story
from sessionstory.web.pages import admin_sign_in, chosen_project, render, require_sign_in
from sessionstory.web.security import datadir
from sessionstory.web.threads import blocking

PAGE_SIZE = 100


@get("/visitors")
@blocking
def visitors_page(request: Request, project: FromQuery[str | None] = None,  # type: ignore[type-arg]
                  identified: FromQuery[bool] = False, q: FromQuery[str | None] = None) -> Template:
    sign_in = require_sign_in(request)
    projects, current = chosen_project(request, project)
    people = []
    if current is not None:
        people = datadir(request).index.read(
            lambda cur: list_visitors(cur, current.id, identified, PAGE_SIZE, query=(q or "").strip() or None))
    return render("visitors.html", request, sign_in, projects=projects, project=current, people=people,
                  identified=identified, q=q or "")


@get("/visitors/{visitor_id:str}")
@blocking
def visitor_page(request: Request, visitor_id: FromPath[str], project: FromQuery[str | None] = None) -> Template:  # type: ignore[type-arg]
    sign_in = require_sign_in(request)
    projects, current = chosen_project(request, project)
    if current is None:
        raise NotFoundException("no project")
    index = datadir(request).index
    person = index.read(lambda cur: get_visitor(cur, current.id, visitor_id))
    if person is None:
        raise NotFoundException(f"no visitor {visitor_id!r}")
    story = index.read(lambda cur: visitor_story(cur, current.id, visitor_id))
    return render("visitor.html", request, sign_in, projects=projects, project=current, person=person, story=story)


@post("/visitors/{visitor_id:str}/erase")
@blocking
def erase_visitor(request: Request, visitor_id: FromPath[str], data: URLEncodedBody[dict[str, str]]) -> Response[Any]:  # type: ignore[type-arg]
    """Everything of this visitor: sessions, facts, traits, caches; a late retry stores nothing."""
    sign_in = admin_sign_in(request, "erase data", data)
    _, current = chosen_project(request, data.get("project"))
    if current is None:
        raise NotFoundException("no project")
    dd = datadir(request)
    erased = dd.erasure.visitor(current.id, visitor_id)
    dd.audit.record(sign_in.user.email, "erase.visitor", fingerprint(visitor_id), f"{erased.sessions} sessions")
    return Redirect(f"/visitors?project={current.id}&erased={erased.sessions}", status_code=303)
