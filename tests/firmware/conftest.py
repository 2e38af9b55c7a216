"""Fixtures of the firmware tests: builds (once per session) of the TEST DOUBLE firmware."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fwbuild import build_test_double

_BuildFn = Callable[..., Path]


@pytest.fixture(scope="session")
def fw_build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fw")


@pytest.fixture(scope="session")
def build_double(fw_build_dir: Path) -> _BuildFn:
    """build_double(target, model, defines=()) -> firmware path, cached per session."""
    cache: dict[tuple[str, str, tuple[str, ...]], Path] = {}

    def _build(target: str, model: str = "kws01", defines: tuple[str, ...] = ()) -> Path:
        key = (target, model, tuple(defines))
        if key not in cache:
            cache[key] = build_test_double(target, model, fw_build_dir, defines)
        return cache[key]

    return _build


@pytest.fixture(scope="session")
def host_fw(build_double: _BuildFn) -> Callable[[str], Path]:
    return lambda model="kws01": build_double("host", model)
