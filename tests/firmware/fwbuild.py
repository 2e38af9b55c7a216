"""Test-only firmware build helper: harness + port + engine -> executable / ELF.

Calls gcc / arm-none-eabi-gcc directly with -Wall -Wextra -Werror. The real
build driver (PlatformIO) lives elsewhere; this keeps the firmware tests
independent of it.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

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


_MPS2 = FIRMWARE / "ports" / "mps2"
_MPS3 = FIRMWARE / "ports" / "mps3"

TARGETS: dict[str, Target] = {
    "host": Target(
        "host", "gcc", (), (FIRMWARE / "ports" / "host" / "tb_port_host.c",), (), None
    ),
    "qemu-m4": Target(
        "qemu-m4",
        "arm-none-eabi-gcc",
        ("-mthumb", "-mcpu=cortex-m4", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"),
        tuple(sorted(_MPS2.glob("*.c"))),
        (),
        _MPS2 / "mps2.ld",
        "mps2-an386",
        "cortex-m4",
        25_000_000,
    ),
    "qemu-m7": Target(
        "qemu-m7",
        "arm-none-eabi-gcc",
        ("-mthumb", "-mcpu=cortex-m7", "-mfpu=fpv5-d16", "-mfloat-abi=hard"),
        tuple(sorted(_MPS2.glob("*.c"))),
        (),
        _MPS2 / "mps2.ld",
        "mps2-an500",
        "cortex-m7",
        25_000_000,
    ),
    "qemu-m55": Target(
        "qemu-m55",
        "arm-none-eabi-gcc",
        ("-mthumb", "-mcpu=cortex-m55", "-mfloat-abi=hard"),
        tuple(sorted(_MPS3.glob("*.c"))),
        (),
        _MPS3 / "mps3_an547.ld",
        "mps3-an547",
        "cortex-m55",
        32_000_000,
    ),
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
            f"-L{t.linker_script.parent}",
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
