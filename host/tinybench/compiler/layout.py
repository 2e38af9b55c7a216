"""Kernel-set-specific constant layouts, applied after lowering and before planning.

The plan's FULLY_CONNECTED weights are row-major ([out_depth][in_depth], TB_NATIVE_FC_ROW_MAJOR)
for every kernel set but dsp. The dsp kernel computes four output rows per pass and reads one
word (4 weights) of each of the four rows per step with a single LDM, so for it the compiler
interleaves each block of four rows word by word (TB_NATIVE_FC_ROWS4 in tb_native_plan.h):
block b holds, for k = 0 .. in_depth / 4 - 1, word k of rows 4b, 4b + 1, 4b + 2, 4b + 3. The
out_depth % 4 rows after the last block stay row-major. The same bytes, reordered: flash does
not grow. Only whole words are interleaved, so an in_depth that is not a multiple of 4 keeps
the row-major layout (the kernel's general path).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tinybench.compiler.lower import ConstArray, LoweredOp

FC_ROW_MAJOR = 0  # TB_NATIVE_FC_ROW_MAJOR
FC_ROWS4 = 1  # TB_NATIVE_FC_ROWS4

# Kernel sets whose FULLY_CONNECTED reads the interleaved layout.
_ROWS4_SETS = frozenset({"dsp"})


def fc_rows4_weights(weights: np.ndarray, out_depth: int, in_depth: int) -> np.ndarray:
    """Row-major int8 weights -> the TB_NATIVE_FC_ROWS4 order (a permutation of the bytes)."""
    rows = weights.reshape(out_depth, in_depth)
    blocks = out_depth // 4
    head = rows[: blocks * 4].reshape(blocks, 4, in_depth // 4, 4).transpose(0, 2, 1, 3)
    return np.concatenate([head.reshape(-1), rows[blocks * 4 :].reshape(-1)])


def _with_rows4(op: LoweredOp) -> LoweredOp:
    s = dict(op.scalars)
    out_depth, in_depth = s["out_depth"], s["in_depth"]
    if in_depth % 4 != 0 or out_depth < 4:
        return op
    arrays = tuple(
        (name, ConstArray(arr.ctype, fc_rows4_weights(arr.values, out_depth, in_depth)))
        if name == "weights"
        else (name, arr)
        for name, arr in op.arrays
    )
    scalars = tuple(
        (name, FC_ROWS4 if name == "weights_layout" else value) for name, value in op.scalars
    )
    return dataclasses.replace(op, scalars=scalars, arrays=arrays)


def apply_layouts(ops: list[LoweredOp], kernels: str) -> list[LoweredOp]:
    """The ops with the constant layouts the kernel set reads (unchanged for most sets)."""
    if kernels not in _ROWS4_SETS:
        return ops
    return [_with_rows4(op) if op.struct == "fc" else op for op in ops]
