"""Engines side by side on the same emulated cores: `tinybench bench`.

For every model x engine label (native and its kernel sets native-reference, native-dsp,
native-mve; tflm with CMSIS-NN, tflm with reference kernels; tinybench.engine_labels) x
emulated core, one firmware image is built and booted under QEMU -icount shift=0, and
a few seeded random inputs are run with `infer 1 0`. Figures, all from this one run:
instructions per inference (exact: SysTick ticks x 1e9 / counter Hz), instructions per
MAC (MACs counted from the model), arena bytes the engine reports beside the model's
live-tensor bound (tinybench.compiler.planner.live_tensor_bound), flash and total RAM (arena,
harness buffers, stack and the rest) from the ELF (section totals) with their breakdown
(tinybench.footprint: weights and constants, engine code, ...), the stack's high-water mark
after the inferences, and the ratio to tflm + CMSIS-NN on the same core. Each output is
checked against the host reference too. A native kernel set
written for other cores (dsp on a Cortex-M0, mve anywhere but the M55) is not measured there.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from tinybench.build.firmware import build_firmware
from tinybench.compiler import DEFAULT_KERNEL_SET, analyze_model
from tinybench.compiler.model import read_model
from tinybench.dut.emulator import QemuDut
from tinybench.dut.session import DutSession
from tinybench.engine_labels import resolve_config, runs_on
from tinybench.errors import TinybenchError
from tinybench.footprint import footprint
from tinybench.inputs import random_wire_inputs
from tinybench.manifests.boards import instructions_per_tick
from tinybench.project import Project
from tinybench.reference import ReferenceInterpreter
from tinybench.results import write_atomic

# (label, engine, kernel set): the default --engines; any label of engine_labels.known_labels()
# may be named.
ENGINE_CONFIGS: tuple[tuple[str, str, str], ...] = (
    ("native", "native", ""),
    ("tflm-cmsis-nn", "tflm", "cmsis-nn"),
    ("tflm-reference", "tflm", "reference"),
)
BASELINE = "tflm-cmsis-nn"


@dataclass(frozen=True)
class BenchRow:
    model: str
    board: str
    engine: str
    instructions: float  # mean per inference over the inputs
    instructions_spread: float  # max - min over the inputs
    instructions_per_mac: float
    arena_bytes: int
    flash_bytes: int
    ram_bytes: int
    reference_matches: int
    inputs: int
    ratio_to_baseline: float | None = None
    # {"flash": {figure: bytes}, "ram": {figure: bytes}}, as results.json memory.breakdown
    breakdown: dict[str, dict[str, int]] = field(default_factory=dict)
    stack_bytes: int | None = None  # the reserve, when the DUT reports its stack
    stack_used_bytes: int | None = None  # the high-water mark after the inferences
    # The model's live-tensor lower bound (the native plan's, with the row's kernel set scratch)
    arena_bound_bytes: int | None = None


def model_macs(tflite: bytes) -> int:
    """Multiply-accumulates of one inference: CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED."""
    model = read_model(tflite)
    total = 0
    for op in model.operators:
        if op.name not in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            continue
        output = model.tensors[op.outputs[0]].shape
        weights = model.tensors[op.inputs[1]].shape
        if op.name == "CONV_2D":  # filter [out_c, kh, kw, in_c]
            per_output = math.prod(weights[1:])
        elif op.name == "DEPTHWISE_CONV_2D":  # filter [1, kh, kw, c]: one channel per output
            per_output = weights[1] * weights[2]
        else:  # FULLY_CONNECTED filter [out, in]
            per_output = weights[1]
        total += math.prod(output) * per_output
    return total


def measure(
    project: Project, model_id: str, board_id: str, label: str, engine: str, kernels: str,
    inputs: int, seed: int,
) -> BenchRow:  # fmt: skip
    """One row; model_id is a catalogue id or the path of the user's own .tflite file."""
    manifest = project.resolve_model(model_id)
    model_path = project.model_path(manifest)
    build = build_firmware(project, board_id, engine, manifest, kernels or None)
    reference = ReferenceInterpreter(manifest, model_path)
    wires = random_wire_inputs(manifest, inputs, seed)
    counts: list[float] = []
    matches = 0
    with QemuDut(project.board(board_id), build.image, time_limit_s=600) as qemu:
        session = DutSession(qemu.transport, shared_dir=qemu.workdir)
        session.synchronize()
        info = session.info()
        per_tick = instructions_per_tick(project.board(board_id), info.integer("counter_hz"))
        if per_tick is None:
            raise TinybenchError(f"board {board_id} is not emulated: no exact instruction count")
        for wire in wires:
            session.load(wire)
            result = session.infer(1, 0)
            assert result.counter_ticks is not None
            counts.append(result.counter_ticks * per_tick)
            expected = reference.run_sample("bench", None, [wire]).raw_outputs[0]
            matches += session.results_raw() == expected
        stack = session.info().stack()  # after the inferences: their deepest use included
    found = footprint(build.image)  # its totals equal the program headers' on a Cortex-M image
    mean = statistics.fmean(counts)
    native_set = kernels if engine == "native" and kernels else DEFAULT_KERNEL_SET
    bound = analyze_model(model_path.read_bytes(), native_set).arena_bound
    return BenchRow(
        model=manifest.model_id, board=board_id, engine=label, instructions=mean,
        instructions_spread=max(counts) - min(counts),
        instructions_per_mac=mean / model_macs(model_path.read_bytes()),
        arena_bytes=info.integer("arena_used"), flash_bytes=found.flash_bytes,
        ram_bytes=found.ram_bytes, reference_matches=matches, inputs=len(wires),
        breakdown={"flash": dict(found.breakdown_flash), "ram": dict(found.breakdown_ram)},
        stack_bytes=stack.bytes if stack is not None else None,
        stack_used_bytes=stack.used_bytes if stack is not None else None,
        arena_bound_bytes=bound,
    )  # fmt: skip


def run_bench(
    project: Project, models: Sequence[str], boards: Sequence[str], engines: Sequence[str],
    inputs: int = 3, seed: int = 0, progress: Callable[[str], None] | None = None,
) -> list[BenchRow]:  # fmt: skip
    """Rows per board x model x engine label (in the order given), skipping a label whose kernel
    set is not meant for the board's core."""
    configs = [resolve_config(label) for label in engines]
    rows: list[BenchRow] = []
    for board in boards:
        core = project.board(board).core
        for model in models:
            for label, engine, kernels in configs:
                if not runs_on(engine, kernels, core):
                    if progress is not None:
                        progress(f"{model} on {board} with {label}: skipped ({kernels} is not "
                                 f"for {core})")  # fmt: skip
                    continue
                if progress is not None:
                    progress(f"{model} on {board} with {label}")
                rows.append(measure(project, model, board, label, engine, kernels, inputs, seed))
    baselines = {(r.model, r.board): r.instructions for r in rows if r.engine == BASELINE}
    return [
        replace(r, ratio_to_baseline=r.instructions / baselines[(r.model, r.board)])
        if (r.model, r.board) in baselines else r
        for r in rows
    ]  # fmt: skip


def _optional(value: int | None) -> str:
    return "-" if value is None else str(value)


def table(rows: Sequence[BenchRow]) -> list[str]:
    header = (f"{'model':6} {'board':9} {'engine':16} {'instr/inf':>12} {'instr/MAC':>9} "
              f"{'vs cmsis':>8} {'arena B':>8} {'bound B':>8} {'flash B':>8} {'RAM B':>8} "
              f"{'ref':>5} "
              f"{'weights B':>9} {'code B':>8} {'stack B':>8}")  # fmt: skip
    lines = [header, "-" * len(header)]
    for r in rows:
        ratio = "-" if r.ratio_to_baseline is None else f"{r.ratio_to_baseline:.2f}x"
        flash = r.breakdown.get("flash", {})
        lines.append(
            f"{r.model:6} {r.board:9} {r.engine:16} {r.instructions / 1e6:10.3f} M "
            f"{r.instructions_per_mac:9.2f} {ratio:>8} {r.arena_bytes:8d} "
            f"{_optional(r.arena_bound_bytes):>8} {r.flash_bytes:8d} "
            f"{r.ram_bytes:8d} {f'{r.reference_matches}/{r.inputs}':>5} "
            f"{_optional(flash.get('weights_and_constants')):>9} "
            f"{_optional(flash.get('engine_code')):>8} {_optional(r.stack_used_bytes):>8}"
        )
    return lines


def write_bench(out_dir: Path, rows: Sequence[BenchRow]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    document = {"format": "tinybench-bench", "rows": [asdict(r) for r in rows]}
    write_atomic(out_dir / "bench.json", json.dumps(document, indent=2) + "\n")
    write_atomic(out_dir / "bench.txt", "\n".join(table(rows)) + "\n")
