"""Builds one firmware image: a board, an engine and a model.

The model is compiled on the host (native engine) into a C plan under
build/models/<model>/, which is regenerated only when the model or the compiler
changed; for the tflm engine the model is embedded as is (build/tflm/models/<model>/)
and upstream TF Lite Micro is built once per core and kernel set into
<cache>/tflm-lib/<cpu>-<kernels>-<hash>/libtflm.a (see tinybench.build.tflm). Then PlatformIO
builds the `<board>-<engine>` environment with a build directory per model, so
switching models keeps every build cached and a rebuild with nothing changed is a
no-op.
"""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tinybench.build import boardgen
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
    kernels: str = ""  # tflm: the kernel set ("cmsis-nn" or "reference"); "" for native


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


def environments(project: Project) -> list[str]:
    """Writes the boards and environments generated from boards/*.toml (build/boards/) that
    platformio.ini reads; returns the environment names."""
    return boardgen.write_generated(project.locations.project_root, project.boards())


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


def _tflm_kernels(kernels: str | None) -> str:
    from tinybench.build.tflm import DEFAULT_KERNELS, check_kernels

    chosen = kernels or DEFAULT_KERNELS
    check_kernels(chosen)
    return chosen


def _prepare_tflm(project: Project, board_id: str, model_id: str, kernels: str) -> dict[str, str]:
    """Builds (or reuses) libtflm.a and writes the model's plan directory."""
    from tinybench.build import tflm

    library = tflm.build_library(project.locations, board_id, kernels)
    manifest = project.model(model_id)
    tflite = project.model_store().read(manifest)
    plan_dir = project.locations.project_root / "build" / "tflm" / "models" / model_id
    plan = tflm.write_plan(tflite, model_id, plan_dir)
    arena = -(-plan.arena_bytes // 16) * 16
    return {
        "TINYBENCH_PLAN_DIR": str(plan_dir),
        "TINYBENCH_ARENA_BYTES": str(arena),
        "TINYBENCH_TFLM_LIB_DIR": str(library.path.parent),
        "TINYBENCH_TFLM_KERNELS": kernels,
    }


def build_firmware(
    project: Project, board_id: str, engine: str, model_id: str, kernels: str | None = None
) -> FirmwareBuild:
    """Builds `<board>-<engine>` for the model. `kernels` picks the tflm kernel set
    (default cmsis-nn); the native engine ignores it."""
    board = project.board(board_id)
    project.model(model_id)  # an unknown model fails here, before any work
    if engine not in ENGINES:
        raise TinybenchError(f"unknown engine {engine!r} (known: {', '.join(ENGINES)})")
    root = project.locations.project_root
    env_name = f"{board.board_id}-{engine}"
    available = environments(project)
    if env_name not in available:
        missing_port = not boardgen.has_port(board, root / "firmware")
        why = f"; firmware/ports/{board.port} is not written yet" if missing_port else ""
        raise TinybenchError(
            f"no firmware environment {env_name}{why} (available: {', '.join(sorted(available))})"
        )
    kernel_set = ""
    if engine == "tflm":
        kernel_set = _tflm_kernels(kernels)
        extra = _prepare_tflm(project, board.board_id, model_id, kernel_set)
        plan_dir = Path(extra["TINYBENCH_PLAN_DIR"])
        arena_bytes = int(extra["TINYBENCH_ARENA_BYTES"])
        # One PlatformIO build directory per kernel set, so switching sets relinks only.
        build_dir = root / "build" / "pio" / f"{model_id}-tflm-{kernel_set}"
    else:
        plan_dir, arena_bytes = _compile_native_plan(project, model_id)
        build_dir = root / "build" / "pio" / model_id
        # The arena is rounded up to the engine's alignment; the harness allocates exactly that.
        arena = -(-arena_bytes // 16) * 16
        extra = {"TINYBENCH_PLAN_DIR": str(plan_dir), "TINYBENCH_ARENA_BYTES": str(arena)}
    Pio.for_project(root).run(env_name, build_dir, extra)
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
        kernels=kernel_set,
    )
