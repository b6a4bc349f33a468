"""Encryption at rest: stored events sealed with a key from the environment."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import msgspec
import pytest
from litestar.testing import TestClient

from sessionstory.app import create_app
from sessionstory.config import ConfigError, load_settings, prepare_data_dir
from sessionstory.datadir import DataDir
from sessionstory.store.records import EncryptionError
from tests.conftest import batch, meta_event
from tests.events import page
from tests.server import cli

KEY = base64.urlsafe_b64encode(os.urandom(32)).decode()
MARKER = "ENCRYPTED-MARKER-51Z"


def _open(data: Path, key: str | None) -> DataDir:
    env = {"SESSIONSTORY_ENCRYPTION_KEY": key} if key else {}
    return DataDir(prepare_data_dir(load_settings(data, env=env)))


def test_events_are_sealed_on_disk_and_replay_with_the_key(tmp_path: Path) -> None:
    data = tmp_path / "data"
    dd = _open(data, KEY)
    try:
        with TestClient(create_app(dd.settings, dd)) as client:
            key = dd.projects.create("Shop").public_key
            events = [meta_event(1_700_000_000_000, href=f"https://shop.example/{MARKER}"),
                      page(1_700_000_000_001, f"https://shop.example/{MARKER}", title=MARKER)]
            assert client.post("/api/v1/ingest", json=batch(key, "sealed-1", events=events, user_id="alice-secret")).status_code == 200
            token = dd.accounts.create_token(dd.accounts.create_user("o@example.com", "long password 1", "admin").email)
            replayed = client.get("/api/v1/sessions/sealed-1/events", headers={"Authorization": f"Bearer {token}"}).json()
            assert MARKER in msgspec.json.encode(replayed).decode()
    finally:
        dd.close()
    segments = b"".join(p.read_bytes() for p in sorted((data / "segments").iterdir()))
    assert MARKER.encode() not in segments and b"alice-secret" not in segments and b"o@example.com" not in segments

    size = sum(p.stat().st_size for p in (data / "segments").iterdir())
    with pytest.raises(EncryptionError, match="SESSIONSTORY_ENCRYPTION_KEY"):
        _open(data, None)
    with pytest.raises(EncryptionError, match="another key"):
        _open(data, base64.urlsafe_b64encode(os.urandom(32)).decode())
    assert sum(p.stat().st_size for p in (data / "segments").iterdir()) == size, "nothing cut off as a torn tail"
    reopened = _open(data, KEY)
    try:
        assert reopened.index.read(lambda cur: cur.execute("SELECT count(*) FROM sessions WHERE id = 'sealed-1'").fetchone()[0]) == 1
        reopened.reindex()
        assert reopened.index.read(lambda cur: cur.execute("SELECT count(*) FROM sessions WHERE id = 'sealed-1'").fetchone()[0]) == 1
    finally:
        reopened.close()
    no_key = cli(data, "reindex")
    assert no_key.returncode == 1 and "SESSIONSTORY_ENCRYPTION_KEY" in no_key.stderr and "Traceback" not in no_key.stderr


def test_a_bad_key_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="32 bytes"):
        load_settings(tmp_path, env={"SESSIONSTORY_ENCRYPTION_KEY": "too-short"})
