"""Accounts shared by a cluster's nodes through the catalog's Postgres: real `sessionstory serve`
nodes, a real Postgres, moto's S3 server."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from sessionstory.config import load_settings, prepare_data_dir
from sessionstory.datadir import DataDir
from tests.conftest import batch
from tests.server import ADMIN_EMAIL, ADMIN_PASSWORD, Server, cli


@pytest.fixture
def cluster(start_node: Callable[..., Server], catalog_env: dict[str, str]) -> tuple[Server, Server]:
    # One after the other: the first start makes the admin and the Demo project, the second finds them.
    return start_node("node-1", **catalog_env), start_node("node-2", **catalog_env)


def _sign_in(browser: httpx.Client, node: Server) -> None:
    form = browser.get(f"{node.url}/login")
    csrf = re.search(r'name="_csrf" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    answer = browser.post(f"{node.url}/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD,
                                                      "_csrf": csrf, "next": "/"})
    assert answer.status_code == 303 and answer.headers["location"] == "/"


def test_a_sign_in_on_one_node_holds_on_another_and_signing_out_ends_it_everywhere(
        cluster: tuple[Server, Server]) -> None:
    node_1, node_2 = cluster
    with httpx.Client(timeout=30) as browser:  # one cookie jar: both nodes are 127.0.0.1, as behind a balancer
        assert browser.get(f"{node_2.url}/users").status_code == 303  # not signed in yet: to /login
        _sign_in(browser, node_1)
        page = browser.get(f"{node_2.url}/users")  # an admin's page
        assert page.status_code == 200 and ADMIN_EMAIL in page.text
        csrf = re.search(r'name="_csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        assert browser.post(f"{node_2.url}/logout", data={"_csrf": csrf}).status_code == 303
        assert browser.get(f"{node_1.url}/users").status_code == 303


def test_a_project_and_tokens_made_through_one_node_work_on_another(cluster: tuple[Server, Server]) -> None:
    node_1, node_2 = cluster
    api_token = node_1.token()
    node_2.get_json("/api/v1/projects", api_token)  # node 2 has just read the projects: not stale for seconds
    project = node_1.project("Shop", "https://shop.example")  # through node 1's admin socket
    # Known by its id on node 2 at once, before any batch of it arrives there.
    listed = node_2.get_json(f"/api/v1/sessions?project={project['id']}", api_token)
    assert listed["total"] == 0  # type: ignore[index]
    answer = httpx.post(f"{node_2.url}/api/v1/ingest", json=batch(project["public_key"], "shared-1"),
                        headers={"Origin": "https://shop.example"}, timeout=30)
    assert answer.status_code == 200, answer.text
    refused = httpx.post(f"{node_2.url}/api/v1/ingest", json=batch(project["public_key"], "shared-2"),
                         headers={"Origin": "https://elsewhere.example"}, timeout=30)
    assert refused.status_code == 403  # the origin rule came along with the project
    names = [p["name"] for p in node_2.get_json("/api/v1/projects", api_token)]  # type: ignore[union-attr]
    assert sorted(names) == ["Demo", "Shop"]  # one Demo: the second node found the first one's
    bad = httpx.get(f"{node_2.url}/api/v1/projects", headers={"Authorization": "Bearer sst_unknown"}, timeout=30)
    assert bad.status_code == 401


def test_a_cli_on_a_stopped_node_writes_the_shared_tables(
        start_node: Callable[..., Server], catalog_env: dict[str, str], store_env: dict[str, str],
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for variable, value in {**store_env, **catalog_env}.items():
        monkeypatch.setenv(variable, value)
    offline = tmp_path / "offline"  # no server runs here: the CLI opens the data dir itself
    made = cli(offline, "user", "create", "--email", "ops@example.com", "--role", "admin", "--password-stdin",
               stdin="ops-password-1\n")
    assert made.returncode == 0, made.stderr
    node = start_node("node-1", **catalog_env)
    token = cli(offline, "token", "create", "--email", "ops@example.com")
    assert token.returncode == 0, token.stderr
    projects = node.get_json("/api/v1/projects", token.stdout.strip())  # the user made offline, with a token from it
    assert [p["name"] for p in projects] == ["Demo"]  # type: ignore[union-attr,index]
    again = cli(offline, "user", "create", "--email", "ops@example.com", "--password-stdin", stdin="ops-password-2\n")
    assert again.returncode == 1 and "exists already" in again.stderr


def test_comments_and_share_links_are_shared(store_env: dict[str, str], catalog_env: dict[str, str],
                                             tmp_path: Path) -> None:
    nodes = [DataDir(prepare_data_dir(load_settings(tmp_path / name, env={**store_env, **catalog_env})))
             for name in ("a", "b")]
    try:
        first, second = nodes
        comment = first.comments.add("p1", "s1", "u1", 5, "look here", duration_ms=10)
        token, link = first.share_links.create("p1", "s1", "u1", 60_000)
        assert [c.body for c in second.comments.for_session("s1", "u2", False)] == ["look here"]
        assert second.share_links.open(token) == link
        second.comments.delete(comment.id)
        assert first.comments.get(comment.id) is None
    finally:
        for dd in nodes:
            dd.close()


def test_background_work_runs_on_one_node_at_a_time(store_env: dict[str, str], catalog_env: dict[str, str],
                                                     tmp_path: Path) -> None:
    first, second = (DataDir(prepare_data_dir(load_settings(tmp_path / name, env={**store_env, **catalog_env})))
                     for name in ("a", "b"))
    try:
        assert first.cluster_lock is not None and second.cluster_lock is not None
        with first.cluster_lock.held("retention") as mine:
            assert mine
            with second.cluster_lock.held("retention") as theirs, second.cluster_lock.held("digests") as other:
                assert not theirs and other  # one lock per kind of work
        with second.cluster_lock.held("retention") as mine:
            assert mine  # released at the end of the first one's block
            first.close()  # a node that stops (or dies: its connection closes) holds nothing
        with second.cluster_lock.held("retention") as mine:
            assert mine
    finally:
        second.close()
