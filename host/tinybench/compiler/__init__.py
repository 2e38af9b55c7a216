"""Model compiler of the native engine: .tflite -> checked, planned C plan.

    result = compile_model(Path("kws01.tflite").read_bytes(), "kws01", Path("build/plan"))

reads the model with the TF Lite schema bundled in tflite-micro, refuses anything the native
engine cannot run bit-exactly (CompileError), computes every op parameter as TF Lite Micro does,
plans the activation arena (and each op's scratch, sized for the chosen kernel set) on the host
and writes `tb_native_model.h` / `tb_native_model.c` for firmware/engines/native. The plan also
records the model's input format and result kind (`ModelIO`, from the model manifest), which
the harness reads through engine.h.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from tinybench.compiler.emit import (
    BOUND_INPUT_OFFSET,
    HEADER_NAME,
    SOURCE_NAME,
    ModelIO,
    TensorSpec,
    emit_c,
)
from tinybench.compiler.errors import CompileError
from tinybench.compiler.layout import apply_layouts
from tinybench.compiler.lower import SUPPORTED_OPS, LoweredOp, lower_model
from tinybench.compiler.model import Model, read_model
from tinybench.compiler.planner import (
    ArenaPlan,
    PlanOp,
    check_plan,
    live_tensor_bound,
    plan_arena,
)
from tinybench.compiler.scratch import (
    DEFAULT_KERNEL_SET,
    KERNEL_SETS,
    ScratchQuery,
    scratch_query,
)

__all__ = [
    "DEFAULT_KERNEL_SET",
    "HEADER_NAME",
    "KERNEL_SETS",
    "SOURCE_NAME",
    "SUPPORTED_OPS",
    "CompileError",
    "CompileResult",
    "CompiledModel",
    "ModelIO",
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
    kernels: str = DEFAULT_KERNEL_SET  # the kernel set whose scratch sizes the plan holds
    arena_bound_bytes: int = 0  # the live-tensor lower bound (planner.live_tensor_bound)
    input_bytes: int = 0  # the int8 input tensor, held by the harness's input buffer

    @property
    def paths(self) -> tuple[Path, Path]:
        return (self.header_path, self.source_path)


@dataclass(frozen=True, eq=False)
class CompiledModel:
    """The compiler's in-memory result, before any file is written."""

    model: Model
    ops: tuple[LoweredOp, ...]
    arena: ArenaPlan
    arena_bound: int  # bytes: the live-tensor lower bound, no in-place (see planner)

    @property
    def weights_bytes(self) -> int:
        return sum(arr.nbytes for op in self.ops for _, arr in op.arrays)


_MODEL_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def analyze_model(
    tflite: bytes, kernels: str = DEFAULT_KERNEL_SET, scratch: ScratchQuery | None = None
) -> CompiledModel:
    """Parse, check, lower and plan a model without writing anything. Each op's scratch comes
    from the kernel set's query, or from `scratch` when given (tests plan nonzero sizes)."""
    query = scratch if scratch is not None else scratch_query(kernels)
    model = read_model(tflite)
    ops = apply_layouts(lower_model(model), kernels)
    sizes = {t.index: t.size for t in model.tensors if t.data is None}
    # RESHAPE is a no-op alias; ADD is elementwise (every kernel set reads element i of both
    # inputs before it writes element i), so its output may overwrite an input dying there.
    plan_ops = [
        PlanOp(op.inputs, op.output, op.struct == "reshape", query(op), op.struct == "add")
        for op in ops
    ]
    model_input, model_output = model.inputs[0], model.outputs[0]
    # The input stays in the harness's buffer (engine.h tb_engine_bind_input), not the arena.
    arena = plan_arena(plan_ops, sizes, model_input, model_output, input_in_arena=False)
    check_plan(arena)
    bound = live_tensor_bound(plan_ops, sizes, model_input, model_output)
    return CompiledModel(model, tuple(ops), arena, bound)


def compile_model(
    tflite: bytes,
    model_id: str,
    out_dir: Path,
    *,
    kernels: str = DEFAULT_KERNEL_SET,
    io: ModelIO | None = None,
    scratch: ScratchQuery | None = None,
) -> CompileResult:
    """Compile a .tflite model into the native engine's C plan in out_dir, for a kernel set
    and with the harness's input format and result kind (`io`, default int8 in, scores out)."""
    if not _MODEL_ID.match(model_id):
        raise CompileError(f"model id {model_id!r} must be 1-64 characters of [A-Za-z0-9_.-]")
    compiled = analyze_model(tflite, kernels, scratch)
    model = compiled.model
    io = io or ModelIO()
    problem = io.problem(model.tensors[model.inputs[0]].size, model.tensors[model.outputs[0]].size)
    if problem is not None:
        raise CompileError(f"model {model_id}: {problem}")
    sha = hashlib.sha256(tflite).hexdigest()
    offsets = dict(compiled.arena.offsets)
    offsets.update(dict.fromkeys(compiled.arena.external, BOUND_INPUT_OFFSET))
    inp = TensorSpec(offsets[model.inputs[0]], model.tensors[model.inputs[0]])
    outp = TensorSpec(offsets[model.outputs[0]], model.tensors[model.outputs[0]])
    header, source = emit_c(
        Path(out_dir), model_id, sha, list(compiled.ops), offsets, compiled.arena.peak, inp, outp,
        compiled.arena.scratch, io,
    )  # fmt: skip
    return CompileResult(
        model_id=model_id,
        sha256=sha,
        arena_bytes=compiled.arena.peak,
        weights_bytes=compiled.weights_bytes,
        op_count=len(compiled.ops),
        header_path=header,
        source_path=source,
        kernels=kernels,
        arena_bound_bytes=compiled.arena_bound,
        input_bytes=model.tensors[model.inputs[0]].size,
    )
