"""mypy finds no error in the package: a type mistake fails the suite like any other bug.

mypy runs as a subprocess, as a developer would run it, with the project's own settings. On a
fresh clone (no .mypy_cache) it takes about 10 s of CPU (12-14 s here at load 0.4-14); later
runs reuse the cache (0.5 s).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_mypy_finds_no_error_in_the_package() -> None:
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "sessionstory"], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert "No module named mypy" not in checked.stderr, "mypy is missing: it is in the test extras (pip install -e '.[test]')"
    if checked.returncode != 0:
        pytest.fail(f"mypy sessionstory reports:\n{checked.stdout}{checked.stderr}", pytrace=False)
