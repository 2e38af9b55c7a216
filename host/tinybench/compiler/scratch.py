"""Scratch bytes per op for each kernel set of the native engine.

Every kernel set (a directory firmware/engines/native/<set>/) answers, per kernel, how many bytes
of scratch it needs for given parameters (`tb_native_<kernel>_scratch_bytes`, as CMSIS-NN's
`_get_buffer_size`). The planner must know those sizes when it lays out the arena, before any C
exists, so this module mirrors the C queries in Python; tests/native/test_native_scratch.py asks
the C query of the built engine for every op of the four models and checks it agrees. The engine
also refuses, at init, a plan whose scratch is smaller than its own query.
"""

from __future__ import annotations

from collections.abc import Callable

from tinybench.compiler.errors import CompileError
from tinybench.compiler.layout import FC_ROWS4
from tinybench.compiler.lower import LoweredOp

ScratchQuery = Callable[[LoweredOp], int]

DEFAULT_KERNEL_SET = "reference"


def _reference(op: LoweredOp) -> int:
    """The portable C kernels work in place in their output: no scratch for any op."""
    del op
    return 0


# --- mve (c14mve) -----------------------------------------------------------------------------
def _mve_conv(op: LoweredOp) -> int:
    """mve/tb_native_conv.c: a 1x1 filter without padding reads its columns in place; any other
    filter copies a tile of pixels' columns (k_h * k_w * in_c bytes each, rounded up to 16)
    into scratch, as many as fit in about 1 KiB, 1 to 8 (tile_pixels)."""
    s = dict(op.scalars)
    if s["k_h"] == 1 and s["k_w"] == 1 and s["pad_h"] == 0 and s["pad_w"] == 0:
        return 0
    column = (s["k_h"] * s["k_w"] * s["in_c"] + 15) // 16 * 16
    return min(8, max(1, 1024 // column)) * column


_MVE_QUERIES: dict[str, ScratchQuery] = {"CONV_2D": _mve_conv}


def _mve(op: LoweredOp) -> int:
    """The mve set's query: per op kind, reference's where it needs no scratch."""
    return _MVE_QUERIES.get(op.name, _reference)(op)


# --- end mve ---------------------------------------------------------------------------------

# --- dsp: CONV_2D (c14conv) ---------------------------------------------------------------


def _dsp_conv(op: LoweredOp) -> int:
    """dsp/tb_native_conv.c: six output pixels' patches of k_h * k_w * in_c int16 taps, in
    groups of four (the last group padded)."""
    s = dict(op.scalars)
    groups = (s["k_h"] * s["k_w"] * s["in_c"] + 3) // 4
    return groups * 4 * 6 * 2


# --- dsp: FULLY_CONNECTED (issue 14) -----------------------------------------------------------


def _dsp_fc(op: LoweredOp) -> int:
    """dsp/tb_native_fully_connected.c: with the interleaved weights (layout.py) the input row
    extended once to int16 pairs (2 bytes per input), then the int32 sums of the four-row
    blocks (4 bytes per output in them); none for row-major weights."""
    s = dict(op.scalars)
    if s["weights_layout"] != FC_ROWS4:
        return 0
    return 2 * s["in_depth"] + 4 * (s["out_depth"] // 4 * 4)


# --- dsp: the set's query, by op --------------------------------------------------------------

_DSP_QUERIES: dict[str, ScratchQuery] = {
    "CONV_2D": _dsp_conv,
    "FULLY_CONNECTED": _dsp_fc,
}


def _dsp(op: LoweredOp) -> int:
    """The dsp set's kernels that need scratch, by op; every other op asks what reference asks."""
    return _DSP_QUERIES.get(op.name, _reference)(op)


# Kernel set name -> its scratch query. A new set adds its directory and one entry here.
# Each set asks, per op, what its kernels need; reference's query where they need none.
SCRATCH_QUERIES: dict[str, ScratchQuery] = {
    "reference": _reference,
    "dsp": _dsp,
    "mve": _mve,
}
KERNEL_SETS = tuple(sorted(SCRATCH_QUERIES))


def scratch_query(kernels: str) -> ScratchQuery:
    try:
        return SCRATCH_QUERIES[kernels]
    except KeyError:
        raise CompileError(
            f"unknown native kernel set {kernels!r} (known: {', '.join(KERNEL_SETS)})"
        ) from None
