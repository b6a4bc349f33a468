"""Saved session filters: a named query string per project, shared by the whole team."""

from __future__ import annotations

import time
import uuid
from urllib.parse import parse_qsl

import msgspec

from sessionstory.entities import Rows
from sessionstory.index.filters import FilterError, filter_query, parse_filters


class SavedFilter(msgspec.Struct, frozen=True):
    id: str
    project_id: str
    name: str
    query: str
    created_ms: int


class SavedFilters:
    def __init__(self, rows: Rows) -> None:
        self._rows = rows

    def create(self, project_id: str, name: str, query: str) -> SavedFilter:
        name = name.strip()
        if not 1 <= len(name) <= 100:
            raise FilterError("a saved filter needs a name of 1 to 100 characters")
        params = dict(parse_qsl(query))
        parse_filters(params, 0)  # refuse what the list would refuse
        saved = SavedFilter(id=uuid.uuid4().hex[:12], project_id=project_id, name=name,
                            query=filter_query({**params, "project": project_id}), created_ms=int(time.time() * 1000))
        self._rows.save("saved_filters", msgspec.structs.asdict(saved))
        return saved

    def delete(self, filter_id: str) -> None:
        self._rows.save("saved_filters", {"id": filter_id}, op="delete")

    def for_project(self, project_id: str) -> list[SavedFilter]:
        rows = self._rows.read(lambda cur: cur.execute(
            "SELECT id, project_id, name, query, created_ms FROM saved_filters WHERE project_id = ? ORDER BY name",
            [project_id]).fetchall())
        return [SavedFilter(*r) for r in rows]
