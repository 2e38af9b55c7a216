"""Kernel-set-specific constant layouts, applied after lowering and before planning.

The plan's FULLY_CONNECTED weights are row-major ([out_depth][in_depth], TB_NATIVE_FC_ROW_MAJOR)
for every kernel set but dsp. The dsp kernel computes four output rows per pass and reads one
word (4 weights) of each of the four rows per step with a single LDM, so for it the compiler
interleaves each block of four rows word by word (TB_NATIVE_FC_ROWS4 in tb_native_plan.h):
block b holds, for k = 0 .. in_depth / 4 - 1, word k of rows 4b, 4b + 1, 4b + 2, 4b + 3. The
out_depth % 4 rows after the last block stay row-major. The same bytes, reordered: flash does
not grow. Only whole words are interleaved, so an in_depth that is not a multiple of 4 keeps
the row-major layout (the kernel's general path).

The same plan folds the input offset into the bias at compile time: its `bias` holds
bias + input_offset * sum(row) per output (int32, wrapping as the kernels' accumulators do)
and it has no `weight_sums` array (4 bytes per output less flash, and per output one load
and one multiply-add less in the kernel). The layout also promises what lets the kernel
requantize every output in a few instructions without checks (tb_native_plan.h): each shift
is a right shift of at least 1, no multiplier is INT32_MIN, and |dot + bias| < 2^30 for any
input (|x| <= 128). A layer that breaks a promise keeps the row-major layout.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tinybench.compiler.lower import ConstArray, LoweredOp

FC_ROW_MAJOR = 0  # TB_NATIVE_FC_ROW_MAJOR
FC_ROWS4 = 1  # TB_NATIVE_FC_ROWS4
REQUANT_ARRAYS = 0  # TB_NATIVE_REQUANT_ARRAYS
REQUANT_GROUPS4 = 1  # TB_NATIVE_REQUANT_GROUPS4

# Kernel sets whose FULLY_CONNECTED reads the interleaved layout.
_ROWS4_SETS = frozenset({"dsp"})
# Kernel sets whose pointwise CONV_2D reads TB_NATIVE_REQUANT_GROUPS4.
_GROUPS4_SETS = frozenset({"mve"})


def fc_rows4_weights(weights: np.ndarray, out_depth: int, in_depth: int) -> np.ndarray:
    """Row-major int8 weights -> the TB_NATIVE_FC_ROWS4 order (a permutation of the bytes)."""
    rows = weights.reshape(out_depth, in_depth)
    blocks = out_depth // 4
    head = rows[: blocks * 4].reshape(blocks, 4, in_depth // 4, 4).transpose(0, 2, 1, 3)
    return np.concatenate([head.reshape(-1), rows[blocks * 4 :].reshape(-1)])


def folded_bias(bias: np.ndarray | None, weight_sums: np.ndarray, input_offset: int) -> np.ndarray:
    """bias + input_offset * weight_sums per output, wrapped to int32 (the kernels' sum)."""
    total = weight_sums.astype(np.int64) * input_offset
    if bias is not None:
        total += bias.astype(np.int64)
    return ((total + 2**31) % 2**32 - 2**31).astype(np.int32)


# |dot + bias| must stay below this for the kernel's doubling before SMMULR.
_REQUANT_BOUND = 2**30


def _requantizes_fast(
    weights: np.ndarray, folded: np.ndarray, mults: np.ndarray, shifts: np.ndarray
) -> bool:
    """The layout's promises (module docstring) hold for every output of the layer."""
    rows = weights.reshape(len(folded), -1).astype(np.int64)
    worst = np.abs(rows).sum(axis=1) * 128 + np.abs(folded.astype(np.int64))
    return bool(
        (shifts <= -1).all() and (mults != -(2**31)).all() and (worst < _REQUANT_BOUND).all()
    )


def _with_rows4(op: LoweredOp) -> LoweredOp:
    s = dict(op.scalars)
    out_depth, in_depth = s["out_depth"], s["in_depth"]
    if in_depth % 4 != 0 or out_depth < 4:
        return op
    given = dict(op.arrays)
    bias = given.get("bias")
    folded = folded_bias(
        None if bias is None else bias.values, given["weight_sums"].values, s["input_offset"]
    )
    if not _requantizes_fast(
        given["weights"].values, folded, given["multiplier"].values, given["shift"].values
    ):
        return op
    arrays: list[tuple[str, ConstArray]] = []
    for name, arr in op.arrays:
        if name == "weights":
            arrays.append(
                (name, ConstArray(arr.ctype, fc_rows4_weights(arr.values, out_depth, in_depth)))
            )
        elif name not in ("bias", "weight_sums"):
            arrays.append((name, arr))
    arrays.append(("bias", ConstArray("int32_t", folded)))
    scalars = tuple(
        (name, FC_ROWS4 if name == "weights_layout" else value) for name, value in op.scalars
    )
    return dataclasses.replace(op, scalars=scalars, arrays=tuple(arrays))


def conv_groups4_requant(
    folded: np.ndarray, multipliers: np.ndarray, shifts: np.ndarray
) -> np.ndarray:
    """Per group of four channels: 4 folded biases, 4 multipliers, 4 shifts (zero-padded)."""
    groups = -(-len(folded) // 4)
    table = np.zeros((groups, 3, 4), dtype=np.int32)
    for row, values in enumerate((folded, multipliers, shifts)):
        padded = np.zeros(groups * 4, dtype=np.int32)
        padded[: len(values)] = values
        table[:, row, :] = padded.reshape(groups, 4)
    return table.reshape(-1)


def _takes_groups4(op: LoweredOp) -> bool:
    s = dict(op.scalars)
    given = dict(op.arrays)
    return bool(
        op.name == "CONV_2D"
        and (s["k_h"], s["k_w"], s["pad_h"], s["pad_w"]) == (1, 1, 0, 0)
        and s["in_c"] % 16 == 0
        and 0 < s["in_c"] <= 64
        and (given["shift"].values <= 0).all()
    )


def _with_groups4(op: LoweredOp) -> LoweredOp:
    if not _takes_groups4(op):
        return op
    given = dict(op.arrays)
    bias = given.get("bias")
    folded = folded_bias(
        None if bias is None else bias.values,
        given["weight_sums"].values,
        int(dict(op.scalars)["input_offset"]),
    )
    requant = conv_groups4_requant(folded, given["multiplier"].values, given["shift"].values)
    arrays = (("weights", given["weights"]), ("requant", ConstArray("int32_t", requant)))
    scalars = tuple(
        (name, REQUANT_GROUPS4 if name == "requant_layout" else value) for name, value in op.scalars
    )
    return dataclasses.replace(op, scalars=scalars, arrays=arrays)


def apply_layouts(ops: list[LoweredOp], kernels: str) -> list[LoweredOp]:
    """The ops with the constant layouts the kernel set reads (unchanged for most sets)."""
    if kernels in _ROWS4_SETS:
        return [_with_rows4(op) if op.struct == "fc" else op for op in ops]
    if kernels in _GROUPS4_SETS:
        return [_with_groups4(op) if op.struct == "conv" else op for op in ops]
    return ops
