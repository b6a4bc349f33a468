"""A real app on a temporary data directory: real segment files, real DuckDB."""

from __future__ import annotations

import gzip
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from sessionstory.app import create_app
from sessionstory.config import Settings, load_settings, prepare_data_dir
from sessionstory.datadir import DataDir

PASSWORD = "correct horse battery"
_ids = itertools.count()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return prepare_data_dir(load_settings(tmp_path / "data", env={}))


@pytest.fixture
def datadir(settings: Settings) -> Iterator[DataDir]:
    dd = DataDir(settings)
    yield dd
    dd.close()


@pytest.fixture
def client(settings: Settings, datadir: DataDir) -> Iterator[TestClient]:  # type: ignore[type-arg]
    with TestClient(create_app(settings, datadir)) as c:
        yield c


@pytest.fixture
def project(client: TestClient, datadir: DataDir) -> Any:  # type: ignore[type-arg]
    return datadir.projects.create("Shop")


@pytest.fixture
def admin(client: TestClient, datadir: DataDir) -> Any:  # type: ignore[type-arg]
    """The admin the first start created is unknown to tests; make one with a known password."""
    return datadir.accounts.create_user("owner@example.com", PASSWORD, "admin")


@pytest.fixture
def token(admin: Any, datadir: DataDir) -> str:
    return datadir.accounts.create_token(admin.email, "tests")


@pytest.fixture
def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def meta_event(ts: int, href: str = "https://shop.example/", width: int = 1280, height: int = 800) -> dict[str, Any]:
    return {"type": 4, "timestamp": ts, "data": {"href": href, "width": width, "height": height}}


def batch(key: str, session_id: str | None = None, seq: int = 0, events: list[dict[str, Any]] | None = None,
          **extra: Any) -> dict[str, Any]:
    return {
        "key": key,
        "session_id": session_id or f"sess-{next(_ids)}",
        "visitor_id": "visitor-1",
        "seq": seq,
        "events": events if events is not None else [meta_event(1_700_000_000_000 + seq * 1000)],
        **extra,
    }


def gzipped(payload: dict[str, Any]) -> bytes:
    return gzip.compress(json.dumps(payload).encode())


def stored_bytes(settings: Settings) -> bytes:
    """Everything on disk in the data directory, for 'it appears nowhere' checks."""
    return b"".join(p.read_bytes() for p in sorted(settings.data_dir.rglob("*")) if p.is_file())
