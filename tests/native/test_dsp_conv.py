"""The dsp kernel set's CONV_2D (firmware/engines/native/dsp/tb_native_conv.c), built for the host
(tb_native_simd.h's portable C stands in for the DSP instructions, with the same results): byte
for byte equal to the reference set and to tflite-micro on generated conv models chosen to reach
every path of the kernel (1x1 without a window, clipped windows, groups of four taps and their
remainders, odd pixel and channel counts, kws01's 10x4 stride-2 one-channel conv), and on the
models' own conv ops; and its scratch query equal to the planner's Python mirror.
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
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
    conv_options,
    out_size,
    random_conv,
)

from tinybench.build.boardgen import arch_flags, is_cortex_m
from tinybench.compiler import analyze_model
from tinybench.compiler.hostlib import (
    HostEngine,
    engine_dir,
    include_dir,
    kernel_set_dir,
)
from tinybench.compiler.scratch import scratch_query
from tinybench.manifests.boards import load_board_manifests

SETS = ("reference", "dsp")
_counter = itertools.count()
Loader = Callable[[bytes, str], HostEngine]


@pytest.fixture(scope="module")
def load(kernel_set_engine: Loader) -> Loader:
    """Compile a .tflite for a kernel set and load the host engine built with that set."""
    return kernel_set_engine


@dataclass(frozen=True)
class Conv:
    """One CONV_2D model: shapes, stride, padding, activation and quantization."""

    in_hwc: tuple[int, int, int]
    out_c: int
    kernel: tuple[int, int]
    stride: tuple[int, int] = (1, 1)
    padding: str = "SAME"
    act: str = "NONE"
    in_zp: int = 0
    per_channel: bool = True
    batches: int = 1
    bias: bool = True
    huge_bias: bool = False  # channel 0's bias near 2^30: the wide requantization path
    scale_above_one: bool = False  # effective scales >= 1: multipliers with a left shift
    # per-channel effective scales, cycled over the channels: SPREAD (0.7 to 5e-10) gives right
    # shifts 0 to 30 in one op (the fused requantization's channels, e 2-31, beside
    # tb_conv_finish's, e <= 1), as in vww01; FOLD_EDGES e = 2 and 23 only (the offset folded)
    spread_scales: tuple[float, ...] = ()

    def tflite(self, seed: int) -> bytes:
        rng = np.random.default_rng(seed)
        mb = ModelBuilder()
        (in_h, in_w, in_c), (k_h, k_w) = self.in_hwc, self.kernel
        in_scale = float(np.float32(10.0 ** rng.uniform(-2.0, -0.5)))
        n_scales = self.out_c if self.per_channel and not self.scale_above_one else 1
        w_scales = [float(np.float32(s)) for s in 10.0 ** rng.uniform(-3.0, -1.5, size=n_scales)]
        spread = in_scale * float(np.median(w_scales)) * 74.0 * 74.0 * np.sqrt(k_h * k_w * in_c)
        out_scale = float(np.float32(spread / 30.0))
        if self.scale_above_one:  # 1.5 and small weights: some outputs stay inside int8
            out_scale = float(np.float32(in_scale * w_scales[0] / 1.5))
        if self.spread_scales:
            targets = self.spread_scales
            w_scales = [
                float(np.float32(targets[i % len(targets)] * out_scale / in_scale))
                for i in range(n_scales)
            ]
        if self.act == "RELU6":
            out_scale = min(out_scale, float(np.float32(6.0 / 100.0)))
        out_zp = int(rng.integers(-128, 128)) if self.act == "NONE" else -100
        x = mb.activation((self.batches, in_h, in_w, in_c), in_scale, self.in_zp)
        w_max = 3 if self.scale_above_one else 128
        w = rng.integers(1 - w_max, w_max, size=(self.out_c, k_h, k_w, in_c)).astype(np.int8)
        inputs = [x, mb.constant(w, INT8, w_scales, [0] * n_scales, 0)]
        if self.bias:
            bias = rng.integers(-20000, 20000, size=self.out_c).astype(np.int32)
            if self.huge_bias:
                bias[0] = 2**30 + 12345
            if self.scale_above_one:
                bias //= 1000
            b_scales = [in_scale * w_scales[i % n_scales] for i in range(self.out_c)]
            inputs.append(mb.constant(bias, INT32, b_scales, [0] * self.out_c, 0))
        oh = out_size(self.padding, in_h, k_h, self.stride[0])
        ow = out_size(self.padding, in_w, k_w, self.stride[1])
        y = mb.activation((self.batches, oh, ow, self.out_c), out_scale, out_zp)
        options = conv_options(self.stride, self.padding, self.act)
        mb.op("CONV_2D", inputs, [y], "Conv2DOptions", options)
        return mb.finish([x], [y])


SPREAD = (0.7, 0.3, 0.15, 2e-3, 4e-6, 3e-8, 5e-10)
FOLD_EDGES = (0.2, 0.13, 1e-7, 8e-8)
CASES: dict[str, Conv] = {
    # 1x1 without a window: channel counts with and without a remainder of four taps
    "1x1 c64 to 64": Conv((5, 5, 64), 64, (1, 1), in_zp=-128),
    "1x1 c8 to 16 relu": Conv((6, 7, 8), 16, (1, 1), act="RELU"),
    "1x1 c7 to 5": Conv((3, 5, 7), 5, (1, 1), in_zp=17),
    "1x1 c1 to 3": Conv((4, 4, 1), 3, (1, 1)),
    "1x1 c17 to 7 relu6": Conv((3, 3, 17), 7, (1, 1), act="RELU6"),
    "1x1 c16 stride 2": Conv((7, 8, 16), 32, (1, 1), stride=(2, 2)),
    "1x1 c3 VALID stride 2x1": Conv((5, 5, 3), 4, (1, 1), (2, 1), "VALID", in_zp=127),
    # 3x3 windows, SAME (clipped at every edge) and VALID, strides 1 and 2
    "3x3 SAME c3 to 16": Conv((9, 9, 3), 16, (3, 3), in_zp=-128),
    "3x3 SAME c16 to 16 relu": Conv((8, 8, 16), 16, (3, 3), act="RELU"),
    "3x3 SAME s2 c16 to 32": Conv((9, 8, 16), 32, (3, 3), (2, 2)),
    "3x3 VALID c5 to 7": Conv((7, 6, 5), 7, (3, 3), padding="VALID", in_zp=127),
    "3x3 VALID s2 c3 to 8 relu6": Conv((11, 11, 3), 8, (3, 3), (2, 2), "VALID", "RELU6"),
    "3x3 SAME c17 to 1": Conv((5, 4, 17), 1, (3, 3), in_zp=-5),
    "3x3 SAME c1 to 9 per-tensor": Conv((6, 6, 1), 9, (3, 3), per_channel=False),
    # kws01's first conv: 10x4 window, stride 2, one input channel, half the taps in padding
    "kws01 10x4 s2 c1 to 64": Conv((49, 10, 1), 64, (10, 4), (2, 2), act="RELU", in_zp=83),
    "10x4 s2 c1 to 5 zp -128": Conv((20, 9, 1), 5, (10, 4), (2, 2), in_zp=-128),
    "10x4 s2 c1 to 6 zp 127": Conv((13, 7, 1), 6, (10, 4), (2, 2), in_zp=127),
    # odd shapes: 5x2 windows, stride 3, one output pixel, no bias, batch 2
    "5x2 SAME s3 c3 to 5": Conv((10, 7, 3), 5, (5, 2), (3, 3), in_zp=60),
    "2x2 VALID one pixel": Conv((2, 2, 7), 3, (2, 2), padding="VALID"),
    "3x3 SAME no bias": Conv((5, 5, 4), 6, (3, 3), bias=False, in_zp=-128),
    "3x3 SAME batch 2": Conv((5, 5, 5), 7, (3, 3), batches=2, in_zp=31),
    "1x1 batch 2 odd pixels": Conv((3, 3, 12), 6, (1, 1), batches=2),
    # requantization paths: |acc + bias| possibly >= 2^30; left shifts (scales >= 1)
    "3x3 SAME huge bias": Conv((6, 6, 8), 6, (3, 3), huge_bias=True, in_zp=-128),
    "1x1 c1 scales above one": Conv((6, 6, 1), 4, (1, 1), scale_above_one=True),
    "3x3 SAME c2 scales above one": Conv((5, 5, 2), 5, (3, 3), scale_above_one=True, in_zp=9),
    "1x1 c8 to 14 spread scales": Conv((6, 5, 8), 14, (1, 1), in_zp=-128, spread_scales=SPREAD),
    "1x1 c8 to 6 fold edges": Conv((5, 5, 8), 6, (1, 1), in_zp=127, spread_scales=FOLD_EDGES),
    "3x3 SAME c4 to 7 spread scales huge bias": Conv(
        (4, 4, 4), 7, (3, 3), huge_bias=True, spread_scales=SPREAD
    ),
}
INPUTS = 5


def _inputs(size: int, seed: int) -> list[bytes]:
    rng = np.random.default_rng(seed)
    extremes = [bytes([0x80]) * size, bytes([0x7F]) * size, bytes(size)]
    noise = [rng.integers(-128, 128, size=size, dtype=np.int8).tobytes() for _ in range(INPUTS)]
    return extremes + noise


def _assert_bit_exact(
    tflite: bytes, load: Loader, reference: ReferenceFactory, seed: int, varied: bool = True
) -> None:
    dsp, ref_set = load(tflite, "dsp"), load(tflite, "reference")
    run_tflm = reference(tflite)
    outputs = set()
    for i, data in enumerate(_inputs(dsp.input.bytes, seed)):
        expected = run_tflm(data)
        got = dsp.run(data)
        assert got == ref_set.run(data), f"input {i}: dsp differs from the reference set"
        assert got == expected, (
            f"input {i}: dsp {np.frombuffer(got, np.int8)[:16]} "
            f"!= tflite-micro {np.frombuffer(expected, np.int8)[:16]}"
        )
        outputs.add(got)
    if varied:  # the model does not flatten every input to one output
        assert len(outputs) > 2


@pytest.mark.parametrize("name", sorted(CASES))
def test_dsp_conv_matches_reference_and_tflite_micro(
    name: str, load: Loader, reference: ReferenceFactory
) -> None:
    _assert_bit_exact(CASES[name].tflite(sum(map(ord, name))), load, reference, len(name))


@pytest.mark.parametrize("seed", range(16))
def test_dsp_conv_matches_on_random_conv_models(
    seed: int, load: Loader, reference: ReferenceFactory
) -> None:
    """native_modelgen's random convs: tiny per-channel scales, large biases, asymmetric pads."""
    # Some of them clamp most outputs (test_native_ops checks the set is not degenerate).
    _assert_bit_exact(random_conv(seed, depthwise=False), load, reference, seed, varied=False)


def test_the_cases_reach_every_path_of_the_kernel() -> None:
    convs = CASES.values()
    assert any(c.kernel == (1, 1) and c.in_hwc[2] % 4 == 0 for c in convs)  # groups only
    assert {c.in_hwc[2] % 4 for c in convs if c.kernel == (1, 1)} == {0, 1, 3}  # remainders
    assert {c.in_hwc[2] for c in convs} >= {1, 3, 5, 7, 17}
    assert any(c.out_c % 2 for c in convs) and any(c.out_c % 4 == 2 for c in convs)
    assert {c.act for c in convs} == {"NONE", "RELU", "RELU6"}
    assert {c.in_zp for c in convs} >= {-128, 127}
    assert {c.padding for c in convs} == {"SAME", "VALID"} and {c.stride for c in convs} >= {
        (1, 1),
        (2, 2),
    }
    assert any(not c.per_channel for c in convs) and any(c.batches == 2 for c in convs)
    assert any(c.huge_bias for c in convs) and any(c.scale_above_one for c in convs)
    assert any(c.spread_scales and c.in_hwc[0] * c.in_hwc[1] >= 6 for c in convs)


MODEL_INPUTS = {"kws01": 40, "vww01": 12, "ic01": 20}


@pytest.mark.parametrize("model_id", sorted(MODEL_INPUTS))
def test_dsp_models_match_tflite_micro_on_seeded_inputs(
    model_id: str, shared_dir: Path, load: Loader, reference: ReferenceFactory
) -> None:
    """The models' conv ops (all of kws01's, vww01's and ic01's CONV_2D run the dsp kernel)."""
    tflite = (shared_dir / "models" / f"{model_id}.tflite").read_bytes()
    engine = load(tflite, "dsp")
    run_tflm = reference(tflite)
    rng = np.random.default_rng(14)
    for i in range(MODEL_INPUTS[model_id]):
        data = rng.integers(-128, 128, size=engine.input.bytes, dtype=np.int8).tobytes()
        assert engine.run(data) == run_tflm(data), f"{model_id} input {i}"
        assert engine.get_input() == data


@pytest.mark.parametrize("model_id", ["kws01", "vww01", "ic01", "ad01"])
def test_dsp_scratch_query_agrees_with_the_planner(
    model_id: str, shared_dir: Path, load: Loader
) -> None:
    tflite = (shared_dir / "models" / f"{model_id}.tflite").read_bytes()
    engine = load(tflite, "dsp")
    mirror = scratch_query("dsp")
    lowered = analyze_model(tflite, "dsp", scratch=mirror).ops  # with the dsp layouts
    ops = engine.op_scratch()
    assert len(ops) == len(lowered)
    for op, low in zip(ops, lowered, strict=True):
        assert op.queried == mirror(low) == op.planned, (model_id, low.index, low.name)
        if low.name == "CONV_2D":
            s = dict(low.scalars)
            assert op.planned == 48 * -(-s["k_h"] * s["k_w"] * s["in_c"] // 4) > 0


CPU_FLAGS = {
    board.core: list(arch_flags(board))
    for board in load_board_manifests(Path(__file__).resolve().parents[2] / "boards").values()
    if is_cortex_m(board)
}


@pytest.mark.parametrize("cpu", sorted(CPU_FLAGS))
def test_dsp_conv_compiles_warning_free_for_every_cortex_m_core(cpu: str, tmp_path: Path) -> None:
    """DSP cores take the SMLAD/SMMULR assembly, the others (M0, M0+) the portable C."""
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc is not installed (apt-get install gcc-arm-none-eabi)")
    source = kernel_set_dir("dsp") / "tb_native_conv.c"
    out = tmp_path / "conv.s"
    warnings = ["-Wall", "-Wextra", "-Werror", "-pedantic", "-Wshadow", "-Wmissing-prototypes",
                "-Wstrict-prototypes"]  # fmt: skip
    includes = ["-I", str(include_dir()), "-I", str(engine_dir())]
    cmd = ["arm-none-eabi-gcc", *CPU_FLAGS[cpu], "-std=c99", *warnings, "-O2", *includes,
           "-S", str(source), "-o", str(out)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assembly = out.read_text()
    dsp = cpu not in ("cortex-m0", "cortex-m0plus")
    assert ("smlad" in assembly) == dsp and ("smmulr" in assembly) == dsp
