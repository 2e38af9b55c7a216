"""The Cortex-M layer's counters where QEMU cannot show them: the DWT CYCCNT 64-bit extension
(QEMU 7.2 models no DWT) driven host-side by a simulated 32-bit counter through wraps, and the
DWT counter compiled for every Cortex-M core of boards/*.toml with the project's warnings."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from fwbuild import BOARDS, COMMON, FIRMWARE, GENERATED, TEST_C

from tinybench.build import boardgen

CORTEX_M = FIRMWARE / "ports" / "cortex_m"
WRAP = 1 << 32


@pytest.fixture(scope="module")
def extend_check(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("extend") / "tb_cm_extend_check"
    sources = [TEST_C / "tb_cm_extend_check.c", CORTEX_M / "tb_cm_extend.c"]
    cmd = ["gcc", *COMMON, f"-I{CORTEX_M}", *map(str, sources), "-o", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return out


def _extend(program: Path, true_counts: list[int]) -> list[int]:
    """The firmware's 64-bit counts for the readings a 32-bit counter shows at true_counts."""
    stdin = "".join(f"{count % WRAP}\n" for count in true_counts)
    proc = subprocess.run([str(program)], input=stdin, capture_output=True, text=True, check=True)
    return [int(line) for line in proc.stdout.split()]


def test_readings_once_per_wrap_period_give_the_exact_64_bit_count(extend_check: Path) -> None:
    rng = np.random.default_rng(7)
    # Steps up to one count short of a wrap period, many crossing 2^32, plus the edges.
    steps = [int(s) for s in rng.integers(1, WRAP, size=2000)]
    steps += [WRAP - 1, 1, WRAP - 1, 0, 0, 1, WRAP - 2, 3]
    start = WRAP - 5  # the counter starts just before a wrap
    counts = [start]
    for step in steps:
        counts.append(counts[-1] + step)
    got = _extend(extend_check, counts)
    assert got == counts[1:]  # the 64-bit count starts at the first raw reading
    assert got[-1] > 1000 * WRAP  # far beyond 32 bits: about a thousand wraps


def test_a_reading_missing_a_whole_wrap_period_loses_it(extend_check: Path) -> None:
    """Why port.h demands one reading per wrap period: a gap of 2^32 or more looks shorter."""
    counts = [0, 10, 10 + WRAP, 10 + WRAP + 5, 20 + 3 * WRAP]
    got = _extend(extend_check, counts)
    assert got == [10, 10, 15, 20]  # a gap of 2^32, then one of 2 * 2^32 + 5: both wraps lost


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="needs arm-none-eabi-gcc")
@pytest.mark.parametrize(
    "board", sorted(b.board_id for b in BOARDS.values() if boardgen.is_cortex_m(b))
)
def test_the_dwt_counter_compiles_for_every_cortex_m_board(board: str, tmp_path: Path) -> None:
    manifest = BOARDS[board]
    files = boardgen.write_board_files(manifest, GENERATED)
    includes = [
        f"-I{d}" for d in (FIRMWARE / "include", *boardgen.include_dirs(manifest, files, FIRMWARE))
    ]
    for source in (CORTEX_M / "counter" / "tb_cm_dwt.c", CORTEX_M / "tb_cm_extend.c"):
        cmd = ["arm-none-eabi-gcc", *boardgen.arch_flags(manifest), *COMMON, *includes]
        cmd += ["-c", str(source), "-o", str(tmp_path / "out.o")]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        assert proc.returncode == 0 and proc.stderr == "", proc.stderr
        assert (tmp_path / "out.o").stat().st_size > 0


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="needs arm-none-eabi-gcc")
def test_a_cmsdk_board_without_uart_interrupts_does_not_build(tmp_path: Path) -> None:
    """WFI would then sleep until a SysTick wrap per received byte: refused at compile time."""
    m4 = BOARDS["qemu-m4"]
    assert m4.uart is not None
    board = replace(m4, board_id="qemu-m4-no-irqs", uart=replace(m4.uart, irqs=()))
    files = boardgen.write_board_files(board, tmp_path)
    includes = [
        f"-I{d}" for d in (FIRMWARE / "include", *boardgen.include_dirs(board, files, FIRMWARE))
    ]
    source = FIRMWARE / "ports" / "cmsdk" / "tb_port_cmsdk.c"
    cmd = ["arm-none-eabi-gcc", *boardgen.arch_flags(board), *COMMON, *includes, "-c", str(source)]
    cmd += ["-o", str(tmp_path / "out.o")]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode != 0
    assert "list them in [uart] irqs" in proc.stderr
