"""A project's daily or weekly digest: as a page and as JSON.

The page shows the facts at once; when the model has yet to write the paragraph, its card asks
for it (`/digest/summary`, by htmx) once the page is up, as a session's summary does."""

from __future__ import annotations

from litestar import Request, get
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import FromQuery
from litestar.response import Template

from sessionstory.insights.digest import PERIODS, Digest, project_digest, saved_funnels
from sessionstory.web.pages import chosen_project, render, require_sign_in
from sessionstory.web.security import api_user, datadir
from sessionstory.web.threads import blocking


def _digest(request: Request, project_id: str | None, period: str,  # type: ignore[type-arg]
            write_now: bool = True) -> Digest | None:
    if period not in PERIODS:
        raise ValidationException(f"period must be one of {', '.join(PERIODS)}")
    _, current = chosen_project(request, project_id)
    if current is None:
        return None
    dd = datadir(request)
    funnels = saved_funnels([(f.name, f.query) for f in dd.saved_filters.for_project(current.id)])
    return project_digest(dd.index, dd.model, current.id, period, funnels, write_now=write_now)


@get("/digest")
@blocking
def digest_page(request: Request, project: FromQuery[str | None] = None,  # type: ignore[type-arg]
                period: FromQuery[str] = "day") -> Template:
    sign_in = require_sign_in(request)
    projects, current = chosen_project(request, project)
    return render("digest.html", request, sign_in, projects=projects, project=current, period=period,
                  digest=_digest(request, project, period, write_now=False))


@get("/digest/summary")
@blocking
def digest_summary_card(request: Request, project: FromQuery[str], period: FromQuery[str] = "day") -> Template:  # type: ignore[type-arg]
    """The paragraph's card, loaded by the page when the model had yet to write it (seconds)."""
    sign_in = require_sign_in(request)
    made = _digest(request, project, period)
    if made is None:
        raise NotFoundException(f"no project {project!r}")
    return render("_digest_summary.html", request, sign_in, project_id=made.project_id, period=period, digest=made)


@get("/api/v1/digest")
@blocking
def digest_data(request: Request, project: FromQuery[str], period: FromQuery[str] = "day") -> Digest:  # type: ignore[type-arg]
    api_user(request)
    made = _digest(request, project, period)
    if made is None:
        raise NotFoundException(f"no project {project!r}")
    return made
