"""Benchmark of the DUT slice on QEMU: run wall time, upload bytes, instructions per inference.

    .venv/bin/python bench/dut_slice.py            # everything (about 3 minutes)
    .venv/bin/python bench/dut_slice.py --quick    # skip the full kws01 accuracy run

Prints numbers; asserts nothing. Instructions are exact: under QEMU `-icount shift=0`
one instruction is one nanosecond of virtual time (1/2**shift in general), so a SysTick tick
at f Hz is 1e9/f instructions (`instructions_per_tick`, from the board manifest).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from tinybench.build.firmware import build_firmware
from tinybench.dut.emulator import QemuDut
from tinybench.dut.session import DutSession
from tinybench.inputs import random_wire_inputs
from tinybench.manifests.boards import instructions_per_tick
from tinybench.paths import locate
from tinybench.project import Project
from tinybench.reference import ReferenceInterpreter
from tinybench.runner import RunRequest, run_benchmark

BOARD = "qemu-m4"
MODELS = ("kws01", "vww01", "ic01", "ad01")
INPUTS_PER_MODEL = 3


def full_kws01_run(project: Project) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        request = RunRequest(
            "kws01", BOARD, "native", "accuracy", None, None, Path(tmp) / "r", None
        )
        started = time.monotonic()
        outcome = run_benchmark(project, request)
        total = time.monotonic() - started
    t = outcome.document["wall_time_s"]
    acc, check = outcome.document["accuracy"], outcome.document["reference_check"]
    other = total - t["upload"] - t["inference"]
    print(
        f"full kws01 accuracy run on {BOARD}: {acc['correct']}/{acc['total']}, "
        f"{check['mismatches']} reference mismatches"
    )
    print(f"  wall time {total:7.1f} s")
    print(f"  upload    {t['upload']:7.1f} s  ({t['upload_wire_bytes']} bytes on the wire)")
    print(f"  inference {t['inference']:7.1f} s  (infer 1 0 commands, replies included)")
    print(
        f"  other     {other:7.1f} s  (build {t['build']:.1f}, reference {t['reference']:.1f}, "
        f"per-sample raw output and bookkeeping)"
    )


def per_model(project: Project) -> None:
    board = project.board(BOARD)
    print(f"\nper model on {BOARD} (native engine, {INPUTS_PER_MODEL} seeded random inputs)")
    print(
        f"{'model':6} {'wire B':>7} {'hex B (s)':>15} {'db bin B (s)':>15} {'db file s':>9} "
        f"{'instr/inference':>16} {'instr/MAC':>9} {'ref':>5}"
    )
    macs = {"kws01": 2.66e6, "vww01": 7.49e6, "ic01": 12.50e6, "ad01": 0.26e6}  # docs/design.md
    for model_id in MODELS:
        model = project.model(model_id)
        build = build_firmware(project, BOARD, "native", model_id)
        reference = ReferenceInterpreter(model, project.model_store().path(model))
        inputs = random_wire_inputs(model, INPUTS_PER_MODEL, seed=0)
        with QemuDut(board, build.image, time_limit_s=600) as qemu:
            session = DutSession(qemu.transport, shared_dir=qemu.workdir)
            session.synchronize()
            hz = session.info().integer("counter_hz")
            start, clock = session.bytes_written, time.monotonic()
            session.load_hex(inputs[0])
            hex_bytes, hex_s = session.bytes_written - start, time.monotonic() - clock
            start, clock = session.bytes_written, time.monotonic()
            session.load_binary(inputs[0])
            bin_bytes, bin_s = session.bytes_written - start, time.monotonic() - clock
            instructions = []
            matches = 0
            file_s = []
            for wire in inputs:
                clock = time.monotonic()
                session.load(wire)  # `db file`: the input goes through a shared file
                file_s.append(time.monotonic() - clock)
                result = session.infer(1, 0)
                assert result.counter_ticks is not None
                per_tick = instructions_per_tick(board, hz)
                assert per_tick is not None
                instructions.append(result.counter_ticks * per_tick)
                raw = session.results_raw()
                sample = reference.run_sample("x", None, [wire])
                matches += raw == sample.raw_outputs[0]
        spread = max(instructions) - min(instructions)
        mean = sum(instructions) / len(instructions)
        print(
            f"{model_id:6} {model.wire_bytes:7d} {hex_bytes:8d} ({hex_s:4.2f}) "
            f"{bin_bytes:8d} ({bin_s:4.2f}) {max(file_s):9.3f} "
            f"{mean / 1e6:12.2f} M{'' if spread == 0 else '*':1}  {mean / macs[model_id]:9.2f} "
            f"{matches}/{len(inputs)}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the full kws01 accuracy run")
    args = parser.parse_args()
    project = Project(locate())
    if not args.quick:
        full_kws01_run(project)
    per_model(project)
    print("\nB = bytes the host sends per sample; (s) = wall seconds for the upload; db file =")
    print("the emulator path through a shared file; ref = raw outputs equal to tflite-micro;")
    print("* instructions differ between inputs; the mean is shown")
    return 0


if __name__ == "__main__":
    sys.exit(main())
