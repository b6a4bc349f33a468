"""`sessionstory migrate-to-cluster`: a single node's data dir, with sessions (one compacted),
users, a project and a token, joins a cluster (moto's S3 server, a real Postgres) and every
session of it plays through another node afterwards."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.cluster.harness import wait_for
from tests.conftest import batch, meta_event
from tests.server import ADMIN_EMAIL, ADMIN_PASSWORD, Server, cli

SEAL = {"SESSIONSTORY_STORE_SEAL_SECONDS": "1"}
START_MS = 1_700_000_000_000
MEMBER, MEMBER_PASSWORD = "member@example.com", "member-password-1"


def _events(session: int, seq: int) -> list[dict[str, object]]:
    at = START_MS + session * 60_000 + seq * 1000
    return [meta_event(at, href=f"https://shop.example/s{session}/p{seq}"),
            {"type": 3, "timestamp": at + 10, "data": {"source": 2, "type": 2, "id": 1, "x": seq, "y": session}}]


def _ingest(node: Server, key: str, session_id: str, session: int, batches: int = 3) -> None:
    for seq in range(batches):
        answer = httpx.post(f"{node.url}/api/v1/ingest", json=batch(key, session_id, seq, _events(session, seq)),
                            timeout=30)
        assert answer.status_code == 200, answer.text


def _sign_in(node: Server, email: str, password: str) -> bool:
    with httpx.Client(timeout=30) as browser:
        form = browser.get(f"{node.url}/login")
        csrf = re.search(r'name="_csrf" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
        answer = browser.post(f"{node.url}/login", data={"email": email, "password": password, "_csrf": csrf,
                                                          "next": "/"})
        return answer.status_code == 303 and answer.headers["location"] == "/"


def _migrate(data_dir: Path) -> tuple[int, str, str]:
    out = cli(data_dir, "migrate-to-cluster")
    return out.returncode, out.stdout, out.stderr


@pytest.fixture
def single(tmp_path: Path) -> Callable[[], tuple[Server, str, str]]:
    """A single node (no store, no catalog) with a project, a member and a token; returns the
    running server, the project's key and the token."""
    def start() -> tuple[Server, str, str]:
        node = Server(tmp_path / "single").start()
        key = node.project("Shop")["public_key"]
        member = cli(node.data_dir, "user", "create", "--email", MEMBER, "--password-stdin", stdin=MEMBER_PASSWORD)
        assert member.returncode == 0, member.stderr
        return node, key, node.token()
    return start


def test_every_session_of_a_single_node_plays_from_the_cluster_after_migrating(
        single: Callable[[], tuple[Server, str, str]], start_node: Callable[..., Server],
        catalog_env: dict[str, str], store_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    node, key, token = single()
    for n in (0, 1):
        _ingest(node, key, f"old-{n}", n)
    compacted = cli(node.data_dir, "compact", "--idle-seconds", "0")
    packed = re.match(r"compacted (\d+) sessions", compacted.stdout)
    assert packed and int(packed.group(1)) >= 2, compacted.stdout + compacted.stderr  # ours and the Demo's
    for n in (2, 3, 4):
        _ingest(node, key, f"old-{n}", n)  # these stay in the open tail and the segments as written
    sessions = [s["id"] for s in node.get_json("/api/v1/sessions?limit=100", token)["items"]]  # type: ignore[index]
    assert {f"old-{n}" for n in range(5)} <= set(sessions)
    before = {sid: node.get_json(f"/api/v1/sessions/{sid}/events", token) for sid in sessions}

    for variable, value in {**store_env, **catalog_env}.items():
        monkeypatch.setenv(variable, value)  # the CLI below and the nodes take the cluster's variables
    refused, _, why = _migrate(node.data_dir)
    assert refused == 1 and "a server is running" in why and len(why.strip().splitlines()) == 1
    node.stop()
    code, out, progress = _migrate(node.data_dir)
    assert code == 0, progress
    assert "node 0" in out and "2 users" in out and "accounts copied" in progress
    with psycopg.connect(catalog_env["SESSIONSTORY_CATALOG_URL"], autocommit=True) as catalog:
        catalog.execute("UPDATE sessionstory.users SET role = 'admin' WHERE email = %s", [MEMBER])  # the cluster's change
        again, out_again, _ = _migrate(node.data_dir)  # idempotent: nothing left to ship, no account copied again
        assert again == 0 and "0 segments shipped" in out_again and "accounts copied before" in out_again
        role = catalog.execute("SELECT role FROM sessionstory.users WHERE email = %s", [MEMBER]).fetchone()
    assert role == ("admin",), "a second run must not undo what the cluster changed since"

    node_0 = start_node("single", **catalog_env, **SEAL)
    node_2 = start_node("node-2", **catalog_env, **SEAL)

    def listed_on_2() -> set[str]:
        return {s["id"] for s in node_2.get_json("/api/v1/sessions?limit=100", token)["items"]}  # type: ignore[index]

    wait_for(lambda: listed_on_2() >= set(sessions), "node 2 lists every session of the migrated node")
    for sid in sessions:
        assert node_2.get_json(f"/api/v1/sessions/{sid}/events", token) == before[sid], sid
    assert _sign_in(node_2, ADMIN_EMAIL, ADMIN_PASSWORD) and _sign_in(node_2, MEMBER, MEMBER_PASSWORD)
    assert not _sign_in(node_2, MEMBER, "not-the-password")
    _ingest(node_2, key, "new-on-2", 9, batches=1)  # the old key ingests through either node
    _ingest(node_0, key, "new-on-0", 8, batches=1)
    wait_for(lambda: "new-on-0" in listed_on_2(), "node 2 lists node 0's new session")


def test_migrating_refuses_a_catalog_whose_accounts_clash(
        single: Callable[[], tuple[Server, str, str]], start_node: Callable[..., Server],
        catalog_env: dict[str, str], store_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    node, _, _ = single()
    node.stop()
    other = start_node("other-cluster", **catalog_env)  # makes its own admin@example.com, another id
    for variable, value in {**store_env, **catalog_env}.items():
        monkeypatch.setenv(variable, value)
    code, _, why = _migrate(node.data_dir)
    assert code == 1 and "clash" in why and "nothing was copied" in why, why
    assert why.strip().splitlines()[-1].startswith("sessionstory: ") and "Traceback" not in why  # progress, then one line
    assert not _sign_in(other, MEMBER, MEMBER_PASSWORD)  # none of the single node's rows came in


def test_migrating_refuses_a_store_whose_node_0_is_another_data_dirs(
        single: Callable[[], tuple[Server, str, str]], tmp_path: Path, catalog_env: dict[str, str],
        store_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    node, key, _ = single()
    _ingest(node, key, "kept", 0, batches=1)
    node.stop()
    for variable, value in {**store_env, **catalog_env}.items():
        monkeypatch.setenv(variable, value)
    assert _migrate(node.data_dir)[0] == 0
    other = Server(tmp_path / "other-single", env={name: "" for name in {**store_env, **catalog_env}}).start()
    other.project("Elsewhere")
    other.stop()
    code, _, why = _migrate(other.data_dir)
    assert code == 1 and "node 0" in why and "another data dir" in why, why
    with psycopg.connect(catalog_env["SESSIONSTORY_CATALOG_URL"], autocommit=True) as catalog:
        names = [row[0] for row in catalog.execute("SELECT name FROM sessionstory.projects").fetchall()]
    assert "Elsewhere" not in names and "Shop" in names  # refused before its accounts reached the catalog


def test_migrating_refuses_without_a_cluster_or_with_its_store_down(
        single: Callable[[], tuple[Server, str, str]], catalog_env: dict[str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    node, _, _ = single()
    node.stop()
    code, _, why = _migrate(node.data_dir)
    assert code == 1 and "SESSIONSTORY_STORE_URL" in why and "Traceback" not in why
    dead = {"SESSIONSTORY_STORE_URL": "s3://nowhere/cluster", "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
            "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_REGION": "us-east-1",
            "AWS_ALLOW_HTTP": "true", **catalog_env}
    for variable, value in dead.items():
        monkeypatch.setenv(variable, value)
    code, _, why = _migrate(node.data_dir)
    assert code == 1 and "segment store" in why and "Traceback" not in why, why
