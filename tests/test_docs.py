"""Undocumented features fail: every command and setting appears in the README."""

from __future__ import annotations

import re
from pathlib import Path

from sessionstory.cli import build_parser

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text()


def _commands() -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")  # noqa: SLF001
    names = []
    for name, command in sub.choices.items():  # type: ignore[union-attr]
        actions = [a for a in command._actions if a.dest == "action"]  # noqa: SLF001
        names += [f"{name} {action}" for action in actions[0].choices] if actions else [name]  # type: ignore[union-attr]
    return names


def test_every_command_is_in_the_readme() -> None:
    for command in _commands():
        assert f"sessionstory {command}" in README, f"README does not document `sessionstory {command}`"


def test_every_setting_is_in_the_readme() -> None:
    config = (ROOT / "sessionstory" / "config.py").read_text()
    for name in set(re.findall(r"SESSIONSTORY_[A-Z_]+", config)):
        assert name in README, f"README does not document {name}"


def test_docs_links_resolve() -> None:
    for doc in [ROOT / "README.md", ROOT / "ARCHITECTURE.md", *(ROOT / "docs").glob("*.md")]:
        for target in re.findall(r"\]\(([^)#:]+\.md)\)", doc.read_text()):
            assert (doc.parent / target).exists(), f"{doc.name} links to missing {target}"


def test_cluster_compose_file_holds_together() -> None:
    """docs/cluster/compose.yaml cannot be run here (no registry to pull from): check that its
    three nodes have data of their own, share one store and one catalog whose credentials are
    the ones MinIO and Postgres are given, and set nothing the server does not read."""
    import yaml
    from sessionstory.config import load_settings

    compose = yaml.safe_load((ROOT / "docs" / "cluster" / "compose.yaml").read_text())
    services = compose["services"]
    nodes = [services[f"node{n}"] for n in (1, 2, 3)]
    assert len({node["volumes"][0].split(":")[0] for node in nodes}) == 3
    env = nodes[0]["environment"]
    assert all(node["environment"] == env for node in nodes)
    assert all(node["build"]["args"]["EXTRAS"] == "cluster" for node in nodes)
    known = set(re.findall(r"SESSIONSTORY_[A-Z_]+", (ROOT / "sessionstory" / "config.py").read_text()))
    assert {name for name in env if name.startswith("SESSIONSTORY_")} <= known
    settings = load_settings(env={**env, "SESSIONSTORY_DATA_DIR": "/tmp/unused"})
    assert settings.store_url and settings.catalog_url
    postgres, minio = services["postgres"]["environment"], services["minio"]["environment"]
    user, password = postgres["POSTGRES_USER"], postgres["POSTGRES_PASSWORD"]
    assert f"{user}:{password}@postgres:5432/{postgres['POSTGRES_DB']}" in env["SESSIONSTORY_CATALOG_URL"]
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) == (minio["MINIO_ROOT_USER"], minio["MINIO_ROOT_PASSWORD"])
    bucket = env["SESSIONSTORY_STORE_URL"].removeprefix("s3://").split("/")[0]
    assert f"store/{bucket}" in services["bucket"]["entrypoint"]
    nginx = (ROOT / "docs" / "cluster" / "nginx.conf").read_text()
    assert all(f"server node{n}:8000;" in nginx for n in (1, 2, 3))
