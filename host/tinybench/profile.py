"""Where one inference's time goes: the per-op table of `tinybench profile` and of results.json.

The DUT's `opprofile` extension runs one inference with the counter read around every op and
prints each op's ticks plus the whole invoke's ticks. The host adds what the firmware does not
know: each op's output shape and MACs (from the .tflite file, with the compiler's model reader),
the unit (instructions on an emulated board with exact icount, cycles on a board whose counter is
the DWT cycle counter, plain ticks otherwise) and a separate `infer 1 0` reading in the same
session, so the per-op sum can be checked against the count the benchmark itself reports.

MACs: CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED count one multiply-accumulate per weight
use; every other op (pooling, ADD, SOFTMAX, RESHAPE) counts 0, so its per-MAC figure is null.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinybench.build.firmware import build_firmware
from tinybench.compiler.model import Model, read_model
from tinybench.dut.link import open_dut
from tinybench.dut.session import DutSession, OpProfile
from tinybench.engine_labels import resolve_config as resolve_config  # re-exported: its old home
from tinybench.errors import ProtocolError, TinybenchError
from tinybench.inputs import random_wire_inputs
from tinybench.manifests.boards import BoardKind, BoardManifest, CounterKind, instructions_per_tick
from tinybench.project import Project
from tinybench.results import write_atomic

MAC_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
PROFILE_FORMAT = "tinybench-profile"
PROFILE_VERSION = 1


@dataclass(frozen=True)
class ModelOp:
    """What the host knows of one op of the model: its builtin name, output shape and MACs."""

    op: str
    shape: str  # output shape like "1x25x5x64"
    macs: int


@dataclass(frozen=True)
class OpRow:
    index: int
    op: str
    shape: str
    macs: int
    ticks: int
    count: float  # ticks x per_tick, in the table's unit
    per_mac: float | None  # count per MAC; None for ops without MACs
    share: float  # of the per-op sum, 0..1


@dataclass(frozen=True)
class ProfileTable:
    label: str
    engine: str
    kernels: str
    unit: str  # "instructions", "cycles" or "ticks"
    per_tick: float  # unit per counter tick
    whole_ticks: int  # the whole invoke around which the ops were read
    sum_ticks: int  # the ops' ticks added up
    infer_ticks: int | None  # a separate plain `infer 1 0` in the same session
    ops: tuple[OpRow, ...]

    def block(self) -> dict[str, Any]:
        """results.json `profile` (and one table of profile.json, with the label)."""
        block: dict[str, Any] = {
            "engine": self.engine,
            "kernels": self.kernels,
            "unit": self.unit,
            "per_tick": self.per_tick,
            "whole_ticks": self.whole_ticks,
            "sum_ticks": self.sum_ticks,
            "ops": [
                {
                    "index": r.index, "op": r.op, "shape": r.shape, "macs": r.macs,
                    "ticks": r.ticks, "count": r.count, "per_mac": r.per_mac, "share": r.share,
                }
                for r in self.ops
            ],
        }  # fmt: skip
        if self.infer_ticks is not None:
            block["infer_ticks"] = self.infer_ticks
        return block


def _op_macs(model: Model, index: int) -> int:
    op = model.operators[index]
    if op.name not in MAC_OPS:
        return 0
    output = model.tensors[op.outputs[0]].shape
    weights = model.tensors[op.inputs[1]].shape
    if op.name == "CONV_2D":  # filter [out_c, kh, kw, in_c]
        per_output = math.prod(weights[1:])
    elif op.name == "DEPTHWISE_CONV_2D":  # filter [1, kh, kw, c]: one input channel per output
        per_output = weights[1] * weights[2]
    else:  # FULLY_CONNECTED filter [out, in]
        per_output = weights[1]
    return math.prod(output) * per_output


def model_ops(tflite: bytes) -> tuple[ModelOp, ...]:
    """Every op of the model in operator order, with its output shape and MACs."""
    model = read_model(tflite)
    return tuple(
        ModelOp(
            op.name,
            "x".join(str(d) for d in model.tensors[op.outputs[0]].shape),
            _op_macs(model, op.index),
        )
        for op in model.operators
    )


def profile_unit(board: BoardManifest, counter_hz: int | None) -> tuple[str, float]:
    """The unit a table counts in and how many of it one counter tick is."""
    per_tick = instructions_per_tick(board, counter_hz)
    if per_tick is not None:
        return "instructions", per_tick
    if board.counter is CounterKind.DWT and counter_hz:
        return "cycles", board.cpu_hz / counter_hz
    return "ticks", 1.0


def build_table(
    label: str, engine: str, kernels: str, unit: tuple[str, float], ops: Sequence[ModelOp],
    measured: OpProfile, infer_ticks: int | None,
) -> ProfileTable:  # fmt: skip
    """The DUT's per-op ticks joined with the model's ops; the op lists must agree one to one."""
    if len(measured.ops) != len(ops):
        raise ProtocolError(
            f"opprofile: the DUT reports {len(measured.ops)} ops, the model has {len(ops)}"
        )
    for mine, theirs in zip(ops, measured.ops, strict=True):
        if mine.op != theirs.op:
            raise ProtocolError(
                f"opprofile: op {theirs.index} is {theirs.op} on the DUT, {mine.op} in the model"
            )
    name, per_tick = unit
    total = sum(t.ticks for t in measured.ops)
    rows = tuple(
        OpRow(
            index=t.index, op=t.op, shape=m.shape, macs=m.macs, ticks=t.ticks,
            count=t.ticks * per_tick,
            per_mac=t.ticks * per_tick / m.macs if m.macs else None,
            share=t.ticks / total if total else 0.0,
        )
        for m, t in zip(ops, measured.ops, strict=True)
    )  # fmt: skip
    return ProfileTable(
        label, engine, kernels, name, per_tick, measured.total_ticks, total, infer_ticks, rows
    )


def profile_session(
    session: DutSession, label: str, engine: str, kernels: str, unit: tuple[str, float],
    ops: Sequence[ModelOp], wire: bytes | None, plain_infer: bool = True,
) -> ProfileTable:  # fmt: skip
    """One `opprofile` on the session's DUT (after loading wire, if given), then, with
    plain_infer, one plain `infer 1 0` on the same input for the count the benchmark reports."""
    if wire is not None:
        session.load(wire)
    measured = session.opprofile()
    infer_ticks = None
    if plain_infer:
        infer_ticks = session.infer(1, 0).counter_ticks
    return build_table(label, engine, kernels, unit, ops, measured, infer_ticks)


def run_profile(
    project: Project, model_id: str, board_id: str, configs: Sequence[tuple[str, str, str]],
    wire: bytes | None = None, seed: int = 0, serial_port: str | None = None,
) -> list[ProfileTable]:  # fmt: skip
    """One table per (label, engine, kernel set): build, boot (or open the port), one profiled
    inference and one plain one on the same input (seeded random unless wire is given)."""
    manifest = project.resolve_model(model_id)
    board = project.board(board_id)
    if wire is None:
        wire = random_wire_inputs(manifest, 1, seed)[0]
    elif len(wire) != manifest.wire_bytes:
        raise TinybenchError(
            f"--input holds {len(wire)} bytes; {manifest.model_id} takes {manifest.wire_bytes}"
        )
    if board.kind is BoardKind.PHYSICAL and len(configs) != 1:
        raise TinybenchError(
            f"{board_id} is a physical board: it holds one image, so one --engine at a time"
        )
    ops = model_ops(project.model_path(manifest).read_bytes())
    tables: list[ProfileTable] = []
    for label, engine, kernels in configs:
        build = build_firmware(project, board_id, engine, manifest, kernels)
        if board.kind is BoardKind.PHYSICAL and serial_port is None:
            raise TinybenchError(
                f"{board_id} is a physical board: flash {build.image} and pass --port"
            )
        with open_dut(board, build.image, serial_port) as link:
            session = DutSession(link.transport, shared_dir=link.shared_dir)
            session.synchronize()
            info = session.info()
            # A flashed board may run another image than the one just built.
            running = (info.get("engine"), info.get("model_sha256"))
            if running != (engine, manifest.source.sha256):
                raise TinybenchError(
                    f"the DUT runs engine {running[0]} with model sha256 {running[1][:12]}, not "
                    f"{engine} with {manifest.source.sha256[:12]}: flash {build.image}"
                )
            unit = profile_unit(board, info.integer("counter_hz"))
            tables.append(profile_session(session, label, engine, kernels, unit, ops, wire))
    return tables


def _count(value: float) -> str:
    return f"{value / 1e3:,.1f}k" if value >= 1e4 else f"{value:,.0f}"


def table_lines(tables: Sequence[ProfileTable]) -> list[str]:
    """The tables side by side (op, shape, MACs once), then per table count, per MAC and share;
    with two or more tables, the first one's count over each other's per op."""
    first = tables[0]
    head = f"{'#':>3} {'op':18} {'shape':14} {'MACs':>10}"
    for t in tables:
        head += f" | {t.label[:14]:>14} {'/MAC':>7} {'share':>6}"
    ratios = [f"{first.label}/{t.label}" for t in tables[1:]]
    for name in ratios:
        head += f" | {name}"
    lines = [f"unit: {first.unit} ({first.per_tick:g} per counter tick)", head, "-" * len(head)]
    for i, row in enumerate(first.ops):
        line = f"{row.index:3d} {row.op[:18]:18} {row.shape[:14]:14} {row.macs:10d}"
        for t in tables:
            r = t.ops[i]
            per_mac = "-" if r.per_mac is None else f"{r.per_mac:.2f}"
            line += f" | {_count(r.count):>14} {per_mac:>7} {r.share * 100:5.1f}%"
        for t, name in zip(tables[1:], ratios, strict=True):
            other = t.ops[i].ticks
            ratio = f"{row.ticks / other:.2f}x" if other else "-"
            line += f" | {ratio:>{len(name)}}"
        lines.append(line)
    lines.append("-" * len(head))
    for t in tables:
        lines.append(
            f"{t.label}: per-op sum {_count(t.sum_ticks * t.per_tick)} {t.unit}; "
            f"whole invoke {_count(t.whole_ticks * t.per_tick)} "
            f"({difference(t.sum_ticks, t.whole_ticks):+.2f} %)"
            + (
                ""
                if t.infer_ticks is None
                else f"; plain infer 1 0 {_count(t.infer_ticks * t.per_tick)} "
                f"({difference(t.sum_ticks, t.infer_ticks):+.2f} %)"
            )
        )
    return lines


def difference(part: int, whole: int) -> float:
    """(part - whole) / whole in %, 0 for an empty whole."""
    return (part - whole) / whole * 100.0 if whole else 0.0


def profile_document(model: str, board: str, tables: Sequence[ProfileTable]) -> dict[str, Any]:
    return {
        "format": PROFILE_FORMAT,
        "version": PROFILE_VERSION,
        "model": model,
        "board": board,
        "tables": [{"label": t.label, **t.block()} for t in tables],
    }


def write_profile(out_dir: Path, document: dict[str, Any], lines: Sequence[str]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(out_dir / "profile.json", json.dumps(document, indent=2) + "\n")
    write_atomic(out_dir / "profile.txt", "\n".join(lines) + "\n")
