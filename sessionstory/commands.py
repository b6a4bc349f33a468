"""What the CLI's account and maintenance commands do, given an opened data directory.

The CLI runs these itself when no server holds the data directory, and the server runs
them for the CLI (over the admin socket) when it does: one implementation either way.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from sessionstory import portability
from sessionstory.audit import CLI
from sessionstory.auth import AuthError
from sessionstory.datadir import DataDir
from sessionstory.index.database import one_row
from sessionstory.index.sessions import session_exists
from sessionstory.projects import ProjectError


class CommandError(Exception):
    """A user mistake: the CLI prints the message on one line and exits non-zero."""


def user_create(dd: DataDir, email: str, password: str, role: str = "member") -> str:
    try:
        user = dd.accounts.create_user(email, password, role)
    except AuthError as exc:
        raise CommandError(str(exc)) from None
    dd.audit.record(CLI, "user.create", user.email, f"role {user.role}")
    return msgspec.json.encode(user).decode()


def project_create(dd: DataDir, name: str, origins: list[str] | None = None) -> str:
    try:
        project = dd.projects.create(name, origins or [])
    except ProjectError as exc:
        raise CommandError(str(exc)) from None
    dd.audit.record(CLI, "project.create", project.id, f"{project.name} · origins: {' '.join(origins or []) or 'any'}")
    return msgspec.json.encode({"id": project.id, "name": project.name, "public_key": project.public_key}).decode()


def token_create(dd: DataDir, email: str, name: str = "") -> str:
    try:
        token = dd.accounts.create_token(email, name)
    except AuthError as exc:
        raise CommandError(str(exc)) from None
    dd.audit.record(CLI, "token.create", email, name or "token")
    return token


def reindex(dd: DataDir, progress: Callable[[int], None] | None = None) -> str:
    count = dd.reindex(progress)
    return f"reindexed {count} records: {stored_sessions(dd)} sessions, {len(dd.projects.all())} projects"


def stored_sessions(dd: DataDir) -> int:
    """How many sessions the index holds (the summaries of reindex and restore)."""
    return int(dd.index.read(lambda cur: one_row(cur.execute("SELECT count(*) FROM sessions"))[0]))


def compact(dd: DataDir, idle_seconds: float | None = None) -> str:
    return dd.compactor.run(idle_seconds).text()


def import_file(dd: DataDir, text: str, project: str) -> str:
    try:
        session_id = portability.import_session(dd, text, project)
    except portability.PortabilityError as exc:
        raise CommandError(str(exc)) from None
    return msgspec.json.encode({"session_id": session_id, "project_id": project}).decode()


def export_session(dd: DataDir, session_id: str) -> str:
    if not dd.index.read(lambda cur: session_exists(cur, session_id)):
        raise CommandError(f"no session {session_id!r}")
    return portability.export_session(dd, session_id).decode()


def export_parquet(dd: DataDir, directory: str) -> str:
    files = portability.export_parquet(dd, Path(directory))
    return f"wrote {len(files)} Parquet files to {directory}"


def backup(dd: DataDir, directory: str) -> str:
    try:
        manifest = portability.backup(dd, Path(directory))
    except portability.PortabilityError as exc:
        raise CommandError(str(exc)) from None
    return f"backed up {len(manifest['segments'])} segments ({manifest['bytes']:,} bytes) to {directory}"


def demo(dd: DataDir) -> str:
    """The Demo project (made if missing) with the bundled recordings added as new sessions."""
    from sessionstory import demo as demo_data

    project = next((p for p in dd.projects.all() if p.name == demo_data.PROJECT_NAME), None)
    if project is None:
        project = dd.projects.create(demo_data.PROJECT_NAME)
        dd.audit.record(CLI, "project.create", project.id, f"{project.name} (demo)")
    added = demo_data.seed(dd, project)
    return (f"added {added} recorded sessions to the {project.name} project ({project.id}); "
            f"browse {dd.settings.base_url}/demo to record one of your own")


def audit_pii(dd: DataDir, project: str | None = None, patterns: list[str] | None = None, as_json: bool = False) -> str:
    """The privacy audit over every stored record (of one project when given)."""
    from sessionstory import pii_audit

    if project and dd.projects.get(project) is None:
        raise CommandError(f"no project {project!r}")
    names = {p.id: p.name for p in dd.projects.all()}
    try:
        report = pii_audit.scan(dd.log, names, project or None, patterns or [])
    except pii_audit.AuditError as exc:
        raise CommandError(str(exc)) from None
    return msgspec.json.encode(report).decode() if as_json else report.text()


def redact(dd: DataDir, project: str, level: str | None = None, patterns: list[str] | None = None) -> str:
    """Retroactive redaction of a project's stored events (redaction.py)."""
    from sessionstory import pii_audit, redaction

    try:
        return redaction.redact(dd, project, level, patterns or [], actor=CLI).text()
    except (redaction.RedactionError, pii_audit.AuditError) as exc:
        raise CommandError(str(exc)) from None


COMMANDS: dict[str, Callable[..., str]] = {
    "audit_pii": audit_pii,
    "redact": redact,
    "demo": demo,
    "user_create": user_create,
    "project_create": project_create,
    "token_create": token_create,
    "reindex": reindex,
    "compact": compact,
    "import": import_file,
    "export_session": export_session,
    "export_parquet": export_parquet,
    "backup": backup,
    "ping": lambda dd: "pong",
}


def run(dd: DataDir, name: str, args: dict[str, Any]) -> str:
    command = COMMANDS.get(name)
    if command is None:
        raise CommandError(f"unknown command {name!r}")
    return command(dd, **args)
