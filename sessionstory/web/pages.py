"""What every dashboard page shares: the signed-in user, rendering, the chosen project
and date range."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import msgspec
from litestar import Request, Response
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template

from sessionstory.auth import SignIn
from sessionstory.projects import Project
from sessionstory.web.security import CSRF_FIELD, check_csrf, datadir, require_admin, signed_in

DAY_MS = 86_400_000
RANGES = {"24h": ("Last 24 hours", 1), "7d": ("Last 7 days", 7), "30d": ("Last 30 days", 30), "90d": ("Last 90 days", 90)}
DEFAULT_RANGE = "7d"


class SignInRequired(Exception):
    """Raised by a page that needs a signed-in user; answered with a redirect to /login."""


def require_sign_in(request: Request) -> SignIn:  # type: ignore[type-arg]
    sign_in = signed_in(request)
    if sign_in is None:
        raise SignInRequired
    return sign_in


def admin_sign_in(request: Request, doing: str, form: dict[str, str] | None = None) -> SignIn:  # type: ignore[type-arg]
    """The signed-in admin (403 for a member); with `form` (a POST), its CSRF token checked first."""
    sign_in = require_sign_in(request)
    if form is not None:
        check_csrf(request, sign_in, form.get(CSRF_FIELD))
    require_admin(sign_in.user, doing)
    return sign_in


def to_login(request: Request, exc: SignInRequired) -> Response[Any]:  # type: ignore[type-arg]
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.headers.get("hx-request"):
        return Response(None, status_code=204, headers={"HX-Redirect": f"/login?next={quote(target)}"})
    return Redirect(f"/login?next={quote(target)}", status_code=303)


def render(name: str, request: Request, sign_in: SignIn | None, **context: Any) -> Template:  # type: ignore[type-arg]
    return Template(
        template_name=name,
        context={"sign_in": sign_in, "csrf_field": CSRF_FIELD, "path": request.url.path,
                 "ranges": RANGES, **context},
    )


def chosen_project(request: Request, project_id: str | None) -> tuple[list[Project], Project | None]:  # type: ignore[type-arg]
    """Every project, and the one asked for (or the first); an unknown id is a 404."""
    projects = datadir(request).projects.all()
    if project_id:
        current = next((p for p in projects if p.id == project_id), None)
        if current is None:
            raise NotFoundException(f"no project {project_id!r}")
        return projects, current
    return projects, projects[0] if projects else None


class TimeRange(msgspec.Struct, frozen=True):
    key: str
    label: str
    from_ms: int
    to_ms: int


def time_range(key: str | None) -> TimeRange:
    key = key if key in RANGES else DEFAULT_RANGE
    label, days = RANGES[key]
    now = int(time.time() * 1000)
    return TimeRange(key=key, label=label, from_ms=now - days * DAY_MS, to_ms=now + 60_000)
