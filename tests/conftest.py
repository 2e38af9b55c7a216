"""Shared pytest fixtures: where ../shared lives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The reference data folder beside the repo (models, datasets); required by the suite."""
    path = Path(os.environ.get("TINYBENCH_SHARED_DIR", REPO_ROOT.parent / "shared"))
    if not (path / "models").is_dir():
        pytest.fail(
            f"reference data not found at {path}: put ../shared beside the repo "
            "or set TINYBENCH_SHARED_DIR"
        )
    return path
