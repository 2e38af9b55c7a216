"""Fixtures of the deps tests: a project root with a fake deps.toml, a cache dir, a server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from deps.fakes import write_manifest
from httpfake import FileServer
from tinybench.deps import DepsCache, load_manifest


@pytest.fixture()
def server() -> Iterator[FileServer]:
    s = FileServer()
    yield s
    s.close()


@pytest.fixture()
def project_root(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    write_manifest(root / "deps.toml")
    return root


@pytest.fixture()
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture()
def cache(project_root: Path, cache_dir: Path) -> DepsCache:
    return DepsCache(load_manifest(project_root / "deps.toml"), cache_dir)
