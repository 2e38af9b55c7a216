"""Building small int8 .tflite models in code (flatc object API of the bundled schema).

Used by the native-engine tests to get single-op and small-graph models with chosen shapes,
strides, paddings and quantization, without TensorFlow and without .tflite files in the repo.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import flatbuffers
import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from tinybench.compiler.hostlib import HostEngine

# The fixtures of conftest.py: compile+load a model natively; run it on tflite-micro.
NativeFactory = Callable[..., HostEngine]
ReferenceFactory = Callable[[bytes], Callable[[bytes], bytes]]

INT8 = schema.TensorType.INT8
INT32 = schema.TensorType.INT32
FLOAT32 = schema.TensorType.FLOAT32

ACTIVATIONS = {
    "NONE": schema.ActivationFunctionType.NONE,
    "RELU": schema.ActivationFunctionType.RELU,
    "RELU6": schema.ActivationFunctionType.RELU6,
    "TANH": schema.ActivationFunctionType.TANH,
    "RELU_N1_TO_1": schema.ActivationFunctionType.RELU_N1_TO_1,
}
PADDINGS = {"SAME": schema.Padding.SAME, "VALID": schema.Padding.VALID}


@dataclass
class ModelBuilder:
    tensors: list[Any] = field(default_factory=list)
    buffers: list[Any] = field(default_factory=lambda: [schema.BufferT()])
    opcodes: list[int] = field(default_factory=list)
    operators: list[Any] = field(default_factory=list)

    def _quant(self, scales: list[float] | None, zps: list[int] | None, qdim: int = 0) -> Any:
        if scales is None:
            return None
        q = schema.QuantizationParametersT()
        q.scale = np.asarray(scales, dtype=np.float32)
        q.zeroPoint = np.asarray(zps if zps is not None else [0] * len(scales), dtype=np.int64)
        q.quantizedDimension = qdim
        return q

    def activation(
        self, shape: tuple[int, ...], scale: float, zp: int, dtype: int = INT8, name: str = ""
    ) -> int:
        t = schema.TensorT()
        t.shape = np.asarray(shape, dtype=np.int32)
        t.type = dtype
        t.buffer = 0
        t.name = name or f"t{len(self.tensors)}"
        t.quantization = self._quant([scale], [zp]) if dtype != FLOAT32 else None
        self.tensors.append(t)
        return len(self.tensors) - 1

    def constant(
        self,
        values: np.ndarray[Any, Any],
        dtype: int,
        scales: list[float] | None = None,
        zps: list[int] | None = None,
        qdim: int = 0,
    ) -> int:
        b = schema.BufferT()
        b.data = np.frombuffer(values.astype(values.dtype.newbyteorder("<")).tobytes(), np.uint8)
        self.buffers.append(b)
        t = schema.TensorT()
        t.shape = np.asarray(values.shape, dtype=np.int32)
        t.type = dtype
        t.buffer = len(self.buffers) - 1
        t.name = f"c{len(self.tensors)}"
        t.quantization = self._quant(scales, zps, qdim)
        self.tensors.append(t)
        return len(self.tensors) - 1

    def op(
        self,
        builtin: str,
        inputs: list[int],
        outputs: list[int],
        options_type: str | None = None,
        options: Any = None,
    ) -> None:
        code = getattr(schema.BuiltinOperator, builtin)
        if code not in self.opcodes:
            self.opcodes.append(code)
        o = schema.OperatorT()
        o.opcodeIndex = self.opcodes.index(code)
        o.inputs = np.asarray(inputs, dtype=np.int32)
        o.outputs = np.asarray(outputs, dtype=np.int32)
        if options_type is not None:
            o.builtinOptionsType = getattr(schema.BuiltinOptions, options_type)
            o.builtinOptions = options
        self.operators.append(o)

    def finish(self, inputs: list[int], outputs: list[int]) -> bytes:
        sg = schema.SubGraphT()
        sg.tensors = self.tensors
        sg.inputs = np.asarray(inputs, dtype=np.int32)
        sg.outputs = np.asarray(outputs, dtype=np.int32)
        sg.operators = self.operators
        sg.name = "main"
        m = schema.ModelT()
        m.version = 3
        m.subgraphs = [sg]
        m.buffers = self.buffers
        codes = []
        for code in self.opcodes:
            oc = schema.OperatorCodeT()
            oc.builtinCode = code
            oc.deprecatedBuiltinCode = min(code, 127)
            oc.version = 1
            codes.append(oc)
        m.operatorCodes = codes
        m.description = "tinybench synthetic test model"
        builder = flatbuffers.Builder(1024)
        builder.Finish(m.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())


# Options helpers -------------------------------------------------------------------------------


def conv_options(stride: tuple[int, int], padding: str, act: str, dil: int = 1) -> Any:
    o = schema.Conv2DOptionsT()
    o.strideH, o.strideW = stride
    o.padding = PADDINGS[padding]
    o.fusedActivationFunction = ACTIVATIONS[act]
    o.dilationHFactor = o.dilationWFactor = dil
    return o


def depthwise_options(stride: tuple[int, int], padding: str, act: str, mult: int) -> Any:
    o = schema.DepthwiseConv2DOptionsT()
    o.strideH, o.strideW = stride
    o.padding = PADDINGS[padding]
    o.fusedActivationFunction = ACTIVATIONS[act]
    o.depthMultiplier = mult
    o.dilationHFactor = o.dilationWFactor = 1
    return o


def fc_options(act: str) -> Any:
    o = schema.FullyConnectedOptionsT()
    o.fusedActivationFunction = ACTIVATIONS[act]
    return o


def pool_options(filt: tuple[int, int], stride: tuple[int, int], padding: str, act: str) -> Any:
    o = schema.Pool2DOptionsT()
    o.filterHeight, o.filterWidth = filt
    o.strideH, o.strideW = stride
    o.padding = PADDINGS[padding]
    o.fusedActivationFunction = ACTIVATIONS[act]
    return o


def add_options(act: str) -> Any:
    o = schema.AddOptionsT()
    o.fusedActivationFunction = ACTIVATIONS[act]
    return o


def softmax_options(beta: float) -> Any:
    o = schema.SoftmaxOptionsT()
    o.beta = beta
    return o


def out_size(padding: str, size: int, k: int, stride: int) -> int:
    if padding == "SAME":
        return (size + stride - 1) // stride
    return (size - k + stride) // stride


# Random single-op models ----------------------------------------------------------------------


def _out_zp(rng: np.random.Generator, act: str) -> int:
    """Output zero point; with RELU/RELU6 a low one, as real models have."""
    return int(rng.integers(-128, 128)) if act == "NONE" else int(rng.integers(-128, -40))


def _weight_scales(rng: np.random.Generator, n: int, per_channel: bool) -> list[float]:
    scales = list(10.0 ** rng.uniform(-3.5, -1.0, size=n if per_channel else 1))
    if per_channel and n > 1 and rng.random() < 0.5:
        scales[int(rng.integers(n))] = 4e-9  # vww01-like tiny channel scale
    return [float(np.float32(s)) for s in scales]


def _bias(
    rng: np.random.Generator, n: int, in_scale: float, w_scales: list[float]
) -> tuple[np.ndarray[Any, Any], list[float]]:
    scales = [in_scale * w_scales[i if len(w_scales) > 1 else 0] for i in range(n)]
    bias = rng.integers(-5000, 5000, size=n).astype(np.int32)
    if rng.random() < 0.3:
        bias[int(rng.integers(n))] = int(rng.integers(-(2**24), 2**24))
    return bias, scales


def random_conv(seed: int, depthwise: bool) -> bytes:
    rng = np.random.default_rng(seed)
    mb = ModelBuilder()
    batches = int(rng.choice([1, 1, 1, 2]))
    in_h, in_w = (int(v) for v in rng.integers(1, 13, size=2))
    in_c = int(rng.integers(1, 9))
    if depthwise and rng.random() < 0.3:
        in_c = int(rng.integers(30, 70))  # more than one 32-channel block of the kernel
    mult = int(rng.choice([1, 1, 2])) if depthwise else 1
    out_c = in_c * mult if depthwise else int(rng.integers(1, 9))
    padding = str(rng.choice(["SAME", "VALID"]))
    k_h = int(rng.integers(1, 6))
    k_w = int(rng.integers(1, 6))
    if padding == "VALID":
        k_h, k_w = min(k_h, in_h), min(k_w, in_w)
    stride = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    act = str(rng.choice(["NONE", "RELU", "RELU6"]))
    in_scale = float(np.float32(10.0 ** rng.uniform(-2.5, 0.0)))
    in_zp = int(rng.integers(-128, 128))
    w_scales = _weight_scales(rng, out_c, per_channel=bool(rng.random() < 0.8))
    # About the accumulator's spread for uniform int8 data, so outputs use the int8 range.
    typical = in_scale * float(np.median(w_scales)) * 74.0 * 74.0 * np.sqrt(k_h * k_w * in_c)
    out_scale = float(np.float32(typical * 10.0 ** rng.uniform(-0.7, 0.3) / 30.0))
    if act == "RELU6":  # keep 6.0 well inside the int8 range
        out_scale = min(out_scale, float(np.float32(6.0 / 100.0)))
    out_zp = _out_zp(rng, act)
    x = mb.activation((batches, in_h, in_w, in_c), in_scale, in_zp)
    if depthwise:
        w = rng.integers(-127, 128, size=(1, k_h, k_w, out_c)).astype(np.int8)
        qdim = 3
    else:
        w = rng.integers(-127, 128, size=(out_c, k_h, k_w, in_c)).astype(np.int8)
        qdim = 0
    wt = mb.constant(w, INT8, w_scales, [0] * len(w_scales), qdim)
    inputs = [x, wt]
    if rng.random() < 0.9:
        bias, b_scales = _bias(rng, out_c, in_scale, w_scales)
        inputs.append(mb.constant(bias, INT32, b_scales, [0] * out_c, 0))
    oh = out_size(padding, in_h, k_h, stride[0])
    ow = out_size(padding, in_w, k_w, stride[1])
    y = mb.activation((batches, oh, ow, out_c), out_scale, out_zp)
    if depthwise:
        mb.op("DEPTHWISE_CONV_2D", inputs, [y], "DepthwiseConv2DOptions",
              depthwise_options(stride, padding, act, mult))  # fmt: skip
    else:
        mb.op("CONV_2D", inputs, [y], "Conv2DOptions", conv_options(stride, padding, act))
    return mb.finish([x], [y])


def random_fc(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    mb = ModelBuilder()
    batches = int(rng.choice([1, 1, 2, 3]))
    in_depth = int(rng.integers(1, 80))
    out_depth = int(rng.integers(1, 40))
    act = str(rng.choice(["NONE", "RELU", "RELU6"]))
    in_scale = float(np.float32(10.0 ** rng.uniform(-2.5, 0.0)))
    in_zp = int(rng.integers(-128, 128))
    per_channel = bool(rng.random() < 0.3)
    w_scales = _weight_scales(rng, out_depth, per_channel=per_channel)
    typical = in_scale * float(np.median(w_scales)) * 74.0 * 74.0 * np.sqrt(in_depth)
    out_scale = float(np.float32(typical * 10.0 ** rng.uniform(-0.7, 0.3) / 30.0))
    out_zp = _out_zp(rng, act)
    x = mb.activation((batches, in_depth), in_scale, in_zp)
    w = rng.integers(-127, 128, size=(out_depth, in_depth)).astype(np.int8)
    inputs = [x, mb.constant(w, INT8, w_scales, [0] * len(w_scales), 0)]
    if rng.random() < 0.9:
        bias, b_scales = _bias(rng, out_depth, in_scale, w_scales)
        n = len(w_scales)
        inputs.append(mb.constant(bias, INT32, b_scales[:n], [0] * n, 0))
    y = mb.activation((batches, out_depth), out_scale, out_zp)
    mb.op("FULLY_CONNECTED", inputs, [y], "FullyConnectedOptions", fc_options(act))
    return mb.finish([x], [y])


def random_pool(seed: int, kind: str) -> bytes:
    rng = np.random.default_rng(seed)
    mb = ModelBuilder()
    batches = int(rng.choice([1, 1, 2]))
    in_h, in_w = (int(v) for v in rng.integers(1, 14, size=2))
    channels = int(rng.integers(1, 9))
    padding = str(rng.choice(["SAME", "VALID"]))
    k = (int(rng.integers(1, 6)), int(rng.integers(1, 6)))
    if padding == "VALID":
        k = (min(k[0], in_h), min(k[1], in_w))
    stride = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    act = str(rng.choice(["NONE", "RELU", "RELU6"]))
    scale = float(np.float32(10.0 ** rng.uniform(-2.0, -0.5)))
    zp = int(rng.integers(-128, 128))
    x = mb.activation((batches, in_h, in_w, channels), scale, zp)
    oh = out_size(padding, in_h, k[0], stride[0])
    ow = out_size(padding, in_w, k[1], stride[1])
    y = mb.activation((batches, oh, ow, channels), scale, zp)
    mb.op(kind, [x], [y], "Pool2DOptions", pool_options(k, stride, padding, act))
    return mb.finish([x], [y])


def random_add(seed: int) -> bytes:
    """ADD(x, depthwise_1x1(x)): the model input is one operand, a rescaled copy the other."""
    rng = np.random.default_rng(seed)
    mb = ModelBuilder()
    shape = (int(rng.choice([1, 1, 2])), *(int(v) for v in rng.integers(1, 7, size=3)))
    channels = shape[3]
    act = str(rng.choice(["NONE", "RELU", "RELU6"]))
    s1, s2 = (float(np.float32(10.0 ** rng.uniform(-2.5, 0.0))) for _ in range(2))
    if rng.random() < 0.2:
        s2 = s1
    so = float(np.float32(max(s1, s2) * 10.0 ** rng.uniform(-0.3, 0.6)))
    if act == "RELU6":
        so = float(np.float32(6.0 / 255.0 * 10.0 ** rng.uniform(-0.3, 0.3)))
    z1, z2 = (int(v) for v in rng.integers(-128, 128, size=2))
    zo = _out_zp(rng, act)
    a = mb.activation(shape, s1, z1)
    dw = mb.constant(rng.integers(-127, 128, size=(1, 1, 1, channels)).astype(np.int8), INT8,
                     [float(np.float32(s2 / s1 / 60.0))] * channels, [0] * channels, 3)  # fmt: skip
    b = mb.activation(shape, s2, z2)
    mb.op("DEPTHWISE_CONV_2D", [a, dw], [b], "DepthwiseConv2DOptions",
          depthwise_options((1, 1), "VALID", "NONE", 1))  # fmt: skip
    y = mb.activation(shape, so, zo)
    mb.op("ADD", [a, b], [y], "AddOptions", add_options(act))
    return mb.finish([a], [y])


def random_softmax(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    mb = ModelBuilder()
    outer = int(rng.integers(1, 5))
    depth = int(rng.integers(1, 60))
    scale = float(np.float32(10.0 ** rng.uniform(-2.0, 0.3)))
    zp = int(rng.integers(-128, 128))
    beta = float(np.float32(rng.choice([1.0, 1.0, rng.uniform(0.3, 3.0)])))
    x = mb.activation((outer, depth), scale, zp)
    y = mb.activation((outer, depth), 1.0 / 256.0, -128)
    mb.op("SOFTMAX", [x], [y], "SoftmaxOptions", softmax_options(beta))
    return mb.finish([x], [y])


def conv_reshape_fc_softmax(seed: int) -> bytes:
    """A small chain with a RESHAPE between a pool and a fully connected layer."""
    rng = np.random.default_rng(seed)
    mb = ModelBuilder()
    h, w, c = (int(v) for v in rng.integers(2, 7, size=3))
    x = mb.activation((1, h, w, c), 0.05, -3)
    wt = mb.constant(rng.integers(-127, 128, size=(4, 3, 3, c)).astype(np.int8), INT8,
                     [0.01, 0.02, 0.003, 0.04], [0, 0, 0, 0], 0)  # fmt: skip
    y1 = mb.activation((1, h, w, 4), 0.08, 5)
    mb.op("CONV_2D", [x, wt], [y1], "Conv2DOptions", conv_options((1, 1), "SAME", "RELU"))
    y2 = mb.activation((1, h * w * 4), 0.08, 5)
    shape = mb.constant(np.array([1, h * w * 4], dtype=np.int32), INT32)
    mb.op("RESHAPE", [y1, shape], [y2], "ReshapeOptions", schema.ReshapeOptionsT())
    fw = mb.constant(rng.integers(-127, 128, size=(7, h * w * 4)).astype(np.int8), INT8,
                     [0.004], [0])  # fmt: skip
    y3 = mb.activation((1, 7), 0.3, 10)
    mb.op("FULLY_CONNECTED", [y2, fw], [y3], "FullyConnectedOptions", fc_options("NONE"))
    y4 = mb.activation((1, 7), 1.0 / 256.0, -128)
    mb.op("SOFTMAX", [y3], [y4], "SoftmaxOptions", softmax_options(1.0))
    return mb.finish([x], [y4])


def residual_block(seed: int) -> bytes:
    """input -> conv a -> conv b; ADD(conv a, conv b) -> max pool: a branching graph."""
    rng = np.random.default_rng(seed)
    mb = ModelBuilder()
    h, w = (int(v) for v in rng.integers(3, 9, size=2))
    x = mb.activation((1, h, w, 3), 0.02, -128)
    w1 = mb.constant(rng.integers(-127, 128, size=(6, 3, 3, 3)).astype(np.int8), INT8,
                     [0.01] * 6, [0] * 6, 0)  # fmt: skip
    a = mb.activation((1, h, w, 6), 0.05, -20)
    mb.op("CONV_2D", [x, w1], [a], "Conv2DOptions", conv_options((1, 1), "SAME", "RELU"))
    w2 = mb.constant(rng.integers(-127, 128, size=(6, 1, 1, 6)).astype(np.int8), INT8,
                     [0.02] * 6, [0] * 6, 0)  # fmt: skip
    b = mb.activation((1, h, w, 6), 0.07, 3)
    mb.op("CONV_2D", [a, w2], [b], "Conv2DOptions", conv_options((1, 1), "VALID", "NONE"))
    s = mb.activation((1, h, w, 6), 0.09, -7)
    mb.op("ADD", [a, b], [s], "AddOptions", add_options("RELU"))
    p = mb.activation((1, (h + 1) // 2, (w + 1) // 2, 6), 0.09, -7)
    mb.op("MAX_POOL_2D", [s], [p], "Pool2DOptions", pool_options((2, 2), (2, 2), "SAME", "NONE"))
    return mb.finish([x], [p])
