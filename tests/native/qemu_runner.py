"""Building tests/native/target/tb_qemu_runner.c with a plan and inputs for an emulated
Cortex-M (QEMU mps2-an386 = Cortex-M4F, mps2-an500 = Cortex-M7) and parsing what it prints."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tinybench.compiler.hostlib import ENGINE_SOURCES, engine_dir, include_dir

TARGET_DIR = Path(__file__).resolve().parent / "target"
MACHINES = {
    "cortex-m4": ("mps2-an386", ["-mcpu=cortex-m4", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]),
    "cortex-m7": ("mps2-an500", ["-mcpu=cortex-m7", "-mfloat-abi=hard", "-mfpu=fpv5-d16"]),
}


def tools_available() -> bool:
    return all(shutil.which(t) for t in ("arm-none-eabi-gcc", "qemu-system-arm"))


@dataclass(frozen=True)
class TargetResult:
    outputs: list[bytes]
    repeats: list[bytes]  # output of the second invoke on the same input
    ticks: list[int]  # SysTick (25 MHz) ticks of each first invoke; 40 instructions per tick


def build_runner(plan_dir: Path, inputs: list[bytes], out_dir: Path, cpu: str) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    size = len(inputs[0])
    values = ",".join(str(b - 256 if b > 127 else b) for data in inputs for b in data)
    (out_dir / "tb_test_inputs.c").write_text(
        "#include <stdint.h>\n"
        f"const uint32_t tb_test_input_count = {len(inputs)}u;\n"
        f"const int8_t tb_test_inputs[{len(inputs) * size}] = {{{values}}};\n"
    )
    sources = [engine_dir() / s for s in ENGINE_SOURCES]
    sources += [plan_dir / "tb_native_model.c", TARGET_DIR / "tb_qemu_runner.c"]
    sources.append(out_dir / "tb_test_inputs.c")
    image = out_dir / "runner.elf"
    cmd = [
        "arm-none-eabi-gcc", *MACHINES[cpu][1], "-mthumb", "-std=c99", "-O2", "-Wall", "-Wextra",
        "-Werror", "-ffunction-sections", "-fdata-sections", "-nostartfiles",
        "--specs=nano.specs", "-Wl,--gc-sections", "-T", str(TARGET_DIR / "tb_qemu_runner.ld"),
        "-I", str(include_dir()), "-I", str(engine_dir()), "-I", str(plan_dir),
        *[str(s) for s in sources], "-o", str(image),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"runner build failed:\n{proc.stderr}")
    return image


def run_runner(image: Path, cpu: str, count: int, timeout: float = 300.0) -> TargetResult:
    machine = MACHINES[cpu][0]
    cmd = ["qemu-system-arm", "-M", machine, "-nographic", "-monitor", "none", "-serial", "none",
           "-semihosting", "-icount", "shift=0", "-kernel", str(image)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"runner exited with {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    outputs: list[bytes] = []
    repeats: list[bytes] = []
    ticks: list[int] = []
    # With -serial none, QEMU writes the semihosting console to stderr.
    lines = (proc.stdout + proc.stderr).splitlines()
    for line in lines:
        parts = line.split()
        if len(parts) == 5 and parts[0] == "out":
            assert int(parts[1]) == len(outputs)
            ticks.append(int(parts[2]))
            outputs.append(bytes.fromhex(parts[3]))
            repeats.append(bytes.fromhex(parts[4]))
    if len(outputs) != count or "done" not in lines:
        text = "\n".join(lines)
        raise RuntimeError(f"runner printed {len(outputs)} of {count} outputs:\n{text}")
    return TargetResult(outputs, repeats, ticks)
