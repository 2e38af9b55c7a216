"""What this machine has and lacks for tinybench, each with the fix."""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tinybench.deps import open_cache
from tinybench.errors import ModelStoreError, TinybenchError
from tinybench.project import Project


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    required: bool = True


def _version(argv: Sequence[str]) -> str | None:
    if shutil.which(argv[0]) is None:
        return None
    try:
        result = subprocess.run(list(argv), capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = (result.stdout or result.stderr).splitlines()
    return lines[0].strip() if result.returncode == 0 and lines else None


def _tool(name: str, argv: Sequence[str], package: str, required: bool = True) -> Check:
    version = _version(argv)
    if version is None:
        return Check(name, False, f"missing: apt-get install --no-install-recommends {package}",
                     required)  # fmt: skip
    return Check(name, True, version, required)


def _newlib() -> Check:
    version = _version(["arm-none-eabi-gcc", "-print-file-name=libc.a"])
    if version is None or not Path(version).is_absolute() or not Path(version).is_file():
        return Check("newlib", False, "missing: apt-get install libnewlib-arm-none-eabi")
    return Check("newlib", True, version)


def _python_package(name: str) -> Check:
    try:
        return Check(name, True, importlib.metadata.version(name))
    except importlib.metadata.PackageNotFoundError:
        return Check(name, False, "missing: bash scripts/setup.sh installs it")


def _models(project: Project) -> list[Check]:
    store = project.model_store(allow_download=False)
    checks = []
    for model in project.models().values():
        try:
            checks.append(Check(f"model {model.model_id}", True, str(store.path(model))))
        except ModelStoreError as exc:
            checks.append(Check(f"model {model.model_id}", False, str(exc)))
    return checks


def _kws01_dataset(project: Project) -> Check:
    folder = project.locations.dataset_dir("kws01")
    files = len(list(folder.glob("*.bin"))) if folder.is_dir() else 0
    if files == 0:
        return Check("dataset kws01", False,
                     f"not found in {folder}: put the reference data in ../shared or set "
                     "TINYBENCH_SHARED_DIR", required=False)  # fmt: skip
    return Check("dataset kws01", True, f"{files} samples in {folder}", required=False)


def _tflm_sources(project: Project) -> list[Check]:
    """The TF Lite Micro engine's upstream trees: optional, only that engine needs them."""
    fix = "tinybench deps fetch, or tinybench deps import DIR offline"
    try:
        statuses = open_cache(project.locations).status(deep=False)
    except TinybenchError as exc:
        return [Check("tflm sources", False, str(exc), required=False)]
    return [
        Check(f"tflm source {s.dependency.name}", s.verified,
              str(s.directory) if s.verified else f"{s.state.value}: {fix}", required=False)
        for s in statuses
    ]  # fmt: skip


def run_checks(project: Project) -> list[Check]:
    return [
        Check("python", sys.version_info >= (3, 11), sys.version.split()[0]),
        _tool("arm-none-eabi-gcc", ["arm-none-eabi-gcc", "--version"], "gcc-arm-none-eabi"),
        _newlib(),
        _tool("qemu-system-arm", ["qemu-system-arm", "--version"], "qemu-system-arm"),
        _tool("gcc (host port)", ["gcc", "--version"], "gcc libc6-dev"),
        _python_package("tflite-micro"),
        _python_package("platformio"),
        _python_package("scons"),
        *_models(project),
        _kws01_dataset(project),
        _tool("chromium (report tests)", ["chromium", "--version"], "chromium", required=False),
        _tool(
            "clang-format (C style test)",
            ["clang-format", "--version"],
            "clang-format",
            required=False,
        ),
        # `tinybench deps` applies TFLM's flatbuffers patch with `git apply`.
        _tool("git (deps patch)", ["git", "--version"], "git", required=False),
        _tool(
            "arm-none-eabi-g++ (tflm)",
            ["arm-none-eabi-g++", "--version"],
            "libstdc++-arm-none-eabi-newlib",
            required=False,
        ),
        *_tflm_sources(project),
    ]
