"""Model compiler of the native engine: .tflite -> checked, planned C plan.

    result = compile_model(Path("kws01.tflite").read_bytes(), "kws01", Path("build/plan"))

reads the model with the TF Lite schema bundled in tflite-micro, refuses anything the native
engine cannot run bit-exactly (CompileError), computes every op parameter as TF Lite Micro does,
plans the activation arena on the host and writes `tb_native_model.h` / `tb_native_model.c`
for firmware/engines/native.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from tinybench.compiler.emit import HEADER_NAME, SOURCE_NAME, TensorSpec, emit_c
from tinybench.compiler.errors import CompileError
from tinybench.compiler.lower import SUPPORTED_OPS, LoweredOp, lower_model
from tinybench.compiler.model import Model, read_model
from tinybench.compiler.planner import ArenaPlan, PlanOp, check_plan, plan_arena

__all__ = [
    "HEADER_NAME",
    "SOURCE_NAME",
    "SUPPORTED_OPS",
    "CompileError",
    "CompileResult",
    "CompiledModel",
    "analyze_model",
    "compile_model",
]


@dataclass(frozen=True)
class CompileResult:
    model_id: str
    sha256: str
    arena_bytes: int  # the plan's peak: what tb_engine_arena_required() returns
    weights_bytes: int  # constant data emitted: weights, biases, multipliers, shifts
    op_count: int
    header_path: Path
    source_path: Path

    @property
    def paths(self) -> tuple[Path, Path]:
        return (self.header_path, self.source_path)


@dataclass(frozen=True, eq=False)
class CompiledModel:
    """The compiler's in-memory result, before any file is written."""

    model: Model
    ops: tuple[LoweredOp, ...]
    arena: ArenaPlan

    @property
    def weights_bytes(self) -> int:
        return sum(arr.nbytes for op in self.ops for _, arr in op.arrays)


_MODEL_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def analyze_model(tflite: bytes) -> CompiledModel:
    """Parse, check, lower and plan a model without writing anything."""
    model = read_model(tflite)
    ops = lower_model(model)
    sizes = {t.index: t.size for t in model.tensors if t.data is None}
    plan_ops = [PlanOp(op.inputs, op.output, op.struct == "reshape") for op in ops]
    arena = plan_arena(plan_ops, sizes, model.inputs[0], model.outputs[0])
    check_plan(arena)
    return CompiledModel(model, tuple(ops), arena)


def compile_model(tflite: bytes, model_id: str, out_dir: Path) -> CompileResult:
    """Compile a .tflite model into the native engine's C plan in out_dir."""
    if not _MODEL_ID.match(model_id):
        raise CompileError(f"model id {model_id!r} must be 1-64 characters of [A-Za-z0-9_.-]")
    compiled = analyze_model(tflite)
    model = compiled.model
    sha = hashlib.sha256(tflite).hexdigest()
    offsets = compiled.arena.offsets
    inp = TensorSpec(offsets[model.inputs[0]], model.tensors[model.inputs[0]])
    outp = TensorSpec(offsets[model.outputs[0]], model.tensors[model.outputs[0]])
    header, source = emit_c(
        Path(out_dir), model_id, sha, list(compiled.ops), offsets, compiled.arena.peak, inp, outp
    )
    return CompileResult(
        model_id=model_id,
        sha256=sha,
        arena_bytes=compiled.arena.peak,
        weights_bytes=compiled.weights_bytes,
        op_count=len(compiled.ops),
        header_path=header,
        source_path=source,
    )
