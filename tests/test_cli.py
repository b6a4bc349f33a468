"""The CLI, with and without a server holding the data directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.server import ADMIN_EMAIL, Server, cli


def test_commands_work_without_a_server(tmp_path: Path) -> None:
    data = tmp_path / "data"
    project = json.loads(cli(data, "project", "create", "--name", "Shop", "--origin", "https://shop.example").stdout)
    assert set(project) == {"id", "name", "public_key"} and project["name"] == "Shop"
    user = cli(data, "user", "create", "--email", "Ann@Example.com", "--role", "admin", "--password-stdin",
               stdin="a long password\n")
    assert user.returncode == 0 and json.loads(user.stdout)["email"] == "ann@example.com"
    token = cli(data, "token", "create", "--email", "ann@example.com", "--name", "ci")
    assert token.returncode == 0 and token.stdout.strip().startswith("sst_") and "\n" not in token.stdout.strip()
    reindex = cli(data, "reindex")
    assert reindex.returncode == 0 and "1 projects" in reindex.stdout
    demo = cli(data, "demo")
    assert demo.returncode == 0 and "added 3 recorded sessions to the Demo project" in demo.stdout, demo.stderr
    assert "3 sessions, 2 projects" in cli(data, "reindex").stdout


@pytest.mark.parametrize(
    "args,stdin,message",
    [
        (["user", "create", "--email", "not-an-email", "--password-stdin"], "long enough pw\n", "not an email"),
        (["user", "create", "--email", "a@b.co", "--password-stdin"], "short\n", "at least 8"),
        (["user", "create", "--email", "a@b.co", "--password-stdin"], "", "no password"),
        (["user", "create", "--email", "a@b.co", "--role", "god", "--password-stdin"], "long enough pw\n", "invalid choice"),
        (["token", "create", "--email", "nobody@b.co"], None, "no user"),
        (["project", "create", "--name", "X", "--origin", "javascript:alert(1)"], None, "origin must look like"),
        (["frobnicate"], None, "invalid choice"),
        (["serve", "--port", "99999"], None, "port must be"),
        (["migrate-to-cluster"], None, "set SESSIONSTORY_STORE_URL and SESSIONSTORY_CATALOG_URL"),
    ],
)
def test_mistakes_get_one_line_and_a_nonzero_exit(tmp_path: Path, args: list[str], stdin: str | None, message: str) -> None:
    out = cli(tmp_path / "data", *args, stdin=stdin)
    assert out.returncode != 0
    assert message in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


def test_commands_reach_a_running_server(tmp_path: Path) -> None:
    server = Server(tmp_path / "data").start()
    try:
        project = server.project("Live")
        token = server.token()
        listed = server.get_json("/api/v1/projects", token)
        assert {"id": project["id"], "name": "Live", "public_key": project["public_key"]} in listed  # type: ignore[operator]
        dup = cli(server.data_dir, "user", "create", "--email", ADMIN_EMAIL, "--password-stdin", stdin="whatever123\n")
        assert dup.returncode == 1 and "exists already" in dup.stderr
        reindexed = cli(server.data_dir, "reindex")
        assert reindexed.returncode == 0, reindexed.stderr
        assert server.get_json("/api/v1/projects", token) == listed, "the rebuilt index keeps every account"
    finally:
        server.stop()
