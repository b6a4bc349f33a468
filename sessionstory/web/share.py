"""What a share link opens, for anyone holding its token: one session's replay, read-only.

Every route here takes the token in its path and reads only the session that token names: there is
no session id to change, and no cookie is set or read, so the token reaches nothing else (no other
session, no API, no dashboard). An unknown token is a 404, an expired or revoked one a 410.
"""

from __future__ import annotations

import time

import msgspec
from litestar import Request, Response, get
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from sessionstory.collab import ShareGone, ShareLink
from sessionstory.datadir import DataDir
from sessionstory.events import Event
from sessionstory.index.sessions import Moment, get_session, session_exists, session_moments
from sessionstory.replay import session_events
from sessionstory.web.api import events_answer
from sessionstory.reproduce import reproduction
from sessionstory.web.headers import allow_media_from
from sessionstory.web.pages import render
from sessionstory.web.reproduce import StepItem, Steps
from sessionstory.web.security import datadir
from sessionstory.web.threads import blocking

# The page and its data are for the holder of the link only: never kept by a cache on the way.
PRIVATE = {"Cache-Control": "no-store"}
DELETED = "The session this link shared has been deleted."


class Gone(HTTPException):
    status_code = 410


def opened(dd: DataDir, token: str) -> ShareLink:
    """The link of this token, if it still opens its session; else a clear 404 or 410."""
    try:
        link = dd.share_links.open(token)
    except ShareGone as gone:
        raise Gone(gone.reason) from None
    if link is None:
        raise NotFoundException("No share link has this address. Check that it was copied whole.")
    if not dd.index.read(lambda cur: session_exists(cur, link.session_id)):
        raise NotFoundException(DELETED)
    return link


@get("/share/{token:str}")
@blocking
def share_page(request: Request, token: FromPath[str], t: FromQuery[int | None] = None) -> Template:  # type: ignore[type-arg]
    """The replay page (`?t=MS` opens it at that moment, as the player's "Copy link" gives); a link that
    opens nothing gets a page saying why (never the sign-in form)."""
    dd = datadir(request)
    try:
        link = opened(dd, token)
        row = dd.index.read(lambda cur: get_session(cur, link.session_id, int(time.time() * 1000)))
        if row is None:
            raise NotFoundException(DELETED)
    except (Gone, NotFoundException) as exc:
        return Template(template_name="share_gone.html", status_code=exc.status_code, headers=PRIVATE,
                        context={"sign_in": None, "path": "", "status": exc.status_code, "message": exc.detail})
    project = dd.projects.get(row.project_id)
    # As on the session page: the replay may load images and fonts from the sites this session visited.
    allow_media_from(request, [*(p.url for p in row.pages), row.entry_url, *(project.origins if project else [])])
    template = render("share.html", request, None, session=row, token=token, expires_ms=link.expires_ms,
                      start_ms="" if t is None else str(max(0, t)))
    template.headers.update(PRIVATE)
    return template


@get("/share/{token:str}/events")
@blocking
def share_events(request: Request, token: FromPath[str], start: FromQuery[int | None] = None,  # type: ignore[type-arg]
                 count: FromQuery[int | None] = None, at: FromQuery[int | None] = None) -> Response[bytes]:
    """The shared session's events, by range of batches or from a moment, like the API's."""
    dd = datadir(request)
    link = opened(dd, token)
    return events_answer(dd, link.session_id, start, count, at, PRIVATE)


@get("/share/{token:str}/moments")
@blocking
def share_moments(request: Request, token: FromPath[str]) -> Response[list[Moment]]:  # type: ignore[type-arg]
    dd = datadir(request)
    link = opened(dd, token)
    found = dd.index.read(lambda cur: session_moments(cur, link.session_id))
    if found is None:
        raise NotFoundException(DELETED)
    return Response(found, headers=PRIVATE)


@get("/share/{token:str}/steps")
@blocking
def share_steps(request: Request, token: FromPath[str]) -> Response[Steps]:  # type: ignore[type-arg]
    """The steps to reproduce, for the player's Steps panel (the Playwright test stays with the team)."""
    dd = datadir(request)
    link = opened(dd, token)
    events = msgspec.json.decode(session_events(dd.log, dd.index, link.session_id), type=list[Event])
    steps = [StepItem(n=s.n, at=s.at, text=s.text, kind=s.kind) for s in reproduction(events).steps]
    return Response(Steps(steps=steps), headers=PRIVATE)


ROUTES = [share_page, share_events, share_moments, share_steps]
