"""The mve (Helium) kernel set of the native engine on qemu-m55 (Cortex-M55, MVE).

The set cannot be built for the host (its sources stop with #error without __ARM_FEATURE_MVE,
a real platform limit), so its bit-exactness is checked here, on the emulated core: generated
edge-case models (odd channel counts, output channels not a multiple of 4 or 8, padding,
strides 1 and 2, the fast and the general paths of each kernel) run in firmware built with
the mve kernels, and every raw output equals tflite-micro's and the reference set's (built for
the host); the four models run through `tinybench run --kernels mve` on seeded random inputs
(kws01 on its first samples), whose reference check compares every output with tflite-micro.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from double_model import crc32, parse_raw
from dutio import DutLink, qemu_dut
from fwbuild import TARGETS, build

from datagen import write_dataset
from native.native_modelgen import (
    INT8,
    INT32,
    ModelBuilder,
    add_options,
    conv_options,
    depthwise_options,
    fc_options,
    out_size,
    pool_options,
)
from tinybench.cli import cli
from tinybench.compiler import compile_model
from tinybench.compiler.hostlib import (
    HostEngine,
    build_engine_objects,
    build_host_engine,
    engine_dir,
    engine_sources,
)
from tinybench.paths import locate
from tinybench.project import Project

BOARD = "qemu-m55"
INPUTS_PER_MODEL = 3

pytestmark = pytest.mark.skipif(
    shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
    reason="needs qemu-system-arm and arm-none-eabi-gcc",
)


# Generated models ------------------------------------------------------------------------------


def _scales(rng: np.random.Generator, n: int) -> list[float]:
    return [float(np.float32(s)) for s in 10.0 ** rng.uniform(-3.0, -1.5, size=n)]


def conv_model(
    seed: int,
    in_shape: tuple[int, int, int, int],
    out_c: int,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: str,
    act: str = "NONE",
    depthwise: bool = False,
    mult: int = 1,
    tie_log2: int | None = None,
) -> bytes:
    """One CONV_2D or DEPTHWISE_CONV_2D with per-channel scales, a bias and random zero points.

    tie_log2: every scale a power of two, so that the effective scale is 2^tie_log2 exactly
    (multiplier 2^30): the requantization's roundings then meet exact ties often, which is
    where the rounding of negative values is tested.
    """
    rng = np.random.default_rng(seed)
    mb = ModelBuilder()
    batches, in_h, in_w, in_c = in_shape
    out_c = in_c * mult if depthwise else out_c
    in_scale = float(np.float32(0.02))
    w_scales = _scales(rng, out_c)
    typical = in_scale * float(np.median(w_scales)) * 74.0 * 74.0
    out_scale = float(np.float32(typical * np.sqrt(kernel[0] * kernel[1] * in_c) / 30.0))
    if tie_log2 is not None:
        in_scale, out_scale = 0.5, 1.0
        w_scales = [2.0 ** (tie_log2 + 1)] * out_c
    x = mb.activation(in_shape, in_scale, int(rng.integers(-128, 128)))
    shape = (1, *kernel, out_c) if depthwise else (out_c, *kernel, in_c)
    w = rng.integers(-128, 128, size=shape).astype(np.int8)
    wt = mb.constant(w, INT8, w_scales, [0] * out_c, 3 if depthwise else 0)
    bias = rng.integers(-3000, 3000, size=out_c).astype(np.int32)
    b = mb.constant(bias, INT32, [in_scale * s for s in w_scales], [0] * out_c, 0)
    oh = out_size(padding, in_h, kernel[0], stride[0])
    ow = out_size(padding, in_w, kernel[1], stride[1])
    zp = int(rng.integers(-128, 128)) if act == "NONE" else -128
    y = mb.activation((batches, oh, ow, out_c), out_scale, zp)
    if depthwise:
        options = depthwise_options(stride, padding, act, mult)
        mb.op("DEPTHWISE_CONV_2D", [x, wt, b], [y], "DepthwiseConv2DOptions", options)
    else:
        options = conv_options(stride, padding, act)
        mb.op("CONV_2D", [x, wt, b], [y], "Conv2DOptions", options)
    return mb.finish([x], [y])


def fc_model(
    seed: int, batches: int, in_depth: int, out_depth: int, tie_log2: int | None = None
) -> bytes:
    rng = np.random.default_rng(seed)
    mb = ModelBuilder()
    in_scale = float(np.float32(0.03))
    w_scale = [float(np.float32(0.004))]
    if tie_log2 is not None:  # as conv_model's
        in_scale, w_scale = 0.5, [2.0 ** (tie_log2 + 1)]
    x = mb.activation((batches, in_depth), in_scale, int(rng.integers(-128, 128)))
    w = rng.integers(-128, 128, size=(out_depth, in_depth)).astype(np.int8)
    wt = mb.constant(w, INT8, w_scale, [0], 0)
    bias = rng.integers(-3000, 3000, size=out_depth).astype(np.int32)
    b = mb.constant(bias, INT32, [in_scale * w_scale[0]], [0], 0)
    out_scale = float(np.float32(in_scale * w_scale[0] * 74.0 * 74.0 * np.sqrt(in_depth) / 30.0))
    if tie_log2 is not None:
        out_scale = 1.0
    y = mb.activation((batches, out_depth), out_scale, int(rng.integers(-128, 128)))
    mb.op("FULLY_CONNECTED", [x, wt, b], [y], "FullyConnectedOptions", fc_options("NONE"))
    return mb.finish([x], [y])


def add_model(seed: int, shape: tuple[int, int, int, int], act: str) -> bytes:
    """ADD(x, depthwise_1x1(x)) with different scales and zero points on each side."""
    rng = np.random.default_rng(seed)
    mb = ModelBuilder()
    channels = shape[3]
    s1, s2 = float(np.float32(0.05)), float(np.float32(0.021))
    a = mb.activation(shape, s1, int(rng.integers(-128, 128)))
    dw = mb.constant(rng.integers(-127, 128, size=(1, 1, 1, channels)).astype(np.int8), INT8,
                     [float(np.float32(s2 / s1 / 60.0))] * channels, [0] * channels, 3)  # fmt: skip
    b = mb.activation(shape, s2, int(rng.integers(-128, 128)))
    mb.op("DEPTHWISE_CONV_2D", [a, dw], [b], "DepthwiseConv2DOptions",
          depthwise_options((1, 1), "VALID", "NONE", 1))  # fmt: skip
    y = mb.activation(shape, float(np.float32(0.07)), -20 if act == "NONE" else -128)
    mb.op("ADD", [a, b], [y], "AddOptions", add_options(act))
    return mb.finish([a], [y])


def pool_model(
    kind: str, in_shape: tuple[int, int, int, int], k: tuple[int, int], stride: tuple[int, int],
    padding: str, act: str,
) -> bytes:  # fmt: skip
    mb = ModelBuilder()
    scale = float(np.float32(0.03))
    x = mb.activation(in_shape, scale, 7)
    oh = out_size(padding, in_shape[1], k[0], stride[0])
    ow = out_size(padding, in_shape[2], k[1], stride[1])
    y = mb.activation((in_shape[0], oh, ow, in_shape[3]), scale, 7)
    mb.op(kind, [x], [y], "Pool2DOptions", pool_options(k, stride, padding, act))
    return mb.finish([x], [y])


# name -> (model, what it covers)
EDGE_MODELS: dict[str, Callable[[], bytes]] = {
    # CONV_2D: copied columns (padding, tiles), channel tails, in place 1x1 with vector tails
    "conv3x3-s2-same-c3-o17": lambda: conv_model(1, (1, 9, 7, 3), 17, (3, 3), (2, 2), "SAME"),
    "conv3x3-s1-valid-c5-o6-relu": lambda: conv_model(
        2, (2, 6, 5, 5), 6, (3, 3), (1, 1), "VALID", "RELU"
    ),
    "conv10x4-s2-same-c1-o20": lambda: conv_model(3, (1, 13, 6, 1), 20, (10, 4), (2, 2), "SAME"),
    "conv1x1-c17-o5": lambda: conv_model(4, (1, 5, 6, 17), 5, (1, 1), (1, 1), "VALID"),
    "conv1x1-s2-c33-o3-relu6": lambda: conv_model(
        5, (1, 7, 5, 33), 3, (1, 1), (2, 2), "SAME", "RELU6"
    ),
    # DEPTHWISE_CONV_2D: blocks of 8 plus tails, windows clipped on every side, the general paths
    "dw3x3-s1-same-c17": lambda: conv_model(
        6, (1, 6, 7, 17), 0, (3, 3), (1, 1), "SAME", depthwise=True
    ),
    "dw3x3-s2-same-c16-relu": lambda: conv_model(
        7, (1, 9, 8, 16), 0, (3, 3), (2, 2), "SAME", "RELU", depthwise=True
    ),
    "dw3x3-s2-valid-c5": lambda: conv_model(
        8, (2, 7, 6, 5), 0, (3, 3), (2, 2), "VALID", depthwise=True
    ),
    "dw5x5-s1-same-c1": lambda: conv_model(
        9, (1, 6, 6, 1), 0, (5, 5), (1, 1), "SAME", depthwise=True
    ),
    "dw10x4-s1-same-c8": lambda: conv_model(
        10, (1, 12, 6, 8), 0, (10, 4), (1, 1), "SAME", depthwise=True
    ),
    "dw3x3-mult2-c3": lambda: conv_model(
        11, (1, 5, 5, 3), 0, (3, 3), (1, 1), "SAME", depthwise=True, mult=2
    ),
    # FULLY_CONNECTED and ADD: vector tails, output tails, batches
    "fc-37-to-5": lambda: fc_model(12, 1, 37, 5),
    "fc-b2-130-to-70": lambda: fc_model(13, 2, 130, 70),
    "add-3x5x7": lambda: add_model(14, (1, 3, 5, 7), "NONE"),
    "add-2x4x4x3-relu": lambda: add_model(15, (2, 4, 4, 3), "RELU"),
    # Power-of-two scales: exact ties in the requantization's roundings (negative ones too)
    "ties-conv1x1-c17-o8": lambda: conv_model(
        16, (1, 6, 5, 17), 8, (1, 1), (1, 1), "VALID", tie_log2=-9
    ),
    "ties-conv3x3-c4-o4": lambda: conv_model(
        17, (1, 6, 6, 4), 4, (3, 3), (1, 1), "SAME", tie_log2=-9
    ),
    "ties-dw3x3-c24": lambda: conv_model(
        18, (1, 5, 5, 24), 0, (3, 3), (1, 1), "SAME", depthwise=True, tie_log2=-8
    ),
    "ties-fc-40-to-12": lambda: fc_model(19, 1, 40, 12, tie_log2=-10),
    # CONV_2D 1x1 over 1-4 whole vectors (the grouped requantization constants): stride 2,
    # batches, channel tails, two chunks of channels, shifts of 0 (exact ties) and a left
    # shift (which keeps the per-channel arrays and the tiles)
    "conv1x1-s2-c32-o10": lambda: conv_model(20, (1, 7, 6, 32), 10, (1, 1), (2, 2), "VALID"),
    "conv1x1-b2-c64-o12-relu": lambda: conv_model(
        21, (2, 4, 3, 64), 12, (1, 1), (1, 1), "VALID", "RELU"
    ),
    "conv1x1-c48-o7-relu6": lambda: conv_model(
        22, (1, 3, 5, 48), 7, (1, 1), (1, 1), "SAME", "RELU6"
    ),
    "conv1x1-c16-o70": lambda: conv_model(23, (1, 3, 3, 16), 70, (1, 1), (1, 1), "VALID"),
    "ties-conv1x1-c32-o6": lambda: conv_model(
        24, (1, 4, 5, 32), 6, (1, 1), (1, 1), "VALID", tie_log2=-9
    ),
    "ties-conv1x1-c16-o5-shift0": lambda: conv_model(
        25, (1, 4, 4, 16), 5, (1, 1), (1, 1), "VALID", tie_log2=-1
    ),
    "conv1x1-c16-o4-left-shift": lambda: conv_model(
        26, (1, 3, 4, 16), 4, (1, 1), (1, 1), "VALID", tie_log2=1
    ),
    # DEPTHWISE 3x3 (unrolled) and other filters of the block-of-eight path, with and without
    # a left shift (tie_log2=1: shift +2; most outputs saturate, the rest test the shift)
    "dw3x3-s1-valid-c8-relu6": lambda: conv_model(
        27, (1, 6, 6, 8), 0, (3, 3), (1, 1), "VALID", "RELU6", depthwise=True
    ),
    "dw5x5-s1-valid-c16": lambda: conv_model(
        28, (1, 7, 6, 16), 0, (5, 5), (1, 1), "VALID", depthwise=True
    ),
    "dw3x3-c16-left-shift": lambda: conv_model(
        29, (1, 5, 5, 16), 0, (3, 3), (1, 1), "SAME", depthwise=True, tie_log2=1
    ),
    "dw5x5-s2-c8-left-shift": lambda: conv_model(
        30, (1, 7, 6, 8), 0, (5, 5), (2, 2), "SAME", depthwise=True, tie_log2=1
    ),
    # Pools: channel tails, windows clipped by SAME padding (counts that differ per pixel)
    "avgpool3x3-s2-same-c17": lambda: pool_model(
        "AVERAGE_POOL_2D", (1, 7, 6, 17), (3, 3), (2, 2), "SAME", "NONE"
    ),
    "avgpool-global-c70": lambda: pool_model(
        "AVERAGE_POOL_2D", (1, 5, 4, 70), (5, 4), (1, 1), "VALID", "RELU"
    ),
    "maxpool2x2-s1-same-c19-relu6": lambda: pool_model(
        "MAX_POOL_2D", (2, 5, 5, 19), (2, 2), (1, 1), "SAME", "RELU6"
    ),
}


def _tflite_micro(tflite: bytes) -> Callable[[bytes], bytes]:
    from tflite_micro.python.tflite_micro import runtime

    interpreter = runtime.Interpreter.from_bytes(tflite, arena_size=1024 * 1024)
    shape = tuple(int(d) for d in interpreter.get_input_details(0)["shape"])

    def run(data: bytes) -> bytes:
        interpreter.set_input(np.frombuffer(data, dtype=np.int8).reshape(shape), 0)
        interpreter.invoke()
        return bytes(np.asarray(interpreter.get_output(0), dtype=np.int8).tobytes())

    return run


def _upload(dut: DutLink, data: bytes) -> None:
    reply = dut.command(f"db bin {len(data)} {crc32(data):08x}")
    assert reply == [f"m-[Expecting {len(data)} bytes binary]"]
    dut.write(data)
    dut.read_until_ready(timeout=30)


@pytest.fixture(scope="module")
def project() -> Project:
    return Project(locate())


@pytest.fixture(scope="module")
def reference_objects(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return build_engine_objects(tmp_path_factory.mktemp("reference-objects"))


def test_the_mve_set_refuses_to_build_without_helium(tmp_path: Path) -> None:
    """The host compiler (or a core without MVE) stops at the set's #error, naming the cause."""
    cc = shutil.which("gcc") or "cc"
    source = engine_dir() / "mve" / "tb_native_conv.c"
    include = engine_dir().parents[1] / "include"
    cmd = [cc, "-std=c99", f"-I{include}", f"-I{engine_dir()}", "-c", str(source), "-o",
           str(tmp_path / "x.o")]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode != 0
    assert "the mve kernel set needs Helium (MVE)" in proc.stderr


@pytest.mark.parametrize("name", sorted(EDGE_MODELS))
def test_generated_model_is_bit_exact_with_the_mve_kernels_on_qemu_m55(
    name: str, tmp_path: Path, reference_objects: list[Path]
) -> None:
    tflite = EDGE_MODELS[name]()
    plan = tmp_path / "plan-mve"
    compile_model(tflite, "test", plan, kernels="mve")
    elf = build(
        BOARD,
        [*engine_sources("mve"), plan / "tb_native_model.c"],
        tmp_path / "fw.elf",
        extra_include_dirs=(engine_dir(), plan),
    )
    compile_model(tflite, "test", tmp_path / "plan-ref")
    reference_set = HostEngine(
        build_host_engine(tmp_path / "plan-ref", tmp_path / "build-ref", reference_objects)
    )
    tflm = _tflite_micro(tflite)
    rng = np.random.default_rng(sum(map(ord, name)))
    target = TARGETS[BOARD]
    assert target.qemu_machine and target.qemu_cpu
    with qemu_dut(elf, target.qemu_machine, target.qemu_cpu) as dut:
        assert dut.read_until_ready(timeout=10) == ["m-init-done"]
        assert "+mve" in dut.command("info")[0]  # the image runs the mve set
        for _ in range(INPUTS_PER_MODEL):
            data = rng.integers(-128, 128, reference_set.input.bytes).astype(np.int8).tobytes()
            _upload(dut, data)
            reply = dut.command("infer 1 0", timeout=30)
            assert any(line.startswith("m-infer-counter-") for line in reply), reply
            got = parse_raw(dut.command("results raw"))
            want = tflm(data)
            assert len(got) == len(want) > 0
            assert got == want, f"{name}: mve differs from tflite-micro"
            assert reference_set.run(data) == want


# The four models --------------------------------------------------------------------------------


def _run(args: list[str]) -> str:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def test_kws01_first_samples_are_bit_exact_with_the_mve_kernels(tmp_path: Path) -> None:
    output = _run(["run", "kws01", "--board", BOARD, "--kernels", "mve", "--limit", "20",
                   "--out", str(tmp_path / "r")])  # fmt: skip
    assert "20 compared, 0 mismatches" in output


@pytest.mark.parametrize(
    ("model_id", "labels"),
    [("vww01", [0, 1, 1, 0]), ("ic01", [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]), ("ad01", [0, 1])],
)
def test_generated_inputs_of_the_other_models_are_bit_exact_with_the_mve_kernels(
    project: Project, tmp_path: Path, model_id: str, labels: list[int]
) -> None:
    model = project.model(model_id)
    write_dataset(tmp_path / "data", model.dataset, labels, seed=14)
    output = _run(["run", model_id, "--board", BOARD, "--kernels", "mve",
                   "--dataset", str(tmp_path / "data"), "--out", str(tmp_path / "r")])  # fmt: skip
    assert f"{len(labels)} compared, 0 mismatches" in output
