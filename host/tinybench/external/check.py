"""Printed results against the host reference, within the 3-decimal print precision.

An external DUT prints `m-results-[...]` with 3 decimals. The reference firmware truncates
(a printed value may be up to 0.001 below the true one), tinybench's own rounds (up to
0.0005 either side); both agree with the reference when every printed value is within one
unit of the last printed digit of the reference's dequantized output (the window MSE for
an autoencoder). Anything farther is a real disagreement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tinybench.manifests.models import ModelManifest, ResultKind
from tinybench.reference import ReferenceSample
from tinybench.scoring import dequantize, window_mse

PRINT_PRECISION = 0.001
# float32 outputs printed from float32 arithmetic on another machine: a rounding slack far
# below the print step, so that a value exactly one step away still agrees.
FLOAT_SLACK = 1e-6


def result_count(model: ModelManifest) -> int:
    """How many values one `m-results-[...]` line of this model holds."""
    return 1 if model.result_kind is ResultKind.MSE else model.output.elements


def expected_vector(model: ModelManifest, raw_output: bytes, wire: bytes) -> tuple[float, ...]:
    """What a correct DUT prints (before its 3-decimal formatting) for one inference."""
    spec = model.output
    raw = np.frombuffer(raw_output, dtype=np.int8)
    if model.result_kind is ResultKind.MSE:
        floats = np.frombuffer(wire, dtype="<f4")
        return (window_mse(raw, spec.scale, spec.zero_point, floats),)
    return tuple(float(v) for v in dequantize(raw, spec.scale, spec.zero_point))


def difference(printed: Sequence[float], expected: Sequence[float]) -> float:
    """The largest absolute difference; infinite when the lengths differ or a value is NaN."""
    if len(printed) != len(expected):
        return float("inf")
    diffs = np.abs(np.asarray(printed, dtype=np.float64) - np.asarray(expected, dtype=np.float64))
    if diffs.size == 0:
        return 0.0
    if np.isnan(diffs).any():
        return float("inf")
    return float(np.max(diffs))


def within_print_precision(diff: float) -> bool:
    return diff <= PRINT_PRECISION + FLOAT_SLACK


@dataclass(frozen=True)
class VectorCheck:
    """Every printed vector of a run against the reference."""

    compared: int  # vectors (one per inference: 196 per ad01 clip)
    within_print_precision: int
    max_abs_difference: float | None
    mismatched_samples: tuple[str, ...]  # samples with a vector beyond print precision


def check_samples(
    model: ModelManifest,
    printed: Sequence[tuple[str, Sequence[Sequence[float]], Sequence[bytes]]],
    references: dict[str, ReferenceSample],
) -> VectorCheck:
    """printed: (sample name, the printed vector of each inference, each inference's wire
    bytes). A sample agrees when all its vectors do."""
    compared = agreeing = 0
    largest: float | None = None
    mismatched: list[str] = []
    for name, vectors, wires in printed:
        reference = references.get(name)
        if reference is None:
            continue
        sample_ok = True
        for vector, raw, wire in zip(vectors, reference.raw_outputs, wires, strict=True):
            diff = difference(vector, expected_vector(model, raw, wire))
            compared += 1
            largest = diff if largest is None else max(largest, diff)
            if within_print_precision(diff):
                agreeing += 1
            else:
                sample_ok = False
        if not sample_ok:
            mismatched.append(name)
    return VectorCheck(compared, agreeing, largest, tuple(mismatched))
