"""Visitors and identified users, and one visitor's story across sessions."""

from __future__ import annotations

from litestar import Request, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from sessionstory.index.visitors import get_visitor, list_visitors, visitor_story
from sessionstory.web.pages import chosen_project, render, require_sign_in
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
