"""Fixtures of the cluster tests: a real Postgres and a real S3-compatible server.

These tests run when named (`pytest tests/cluster`, as `make cluster-test` does), not in
the plain `pytest` of `make test`: they need Debian's `postgresql`, which `make
cluster-test` installs.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sessionstory.config import Settings, load_settings, prepare_data_dir
from tests.cluster.harness import MotoS3, Postgres
# One Chromium for every browser test here: a session fixture imported into two modules would be
# two fixtures, and Playwright's sync API refuses a second instance while the first runs.
from tests.e2e.conftest import browser  # noqa: F401
from tests.server import Server

_buckets = itertools.count()
_catalogs = itertools.count()

_HERE = Path(__file__).parent.resolve()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if any(_names_cluster(arg) for arg in config.args):
        return
    skip = pytest.mark.skip(reason="cluster test: run by `make cluster-test` (pytest tests/cluster)")
    for item in items:
        if _HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(skip)


def _names_cluster(arg: str) -> bool:
    path = Path(arg.split("::")[0]).resolve()
    return path == _HERE or _HERE in path.parents


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    pg = Postgres().start()
    yield pg
    pg.stop()


@pytest.fixture(scope="session")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoS3]:
    server = MotoS3(tmp_path_factory.mktemp("moto")).start()
    yield server
    server.stop()


@pytest.fixture
def store_env(s3: MotoS3) -> dict[str, str]:
    """The environment of a node whose segment store is a fresh bucket on the S3 server."""
    bucket = s3.create_bucket(f"segments-{next(_buckets)}")
    return {"SESSIONSTORY_STORE_URL": f"s3://{bucket}/cluster", **s3.env}


@pytest.fixture
def catalog_env(postgres: Postgres) -> dict[str, str]:
    """The environment naming a fresh database on the Postgres server as a cluster's catalog."""
    return {"SESSIONSTORY_CATALOG_URL": postgres.create_database(f"catalog_{next(_catalogs)}")}


@pytest.fixture
def node_settings(tmp_path: Path, store_env: dict[str, str]) -> Callable[[str], Settings]:
    """Settings of a node's own data dir (named), all nodes on the same segment store."""
    return lambda name: prepare_data_dir(load_settings(tmp_path / name, env=store_env))


@pytest.fixture
def start_node(tmp_path: Path, store_env: dict[str, str],
               monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Server]]:
    """Start a `sessionstory serve` node (a subprocess on a free loopback port) on its own data
    dir and the shared segment store; `start_node(name, VARIABLE=value...)` adds settings."""
    started: list[Server] = []

    def start(name: str, **env: str) -> Server:
        for variable, value in {**store_env, **env}.items():
            monkeypatch.setenv(variable, value)  # tests/server.py hands the environment down
        node = Server(tmp_path / name).start()
        started.append(node)
        return node

    yield start
    for node in started:
        node.stop()
