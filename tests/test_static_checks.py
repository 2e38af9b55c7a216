"""Static checks: mypy --strict, ruff (lint and format) and clang-format, configured in the repo.

pyproject.toml holds the mypy and ruff configurations, .clang-format the C style.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PYTHON_TREES = ("host", "tests", "bench")
C_TREES = ("firmware", "tests/firmware/c")
C_SUFFIXES = (".c", ".h", ".cc")


def _run(repo_root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=repo_root, capture_output=True, text=True, check=False)


def test_mypy_strict_passes(repo_root: Path) -> None:
    result = _run(repo_root, sys.executable, "-m", "mypy", "--no-error-summary")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_lint_passes(repo_root: Path) -> None:
    result = _run(repo_root, sys.executable, "-m", "ruff", "check", "--no-cache", *PYTHON_TREES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_applied(repo_root: Path) -> None:
    result = _run(
        repo_root, sys.executable, "-m", "ruff", "format", "--check", "--no-cache", *PYTHON_TREES
    )
    assert result.returncode == 0, (
        "run `ruff format host tests bench`:\n" + result.stdout + result.stderr
    )


def c_sources(repo_root: Path) -> list[Path]:
    """Every C/C++ source of the product and of the C tests (not build output)."""
    found: list[Path] = []
    for tree in C_TREES:
        for path in sorted((repo_root / tree).rglob("*")):
            parts = path.relative_to(repo_root).parts
            if path.suffix in C_SUFFIXES and path.is_file() and ".pio" not in parts:
                found.append(path)
    return found


def test_the_c_sources_are_found(repo_root: Path) -> None:
    sources = {p.relative_to(repo_root).as_posix() for p in c_sources(repo_root)}
    assert "firmware/harness/tb_main.c" in sources
    assert "firmware/engines/tflm/tb_tflm_engine.cc" in sources
    assert any(s.startswith("tests/firmware/c/") for s in sources)
    assert all(Path(s).suffix in C_SUFFIXES for s in sources)


def test_clang_format_is_applied(repo_root: Path) -> None:
    clang_format = shutil.which("clang-format")
    if clang_format is None:
        pytest.skip("clang-format is not installed (bash scripts/setup.sh --dev installs it)")
    sources = [str(p.relative_to(repo_root)) for p in c_sources(repo_root)]
    result = _run(repo_root, clang_format, "--style=file", "--dry-run", "-Werror", *sources)
    changed = sorted(
        {line.split(":")[0] for line in result.stderr.splitlines() if ": error:" in line}
    )
    assert result.returncode == 0, (
        f"{len(changed)} file(s) differ from .clang-format; run `clang-format -i` on: "
        + " ".join(changed)
    )
