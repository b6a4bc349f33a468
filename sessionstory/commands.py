"""What the CLI's account and maintenance commands do, given an opened data directory.

The CLI runs these itself when no server holds the data directory, and the server runs
them for the CLI (over the admin socket) when it does: one implementation either way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from sessionstory.auth import AuthError
from sessionstory.datadir import DataDir
from sessionstory.projects import ProjectError


class CommandError(Exception):
    """A user mistake: the CLI prints the message on one line and exits non-zero."""


def user_create(dd: DataDir, email: str, password: str, role: str = "member") -> str:
    try:
        user = dd.accounts.create_user(email, password, role)
    except AuthError as exc:
        raise CommandError(str(exc)) from None
    return msgspec.json.encode(user).decode()


def project_create(dd: DataDir, name: str, origins: list[str] | None = None) -> str:
    try:
        project = dd.projects.create(name, origins or [])
    except ProjectError as exc:
        raise CommandError(str(exc)) from None
    return msgspec.json.encode({"id": project.id, "name": project.name, "public_key": project.public_key}).decode()


def token_create(dd: DataDir, email: str, name: str = "") -> str:
    try:
        return dd.accounts.create_token(email, name)
    except AuthError as exc:
        raise CommandError(str(exc)) from None


def reindex(dd: DataDir, progress: Callable[[int], None] | None = None) -> str:
    count = dd.reindex(progress)
    sessions = dd.index.read(lambda cur: cur.execute("SELECT count(*) FROM sessions").fetchone()[0])
    return f"reindexed {count} records: {sessions} sessions, {len(dd.projects.all())} projects"


COMMANDS: dict[str, Callable[..., str]] = {
    "user_create": user_create,
    "project_create": project_create,
    "token_create": token_create,
    "reindex": reindex,
}


def run(dd: DataDir, name: str, args: dict[str, Any]) -> str:
    command = COMMANDS.get(name)
    if command is None:
        raise CommandError(f"unknown command {name!r}")
    return command(dd, **args)
