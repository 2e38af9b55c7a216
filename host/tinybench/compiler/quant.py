"""TF Lite Micro's parameter arithmetic, reproduced exactly (doubles, C rounding, float32 where
TF Lite computes in float).

All functions are pure; the compiler calls them with the float32 scales read from the model
(held as Python floats, which represent float32 values exactly).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tinybench.compiler.errors import CompileError

INT8_MIN = -128
INT8_MAX = 127


def round_half_away(x: float) -> int:
    """C's round(): to nearest, ties away from zero (Python's round() ties to even)."""
    magnitude = math.floor(abs(x))
    if abs(x) - magnitude >= 0.5:
        magnitude += 1
    return int(magnitude) if x >= 0 else -int(magnitude)


def quantize_multiplier(real: float) -> tuple[int, int]:
    """(multiplier in Q0.31, shift) with real ~= multiplier * 2^(shift - 31); TFLM semantics.

    Double-rounding configuration (TFLITE_SINGLE_ROUNDING off): no clamp of large shifts.
    """
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    q_fixed = round_half_away(q * float(1 << 31))
    if q_fixed > (1 << 31):
        raise CompileError(f"multiplier {real!r} cannot be quantized")
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if q_fixed > 2**31 - 1:
        raise CompileError(f"multiplier {real!r} cannot be quantized")
    if shift < -31:
        shift = 0
        q_fixed = 0
    return q_fixed, shift


def quantize_multiplier_smaller_than_one(real: float) -> tuple[int, int]:
    if not 0.0 < real < 1.0:
        raise CompileError(f"multiplier {real!r} must lie in (0, 1)")
    q, shift = quantize_multiplier(real)
    if shift > 0:
        raise CompileError(f"multiplier {real!r} gave a positive shift {shift}")
    return q, shift


def quantize_multiplier_greater_than_one(real: float) -> tuple[int, int]:
    if not real > 1.0:
        raise CompileError(f"multiplier {real!r} must be greater than 1")
    q, shift = quantize_multiplier(real)
    if shift < 0:
        raise CompileError(f"multiplier {real!r} gave a negative shift {shift}")
    return q, shift


def conv_multipliers(
    input_scale: float, filter_scales: tuple[float, ...], output_scale: float, channels: int
) -> tuple[list[int], list[int]]:
    """Per-output-channel (multiplier, shift) lists; a single filter scale is broadcast."""
    if len(filter_scales) not in (1, channels):
        raise CompileError(f"{len(filter_scales)} weight scales for {channels} output channels")
    mults: list[int] = []
    shifts: list[int] = []
    for ch in range(channels):
        fs = filter_scales[ch] if len(filter_scales) > 1 else filter_scales[0]
        effective = float(input_scale) * float(fs) / float(output_scale)
        m, s = quantize_multiplier(effective)
        mults.append(m)
        shifts.append(s)
    return mults, shifts


def activation_range(activation: str, scale: float, zero_point: int) -> tuple[int, int]:
    """CalculateActivationRangeQuantized for int8: the clamp in float32 arithmetic like TFLM."""
    s = np.float32(scale)

    def quantize(value: float) -> int:
        ratio = float(np.float32(np.float32(value) / s))
        return zero_point + round_half_away(ratio)

    if activation == "NONE":
        return INT8_MIN, INT8_MAX
    if activation == "RELU":
        return max(INT8_MIN, quantize(0.0)), INT8_MAX
    if activation == "RELU6":
        return max(INT8_MIN, quantize(0.0)), min(INT8_MAX, quantize(6.0))
    raise CompileError(f"fused activation {activation} is not supported")


def out_size(padding: str, in_size: int, filter_size: int, stride: int) -> int:
    if padding == "SAME":
        return (in_size + stride - 1) // stride
    if padding == "VALID":
        return (in_size + stride - filter_size) // stride
    raise CompileError(f"padding {padding} is not supported")


def padding_before(stride: int, in_size: int, filter_size: int, out: int) -> int:
    """Top/left padding; TFLM puts the odd extra pixel at the bottom/right."""
    total = (out - 1) * stride + filter_size - in_size
    total = max(total, 0)
    return total // 2


@dataclass(frozen=True)
class AddParams:
    input1_offset: int
    input2_offset: int
    output_offset: int
    left_shift: int
    input1_multiplier: int
    input1_shift: int
    input2_multiplier: int
    input2_shift: int
    output_multiplier: int
    output_shift: int


def add_params(
    scale1: float, zp1: int, scale2: float, zp2: int, out_scale: float, out_zp: int
) -> AddParams:
    left_shift = 20
    twice_max = 2.0 * float(max(np.float32(scale1), np.float32(scale2)))
    m1, s1 = quantize_multiplier_smaller_than_one(float(scale1) / twice_max)
    m2, s2 = quantize_multiplier_smaller_than_one(float(scale2) / twice_max)
    mo, so = quantize_multiplier_smaller_than_one(
        twice_max / (float(1 << left_shift) * float(out_scale))
    )
    return AddParams(-zp1, -zp2, out_zp, left_shift, m1, s1, m2, s2, mo, so)


@dataclass(frozen=True)
class SoftmaxParams:
    input_multiplier: int
    input_left_shift: int
    diff_min: int


SCALED_DIFF_INTEGER_BITS = 5


def softmax_params(beta: float, input_scale: float) -> SoftmaxParams:
    max_real = float((1 << 31) - 1)
    real = min(
        float(beta) * float(input_scale) * float(1 << (31 - SCALED_DIFF_INTEGER_BITS)), max_real
    )
    mult, left_shift = quantize_multiplier_greater_than_one(real)
    max_input_rescaled = (
        1.0
        * ((1 << SCALED_DIFF_INTEGER_BITS) - 1)
        * float(1 << (31 - SCALED_DIFF_INTEGER_BITS))
        / float(1 << left_shift)
    )
    radius = math.floor(max_input_rescaled)
    return SoftmaxParams(mult, left_shift, -radius)
