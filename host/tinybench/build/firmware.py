"""Builds one firmware image: a board, an engine, a kernel set and a model.

The model is compiled on the host (native engine) into a C plan under
build/models/<model>-<kernels>/ (the plan holds the kernel set's scratch sizes), which is
regenerated only when the model, its manifest's input format / result kind or the compiler
changed; for the tflm engine the model is embedded as is (build/tflm/models/<model>/)
and upstream TF Lite Micro is built once per core and kernel set into
<cache>/tflm-lib/<cpu>-<kernels>-<hash>/libtflm.a (see tinybench.build.tflm). Then PlatformIO
builds the `<board>-<engine>` environment with a build directory per model x engine x kernel
set (the native set reaches the builder as TINYBENCH_KERNELS), so switching models or sets
keeps every build cached, never reuses a wrong image, and a rebuild with nothing changed is a
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
from tinybench.manifests.custom_model import build_key
from tinybench.manifests.models import ModelManifest
from tinybench.project import Project

ENGINES = ("native", "tflm")
DEFAULT_KERNELS = {"native": "reference", "tflm": "cmsis-nn"}
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
    kernels: str = ""  # the kernel set (native: reference; tflm: cmsis-nn or reference)


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


def kernel_sets(engine: str) -> tuple[str, ...]:
    """The kernel sets an engine can be built with."""
    if engine == "native":
        from tinybench.compiler import KERNEL_SETS

        return KERNEL_SETS
    from tinybench.build.tflm import KERNEL_SETS as TFLM_KERNEL_SETS

    return TFLM_KERNEL_SETS


def resolve_kernels(engine: str, kernels: str | None) -> str:
    """The kernel set to build: `kernels`, or the engine's default when None or empty."""
    if engine not in ENGINES:
        raise TinybenchError(f"unknown engine {engine!r} (known: {', '.join(ENGINES)})")
    chosen = kernels or DEFAULT_KERNELS[engine]
    known = kernel_sets(engine)
    if chosen not in known:
        others = [e for e in ENGINES if e != engine and chosen in kernel_sets(e)]
        hint = f"; {chosen} is a kernel set of --engine {others[0]}" if others else ""
        raise TinybenchError(
            f"the {engine} engine has no kernel set {chosen!r} (its sets: {', '.join(known)}){hint}"
        )
    return chosen


def _compile_native_plan(
    project: Project, manifest: ModelManifest, kernels: str
) -> tuple[Path, int]:
    from tinybench.compiler import CompileError, ModelIO, compile_model

    model_id = manifest.model_id
    io = ModelIO.of(manifest)
    tflite = project.model_bytes(manifest)
    models_dir = project.locations.project_root / "build" / "models"
    plan_dir = models_dir / f"{build_key(manifest)}-{kernels}"
    stamp = plan_dir / "stamp.txt"
    key = (
        f"{manifest.source.sha256} {kernels} {io.input_format.value} {io.result_kind.value} "
        f"{_compiler_fingerprint()}"
    )
    if stamp.is_file() and stamp.read_text().split("\n")[0] == key:
        return plan_dir, int(stamp.read_text().split("\n")[1])
    # Compile into a scratch directory and copy only changed files, so that PlatformIO
    # (which compares file signatures) rebuilds nothing when the output is the same.
    staging = plan_dir.parent / f".{plan_dir.name}.new"
    staging.mkdir(parents=True, exist_ok=True)
    try:
        result = compile_model(tflite, model_id, staging, kernels=kernels, io=io)
    except CompileError as exc:  # names the op and the reason; say which model and what to try
        raise CompileError(
            f"the native engine cannot run {manifest.source.file_name}: {exc} "
            "(the tflm engine may run it: --engine tflm)"
        ) from exc
    plan_dir.mkdir(parents=True, exist_ok=True)
    for path in result.paths:
        target = plan_dir / path.name
        if not target.is_file() or target.read_bytes() != path.read_bytes():
            target.write_bytes(path.read_bytes())
        path.unlink()
    staging.rmdir()
    stamp.write_text(f"{key}\n{result.arena_bytes}\n")
    return plan_dir, result.arena_bytes


def _prepare_tflm(
    project: Project, board_id: str, manifest: ModelManifest, kernels: str
) -> dict[str, str]:
    """Builds (or reuses) libtflm.a and writes the model's plan directory."""
    from tinybench.build import tflm

    library = tflm.build_library(project.locations, board_id, kernels)
    tflite = project.model_bytes(manifest)
    plan_dir = project.locations.project_root / "build" / "tflm" / "models" / build_key(manifest)
    plan = tflm.write_plan(tflite, manifest, plan_dir)
    arena = -(-plan.arena_bytes // 16) * 16
    return {
        "TINYBENCH_PLAN_DIR": str(plan_dir),
        "TINYBENCH_ARENA_BYTES": str(arena),
        "TINYBENCH_TFLM_LIB_DIR": str(library.path.parent),
        "TINYBENCH_TFLM_KERNELS": kernels,
    }


def build_firmware(
    project: Project,
    board_id: str,
    engine: str,
    model: ModelManifest | str,
    kernels: str | None = None,
    standard_only: bool = False,
) -> FirmwareBuild:
    """Builds `<board>-<engine>` for the model: a resolved manifest (a catalogue model or the
    user's own file), or a catalogue id, with a kernel set of the engine (None: the engine's
    default, see DEFAULT_KERNELS); a set the engine does not have is refused. standard_only:
    the harness without the tinybench extensions (a vendor firmware's stand-in), built in a
    build directory of its own."""
    board = project.board(board_id)
    # An unknown model fails here, before any work.
    manifest = project.model(model) if isinstance(model, str) else model
    model_id = manifest.model_id
    kernel_set = resolve_kernels(engine, kernels)
    root = project.locations.project_root
    env_name = f"{board.board_id}-{engine}"
    available = environments(project)
    if env_name not in available:
        missing_port = not boardgen.has_port(board, root / "firmware")
        why = f"; firmware/ports/{board.port} is not written yet" if missing_port else ""
        raise TinybenchError(
            f"no firmware environment {env_name}{why} (available: {', '.join(sorted(available))})"
        )
    if engine == "tflm":
        extra = _prepare_tflm(project, board.board_id, manifest, kernel_set)
        plan_dir = Path(extra["TINYBENCH_PLAN_DIR"])
        arena_bytes = int(extra["TINYBENCH_ARENA_BYTES"])
        # One PlatformIO build directory per kernel set, so switching sets relinks only.
        build_dir = root / "build" / "pio" / f"{build_key(manifest)}-tflm-{kernel_set}"
    else:
        plan_dir, arena_bytes = _compile_native_plan(project, manifest, kernel_set)
        build_dir = root / "build" / "pio" / f"{build_key(manifest)}-native-{kernel_set}"
        # The arena is rounded up to the engine's alignment; the harness allocates exactly that.
        arena = -(-arena_bytes // 16) * 16
        extra = {
            "TINYBENCH_PLAN_DIR": str(plan_dir),
            "TINYBENCH_ARENA_BYTES": str(arena),
            "TINYBENCH_KERNELS": kernel_set,
        }
    if standard_only:
        build_dir = build_dir.with_name(build_dir.name + "-standard-only")
        extra["TINYBENCH_STANDARD_ONLY"] = "1"
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
