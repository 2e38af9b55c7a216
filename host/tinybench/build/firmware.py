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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tinybench.build import boardgen
from tinybench.build.pio import Pio
from tinybench.elfsize import ImageSize
from tinybench.errors import TinybenchError
from tinybench.filelock import exclusive_lock
from tinybench.manifests.boards import ARMV6M_CORES, DEFAULT_LATENCY_ENTRIES, BoardManifest
from tinybench.manifests.custom_model import build_key
from tinybench.manifests.models import InputFormat, ModelManifest
from tinybench.project import Project

ENGINES = ("native", "tflm")
TIMESTAMP_MODES = ("performance", "energy")  # the harness's `timestamp`: print, or pulse only
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
    platformio.ini reads; returns the environment names. The energy-mode DUT baud comes from
    the default run rules ([energy] dut_baud)."""
    energy_baud = project.rules().energy.dut_baud
    return boardgen.write_generated(project.locations.project_root, project.boards(), energy_baud)


def kernel_sets(engine: str) -> tuple[str, ...]:
    """The kernel sets an engine can be built with."""
    if engine == "native":
        from tinybench.compiler import KERNEL_SETS

        return KERNEL_SETS
    from tinybench.build.tflm import KERNEL_SETS as TFLM_KERNEL_SETS

    return TFLM_KERNEL_SETS


# The cores each native kernel set is written for. The host runs dsp in portable C (the host
# tests compare it with reference bit for bit); mve needs Helium, which no host has.
NATIVE_SET_CORES = {
    "dsp": ("cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55", "host"),
    "mve": ("cortex-m55",),
}


def check_kernels_fit_core(board: BoardManifest, engine: str, kernels: str) -> None:
    """Refuses a native kernel set on a core without the instructions it is written in (the
    dsp set on a Cortex-M0 would build in portable C and measure nothing of the DSP extension;
    mve would not compile)."""
    cores = NATIVE_SET_CORES.get(kernels) if engine == "native" else None
    if cores is not None and board.core not in cores:
        raise TinybenchError(
            f"the native kernel set {kernels!r} needs a {' / '.join(cores)} core; "
            f"{board.board_id} is a {board.core} (use --kernels reference)"
        )


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
) -> tuple[Path, int, int]:
    """The plan directory, its arena bytes and its constant (weights) bytes."""
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
    if stamp.is_file():
        lines = stamp.read_text().split("\n")
        if len(lines) >= 3 and lines[0] == key and lines[1].isdigit() and lines[2].isdigit():
            return plan_dir, int(lines[1]), int(lines[2])
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
    stamp.write_text(f"{key}\n{result.arena_bytes}\n{result.weights_bytes}\n")
    return plan_dir, result.arena_bytes, result.weights_bytes


def _prepare_tflm(
    project: Project,
    board: BoardManifest,
    manifest: ModelManifest,
    kernels: str,
    size_check: Callable[[int, int], None],
) -> dict[str, str]:
    """Writes the model's plan directory, lets size_check(constant bytes, arena bytes) refuse a
    model the board cannot hold, then builds (or reuses) libtflm.a: a refused model costs no
    library build."""
    from tinybench.build import tflm

    tflite = project.model_bytes(manifest)
    plan_dir = project.locations.project_root / "build" / "tflm" / "models" / build_key(manifest)
    plan = tflm.write_plan(tflite, manifest, plan_dir)
    arena = -(-plan.arena_bytes // 16) * 16
    size_check(len(tflite), arena)  # the flatbuffer is embedded as is
    library = tflm.build_library(project.locations, board.board_id, kernels)
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
    timestamp_mode: str = "performance",
) -> FirmwareBuild:
    """Builds `<board>-<engine>` for the model: a resolved manifest (a catalogue model or the
    user's own file), or a catalogue id, with a kernel set of the engine (None: the engine's
    default, see DEFAULT_KERNELS); a set the engine does not have is refused. standard_only:
    the harness without the tinybench extensions (a vendor firmware's stand-in), built in a
    build directory of its own. timestamp_mode "energy": the EEMBC energy-mode DUT (the banner
    says m-timestamp-mode-energy, `timestamp` pulses the manifest's pin for its hold_us and
    prints nothing, one pulse at boot, the UART at the run rules' energy baud; on qemu-m4 each
    edge also writes `tb-mark <edge> <counter>` on UART1), in a build directory of its own."""
    if timestamp_mode not in TIMESTAMP_MODES:
        raise TinybenchError(
            f"unknown timestamp mode {timestamp_mode!r} (known: {', '.join(TIMESTAMP_MODES)})"
        )
    board = project.board(board_id)
    # An unknown model fails here, before any work.
    manifest = project.model(model) if isinstance(model, str) else model
    kernel_set = resolve_kernels(engine, kernels)
    check_kernels_fit_core(board, engine, kernel_set)
    root = project.locations.project_root
    env_name = f"{board.board_id}-{engine}"
    available = environments(project)
    if env_name not in available:
        missing_port = not boardgen.has_port(board, root / "firmware")
        why = f"; firmware/ports/{board.port} is not written yet" if missing_port else ""
        raise TinybenchError(
            f"no firmware environment {env_name}{why} (available: {', '.join(sorted(available))})"
        )
    # Builds of one project run one at a time: plans are shared between boards and PlatformIO
    # build directories between runs, and two processes writing one (a `bench` beside a
    # `profile`) delete each other's objects mid-link.
    with exclusive_lock(root / "build" / ".build.lock"):
        return _build_locked(
            project, board, engine, manifest, kernel_set, standard_only, timestamp_mode, env_name
        )


def _build_locked(
    project: Project,
    board: BoardManifest,
    engine: str,
    manifest: ModelManifest,
    kernel_set: str,
    standard_only: bool,
    timestamp_mode: str,
    env_name: str,
) -> FirmwareBuild:
    root = project.locations.project_root
    model_id = manifest.model_id
    db_bytes = db_capacity(board, manifest)

    def size_check(constant_bytes: int, arena: int) -> None:
        if boardgen.is_cortex_m(board):
            need = estimate_need(
                board, engine, constant_bytes=constant_bytes, arena_bytes=arena, db_bytes=db_bytes
            )
            check_fits(board, model_id, engine, need)

    if engine == "tflm":
        extra = _prepare_tflm(project, board, manifest, kernel_set, size_check)
        plan_dir = Path(extra["TINYBENCH_PLAN_DIR"])
        arena_bytes = int(extra["TINYBENCH_ARENA_BYTES"])
        # One PlatformIO build directory per kernel set, so switching sets relinks only.
        build_dir = root / "build" / "pio" / f"{build_key(manifest)}-tflm-{kernel_set}"
    else:
        plan_dir, arena_bytes, constant_bytes = _compile_native_plan(project, manifest, kernel_set)
        build_dir = root / "build" / "pio" / f"{build_key(manifest)}-native-{kernel_set}"
        # The arena is rounded up to the engine's alignment; the harness allocates exactly that.
        arena = -(-arena_bytes // 16) * 16
        extra = {
            "TINYBENCH_PLAN_DIR": str(plan_dir),
            "TINYBENCH_ARENA_BYTES": str(arena),
            "TINYBENCH_KERNELS": kernel_set,
        }
        size_check(constant_bytes, arena)
    if board.budget.db_buffer == "model":
        extra["TINYBENCH_DB_CAPACITY"] = str(db_bytes)
    if board.budget.latency_entries != DEFAULT_LATENCY_ENTRIES:
        extra["TINYBENCH_LATENCY_CAPACITY"] = str(board.budget.latency_entries)
    if standard_only:
        build_dir = build_dir.with_name(build_dir.name + "-standard-only")
        extra["TINYBENCH_STANDARD_ONLY"] = "1"
    if timestamp_mode == "energy":
        build_dir = build_dir.with_name(build_dir.name + "-energy")
        extra["TINYBENCH_TIMESTAMP_MODE"] = "energy"
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


# --- Pre-link size check (a board too small for the model is refused before linking) --------
# The need is estimated from what the build driver knows before the link: the compiled plan's
# constants (native) or the embedded flatbuffer (tflm), the arena, the db buffer, the latency
# record, the stack, and the code of the harness, port and engine. The code figures are the
# .text of the kws01 native builds (arm-none-eabi-gcc 12, -O2) less the plan's 30,400 bytes of
# constants, rounded up: 39.9 KB on Cortex-M0+ (Thumb-1, soft float; nucleo-g071rb), 30.8 KB on
# qemu-m4 (measured 2026-12-02, with the batch and reply-crc extensions).
# The tflm figure is a rough upper bound for the interpreter and its kernels. `tinybench build`
# prints the real sizes after the link.
LARGEST_STANDARD_INPUT = 27648  # TB_DB_CAPACITY's default: vww01, 96 x 96 x 3
CODE_ESTIMATE_BYTES = {"native": 31 * 1024, "tflm": 128 * 1024}
ARMV6M_CODE_ESTIMATE_BYTES = {"native": 40 * 1024, "tflm": 160 * 1024}
HARNESS_RAM_BYTES = 1024  # the harness's own state: line buffer, output buffer, session


class FirmwareTooLargeError(TinybenchError):
    """The model does not fit the board: refused before linking, with the numbers."""


@dataclass(frozen=True)
class SizeNeed:
    """Estimated flash and RAM of an image, and what they are made of."""

    flash_bytes: int
    ram_bytes: int
    flash_parts: tuple[tuple[str, int], ...]
    ram_parts: tuple[tuple[str, int], ...]


def db_capacity(board: BoardManifest, manifest: ModelManifest) -> int:
    """The db buffer the image gets: the model's own input on a board whose budget asks for it,
    else the harness default. The harness builds the int8 input tensor in the db buffer (the
    engine reads it from there): in place for int8 and uint8 inputs, after the floats (at the
    next 16-byte boundary) for a float32 input, whose floats the MSE still reads."""
    if board.budget.db_buffer == "model":
        wire = -(-manifest.wire_bytes // 16) * 16
        if manifest.input_format is InputFormat.FLOAT32:
            wire += -(-manifest.input.elements // 16) * 16
        return wire
    return LARGEST_STANDARD_INPUT


def estimate_need(
    board: BoardManifest, engine: str, *, constant_bytes: int, arena_bytes: int, db_bytes: int
) -> SizeNeed:
    armv6m = board.core in ARMV6M_CORES
    code_estimate = (ARMV6M_CODE_ESTIMATE_BYTES if armv6m else CODE_ESTIMATE_BYTES)[engine]
    flash_parts = (
        ("model constants", constant_bytes),
        ("code (estimate)", code_estimate),
    )
    ram_parts = (
        ("arena", arena_bytes),
        ("db buffer", db_bytes),
        ("latency record", 4 * board.budget.latency_entries),
        ("stack", board.stack_bytes),
        ("harness", HARNESS_RAM_BYTES),
    )
    return SizeNeed(
        flash_bytes=sum(n for _, n in flash_parts),
        ram_bytes=sum(n for _, n in ram_parts),
        flash_parts=flash_parts,
        ram_parts=ram_parts,
    )


def _parts(parts: tuple[tuple[str, int], ...]) -> str:
    return " + ".join(f"{name} {n}" for name, n in parts)


def check_fits(board: BoardManifest, model_id: str, engine: str, need: SizeNeed) -> None:
    """Raises FirmwareTooLargeError naming flash and RAM needed against what the manifest gives."""
    code, data = board.region("code"), board.region("data")
    assert code is not None and data is not None  # every Cortex-M manifest has both
    problems = []
    if need.flash_bytes > code.size:
        problems.append(
            f"flash: needs about {need.flash_bytes} bytes ({_parts(need.flash_parts)}), "
            f"the board has {code.size}"
        )
    if need.ram_bytes > data.size:
        problems.append(
            f"RAM: needs about {need.ram_bytes} bytes ({_parts(need.ram_parts)}), "
            f"the board has {data.size}"
        )
    if problems:
        raise FirmwareTooLargeError(
            f"{model_id} with the {engine} engine does not fit {board.board_id}: "
            + "; ".join(problems)
            + " (refused before linking; pick a board with more memory or a smaller model)"
        )


def memory_usage_line(board: BoardManifest, used: ImageSize) -> str:
    """`flash 65880 of 131072 bytes (50.3 %), RAM 22064 of 32768 bytes (67.3 %)` for a built
    image (read from its ELF) against the board's code and data regions."""
    code, data = board.region("code"), board.region("data")
    assert code is not None and data is not None
    return (
        f"{board.board_id}: flash {used.flash_bytes} of {code.size} bytes "
        f"({100 * used.flash_bytes / code.size:.1f} %), RAM {used.ram_bytes} of {data.size} bytes "
        f"({100 * used.ram_bytes / data.size:.1f} %)"
    )
