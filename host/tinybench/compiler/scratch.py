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
from tinybench.compiler.lower import LoweredOp

ScratchQuery = Callable[[LoweredOp], int]

DEFAULT_KERNEL_SET = "reference"


def _reference(op: LoweredOp) -> int:
    """The portable C kernels work in place in their output: no scratch for any op."""
    del op
    return 0


# --- dsp: CONV_2D (c14conv) ---------------------------------------------------------------


def _dsp_conv(op: LoweredOp) -> int:
    """dsp/tb_native_conv.c: six output pixels' patches of k_h * k_w * in_c int16 taps, in
    groups of four (the last group padded)."""
    s = dict(op.scalars)
    groups = (s["k_h"] * s["k_w"] * s["in_c"] + 3) // 4
    return groups * 4 * 6 * 2


# --- dsp: the set's query, by op --------------------------------------------------------------

_DSP_QUERIES: dict[str, ScratchQuery] = {
    "CONV_2D": _dsp_conv,
}


def _dsp(op: LoweredOp) -> int:
    """The dsp set's kernels that need scratch, by op; every other op asks what reference asks."""
    return _DSP_QUERIES.get(op.name, _reference)(op)


# Kernel set name -> its scratch query. A new set adds its directory and one entry here.
# mve asks what reference asks until a kernel of its needs scratch.
SCRATCH_QUERIES: dict[str, ScratchQuery] = {
    "reference": _reference,
    "dsp": _dsp,
    "mve": _reference,
}
KERNEL_SETS = tuple(sorted(SCRATCH_QUERIES))


def scratch_query(kernels: str) -> ScratchQuery:
    try:
        return SCRATCH_QUERIES[kernels]
    except KeyError:
        raise CompileError(
            f"unknown native kernel set {kernels!r} (known: {', '.join(KERNEL_SETS)})"
        ) from None
