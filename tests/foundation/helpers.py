"""Small builders shared by the foundation tests: manifests and datasets written by code."""

from __future__ import annotations

import shutil
from pathlib import Path

from datagen import write_dataset

__all__ = ["copy_project_data", "edit", "write_dataset"]


def copy_project_data(repo_root: Path, target: Path) -> Path:
    """A private copy of models/, boards/, runrules/ that a test may edit."""
    for name in ("models", "boards", "runrules"):
        shutil.copytree(repo_root / name, target / name)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))
