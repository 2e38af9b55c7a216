"""Builds one firmware image: a board, an engine and a model.

The model is compiled on the host (native engine) into a C plan under
build/models/<model>/, which is regenerated only when the model or the compiler
changed, then PlatformIO builds the `<board>-<engine>` environment with a build
directory per model, so switching models keeps every build cached and a rebuild
with nothing changed is a no-op.
"""

from __future__ import annotations

import configparser
import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tinybench.build.pio import Pio
from tinybench.errors import TinybenchError
from tinybench.project import Project

ENGINES = ("native", "tflm")
_COMPILER_DIR = Path(__file__).resolve().parent.parent / "compiler"


@dataclass(frozen=True)
class FirmwareBuild:
    board_id: str
    engine: str
    model_id: str
    env_name: str
    image: Path  # the ELF (or the host executable)
    plan_dir: Path
    arena_bytes: int


def _compiler_fingerprint() -> str:
    digest = hashlib.sha256()
    for path in sorted(_COMPILER_DIR.rglob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def toolchain_version(core: str) -> str:
    """First line of the C compiler's --version, recorded in every result's provenance."""
    compiler = "gcc" if core == "host" else "arm-none-eabi-gcc"
    try:
        result = subprocess.run([compiler, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TinybenchError(f"cannot run {compiler}: {exc}") from exc
    lines = result.stdout.splitlines()
    return lines[0] if lines else compiler


def environments(project_root: Path) -> list[str]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(project_root / "platformio.ini")
    return [s.removeprefix("env:") for s in parser.sections() if s.startswith("env:")]


def _compile_native_plan(project: Project, model_id: str) -> tuple[Path, int]:
    from tinybench.compiler import compile_model

    manifest = project.model(model_id)
    tflite = project.model_store().read(manifest)
    plan_dir = project.locations.project_root / "build" / "models" / model_id
    stamp = plan_dir / "stamp.txt"
    key = f"{manifest.source.sha256} {_compiler_fingerprint()}"
    if stamp.is_file() and stamp.read_text().split("\n")[0] == key:
        return plan_dir, int(stamp.read_text().split("\n")[1])
    # Compile into a scratch directory and copy only changed files, so that PlatformIO
    # (which compares file signatures) rebuilds nothing when the output is the same.
    scratch = plan_dir.parent / f".{model_id}.new"
    scratch.mkdir(parents=True, exist_ok=True)
    result = compile_model(tflite, model_id, scratch)
    plan_dir.mkdir(parents=True, exist_ok=True)
    for path in result.paths:
        target = plan_dir / path.name
        if not target.is_file() or target.read_bytes() != path.read_bytes():
            target.write_bytes(path.read_bytes())
        path.unlink()
    scratch.rmdir()
    stamp.write_text(f"{key}\n{result.arena_bytes}\n")
    return plan_dir, result.arena_bytes


def build_firmware(project: Project, board_id: str, engine: str, model_id: str) -> FirmwareBuild:
    board = project.board(board_id)
    project.model(model_id)  # an unknown model fails here, before any work
    if engine not in ENGINES:
        raise TinybenchError(f"unknown engine {engine!r} (known: {', '.join(ENGINES)})")
    if engine != "native":
        raise TinybenchError(f"engine {engine} is not built yet; use --engine native")
    root = project.locations.project_root
    env_name = f"{board.board_id}-{engine}"
    available = environments(root)
    if env_name not in available:
        raise TinybenchError(
            f"no firmware environment {env_name} in platformio.ini "
            f"(available: {', '.join(sorted(available))})"
        )
    plan_dir, arena_bytes = _compile_native_plan(project, model_id)
    build_dir = root / "build" / "pio" / model_id
    # The arena is rounded up to the engine's alignment; the harness allocates exactly that.
    arena = -(-arena_bytes // 16) * 16
    Pio.for_project(root).run(
        env_name,
        build_dir,
        {"TINYBENCH_PLAN_DIR": str(plan_dir), "TINYBENCH_ARENA_BYTES": str(arena)},
    )
    suffix = "" if board.core == "host" else ".elf"
    image = build_dir / env_name / f"firmware{suffix}"
    if not image.is_file():
        raise TinybenchError(f"PlatformIO reported success but {image} does not exist")
    return FirmwareBuild(
        board_id=board.board_id,
        engine=engine,
        model_id=model_id,
        env_name=env_name,
        image=image,
        plan_dir=plan_dir,
        arena_bytes=arena_bytes,
    )
