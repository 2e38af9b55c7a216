"""Checking each operator and turning it into the native engine's parameters.

The parameters are computed as TF Lite Micro computes them in its Prepare step (see quant.py),
so that the C kernels reproduce the reference interpreter's outputs bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinybench.compiler import quant
from tinybench.compiler.errors import CompileError
from tinybench.compiler.model import INT8, INT32, Model, Operator, Tensor, schema

SUPPORTED_OPS = (
    "CONV_2D",
    "DEPTHWISE_CONV_2D",
    "FULLY_CONNECTED",
    "AVERAGE_POOL_2D",
    "MAX_POOL_2D",
    "ADD",
    "RESHAPE",
    "SOFTMAX",
)

_ACTIVATIONS: dict[int, str] = {
    value: name
    for name, value in vars(schema.ActivationFunctionType).items()
    if not name.startswith("_")
}
_PADDINGS: dict[int, str] = {
    value: name for name, value in vars(schema.Padding).items() if not name.startswith("_")
}


@dataclass(frozen=True, eq=False)
class ConstArray:
    """A constant array emitted into the plan (weights, biases, multipliers, shifts)."""

    ctype: str  # "int8_t" or "int32_t"
    values: np.ndarray[Any, Any]

    @property
    def nbytes(self) -> int:
        return int(self.values.size) * (1 if self.ctype == "int8_t" else 4)


@dataclass(frozen=True, eq=False)
class LoweredOp:
    index: int
    name: str  # TF Lite builtin name
    struct: str  # conv, fc, pool, add, softmax, reshape
    inputs: tuple[int, ...]  # activation tensor indexes (1, or 2 for ADD)
    output: int
    scalars: tuple[tuple[str, int], ...]
    arrays: tuple[tuple[str, ConstArray], ...] = field(default=())

    @property
    def kind(self) -> str:
        return f"TB_NATIVE_OP_{self.name}"


def _fail(op: Operator, what: str) -> CompileError:
    return CompileError(f"{op.describe()}: {what}")


def _activation(op: Operator) -> str:
    code = int(getattr(op.options, "fusedActivationFunction", 0))
    name = _ACTIVATIONS.get(code, f"#{code}")
    if name not in ("NONE", "RELU", "RELU6"):
        raise _fail(op, f"fused activation {name} is not supported (NONE, RELU, RELU6 are)")
    return name


def _padding(op: Operator) -> str:
    code = int(getattr(op.options, "padding", 0))
    name = _PADDINGS.get(code, f"#{code}")
    if name not in ("SAME", "VALID"):
        raise _fail(op, f"padding {name} is not supported")
    return name


def _check_activation_tensor(op: Operator, t: Tensor) -> None:
    if t.data is not None:
        raise _fail(op, f"{t.describe()} is a constant where an activation is expected")
    if t.dtype != INT8:
        raise _fail(op, f"{t.describe()} has type {t.dtype}; only int8 activations are supported")
    if len(t.scales) != 1 or len(t.zero_points) != 1:
        raise _fail(op, f"{t.describe()} needs exactly one scale and zero point (per-tensor)")
    if not t.scale > 0.0:
        raise _fail(op, f"{t.describe()} has a non-positive scale {t.scale}")


def _check_options(op: Operator, expected: str | None) -> None:
    actual = None if op.options is None else type(op.options).__name__.removesuffix("T")
    if expected is not None and actual != expected:
        raise _fail(op, f"expected {expected} builtin options, found {actual}")


def _weights(op: Operator, t: Tensor, rank: int, channel_dim: int) -> np.ndarray[Any, Any]:
    if t.data is None:
        raise _fail(op, f"{t.describe()}: weights must be constant")
    if t.dtype != INT8:
        raise _fail(op, f"{t.describe()}: weights of type {t.dtype} are not supported (int8 are)")
    if len(t.shape) != rank:
        raise _fail(op, f"{t.describe()}: weights must have rank {rank}")
    channels = t.shape[channel_dim]
    if len(t.scales) not in (1, channels):
        raise _fail(op, f"{t.describe()}: {len(t.scales)} scales for {channels} channels")
    if len(t.scales) > 1 and t.quantized_dimension != channel_dim:
        raise _fail(
            op,
            f"{t.describe()}: per-channel quantization on dimension {t.quantized_dimension}, "
            f"expected {channel_dim}",
        )
    if any(zp != 0 for zp in t.zero_points):
        raise _fail(op, f"{t.describe()}: weights with a non-zero zero point are not supported")
    if any(not s > 0.0 for s in t.scales):
        raise _fail(op, f"{t.describe()}: weight scales must be positive")
    return t.array()


def _bias(op: Operator, model: Model, index: int, channels: int) -> ConstArray | None:
    if index < 0:
        return None
    t = model.tensors[index]
    if t.data is None or t.dtype != INT32:
        raise _fail(op, f"{t.describe()}: the bias must be a constant int32 tensor")
    if t.size != channels:
        raise _fail(op, f"{t.describe()}: {t.size} bias values for {channels} output channels")
    return ConstArray("int32_t", t.array().reshape(-1).astype(np.int32))


def _out_shape_check(op: Operator, out: Tensor, expected: tuple[int, ...]) -> None:
    if tuple(out.shape) != expected:
        raise _fail(op, f"{out.describe()}: expected shape {list(expected)}")


# Largest number of products summed into one int32 accumulator: 255 * 128 * n must stay < 2^31.
MAX_ACCUMULATION = 65_536


def _weight_sums(op: Operator, weights: np.ndarray[Any, Any], rows: int) -> ConstArray:
    """Per output channel sum of the weights (lets the kernels fold the input offset)."""
    per_row = weights.reshape(rows, -1)
    if per_row.shape[1] > MAX_ACCUMULATION:
        raise _fail(op, f"{per_row.shape[1]} products per output exceed the int32 accumulator")
    return ConstArray("int32_t", per_row.astype(np.int64).sum(axis=1).astype(np.int32))


def _lower_conv(model: Model, op: Operator, depthwise: bool) -> LoweredOp:
    _check_options(op, "DepthwiseConv2DOptions" if depthwise else "Conv2DOptions")
    if len(op.inputs) < 2 or len(op.outputs) != 1:
        raise _fail(op, "expected input, filter, optional bias and one output")
    inp = model.tensors[op.inputs[0]]
    out = model.tensors[op.outputs[0]]
    _check_activation_tensor(op, inp)
    _check_activation_tensor(op, out)
    opts = op.options
    dil_h, dil_w = int(opts.dilationHFactor), int(opts.dilationWFactor)
    if (dil_h, dil_w) != (1, 1):
        raise _fail(op, f"dilation {dil_h}x{dil_w} is not supported (only 1)")
    if len(inp.shape) != 4:
        raise _fail(op, f"{inp.describe()}: input must be NHWC (rank 4)")
    batches, in_h, in_w, in_c = inp.shape
    f = model.tensors[op.inputs[1]]
    weights = _weights(op, f, 4, 3 if depthwise else 0)
    if depthwise:
        if f.shape[0] != 1:
            raise _fail(op, f"{f.describe()}: depthwise filter must be [1, kh, kw, channels]")
        _, k_h, k_w, out_c = f.shape
        if in_c == 0 or out_c % in_c != 0:
            raise _fail(op, f"{f.describe()}: {out_c} output channels for {in_c} input channels")
        depth_multiplier = out_c // in_c
    else:
        out_c, k_h, k_w, f_in_c = f.shape
        if f_in_c != in_c:
            raise _fail(
                op, f"{f.describe()}: grouped convolution ({f_in_c} vs {in_c} input channels)"
            )
        depth_multiplier = 1
    stride_h, stride_w = int(opts.strideH), int(opts.strideW)
    if stride_h < 1 or stride_w < 1:
        raise _fail(op, f"invalid stride {stride_h}x{stride_w}")
    padding = _padding(op)
    out_h = quant.out_size(padding, in_h, k_h, stride_h)
    out_w = quant.out_size(padding, in_w, k_w, stride_w)
    _out_shape_check(op, out, (batches, out_h, out_w, out_c))
    pad_h = quant.padding_before(stride_h, in_h, k_h, out_h)
    pad_w = quant.padding_before(stride_w, in_w, k_w, out_w)
    bias = _bias(op, model, op.inputs[2] if len(op.inputs) > 2 else -1, out_c)
    mults, shifts = quant.conv_multipliers(inp.scale, f.scales, out.scale, out_c)
    act_min, act_max = quant.activation_range(_activation(op), out.scale, out.zero_point)
    arrays: list[tuple[str, ConstArray]] = [
        ("weights", ConstArray("int8_t", weights.reshape(-1).astype(np.int8))),
        ("multiplier", ConstArray("int32_t", np.array(mults, dtype=np.int32))),
        ("shift", ConstArray("int32_t", np.array(shifts, dtype=np.int32))),
    ]
    if bias is not None:
        arrays.append(("bias", bias))
    if not depthwise:
        arrays.append(("weight_sums", _weight_sums(op, weights, out_c)))
    scalars = (
        ("batches", batches), ("in_h", in_h), ("in_w", in_w), ("in_c", in_c),
        ("out_h", out_h), ("out_w", out_w), ("out_c", out_c), ("k_h", k_h), ("k_w", k_w),
        ("stride_h", stride_h), ("stride_w", stride_w), ("pad_h", pad_h), ("pad_w", pad_w),
        ("depth_multiplier", depth_multiplier), ("input_offset", -inp.zero_point),
        ("output_offset", out.zero_point), ("act_min", act_min), ("act_max", act_max),
        ("requant_layout", 0),  # TB_NATIVE_REQUANT_ARRAYS; compiler/layout.py may group
    )  # fmt: skip
    return LoweredOp(op.index, op.name, "conv", (inp.index,), out.index, scalars, tuple(arrays))


def _lower_fc(model: Model, op: Operator) -> LoweredOp:
    _check_options(op, "FullyConnectedOptions")
    if len(op.inputs) < 2 or len(op.outputs) != 1:
        raise _fail(op, "expected input, weights, optional bias and one output")
    inp = model.tensors[op.inputs[0]]
    out = model.tensors[op.outputs[0]]
    _check_activation_tensor(op, inp)
    _check_activation_tensor(op, out)
    if int(op.options.weightsFormat) != 0:
        raise _fail(op, "shuffled weights format is not supported")
    f = model.tensors[op.inputs[1]]
    weights = _weights(op, f, 2, 0)
    out_depth, in_depth = f.shape
    if in_depth == 0 or inp.size % in_depth != 0:
        raise _fail(op, f"{inp.describe()}: size {inp.size} is not a multiple of {in_depth}")
    batches = inp.size // in_depth
    if out.size != batches * out_depth:
        raise _fail(op, f"{out.describe()}: expected {batches * out_depth} elements")
    bias = _bias(op, model, op.inputs[2] if len(op.inputs) > 2 else -1, out_depth)
    mults, shifts = quant.conv_multipliers(inp.scale, f.scales, out.scale, out_depth)
    act_min, act_max = quant.activation_range(_activation(op), out.scale, out.zero_point)
    arrays: list[tuple[str, ConstArray]] = [
        ("weights", ConstArray("int8_t", weights.reshape(-1).astype(np.int8))),
        ("multiplier", ConstArray("int32_t", np.array(mults, dtype=np.int32))),
        ("shift", ConstArray("int32_t", np.array(shifts, dtype=np.int32))),
    ]
    if bias is not None:
        arrays.append(("bias", bias))
    arrays.append(("weight_sums", _weight_sums(op, weights, out_depth)))
    scalars = (
        ("batches", batches), ("in_depth", in_depth), ("out_depth", out_depth),
        ("input_offset", -inp.zero_point), ("output_offset", out.zero_point),
        ("act_min", act_min), ("act_max", act_max),
        ("weights_layout", 0),  # TB_NATIVE_FC_ROW_MAJOR; compiler/layout.py may reorder
    )  # fmt: skip
    return LoweredOp(op.index, op.name, "fc", (inp.index,), out.index, scalars, tuple(arrays))


def _lower_pool(model: Model, op: Operator) -> LoweredOp:
    _check_options(op, "Pool2DOptions")
    if len(op.inputs) != 1 or len(op.outputs) != 1:
        raise _fail(op, "expected one input and one output")
    inp = model.tensors[op.inputs[0]]
    out = model.tensors[op.outputs[0]]
    _check_activation_tensor(op, inp)
    _check_activation_tensor(op, out)
    if len(inp.shape) != 4:
        raise _fail(op, f"{inp.describe()}: input must be NHWC (rank 4)")
    batches, in_h, in_w, channels = inp.shape
    opts = op.options
    k_h, k_w = int(opts.filterHeight), int(opts.filterWidth)
    stride_h, stride_w = int(opts.strideH), int(opts.strideW)
    if min(k_h, k_w, stride_h, stride_w) < 1:
        raise _fail(op, f"invalid filter {k_h}x{k_w} or stride {stride_h}x{stride_w}")
    padding = _padding(op)
    out_h = quant.out_size(padding, in_h, k_h, stride_h)
    out_w = quant.out_size(padding, in_w, k_w, stride_w)
    _out_shape_check(op, out, (batches, out_h, out_w, channels))
    pad_h = quant.padding_before(stride_h, in_h, k_h, out_h)
    pad_w = quant.padding_before(stride_w, in_w, k_w, out_w)
    act_min, act_max = quant.activation_range(_activation(op), out.scale, out.zero_point)
    scalars = (
        ("batches", batches), ("in_h", in_h), ("in_w", in_w), ("channels", channels),
        ("out_h", out_h), ("out_w", out_w), ("k_h", k_h), ("k_w", k_w),
        ("stride_h", stride_h), ("stride_w", stride_w), ("pad_h", pad_h), ("pad_w", pad_w),
        ("act_min", act_min), ("act_max", act_max),
    )  # fmt: skip
    return LoweredOp(op.index, op.name, "pool", (inp.index,), out.index, scalars)


def _lower_add(model: Model, op: Operator) -> LoweredOp:
    _check_options(op, "AddOptions")
    if len(op.inputs) != 2 or len(op.outputs) != 1:
        raise _fail(op, "expected two inputs and one output")
    a = model.tensors[op.inputs[0]]
    b = model.tensors[op.inputs[1]]
    out = model.tensors[op.outputs[0]]
    for t in (a, b, out):
        _check_activation_tensor(op, t)
    if a.shape != out.shape or b.shape != out.shape:
        raise _fail(
            op,
            f"broadcasting {list(a.shape)} + {list(b.shape)} -> {list(out.shape)} is not "
            "supported (inputs must have the output's shape)",
        )
    p = quant.add_params(a.scale, a.zero_point, b.scale, b.zero_point, out.scale, out.zero_point)
    act_min, act_max = quant.activation_range(_activation(op), out.scale, out.zero_point)
    scalars = (
        ("size", out.size), ("input1_offset", p.input1_offset),
        ("input2_offset", p.input2_offset), ("output_offset", p.output_offset),
        ("left_shift", p.left_shift), ("input1_multiplier", p.input1_multiplier),
        ("input1_shift", p.input1_shift), ("input2_multiplier", p.input2_multiplier),
        ("input2_shift", p.input2_shift), ("output_multiplier", p.output_multiplier),
        ("output_shift", p.output_shift), ("act_min", act_min), ("act_max", act_max),
    )  # fmt: skip
    return LoweredOp(op.index, op.name, "add", (a.index, b.index), out.index, scalars)


def _lower_reshape(model: Model, op: Operator) -> LoweredOp:
    if len(op.inputs) not in (1, 2) or len(op.outputs) != 1:
        raise _fail(op, "expected an input, an optional shape tensor and one output")
    inp = model.tensors[op.inputs[0]]
    out = model.tensors[op.outputs[0]]
    _check_activation_tensor(op, inp)
    _check_activation_tensor(op, out)
    if inp.size != out.size:
        raise _fail(op, f"{inp.describe()} and {out.describe()} differ in size")
    if (inp.scale, inp.zero_point) != (out.scale, out.zero_point):
        raise _fail(op, "input and output quantization differ")
    return LoweredOp(op.index, op.name, "reshape", (inp.index,), out.index, (("bytes", inp.size),))


MAX_SOFTMAX_DEPTH = 511  # beyond this the fixed-point sum outgrows the reference's shift range


def _lower_softmax(model: Model, op: Operator) -> LoweredOp:
    _check_options(op, "SoftmaxOptions")
    if len(op.inputs) != 1 or len(op.outputs) != 1:
        raise _fail(op, "expected one input and one output")
    inp = model.tensors[op.inputs[0]]
    out = model.tensors[op.outputs[0]]
    _check_activation_tensor(op, inp)
    _check_activation_tensor(op, out)
    if out.zero_point != -128 or np.float32(out.scale) != np.float32(1.0 / 256.0):
        raise _fail(
            op,
            f"{out.describe()}: int8 softmax output must have scale 1/256 and zero point -128 "
            f"(has {out.scale}, {out.zero_point})",
        )
    if inp.shape != out.shape or not inp.shape:
        raise _fail(op, f"{inp.describe()} and {out.describe()} must have one shape")
    depth = inp.shape[-1]
    if depth < 1 or depth > MAX_SOFTMAX_DEPTH:
        raise _fail(op, f"softmax depth {depth} is not supported (1..{MAX_SOFTMAX_DEPTH})")
    p = quant.softmax_params(float(op.options.beta), inp.scale)
    scalars = (
        ("outer", inp.size // depth), ("depth", depth),
        ("input_multiplier", p.input_multiplier), ("input_left_shift", p.input_left_shift),
        ("diff_min", p.diff_min),
    )  # fmt: skip
    return LoweredOp(op.index, op.name, "softmax", (inp.index,), out.index, scalars)


def _lower_op(model: Model, op: Operator) -> LoweredOp:
    if op.name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        return _lower_conv(model, op, op.name == "DEPTHWISE_CONV_2D")
    if op.name == "FULLY_CONNECTED":
        return _lower_fc(model, op)
    if op.name in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        return _lower_pool(model, op)
    if op.name == "ADD":
        return _lower_add(model, op)
    if op.name == "RESHAPE":
        return _lower_reshape(model, op)
    return _lower_softmax(model, op)


def lower_model(model: Model) -> list[LoweredOp]:
    """Check the whole graph and lower every operator, in the model's order."""
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise CompileError(
            f"the model has {len(model.inputs)} inputs and {len(model.outputs)} outputs; "
            "exactly one of each is supported"
        )
    if not model.operators:
        raise CompileError("the model has no operators")
    for role, index in (("input", model.inputs[0]), ("output", model.outputs[0])):
        t = model.tensors[index]
        if t.dtype != INT8 or t.data is not None:
            raise CompileError(f"model {role} {t.describe()} must be an int8 activation tensor")
        if len(t.shape) > 4:
            raise CompileError(f"model {role} {t.describe()} has more than 4 dimensions")
    if model.inputs[0] == model.outputs[0]:
        raise CompileError("the model output is its input")
    available = {model.inputs[0]}
    lowered: list[LoweredOp] = []
    for op in model.operators:
        if op.name not in SUPPORTED_OPS:
            names = ", ".join(SUPPORTED_OPS)
            inputs = ", ".join(model.tensors[i].describe() for i in op.inputs if i >= 0)
            raise _fail(
                op, f"operator {op.name} is not supported (inputs: {inputs}); supported: {names}"
            )
        try:
            low = _lower_op(model, op)
        except CompileError as exc:
            if str(exc).startswith(op.describe()):
                raise
            # Parameter arithmetic errors (quant.py) do not know which op they came from.
            raise _fail(op, str(exc)) from exc
        for t_index in low.inputs:
            if t_index not in available:
                raise _fail(
                    op,
                    f"{model.tensors[t_index].describe()} is read before any op produces it",
                )
        if low.output in available:
            raise _fail(op, f"{model.tensors[low.output].describe()} is written twice")
        available.add(low.output)
        lowered.append(low)
    if model.outputs[0] not in available:
        raise CompileError(
            f"model output {model.tensors[model.outputs[0]].describe()} is never produced"
        )
    return lowered
