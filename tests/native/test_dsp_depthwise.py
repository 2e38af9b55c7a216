"""The dsp kernel set's DEPTHWISE_CONV_2D, built for the host (the SIMD operations in portable C),
against the reference set and tflite-micro, byte for byte.

Generated single-op models cover what the kernel specialises (3x3 and 10x4 filters, their
interior and border pixels, stride 1 and 2, SAME and VALID) and what it leaves to its plain path
(channels beyond a multiple of four, depth multiplier 2, other filter sizes), with every fused
activation, extreme input and output zero points and both requantizations (fused for a right
shift, tb_fx_requantize for a left shift or a flushed multiplier). The four catalogue models'
depthwise ops are compared on seeded random inputs through the op hook.
"""

from __future__ import annotations

import ctypes
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from native_modelgen import (
    INT8,
    INT32,
    ModelBuilder,
    ReferenceFactory,
    depthwise_options,
    out_size,
    random_conv,
)
from test_native_cross import ARM_CC, CPU_FLAGS, WARNINGS

from tinybench.compiler import analyze_model
from tinybench.compiler.hostlib import HostEngine

KERNELS = ("reference", "dsp")
INPUTS_PER_MODEL = 5
_counter = itertools.count()

DspFactory = Callable[[bytes, str], HostEngine]


@pytest.fixture(scope="module")
def engines(kernel_set_engine: DspFactory) -> DspFactory:
    """Compile a .tflite for one kernel set and load the native engine built with that set."""
    return kernel_set_engine


@dataclass(frozen=True)
class Depthwise:
    """One generated DEPTHWISE_CONV_2D model."""

    hw: tuple[int, int]
    channels: int
    kernel: tuple[int, int] = (3, 3)
    stride: tuple[int, int] = (1, 1)
    padding: str = "SAME"
    mult: int = 1
    act: str = "NONE"
    in_zp: int | None = None  # None: random
    out_zp: int | None = None
    weights: tuple[int, int] = (-127, 128)  # [low, high) of the int8 weights
    gain: float = 1.0  # output scale multiplier: below ~1/100, left shifts (scale > 1)
    tiny_channel: bool = False  # one channel's scale 1e-12: its multiplier flushes to 0
    batches: int = 1
    seed: int = 0

    def build(self) -> bytes:
        rng = np.random.default_rng(self.seed)
        mb = ModelBuilder()
        (h, w), c, (kh, kw) = self.hw, self.channels, self.kernel
        out_c = c * self.mult
        in_scale = float(np.float32(10.0 ** rng.uniform(-2.0, -0.5)))
        in_zp = int(rng.integers(-128, 128)) if self.in_zp is None else self.in_zp
        w_scales = [float(np.float32(s)) for s in 10.0 ** rng.uniform(-3.0, -1.5, size=out_c)]
        if self.tiny_channel:
            w_scales[out_c // 2] = float(np.float32(1e-12))
        typical = in_scale * float(np.median(w_scales)) * 74.0 * 74.0 * np.sqrt(kh * kw)
        out_scale = float(np.float32(typical / 30.0 * self.gain))
        if self.act == "RELU6":
            out_scale = min(out_scale, float(np.float32(6.0 / 100.0)))
        if self.out_zp is not None:
            out_zp = self.out_zp
        elif self.act == "NONE":
            out_zp = int(rng.integers(-128, 128))
        else:
            out_zp = int(rng.integers(-128, -40))
        x = mb.activation((self.batches, h, w, c), in_scale, in_zp)
        weights = rng.integers(*self.weights, size=(1, kh, kw, out_c)).astype(np.int8)
        wt = mb.constant(weights, INT8, w_scales, [0] * out_c, 3)
        bias = rng.integers(-20000, 20000, size=out_c).astype(np.int32)
        b_scales = [in_scale * s for s in w_scales]
        bt = mb.constant(bias, INT32, b_scales, [0] * out_c, 0)
        oh = out_size(self.padding, h, kh, self.stride[0])
        ow = out_size(self.padding, w, kw, self.stride[1])
        y = mb.activation((self.batches, oh, ow, out_c), out_scale, out_zp)
        mb.op("DEPTHWISE_CONV_2D", [x, wt, bt], [y], "DepthwiseConv2DOptions",
              depthwise_options(self.stride, self.padding, self.act, self.mult))  # fmt: skip
        return mb.finish([x], [y])


def _inputs(size: int, seed: int, zp: int) -> list[bytes]:
    """All-zero-point (padding-like), the two extremes, then random inputs."""
    rng = np.random.default_rng(500 + seed)
    fixed = [bytes([zp & 0xFF]) * size, bytes([0x80]) * size, bytes([0x7F]) * size]
    rand = [rng.integers(-128, 128, size=size, dtype=np.int8).tobytes() for _ in range(3)]
    return (fixed + rand)[: INPUTS_PER_MODEL + 1]


def _assert_dsp_matches(
    tflite: bytes, engines: DspFactory, reference: ReferenceFactory, seed: int
) -> None:
    dsp = engines(tflite, "dsp")
    ref_set = engines(tflite, "reference")
    tflm = reference(tflite)
    model = analyze_model(tflite).model
    zp = model.tensors[model.inputs[0]].zero_points[0]
    outputs = set()
    for i, data in enumerate(_inputs(dsp.input.bytes, seed, zp)):
        expected = tflm(data)
        got = dsp.run(data)
        assert got == ref_set.run(data) == expected, (
            f"input {i}: dsp {np.frombuffer(got, np.int8)[:12]} "
            f"tflite-micro {np.frombuffer(expected, np.int8)[:12]}"
        )
        outputs.add(got)
    assert len(outputs) > 1  # the model does not answer a constant


CHANNELS = (1, 3, 4, 5, 8, 17, 64, 96)
# (stride, padding, activation) of the 3x3 sweep over CHANNELS.
SWEEP = (
    ((1, 1), "SAME", "NONE"),
    ((2, 2), "SAME", "RELU"),
    ((1, 1), "VALID", "RELU6"),
    ((2, 2), "VALID", "NONE"),
)
PRODUCT = [(c, *rest) for c in CHANNELS for rest in SWEEP]

CASES: list[Depthwise] = [
    # 3x3, depth multiplier 1: every channel count, both strides and paddings.
    *(
        Depthwise((7, 6), c, stride=s, padding=pad, act=act, seed=i)
        for i, (c, s, pad, act) in enumerate(PRODUCT)
    ),
    # Shapes of the catalogue models (kws01 25x5x64 s1; vww01 s2 with bottom/right padding).
    Depthwise((25, 5), 64, seed=40),
    Depthwise((12, 12), 32, stride=(2, 2), padding="SAME", seed=41),
    Depthwise((6, 6), 128, seed=42),
    Depthwise((3, 3), 256, seed=43),
    # Narrow inputs: no interior pixel at all, or one column only.
    Depthwise((1, 1), 8, seed=44),
    Depthwise((5, 1), 12, seed=45),
    Depthwise((2, 9), 8, stride=(1, 2), seed=46),
    # Depth multiplier 2.
    Depthwise((6, 5), 4, mult=2, seed=47),
    Depthwise((7, 7), 8, stride=(2, 2), mult=2, act="RELU", seed=48),
    Depthwise((5, 6), 3, mult=2, padding="VALID", act="RELU6", seed=49),
    # Extreme zero points and weights: x + offset spans [-255, 255], weights reach -128.
    Depthwise((6, 6), 8, in_zp=-128, out_zp=127, weights=(-128, 128), seed=50),
    Depthwise((6, 6), 8, in_zp=127, out_zp=-128, weights=(-128, 128), seed=51),
    Depthwise((6, 6), 12, in_zp=-128, out_zp=-128, weights=(-128, -120), seed=52),
    Depthwise(
        (6, 6), 12, in_zp=127, out_zp=-128, weights=(-128, -120), act="RELU", gain=10.0, seed=53
    ),
    # Requantization: left shifts (output scale below the product scale), a flushed channel.
    Depthwise((6, 5), 8, gain=1e-5, seed=54),
    Depthwise((6, 5), 8, gain=1e-3, seed=58),
    Depthwise((6, 5), 8, gain=0.03, act="RELU6", seed=55),
    Depthwise((6, 5), 8, tiny_channel=True, seed=56),
    # Two batches.
    Depthwise((5, 4), 8, batches=2, stride=(2, 1), seed=57),
    # 10x4 (DS-CNN's first-layer filter): interior rows of four unrolled taps and borders.
    Depthwise((25, 10), 8, kernel=(10, 4), seed=60),
    Depthwise((49, 10), 4, kernel=(10, 4), stride=(2, 2), seed=61),
    Depthwise((20, 8), 64, kernel=(10, 4), stride=(2, 2), act="RELU", seed=62),
    Depthwise((12, 6), 5, kernel=(10, 4), padding="VALID", seed=63),
    # Other filters take the general window path.
    Depthwise((9, 8), 8, kernel=(5, 5), stride=(2, 1), seed=64),
    Depthwise((6, 7), 12, kernel=(1, 1), padding="VALID", seed=65),
    Depthwise((6, 7), 8, kernel=(2, 3), stride=(3, 2), seed=66),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.kernel}-{c.hw}x{c.channels}-s{c.seed}")
def test_generated_depthwise_matches_reference_and_tflite_micro(
    case: Depthwise, engines: DspFactory, reference: ReferenceFactory
) -> None:
    _assert_dsp_matches(case.build(), engines, reference, case.seed)


@pytest.mark.parametrize("seed", range(16))
def test_random_depthwise_models_match(
    seed: int, engines: DspFactory, reference: ReferenceFactory
) -> None:
    """The op tests' random depthwise models (any filter, stride, padding, scales down to 4e-9)."""
    _assert_dsp_matches(random_conv(seed, depthwise=True), engines, reference, seed)


def test_the_cases_reach_both_requantizations() -> None:
    """Groups of four channels take the fused requantization when all four have a right shift,
    tb_fx_requantize otherwise: the cases reach both, and left shifts and flushed channels."""
    fused = exact = left = flushed = 0
    for case in (c for c in CASES if c.mult == 1):
        arrays = dict(analyze_model(case.build()).ops[0].arrays)
        pairs = list(zip(arrays["multiplier"].values, arrays["shift"].values, strict=True))
        for g in range(0, len(pairs) - 3, 4):
            ok = all(-31 <= s <= -1 and (m == 0 or m >= 1 << 30) for m, s in pairs[g : g + 4])
            fused, exact = fused + ok, exact + (not ok)
        left += sum(s > 0 for _, s in pairs)
        flushed += sum(m == 0 for m, _ in pairs)
    assert fused > 300 and exact >= 4 and left >= 8 and flushed >= 1, (fused, exact, left, flushed)


@pytest.mark.parametrize("model_id", ["kws01", "vww01"])
def test_catalogue_depthwise_ops_match_on_random_inputs(
    model_id: str, shared_dir: Path, engines: DspFactory, reference: ReferenceFactory
) -> None:
    """Every depthwise op's output of the dsp set equals reference's, and the model's output
    equals tflite-micro's, on seeded random inputs (ic01 and ad01 have no depthwise op)."""
    tflite = (shared_dir / "models" / f"{model_id}.tflite").read_bytes()
    runs = {k: engines(tflite, k) for k in KERNELS}
    tflm = reference(tflite)
    depthwise = [op for op in analyze_model(tflite).ops if op.name == "DEPTHWISE_CONV_2D"]
    assert len(depthwise) >= 4
    captured: dict[str, list[bytes]] = {}

    def capture(kernels: str) -> Callable[[int, str, int], None]:
        compiled = analyze_model(tflite, kernels)
        sizes = {t.index: t.size for t in compiled.model.tensors}

        def hook(index: int, name: str, phase: int) -> None:
            op = compiled.ops[index]
            if phase == 1 and name == "DEPTHWISE_CONV_2D":
                at = runs[kernels].arena_address + compiled.arena.offsets[op.output]
                captured[kernels].append(ctypes.string_at(at, sizes[op.output]))

        return hook

    for kernels in KERNELS:
        runs[kernels].set_op_hook(capture(kernels))
    rng = np.random.default_rng(sum(map(ord, model_id)))
    for _ in range(10):
        data = rng.integers(-128, 128, size=runs["dsp"].input.bytes, dtype=np.int8).tobytes()
        captured.update({k: [] for k in KERNELS})
        outputs = {k: runs[k].run(data) for k in KERNELS}
        assert outputs["dsp"] == outputs["reference"] == tflm(data)
        assert len(captured["dsp"]) == len(depthwise)
        for i, (got, want) in enumerate(zip(captured["dsp"], captured["reference"], strict=True)):
            assert got == want, f"{model_id} depthwise op {depthwise[i].index} differs"
    for kernels in KERNELS:
        runs[kernels].set_op_hook(None)


@pytest.mark.parametrize("model_id", ["kws01", "vww01", "ic01", "ad01"])
def test_the_dsp_sets_scratch_query_agrees_with_the_plan(
    model_id: str, shared_dir: Path, engines: DspFactory
) -> None:
    """The dsp depthwise kernel keeps its widened weights on the stack: its C query answers 0,
    as the planner's mirror does, and every op's C query equals what the plan reserved."""
    from tinybench.compiler.scratch import scratch_query

    tflite = (shared_dir / "models" / f"{model_id}.tflite").read_bytes()
    ops = engines(tflite, "dsp").op_scratch()
    lowered = analyze_model(tflite, "dsp").ops
    mirror = scratch_query("dsp")
    assert len(ops) == len(lowered)
    for op, low in zip(ops, lowered, strict=True):
        assert op.queried == mirror(low) == op.planned, (model_id, low.index, low.name)
        if low.name == "DEPTHWISE_CONV_2D":
            assert op.queried == 0


@pytest.mark.parametrize("cpu", sorted(CPU_FLAGS))
def test_the_dsp_depthwise_kernel_compiles_for_every_cortex_m_core(
    cpu: str, tmp_path: Path
) -> None:
    """Strict warnings on every core of boards/*.toml: the assembly paths where the core has
    the DSP extension (M4, M7, M33, M55), the portable C on M0/M0+."""
    import shutil
    import subprocess

    from tinybench.compiler.hostlib import engine_dir, include_dir, kernel_set_dir

    if shutil.which(ARM_CC) is None:
        pytest.skip(f"{ARM_CC} is not installed (apt-get install gcc-arm-none-eabi)")
    source = kernel_set_dir("dsp") / "tb_native_depthwise_conv.c"
    extra = ["-Wshadow", "-Wmissing-prototypes", "-Wstrict-prototypes"]
    cmd = [ARM_CC, *CPU_FLAGS[cpu], *WARNINGS, *extra, "-O2", "-I", str(include_dir()), "-I",
           str(engine_dir()), "-c", str(source), "-o", str(tmp_path / "dw.o")]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    symbols = subprocess.run(["arm-none-eabi-nm", str(tmp_path / "dw.o")], capture_output=True,
                             text=True, check=True).stdout  # fmt: skip
    assert " T tb_native_depthwise_conv_s8" in symbols


@pytest.mark.parametrize("opt", ["-O0", "-Og", "-Os", "-O2"])
def test_the_assembly_fits_the_registers_at_every_optimisation_level(
    opt: str, tmp_path: Path
) -> None:
    """The assembly blocks need 12 registers, which unoptimised hard-float GCC (r7 the frame
    pointer) cannot give: the kernel must still build there (taking its C path) and at every
    other level (taking the assembly)."""
    import shutil
    import subprocess

    from tinybench.compiler.hostlib import engine_dir, include_dir, kernel_set_dir

    if shutil.which(ARM_CC) is None:
        pytest.skip(f"{ARM_CC} is not installed (apt-get install gcc-arm-none-eabi)")
    source = kernel_set_dir("dsp") / "tb_native_depthwise_conv.c"
    cmd = [ARM_CC, *CPU_FLAGS["cortex-m4"], *WARNINGS, opt, "-I", str(include_dir()), "-I",
           str(engine_dir()), "-c", str(source), "-o", str(tmp_path / "dw.o")]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
