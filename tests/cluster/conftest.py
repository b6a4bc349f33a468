"""Fixtures of the cluster tests: a real Postgres and a real S3-compatible server.

These tests run when named (`pytest tests/cluster`, as `make cluster-test` does), not in
the plain `pytest` of `make test`: they need Debian's `postgresql`, which `make
cluster-test` installs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster.harness import MotoS3, Postgres

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
