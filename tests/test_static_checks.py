"""The host package stays mypy --strict and ruff clean (pyproject.toml holds both configs)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_mypy_strict_passes(repo_root: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary"],
        cwd=repo_root,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_passes(repo_root: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "host", "tests"],
        cwd=repo_root,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
