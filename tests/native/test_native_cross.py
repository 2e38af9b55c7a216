"""The engine and a generated plan compile warning-free for the Cortex-M targets (compile only)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tinybench.build.boardgen import arch_flags, is_cortex_m
from tinybench.compiler import compile_model
from tinybench.compiler.hostlib import engine_dir, engine_sources, include_dir
from tinybench.manifests.boards import load_board_manifests

ARM_CC = "arm-none-eabi-gcc"
# One set of flags per Cortex-M core of boards/*.toml, from the firmware build's own mapping.
CPU_FLAGS = {
    board.core: list(arch_flags(board))
    for board in load_board_manifests(Path(__file__).resolve().parents[2] / "boards").values()
    if is_cortex_m(board)
}
WARNINGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"]


@pytest.fixture(scope="module")
def kws01_plan(shared_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("kws01-plan")
    compile_model((shared_dir / "models" / "kws01.tflite").read_bytes(), "kws01", out)
    return out


@pytest.mark.parametrize("cpu", sorted(CPU_FLAGS))
def test_engine_and_plan_compile_for_cortex_m(cpu: str, kws01_plan: Path, tmp_path: Path) -> None:
    if shutil.which(ARM_CC) is None:
        pytest.skip(f"{ARM_CC} is not installed (apt-get install gcc-arm-none-eabi)")
    sources = engine_sources("reference")
    sources.append(kws01_plan / "tb_native_model.c")
    for source in sources:
        includes = ["-I", str(include_dir()), "-I", str(engine_dir())]
        out = str(tmp_path / "out.o")
        cmd = [ARM_CC, *CPU_FLAGS[cpu], *WARNINGS, "-Os", *includes, "-c", str(source), "-o", out]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, f"{source.name} for {cpu}:\n{proc.stderr}"
        assert proc.stderr == ""
        assert (tmp_path / "out.o").stat().st_size > 0
