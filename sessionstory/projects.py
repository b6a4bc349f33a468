"""Projects: a site that records sessions, its public key and the origins it accepts."""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import msgspec

from sessionstory.entities import Rows
from sessionstory.privacy import DEFAULT as DEFAULT_PRIVACY
from sessionstory.privacy import PrivacySettings

# In a cluster another node may add a project or change its privacy settings: an unknown key is
# looked up at once (one indexed query; ingest's per-address rate bounds a flood of bad keys), and
# everything is read again when older than this.
CLUSTER_REFRESH_S = 5.0


class Project(msgspec.Struct, frozen=True):
    id: str
    name: str
    public_key: str
    origins: list[str]
    created_ms: int


class ProjectError(ValueError):
    pass


class Projects:
    """Every project, cached in memory: ingest looks keys up without touching the index.

    `shared`: the rows are a cluster's, which other nodes change too (see CLUSTER_REFRESH_S)."""

    def __init__(self, rows: Rows, shared: bool = False) -> None:
        self._rows, self._shared = rows, shared
        self._lock = threading.Lock()
        self._by_key: dict[str, Project] = {}
        self._privacy: dict[str, PrivacySettings] = {}  # by project id; absent: the defaults
        self._loaded_at = 0.0
        self.reload()

    def reload(self) -> None:
        def read(cur: Any) -> tuple[list[Any], list[Any]]:
            projects = cur.execute("SELECT id, name, public_key, origins, created_ms FROM projects ORDER BY created_ms")
            rows = projects.fetchall()
            return rows, cur.execute("SELECT id, settings FROM project_privacy").fetchall()

        rows, privacy = self._rows.read(read)
        with self._lock:
            self._by_key = {row[2]: Project(*row) for row in rows}
            self._privacy = {pid: _privacy_decoder.decode(settings) for pid, settings in privacy}
            self._loaded_at = time.monotonic()

    def _fresh(self) -> None:
        """A cluster's other nodes' changes: everything read again when stale."""
        if self._shared and time.monotonic() - self._loaded_at > CLUSTER_REFRESH_S:
            self.reload()

    def _made_elsewhere(self, column: str, value: str) -> bool:
        """Whether another node made this project since the last reload (a cluster's only); if
        so, everything is read again, its privacy settings too."""
        row = self._rows.read(lambda cur: cur.execute(
            f"SELECT 1 FROM projects WHERE {column} = ?", [value]).fetchone())
        if row is None:
            return False
        self.reload()
        return True

    def create(self, name: str, origins: list[str] | None = None) -> Project:
        name = name.strip()
        if not name or len(name) > 200:
            raise ProjectError("a project needs a name of 1 to 200 characters")
        project = Project(
            id=uuid.uuid4().hex[:12],
            name=name,
            public_key="pk_" + secrets.token_urlsafe(18),
            origins=[normalize_origin(o) for o in origins or []],
            created_ms=int(time.time() * 1000),
        )
        self._rows.save("projects", msgspec.structs.asdict(project))
        with self._lock:
            self._by_key[project.public_key] = project
        return project

    def privacy(self, project_id: str) -> PrivacySettings:
        """The project's privacy settings (ingest reads them per batch: from memory)."""
        self._fresh()
        return self._privacy.get(project_id, DEFAULT_PRIVACY)

    def set_privacy(self, project_id: str, settings: PrivacySettings) -> None:
        row = {"id": project_id, "settings": msgspec.json.encode(settings).decode(), "updated_ms": int(time.time() * 1000)}
        self._rows.save("project_privacy", row)
        with self._lock:
            self._privacy[project_id] = settings

    def by_key(self, key: str) -> Project | None:
        self._fresh()
        known = self._by_key.get(key)
        if known is None and self._shared and self._made_elsewhere("public_key", key):
            return self._by_key.get(key)
        return known

    def get(self, project_id: str) -> Project | None:
        known = next((p for p in self.all() if p.id == project_id), None)
        if known is None and self._shared and self._made_elsewhere("id", project_id):
            return next((p for p in self.all() if p.id == project_id), None)
        return known

    def all(self) -> list[Project]:
        self._fresh()
        with self._lock:
            return sorted(self._by_key.values(), key=lambda p: p.created_ms)


_privacy_decoder = msgspec.json.Decoder(PrivacySettings)


def normalize_origin(text: str) -> str:
    """`https://Shop.example.com:443/path` -> `https://shop.example.com`, as browsers send it."""
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProjectError(f"origin must look like https://example.com, not {text!r}")
    default = {"http": 80, "https": 443}[parts.scheme]
    try:
        port = parts.port
    except ValueError:
        raise ProjectError(f"origin has a bad port: {text!r}") from None
    suffix = f":{port}" if port and port != default else ""
    return f"{parts.scheme}://{parts.hostname.lower()}{suffix}"


def origin_allowed(project: Project, origin: str | None) -> bool:
    if not project.origins:
        return True
    if not origin:
        return False
    try:
        return normalize_origin(origin) in project.origins
    except ProjectError:
        return False
