"""Benchmark of sharded accuracy runs: kws01 on qemu-m4 with --jobs 1 and --jobs 2.

    .venv/bin/python bench/sharding.py        # about 2 minutes on 2 cores

Prints the wall time of each full run, their ratio, and the limit: the pure emulated
inference time, i.e. the instructions the 1000 timed inferences execute (exact, from the
SysTick counter under -icount shift=0) divided by the emulator's speed measured here on
one long `infer`. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from tinybench.build.firmware import build_firmware
from tinybench.dut.emulator import QemuDut
from tinybench.dut.session import DutSession
from tinybench.journal import Journal
from tinybench.paths import locate
from tinybench.project import Project
from tinybench.runner import RunRequest, run_benchmark

BOARD = "qemu-m4"


def emulator_speed(project: Project) -> float:
    """Instructions per wall second of QEMU (icount shift=0) running kws01 inferences."""
    board = project.board(BOARD)
    build = build_firmware(project, BOARD, "native", "kws01")
    sample = (project.locations.dataset_dir("kws01") / "tst_000000_Stop_7.bin").read_bytes()
    with QemuDut(board, build.image) as qemu:
        session = DutSession(qemu.transport, shared_dir=qemu.workdir)
        session.synchronize()
        session.load(sample)
        started = time.monotonic()
        result = session.infer(200, 0)
        wall = time.monotonic() - started
    assert result.counter_ticks is not None
    return result.counter_ticks * 40 / wall  # 25 MHz SysTick: 40 instructions per tick


def full_run(project: Project, jobs: int, out: Path) -> tuple[float, int]:
    request = RunRequest("kws01", BOARD, "native", "accuracy", None, None, out, None, jobs=jobs)
    started = time.monotonic()
    run_benchmark(project, request)
    wall = time.monotonic() - started
    journal = Journal(out / "samples.jsonl")
    instructions = sum(t * 40 for o in journal.outcomes() for t in o.counter_ticks)
    journal.close()
    return wall, instructions


def main() -> int:
    project = Project(locate())
    speed = emulator_speed(project)
    with tempfile.TemporaryDirectory() as tmp:
        one, instructions = full_run(project, 1, Path(tmp) / "one")
        two, _ = full_run(project, 2, Path(tmp) / "two")
    pure = instructions / speed
    print(f"kws01 accuracy run on {BOARD}, 1000 samples, {os.cpu_count()} cores")
    print(f"  --jobs 1: {one:6.1f} s wall")
    print(f"  --jobs 2: {two:6.1f} s wall   (speed-up {one / two:.2f}x)")
    print(
        f"  pure emulated inference: {instructions / 1e9:.2f} G instructions at "
        f"{speed / 1e6:.0f} M instructions/s = {pure:.1f} s (the limit for one job; "
        f"{pure / 2:.1f} s for two on two free cores)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
