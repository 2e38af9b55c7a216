"""Static arena planning: lifetimes over the op order, then offsets that minimise the peak.

Buffers are placed greedily, largest first, each at the lowest 16-byte-aligned offset that does
not overlap a buffer already placed whose lifetime intersects its own. RESHAPE outputs share
their input's buffer. The model input stays live for the whole plan, so the engine never
overwrites it and repeated invokes on one input give one output. An op's scratch buffer (the
bytes its kernel asks for, see scratch.py) is one more buffer, live only during that op, so it
never overlaps the op's inputs or output but may reuse the memory of dead tensors.
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
    offsets: dict[int, int]  # tensor index -> arena offset
    buffers: tuple[tuple[Buffer, int], ...]  # each buffer with its offset
    peak: int  # arena bytes needed, a multiple of ALIGN
    scratch: dict[int, tuple[int, int]] = field(default_factory=dict)  # op -> (offset, bytes)


@dataclass(frozen=True)
class PlanOp:
    inputs: tuple[int, ...]
    output: int
    alias: bool  # output shares the first input's memory
    scratch: int = 0  # bytes of scratch the op's kernel needs while it runs


def plan_arena(
    ops: list[PlanOp], sizes: dict[int, int], model_input: int, model_output: int
) -> ArenaPlan:
    """Assign every activation tensor an offset; `sizes` gives each tensor's bytes."""
    root: dict[int, int] = {model_input: model_input}
    for op in ops:
        root[op.output] = root[op.inputs[0]] if op.alias else op.output
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
            if t not in root:
                raise CompileError(f"tensor {t} is read before it is written")
            last[root[t]] = max(last.get(root[t], i), i)
    last[root[model_input]] = end
    last[root[model_output]] = end
    buffers = [
        Buffer(tuple(sorted(members[r])), max(sizes[t] for t in members[r]), first[r], last[r])
        for r in members
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
    return ArenaPlan(offsets, tuple(placed), peak, scratch)


def check_plan(plan: ArenaPlan) -> None:
    """Raise if two buffers that are live at the same time overlap in memory."""
    items = list(plan.buffers)
    for i, (a, off_a) in enumerate(items):
        for b, off_b in items[i + 1 :]:
            if a.overlaps_in_time(b) and off_a < off_b + b.size and off_b < off_a + a.size:
                raise CompileError(f"arena plan overlaps {a.describe()} and {b.describe()}")
