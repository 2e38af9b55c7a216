"""Test-only firmware build helper: harness + port + engine -> executable / ELF.

Calls gcc / arm-none-eabi-gcc directly with the project's warning set. The real
build driver (PlatformIO) lives elsewhere; this keeps the firmware tests
independent of it. The targets are the boards of boards/*.toml that have a port,
with the flags, sources, header and linker script the build driver generates.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tinybench.build import boardgen
from tinybench.manifests.boards import BoardManifest, load_board_manifests

REPO = Path(__file__).resolve().parents[2]
FIRMWARE = REPO / "firmware"
TEST_C = Path(__file__).resolve().parent / "c"
TEST_DOUBLE = TEST_C / "tb_engine_test_double.c"

# Model ids the test double can impersonate (-DTB_DOUBLE_MODEL=<index>).
DOUBLE_MODELS = {"kws01": 0, "vww01": 1, "ic01": 2, "ad01": 3, "custom01": 4}

WARNINGS = (
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wstrict-prototypes",
    "-Wmissing-prototypes",
    "-Wshadow",
)
COMMON = ("-std=c99", "-O2", "-g", "-ffunction-sections", "-fdata-sections", *WARNINGS)


@dataclass(frozen=True)
class Target:
    """A compiler, its CPU flags, the port sources and the linker script."""

    name: str
    cc: str
    cpu_flags: tuple[str, ...]
    port_sources: tuple[Path, ...]
    include_dirs: tuple[Path, ...]
    linker_script: Path | None
    qemu_machine: str | None = None
    qemu_cpu: str | None = None
    cpu_hz: int = 0
    defines: tuple[str, ...] = ()
    counter_hz: int = 0
    icount_shift: int = 0
    serial_index: int = 0  # the console UART's -serial (netduinoplus2's USART2: 1)


# The board files the build driver would generate, written where the tests can include them.
GENERATED = REPO / "build" / "fwbuild-boards"


def port_source_files(board: BoardManifest) -> tuple[Path, ...]:
    """The C files the port_sources() patterns of the build driver select."""
    files: list[Path] = []
    for pattern in boardgen.port_sources(board):
        if pattern.endswith("/"):
            files += sorted((FIRMWARE / pattern).rglob("*.c"))
        else:
            files += sorted(FIRMWARE.glob(pattern))
    return tuple(files)


# What a small board's [firmware] budget makes the build driver pass: the test double needs no
# arena, and its largest input (vww01) is not what a 16 or 32 KB board runs.
SMALL_BOARD_ARENA_BYTES = 1024
SMALL_BOARD_DB_BYTES = 512


MID_BOARD_ARENA_BYTES = 64 * 1024  # for data regions below the harness's 192 KiB default arena
MID_BOARD_DATA_BYTES = 256 * 1024


def budget_defines(board: BoardManifest) -> tuple[str, ...]:
    budget = board.budget
    data = board.region("data")
    if budget.db_buffer != "model":
        small = data is not None and data.size < MID_BOARD_DATA_BYTES
        return (f"TB_ARENA_BYTES={MID_BOARD_ARENA_BYTES}u",) if small else ()
    return (
        f"TB_DB_CAPACITY={SMALL_BOARD_DB_BYTES}u",
        f"TB_ARENA_BYTES={SMALL_BOARD_ARENA_BYTES}u",
        f"TB_LATENCY_CAPACITY={budget.latency_entries}u",
    )


def target_for(board: BoardManifest) -> Target:
    """Everything about a board's test build comes from its manifest, as in the real build."""
    files = boardgen.write_board_files(board, GENERATED)
    emulator = board.emulator
    return Target(
        name=board.board_id,
        cc="arm-none-eabi-gcc" if boardgen.is_cortex_m(board) else "gcc",
        cpu_flags=boardgen.arch_flags(board),
        port_sources=port_source_files(board),
        include_dirs=boardgen.include_dirs(board, files, FIRMWARE),
        linker_script=files.linker_script,
        qemu_machine=emulator.machine if emulator else None,
        qemu_cpu=emulator.cpu if emulator else None,
        cpu_hz=board.cpu_hz,
        defines=budget_defines(board),
        counter_hz=board.counter_hz,
        icount_shift=emulator.icount_shift if emulator else 0,
        serial_index=emulator.serial_index if emulator else 0,
    )


BOARDS = load_board_manifests(REPO / "boards")
TARGETS: dict[str, Target] = {
    board.board_id: target_for(board) for board in boardgen.buildable_boards(BOARDS, FIRMWARE)
}


class BuildError(RuntimeError):
    """The compiler failed; the message holds its output."""


def harness_sources() -> list[Path]:
    return sorted((FIRMWARE / "harness").glob("*.c"))


def toolchain_available(target: str) -> bool:
    return shutil.which(TARGETS[target].cc) is not None


def build(
    target: str,
    engine_sources: Sequence[Path],
    output: Path,
    defines: Sequence[str] = (),
    extra_include_dirs: Sequence[Path] = (),
    extra_flags: Sequence[str] = (),
) -> Path:
    """Compiles and links harness + port + engine into `output`; returns it.

    `extra_flags` go to both compiling and linking (e.g. the sanitizers of a host build).
    """
    t = TARGETS[target]
    output.parent.mkdir(parents=True, exist_ok=True)
    cmd = [t.cc, *t.cpu_flags, *COMMON, *extra_flags]
    cmd += [f"-I{FIRMWARE / 'include'}", f"-I{FIRMWARE / 'harness'}"]
    cmd += [f"-I{d}" for d in (*t.include_dirs, *extra_include_dirs)]
    cmd += [f"-D{d}" for d in (*t.defines, *defines)]
    cmd += [str(s) for s in (*harness_sources(), *t.port_sources, *engine_sources)]
    if t.linker_script is not None:
        cmd += [
            "-nostartfiles",
            "--specs=nano.specs",
            "--specs=nosys.specs",
            "-Wl,--gc-sections",
            f"-L{FIRMWARE / boardgen.CORTEX_M_DIR}",
            f"-T{t.linker_script}",
        ]
    cmd += ["-lm", "-o", str(output)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise BuildError(f"{' '.join(cmd)}\n{proc.stdout}{proc.stderr}")
    return output


def build_test_double(
    target: str,
    model: str,
    out_dir: Path,
    defines: Sequence[str] = (),
    extra_flags: Sequence[str] = (),
) -> Path:
    """Firmware with the TEST DOUBLE engine impersonating `model`."""
    suffix = "" if target == "host" else ".elf"
    tag = "-".join(d.replace("=", "_") for d in defines)
    name = f"tinybench-{target}-{model}{'-' + tag if tag else ''}{suffix}"
    return build(
        target,
        [TEST_DOUBLE],
        out_dir / name,
        defines=(f"TB_DOUBLE_MODEL={DOUBLE_MODELS[model]}", *defines),
        extra_flags=extra_flags,
    )
