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
