"""Measures the tflm engine on qemu-m4: instructions per inference, arena, flash and RAM.

    .venv/bin/python tests/tflm/measure_tflm.py                      # cmsis-nn, 4 models
    .venv/bin/python tests/tflm/measure_tflm.py --kernels reference
    .venv/bin/python tests/tflm/measure_tflm.py --engine native      # same numbers for native

Prints numbers; asserts nothing (not collected by pytest). Instructions are exact: under
QEMU `-icount shift=0` one instruction is one nanosecond of virtual time, so a SysTick
tick at f Hz is 1e9/f instructions (bench/dut_slice.py measures the native engine so).
"""

from __future__ import annotations

import argparse
import sys

from tinybench.build.firmware import build_firmware
from tinybench.dut import DutSession
from tinybench.elfsize import image_size
from tinybench.emulator import QemuDut
from tinybench.inputs import random_wire_inputs
from tinybench.paths import locate
from tinybench.project import Project
from tinybench.reference import ReferenceInterpreter

BOARD = "qemu-m4"
MODELS = ("kws01", "vww01", "ic01", "ad01")
INPUTS_PER_MODEL = 3
# TFLM.md (measured with CMSIS-NN / reference kernels on mps2-an386, -icount shift=0).
TFLM_MD = {
    "cmsis-nn": {"kws01": 7.70e6, "vww01": 24.1e6, "ic01": 29.9e6, "ad01": 0.583e6},
    "reference": {"kws01": 43.0e6, "vww01": 100.2e6, "ic01": 107.3e6, "ad01": 1.95e6},
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", default="tflm", choices=("tflm", "native"))
    parser.add_argument("--kernels", default="cmsis-nn", choices=("cmsis-nn", "reference"))
    parser.add_argument("models", nargs="*", default=list(MODELS))
    args = parser.parse_args()
    project = Project(locate())
    board = project.board(BOARD)
    label = args.engine if args.engine == "native" else f"tflm {args.kernels}"
    print(f"{label} on {BOARD}, {INPUTS_PER_MODEL} seeded random inputs per model")
    print(
        f"{'model':6} {'instr/inference':>16} {'TFLM.md':>8} {'diff':>7} {'arena_used':>10} "
        f"{'arena':>8} {'flash':>8} {'RAM':>8} {'ref':>4} {'3x2=1x0':>7}"
    )
    for model_id in args.models:
        model = project.model(model_id)
        build = build_firmware(project, BOARD, args.engine, model_id, args.kernels)
        size = image_size(build.image)
        reference = ReferenceInterpreter(model, project.model_store().path(model))
        inputs = random_wire_inputs(model, INPUTS_PER_MODEL, seed=0)
        instructions: list[float] = []
        matches = 0
        repeat_ok = True
        with QemuDut(board, build.image, time_limit_s=900) as qemu:
            session = DutSession(qemu.transport, shared_dir=qemu.workdir)
            session.synchronize()
            info = session.info()
            hz = info.integer("counter_hz")
            for wire in inputs:
                session.load(wire)
                result = session.infer(1, 0)
                assert result.counter_ticks is not None
                instructions.append(result.counter_ticks * 1e9 / hz)
                raw = session.results_raw()
                matches += raw == reference.run_sample("x", None, [wire]).raw_outputs[0]
            session.infer(3, 2)
            repeat_ok = session.results_raw() == raw
        mean = sum(instructions) / len(instructions)
        spread = "*" if max(instructions) != min(instructions) else ""
        expected = TFLM_MD[args.kernels].get(model_id) if args.engine == "tflm" else None
        diff = f"{(mean / expected - 1) * 100:+6.1f}%" if expected else "      -"
        print(
            f"{model_id:6} {mean / 1e6:14.3f} M{spread:1} "
            f"{(expected or 0) / 1e6:7.3f}M {diff} {info.integer('arena_used'):10d} "
            f"{info.integer('arena_bytes'):8d} {size.flash_bytes:8d} {size.ram_bytes:8d} "
            f"{matches}/{len(inputs)} {'yes' if repeat_ok else 'NO':>7}"
        )
    print("* instructions differ between inputs; the mean is shown")
    return 0


if __name__ == "__main__":
    sys.exit(main())
