"""The model compiler: refusing malformed or unsupported models with clear CompileErrors, the
TF Lite Micro parameter arithmetic, the arena planner and the emitted files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from native_modelgen import (
    FLOAT32,
    INT8,
    INT32,
    ModelBuilder,
    add_options,
    conv_options,
    fc_options,
    residual_block,
    softmax_options,
)
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from tinybench.compiler import CompileError, analyze_model, compile_model
from tinybench.compiler.planner import PlanOp, check_plan, plan_arena
from tinybench.compiler.quant import (
    activation_range,
    quantize_multiplier,
    round_half_away,
    softmax_params,
)


def _model(shared_dir: Path, name: str) -> bytes:
    return (shared_dir / "models" / f"{name}.tflite").read_bytes()


# Malformed and unsupported models -------------------------------------------------------------


@pytest.mark.parametrize("cut", [0, 7, 8, 64, 500, 5_000, 20_000, -1])
def test_truncated_model_is_refused(shared_dir: Path, cut: int) -> None:
    data = _model(shared_dir, "kws01")
    with pytest.raises(CompileError, match=r"TF Lite|flatbuffer|bytes"):
        analyze_model(data[:cut])


@pytest.mark.parametrize("seed", range(8))
def test_random_bytes_are_refused(seed: int) -> None:
    rng = np.random.default_rng(seed)
    data = bytearray(rng.integers(0, 256, size=int(rng.integers(8, 3000)), dtype=np.uint8))
    if seed % 2:
        data[4:8] = b"TFL3"  # get past the identifier check into the flatbuffer reader
    with pytest.raises(CompileError):
        analyze_model(bytes(data))


def test_wrong_file_identifier_is_named() -> None:
    with pytest.raises(CompileError, match="file identifier"):
        analyze_model(b"\x00" * 4 + b"ABCD" + b"\x00" * 64)


def _tanh_model() -> bytes:
    mb = ModelBuilder()
    x = mb.activation((1, 8), 0.1, 0)
    y = mb.activation((1, 8), 1.0 / 128.0, 0)
    mb.op("TANH", [x], [y])
    return mb.finish([x], [y])


def test_unsupported_op_is_refused_with_its_index_and_name() -> None:
    with pytest.raises(CompileError, match=r"op 0 \(TANH\).*not supported") as info:
        analyze_model(_tanh_model())
    assert "tensor 0" in str(info.value)


def test_float32_activation_is_refused_naming_the_tensor() -> None:
    mb = ModelBuilder()
    x = mb.activation((1, 4), 0.0, 0, dtype=FLOAT32, name="features")
    w = mb.constant(np.ones((3, 4), dtype=np.float32), FLOAT32)
    y = mb.activation((1, 3), 0.0, 0, dtype=FLOAT32)
    mb.op("FULLY_CONNECTED", [x, w], [y], "FullyConnectedOptions", fc_options("NONE"))
    with pytest.raises(CompileError) as info:
        analyze_model(mb.finish([x], [y]))
    message = str(info.value)
    assert "FLOAT32" in message
    assert "'features'" in message or "tensor 0" in message


def _conv_model(act: str = "NONE", dil: int = 1) -> bytes:
    mb = ModelBuilder()
    x = mb.activation((1, 5, 5, 2), 0.1, 0)
    w = mb.constant(np.ones((3, 3, 3, 2), dtype=np.int8), INT8, [0.01] * 3, [0] * 3, 0)
    y = mb.activation((1, 5, 5, 3), 0.2, 0)
    mb.op("CONV_2D", [x, w], [y], "Conv2DOptions", conv_options((1, 1), "SAME", act, dil))
    return mb.finish([x], [y])


@pytest.mark.parametrize("act", ["TANH", "RELU_N1_TO_1"])
def test_unsupported_fused_activation_is_refused(act: str) -> None:
    with pytest.raises(CompileError, match=rf"op 0 \(CONV_2D\): fused activation {act}"):
        analyze_model(_conv_model(act))


def test_dilation_is_refused() -> None:
    with pytest.raises(CompileError, match=r"op 0 \(CONV_2D\): dilation 2x2"):
        analyze_model(_conv_model(dil=2))


def test_broadcasting_add_is_refused() -> None:
    mb = ModelBuilder()
    x = mb.activation((1, 2, 2, 3), 0.1, 0)
    c = mb.activation((1, 1, 1, 3), 0.1, 0)
    w = mb.constant(np.ones((1, 1, 1, 3), dtype=np.int8), INT8, [0.01] * 3, [0] * 3, 3)
    pool = schema.Pool2DOptionsT()
    pool.filterHeight = pool.filterWidth = pool.strideH = pool.strideW = 2
    pool.padding = schema.Padding.VALID
    mb.op("AVERAGE_POOL_2D", [x], [c], "Pool2DOptions", pool)
    d = mb.activation((1, 1, 1, 3), 0.1, 0)
    mb.op("DEPTHWISE_CONV_2D", [c, w], [d], "DepthwiseConv2DOptions", _dw_options())
    y = mb.activation((1, 2, 2, 3), 0.2, 0)
    mb.op("ADD", [x, d], [y], "AddOptions", add_options("NONE"))
    with pytest.raises(CompileError, match=r"op 2 \(ADD\): broadcasting"):
        analyze_model(mb.finish([x], [y]))


def _dw_options() -> schema.DepthwiseConv2DOptionsT:
    o = schema.DepthwiseConv2DOptionsT()
    o.strideH = o.strideW = o.depthMultiplier = o.dilationHFactor = o.dilationWFactor = 1
    o.padding = schema.Padding.VALID
    return o


def test_softmax_with_wrong_output_quantization_is_refused() -> None:
    mb = ModelBuilder()
    x = mb.activation((1, 10), 0.1, 0)
    y = mb.activation((1, 10), 1.0 / 255.0, -128)
    mb.op("SOFTMAX", [x], [y], "SoftmaxOptions", softmax_options(1.0))
    with pytest.raises(CompileError, match=r"op 0 \(SOFTMAX\).*scale 1/256"):
        analyze_model(mb.finish([x], [y]))


def test_parameter_errors_name_the_op() -> None:
    mb = ModelBuilder()
    x = mb.activation((1, 10), 0.1, 0)
    y = mb.activation((1, 10), 1.0 / 256.0, -128)
    mb.op("SOFTMAX", [x], [y], "SoftmaxOptions", softmax_options(0.0))  # beta 0: no multiplier
    with pytest.raises(CompileError, match=r"^op 0 \(SOFTMAX\): multiplier"):
        analyze_model(mb.finish([x], [y]))


def test_two_model_inputs_are_refused() -> None:
    mb = ModelBuilder()
    a = mb.activation((1, 4), 0.1, 0)
    b = mb.activation((1, 4), 0.1, 0)
    y = mb.activation((1, 4), 0.2, 0)
    mb.op("ADD", [a, b], [y], "AddOptions", add_options("NONE"))
    with pytest.raises(CompileError, match="2 inputs"):
        analyze_model(mb.finish([a, b], [y]))


def test_bad_model_id_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CompileError, match="model id"):
        compile_model(residual_block(0), 'evil"id', tmp_path)


# TF Lite Micro arithmetic ---------------------------------------------------------------------


def test_round_half_away_from_zero_like_c_round() -> None:
    values = (2.5, -2.5, 0.5, -0.5, 1.49, -1.51)
    assert [round_half_away(v) for v in values] == [3, -3, 1, -1, 1, -2]


@pytest.mark.parametrize(
    ("real", "expected"),
    [
        (0.0, (0, 0)),
        (0.5, (1 << 30, 0)),
        (0.75, (3 << 29, 0)),
        (1.0, (1 << 30, 1)),
        (3.0, (3 << 29, 2)),
        (1.0 - 2.0**-40, (1 << 30, 1)),  # rounds up to 2^31: halved, shift + 1
        (2.0**-33, (0, 0)),  # shift below -31 flushes to zero
        (1.5 * 2.0**-32, (3 << 29, -31)),  # the smallest shift kept
        (1e-7, (1801439851, -23)),  # round(0.8388608 * 2^31), 2^-23
    ],
)
def test_quantize_multiplier_matches_tflite(real: float, expected: tuple[int, int]) -> None:
    assert quantize_multiplier(real) == expected


def test_relu6_clamp_uses_float32_rounding() -> None:
    assert activation_range("RELU6", 0.0235294122248888, -128) == (-128, 127)
    assert activation_range("RELU6", 0.05, -100) == (-100, 20)
    assert activation_range("RELU", 0.05, 7) == (7, 127)
    assert activation_range("NONE", 0.05, 7) == (-128, 127)


def test_softmax_parameters_for_kws01(shared_dir: Path) -> None:
    compiled = analyze_model(_model(shared_dir, "kws01"))
    softmax = dict(compiled.ops[-1].scalars)
    in_scale = compiled.model.tensors[compiled.ops[-1].inputs[0]].scale
    p = softmax_params(1.0, in_scale)
    assert (softmax["input_multiplier"], softmax["input_left_shift"], softmax["diff_min"]) == (
        p.input_multiplier, p.input_left_shift, p.diff_min)  # fmt: skip
    assert p.input_left_shift >= 0
    assert p.diff_min < 0


def test_kws01_first_conv_has_asymmetric_same_padding(shared_dir: Path) -> None:
    op0 = dict(analyze_model(_model(shared_dir, "kws01")).ops[0].scalars)
    # 49 rows, 10-tall filter, stride 2 -> 25 rows: 9 padding rows, 4 on top, 5 below.
    assert (op0["in_h"], op0["k_h"], op0["stride_h"], op0["out_h"]) == (49, 10, 2, 25)
    assert op0["pad_h"] == 4
    assert (op0["in_w"], op0["k_w"], op0["out_w"], op0["pad_w"]) == (10, 4, 5, 1)


# Arena planner --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["kws01", "vww01", "ic01", "ad01"])
def test_plans_have_no_live_overlap_and_leave_the_input_outside(
    shared_dir: Path, name: str
) -> None:
    # The engine reads the input from the harness's buffer (tb_engine_bind_input): it has no
    # arena buffer, so nothing planned can overwrite it.
    compiled = analyze_model(_model(shared_dir, name))
    check_plan(compiled.arena)
    model_input = compiled.model.inputs[0]
    assert compiled.arena.external == frozenset({model_input})
    assert model_input not in compiled.arena.offsets
    assert all(model_input not in b.tensors for b, _ in compiled.arena.buffers)
    assert all(off % 16 == 0 for off in compiled.arena.offsets.values())


def test_reshape_aliases_its_input(shared_dir: Path) -> None:
    compiled = analyze_model(_model(shared_dir, "kws01"))
    reshape = next(op for op in compiled.ops if op.name == "RESHAPE")
    offsets = compiled.arena.offsets
    assert offsets[reshape.output] == offsets[reshape.inputs[0]]


def test_planner_reuses_memory_of_dead_tensors() -> None:
    # A chain a -> b -> c -> d of 100-byte tensors needs only two live buffers at a time, plus
    # the input (kept for the whole plan).
    ops = [PlanOp((0,), 1, False), PlanOp((1,), 2, False), PlanOp((2,), 3, False)]
    plan = plan_arena(ops, {0: 100, 1: 100, 2: 100, 3: 100}, 0, 3)
    check_plan(plan)
    assert plan.peak == 3 * 112
    assert plan.offsets[1] != plan.offsets[0]
    assert plan.offsets[2] != plan.offsets[1]


def test_planner_keeps_a_skip_connection_alive() -> None:
    # 1 is read again by op 2 (a residual ADD): it must not share memory with 2.
    ops = [PlanOp((0,), 1, False), PlanOp((1,), 2, False), PlanOp((1, 2), 3, False)]
    plan = plan_arena(ops, {0: 16, 1: 64, 2: 64, 3: 64}, 0, 3)
    check_plan(plan)
    offs = plan.offsets
    assert len({offs[0], offs[1], offs[2]}) == 3
    assert len({offs[0], offs[1], offs[2], offs[3]}) == 4


# Emitted files --------------------------------------------------------------------------------


def test_compile_model_writes_plan_files(shared_dir: Path, tmp_path: Path) -> None:
    data = _model(shared_dir, "ic01")
    result = compile_model(data, "ic01", tmp_path)
    assert result.op_count == 16
    assert result.paths == (tmp_path / "tb_native_model.h", tmp_path / "tb_native_model.c")
    header = result.header_path.read_text()
    source = result.source_path.read_text()
    assert result.sha256 in header
    assert f"#define TB_NATIVE_ARENA_BYTES {result.arena_bytes}u" in header
    assert source.count("TB_NATIVE_OP_ADD,") == 3
    assert result.weights_bytes > 78_000  # ~78k int8 weights plus biases and multipliers
    assert result.arena_bytes == analyze_model(data).arena.peak


def test_bias_must_be_int32() -> None:
    mb = ModelBuilder()
    x = mb.activation((1, 4), 0.1, 0)
    w = mb.constant(np.ones((2, 4), dtype=np.int8), INT8, [0.01], [0])
    b = mb.constant(np.ones((2,), dtype=np.int8), INT8, [0.001], [0])
    y = mb.activation((1, 2), 0.2, 0)
    mb.op("FULLY_CONNECTED", [x, w, b], [y], "FullyConnectedOptions", fc_options("NONE"))
    with pytest.raises(CompileError, match=r"op 0 \(FULLY_CONNECTED\).*int32"):
        analyze_model(mb.finish([x], [y]))
    assert INT32 != INT8
