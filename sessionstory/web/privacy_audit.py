"""The privacy audit page (admins): run the audit of a project in the background and show its
report when done (htmx polls the status), and start a retroactive redaction from there.

Both run in a thread of their own (`pii_audit.scan`, `redaction.redact`), one job per project at
a time; the last job of each project is kept in memory only (its report holds masked examples,
never a whole value, and is never written anywhere).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from sessionstory import pii_audit, redaction
from sessionstory.auth import SignIn
from sessionstory.datadir import DataDir
from sessionstory.privacy import LEVELS
from sessionstory.web.pages import admin_sign_in, render
from sessionstory.web.security import datadir
from sessionstory.web.threads import blocking

POLL = "every 1s"


class Job(msgspec.Struct):
    kind: str  # "audit" or "redact"
    project_id: str
    actor: str
    started_ms: int
    patterns: int = 0
    state: str = "running"  # running, done, failed
    percent: int = 0
    found: int = 0
    report: pii_audit.Report | None = None
    redacted: redaction.Redacted | None = None
    error: str = ""


class Jobs:
    """The last job of each project, run in a thread."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def get(self, project_id: str) -> Job | None:
        return self._jobs.get(project_id)

    def start(self, dd: DataDir, kind: str, project_id: str, actor: str, patterns: list[str], level: str | None) -> Job | str:
        """The job started, or why not."""
        try:
            pii_audit.compile_patterns(patterns)
        except pii_audit.AuditError as exc:
            return str(exc)
        with self._lock:
            running = self._jobs.get(project_id)
            if running is not None and running.state == "running":
                return f"a {'redaction' if running.kind == 'redact' else 'scan'} of this project is running already"
            job = self._jobs[project_id] = Job(kind, project_id, actor, int(time.time() * 1000), len(patterns))
        threading.Thread(target=self._run, args=(dd, job, patterns, level), name=f"privacy-{kind}", daemon=True).start()
        return job

    def _run(self, dd: DataDir, job: Job, patterns: list[str], level: str | None) -> None:
        try:
            if job.kind == "audit":
                def progress(p: pii_audit.Progress) -> None:
                    job.percent, job.found = p.percent, p.found

                names = {p.id: p.name for p in dd.projects.all()}
                job.report = pii_audit.scan(dd.log, names, job.project_id, patterns, progress)
            else:
                def counted(done: int, total: int) -> None:
                    job.percent = int(100 * done / total) if total else 100

                job.redacted = redaction.redact(dd, job.project_id, level, patterns, actor=job.actor, progress=counted)
            job.percent, job.state = 100, "done"
        except Exception as exc:  # shown on the page; the log is the truth and a rerun resumes
            job.error, job.state = str(exc) or type(exc).__name__, "failed"


def jobs(request: Request) -> Jobs:  # type: ignore[type-arg]
    state = request.app.state
    with _created:
        if not hasattr(state, "privacy_jobs"):
            state.privacy_jobs = Jobs()
    return state.privacy_jobs  # type: ignore[no-any-return]


_created = threading.Lock()


def _admin(request: Request, data: dict[str, str] | None = None) -> SignIn:  # type: ignore[type-arg]
    return admin_sign_in(request, "audit and redact stored data", data)


def _project(dd: DataDir, project_id: str | None) -> Any:
    projects = dd.projects.all()
    if not project_id:
        return projects[0] if projects else None
    project = dd.projects.get(project_id)
    if project is None:
        raise NotFoundException(f"no project {project_id!r}")
    return project


def _patterns(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _page(request: Request, sign_in: SignIn, project_id: str | None, status: int = 200, error: str | None = None  # type: ignore[type-arg]
          ) -> Template:
    dd = datadir(request)
    project = _project(dd, project_id)
    job = jobs(request).get(project.id) if project else None
    page = render("privacy_audit.html", request, sign_in, projects=dd.projects.all(), project=project, job=job,
                  level=dd.projects.privacy(project.id).level if project else "", levels=LEVELS, error=error, poll=POLL)
    page.status_code = status
    return page


@get("/privacy-audit")
@blocking
def privacy_audit_page(request: Request, project: FromQuery[str | None] = None) -> Template:  # type: ignore[type-arg]
    return _page(request, _admin(request), project)


@get("/privacy-audit/status")
@blocking
def privacy_audit_status(request: Request, project: FromQuery[str]) -> Template:  # type: ignore[type-arg]
    sign_in = _admin(request)
    found = _project(datadir(request), project)
    return render("_privacy_audit_status.html", request, sign_in, project=found, job=jobs(request).get(found.id), poll=POLL)


def _start(request: Request, data: dict[str, str], kind: str) -> Response[Any]:  # type: ignore[type-arg]
    sign_in = _admin(request, data)
    dd = datadir(request)
    project = _project(dd, data.get("project") or "-")
    level = data.get("level") or None
    if kind == "redact":
        if level not in (None, *LEVELS):
            return _page(request, sign_in, project.id, 400, "level must be one of " + ", ".join(LEVELS))
        if data.get("confirm") != "yes":
            return _page(request, sign_in, project.id, 400, "tick the box to confirm: a redaction rewrites stored sessions for good")
    started = jobs(request).start(dd, kind, project.id, sign_in.user.email, _patterns(data.get("patterns", "")), level)
    if isinstance(started, str):
        return _page(request, sign_in, project.id, 400, started)
    return Redirect(f"/privacy-audit?project={project.id}", status_code=303)


@post("/privacy-audit")
@blocking
def start_privacy_audit(request: Request, data: URLEncodedBody[dict[str, str]]) -> Response[Any]:  # type: ignore[type-arg]
    return _start(request, data, "audit")


@post("/privacy-audit/redact")
@blocking
def start_redaction(request: Request, data: URLEncodedBody[dict[str, str]]) -> Response[Any]:  # type: ignore[type-arg]
    return _start(request, data, "redact")


ROUTES = [privacy_audit_page, privacy_audit_status, start_privacy_audit, start_redaction]
