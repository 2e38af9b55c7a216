"""Static arena planning: lifetimes over the op order, then offsets that minimise the peak.

Buffers are placed greedily, largest first, each at the lowest 16-byte-aligned offset that does
not overlap a buffer already placed whose lifetime intersects its own. RESHAPE outputs share
their input's buffer. An op whose kernel is elementwise (`PlanOp.inplace`, ADD) writes its output
over an input that dies at that op, so the two tensors are one buffer. An op's scratch buffer
(the bytes its kernel asks for, see scratch.py) is one more buffer, live only during that op, so
it never overlaps the op's inputs or output but may reuse the memory of dead tensors.

Where the model input lives is the caller's choice. With `input_in_arena=False` (the native
engine) it gets no arena memory at all: the engine reads it from the harness's own input buffer,
which inference never writes (engine.h `tb_engine_bind_input`), so repeated invokes on one input
give one output without pinning a copy in the arena. With `input_in_arena=True` (the default; the
TF Lite Micro arena estimate) it stays live for the whole plan.

`live_tensor_bound` is the lower bound any placement without in-place reuse must meet: the
largest sum of the tensors alive at once (plus that op's scratch), from the tensor sizes alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tinybench.compiler.errors import CompileError

ALIGN = 16


def align_up(value: int, align: int = ALIGN) -> int:
    return (value + align - 1) // align * align


@dataclass(frozen=True)
class Buffer:
    """One arena region, shared by a tensor and its aliases."""

    tensors: tuple[int, ...]  # empty for a scratch buffer
    size: int  # bytes, before alignment
    first: int  # op index of the first write (-1: before the first op)
    last: int  # op index of the last read (inclusive)
    scratch_of: int = -1  # the op whose scratch this is; -1 for tensors

    def overlaps_in_time(self, other: Buffer) -> bool:
        return self.first <= other.last and other.first <= self.last

    def describe(self) -> str:
        return f"scratch of op {self.scratch_of}" if self.scratch_of >= 0 else f"{self.tensors}"


@dataclass(frozen=True)
class ArenaPlan:
    offsets: dict[int, int]  # tensor index -> arena offset (an external input has none)
    buffers: tuple[tuple[Buffer, int], ...]  # each buffer with its offset
    peak: int  # arena bytes needed, a multiple of ALIGN
    scratch: dict[int, tuple[int, int]] = field(default_factory=dict)  # op -> (offset, bytes)
    external: frozenset[int] = frozenset()  # tensors read from the caller's input buffer


@dataclass(frozen=True)
class PlanOp:
    inputs: tuple[int, ...]
    output: int
    alias: bool  # output shares the first input's memory
    scratch: int = 0  # bytes of scratch the op's kernel needs while it runs
    inplace: bool = False  # the kernel may write its output over an input of the same size


def _last_reads(ops: list[PlanOp], model_output: int) -> dict[int, int]:
    last: dict[int, int] = {}
    for i, op in enumerate(ops):
        for t in op.inputs:
            last[t] = i
    last[model_output] = len(ops) - 1
    return last


def live_tensor_bound(
    ops: list[PlanOp], sizes: dict[int, int], model_input: int, model_output: int
) -> int:
    """Bytes of the largest set of tensors alive at once, no in-place and no aliasing (a
    RESHAPE output counts as a tensor of its own), plus the op's scratch; the model input is
    alive from the start to its last reader, the model output from its op to the end."""
    last = _last_reads(ops, model_output)
    first = {model_input: -1}
    for i, op in enumerate(ops):
        first.setdefault(op.output, i)
    bound = 0
    for i, op in enumerate(ops):
        live = sum(sizes[t] for t, start in first.items() if start <= i <= last.get(t, start))
        bound = max(bound, live + op.scratch)
    return bound


def _roots(
    ops: list[PlanOp],
    sizes: dict[int, int],
    model_input: int,
    model_output: int,
    alias_input: bool,
) -> dict[int, int]:
    """Each tensor's buffer: its own, its aliased input's, or (in place) a dying input's. A
    RESHAPE of the model input shares its buffer only when the input is in the arena
    (`alias_input`); of the caller's buffer the engine makes an arena copy."""
    own_last = _last_reads(ops, model_output)
    root: dict[int, int] = {model_input: model_input}
    last_of_root: dict[int, int] = {model_input: own_last.get(model_input, -1)}
    for i, op in enumerate(ops):
        for t in op.inputs:
            if t not in root:
                raise CompileError(f"tensor {t} is read before it is written")
        target = op.output
        if op.alias and (alias_input or root[op.inputs[0]] != root[model_input]):
            target = root[op.inputs[0]]
        elif op.inplace:
            for t in op.inputs:
                r = root[t]
                # The input's whole buffer dies here, it has the output's size and it is not
                # the caller's input (which inference never writes).
                if r != root[model_input] and last_of_root[r] == i and sizes[t] == sizes[op.output]:
                    target = r
                    break
        root[op.output] = target
        last_of_root[target] = max(last_of_root.get(target, i), own_last.get(op.output, i))
    return root


def plan_arena(
    ops: list[PlanOp],
    sizes: dict[int, int],
    model_input: int,
    model_output: int,
    *,
    input_in_arena: bool = True,
) -> ArenaPlan:
    """Assign every activation tensor an offset; `sizes` gives each tensor's bytes."""
    root = _roots(ops, sizes, model_input, model_output, alias_input=input_in_arena)
    members: dict[int, list[int]] = {}
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for tensor, r in root.items():
        members.setdefault(r, []).append(tensor)
    first[root[model_input]] = -1
    end = len(ops) - 1
    for i, op in enumerate(ops):
        r_out = root[op.output]
        first.setdefault(r_out, i)
        last[r_out] = max(last.get(r_out, i), i)
        for t in op.inputs:
            last[root[t]] = max(last.get(root[t], i), i)
    if input_in_arena:
        last[root[model_input]] = end
    last[root[model_output]] = end
    external = frozenset(() if input_in_arena else members[root[model_input]])
    buffers = [
        Buffer(tuple(sorted(members[r])), max(sizes[t] for t in members[r]), first[r], last[r])
        for r in members
        if input_in_arena or r != root[model_input]
    ]
    buffers += [Buffer((), op.scratch, i, i, i) for i, op in enumerate(ops) if op.scratch > 0]
    # Largest first; ties by earlier start, then by first tensor index (scratch after the
    # tensors of its op) for determinism.
    order = sorted(
        buffers,
        key=lambda b: (-align_up(b.size), b.first, b.scratch_of, b.tensors[:1]),
    )
    placed: list[tuple[Buffer, int]] = []
    for buf in order:
        need = align_up(buf.size)
        busy = sorted(
            (off, off + align_up(other.size))
            for other, off in placed
            if other.overlaps_in_time(buf)
        )
        offset = 0
        for start, stop in busy:
            if offset + need <= start:
                break
            offset = max(offset, stop)
        placed.append((buf, offset))
    offsets = {t: off for buf, off in placed for t in buf.tensors}
    scratch = {buf.scratch_of: (off, buf.size) for buf, off in placed if buf.scratch_of >= 0}
    peak = max((off + align_up(buf.size) for buf, off in placed), default=0)
    return ArenaPlan(offsets, tuple(placed), peak, scratch, external)


def check_plan(plan: ArenaPlan) -> None:
    """Raise if two buffers that are live at the same time overlap in memory."""
    items = list(plan.buffers)
    for i, (a, off_a) in enumerate(items):
        for b, off_b in items[i + 1 :]:
            if a.overlaps_in_time(b) and off_a < off_b + b.size and off_b < off_a + a.size:
                raise CompileError(f"arena plan overlaps {a.describe()} and {b.describe()}")
