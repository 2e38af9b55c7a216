"""Where tinybench finds its project data, the shared reference data and its cache.

Every location can be overridden by an environment variable so that tests,
CI and users with unusual layouts need no code change.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from tinybench.errors import TinybenchError

_PACKAGE_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Locations:
    """The directories one tinybench invocation works with."""

    project_root: Path  # holds models/, boards/, runrules/
    shared_dir: Path  # ../shared: reference models and datasets (may be absent)
    models_dir: Path | None  # a user's directory of .tflite files, searched first
    cache_dir: Path  # downloads, outside the repository

    @property
    def models_manifest_dir(self) -> Path:
        return self.project_root / "models"

    @property
    def boards_manifest_dir(self) -> Path:
        return self.project_root / "boards"

    @property
    def runrules_dir(self) -> Path:
        return self.project_root / "runrules"

    def dataset_dir(self, dataset_id: str) -> Path:
        return self.shared_dir / "datasets" / dataset_id


def _find_project_root() -> Path:
    for candidate in (_PACKAGE_DIR, *_PACKAGE_DIR.parents):
        if all((candidate / name).is_dir() for name in ("models", "boards", "runrules")):
            return candidate
    raise TinybenchError(
        "cannot find the tinybench project data (models/, boards/, runrules/) above "
        f"{_PACKAGE_DIR}; "
        "install tinybench from its repository (pip install -e .) or set TINYBENCH_ROOT"
    )


def locate(environ: Mapping[str, str] | None = None) -> Locations:
    """Resolve all locations from the environment (``os.environ`` by default)."""
    env = os.environ if environ is None else environ
    root = Path(env["TINYBENCH_ROOT"]) if "TINYBENCH_ROOT" in env else _find_project_root()
    shared = Path(env.get("TINYBENCH_SHARED_DIR", str(root.parent / "shared")))
    models = Path(env["TINYBENCH_MODELS_DIR"]) if env.get("TINYBENCH_MODELS_DIR") else None
    if env.get("TINYBENCH_CACHE_DIR"):
        cache = Path(env["TINYBENCH_CACHE_DIR"])
    else:
        # The platform's user cache: ~/.cache/tinybench on Linux ($XDG_CACHE_HOME honoured),
        # ~/Library/Caches/tinybench on macOS.
        cache = Path(platformdirs.user_cache_dir("tinybench", appauthor=False))
    return Locations(project_root=root, shared_dir=shared, models_dir=models, cache_dir=cache)
