"""The engine and a generated plan compile warning-free for the Cortex-M targets (compile only)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tinybench.compiler import compile_model
from tinybench.compiler.hostlib import engine_dir, engine_sources, include_dir

ARM_CC = "arm-none-eabi-gcc"
CPU_FLAGS = {
    "cortex-m4": ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"],
    "cortex-m7": ["-mcpu=cortex-m7", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-d16"],
    "cortex-m55": ["-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=hard"],
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
