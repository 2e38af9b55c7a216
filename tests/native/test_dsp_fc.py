"""The dsp kernel set's FULLY_CONNECTED (firmware/engines/native/dsp/tb_native_fully_connected.c),
built for the host (tb_native_simd.h's portable C, the same result as the Cortex-M instructions),
byte for byte against the reference kernel set and tflite-micro.

The generated models cover the kernel's paths: input depths around its 4-element words (1, 3, 5,
17, 33 and a 640 like ad01's), output depths around its groups of 4, 2 and 1 rows (1, 2, 3, 5, 10),
per-tensor and per-channel scales, NONE/RELU/RELU6, the extreme input and output zero points, and
batches > 1. ad01 (ten FULLY_CONNECTED layers) runs on seeded random inputs.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from native_modelgen import INT8, INT32, ModelBuilder, ReferenceFactory, fc_options

from tinybench.compiler.hostlib import HostEngine

IN_DEPTHS = (1, 3, 5, 17, 33)
OUT_DEPTHS = (1, 2, 3, 5, 10)
INPUTS_PER_MODEL = 8
_counter = itertools.count()

Factory = Callable[[bytes], HostEngine]


@pytest.fixture(scope="module")
def engines(kernel_set_engine: Callable[..., HostEngine]) -> dict[str, Factory]:
    """The engine built with each kernel set: dsp under test, reference as the other oracle."""
    return {k: functools.partial(kernel_set_engine, kernels=k) for k in ("dsp", "reference")}


def fc_model(
    seed: int, in_depth: int, out_depth: int, *, batches: int = 1, per_channel: bool = False,
    act: str = "NONE", in_zp: int | None = None, out_zp: int | None = None, bias: bool = True,
) -> bytes:  # fmt: skip
    """One FULLY_CONNECTED with chosen sizes; scales put the outputs across the int8 range."""
    rng = np.random.default_rng(seed)
    mb = ModelBuilder()
    in_scale = float(np.float32(10.0 ** rng.uniform(-2.5, 0.0)))
    in_zp = int(rng.integers(-128, 128)) if in_zp is None else in_zp
    n_scales = out_depth if per_channel else 1
    w_scales = [float(np.float32(s)) for s in 10.0 ** rng.uniform(-3.5, -1.0, size=n_scales)]
    typical = in_scale * float(np.median(w_scales)) * 74.0 * 74.0 * np.sqrt(in_depth)
    out_scale = float(np.float32(typical * 10.0 ** rng.uniform(-0.7, 0.3) / 30.0))
    if out_zp is None:
        out_zp = int(rng.integers(-128, 128)) if act == "NONE" else int(rng.integers(-128, -40))
    x = mb.activation((batches, in_depth), in_scale, in_zp)
    w = rng.integers(-127, 128, size=(out_depth, in_depth)).astype(np.int8)
    if rng.random() < 0.3:
        w[int(rng.integers(out_depth))] = rng.choice([-127, 127], size=in_depth)  # extreme row
    inputs = [x, mb.constant(w, INT8, w_scales, [0] * n_scales, 0)]
    if bias:
        b = rng.integers(-5000, 5000, size=out_depth).astype(np.int32)
        b_scales = [in_scale * w_scales[i if per_channel else 0] for i in range(out_depth)]
        inputs.append(mb.constant(b, INT32, b_scales, [0] * out_depth, 0))
    y = mb.activation((batches, out_depth), out_scale, out_zp)
    mb.op("FULLY_CONNECTED", inputs, [y], "FullyConnectedOptions", fc_options(act))
    return mb.finish([x], [y])


def _inputs(rng: np.random.Generator, size: int) -> list[bytes]:
    """All zeros, all -128, all 127, then random: the offsets and the extreme products."""
    fixed = [bytes(size), bytes([0x80]) * size, bytes([0x7F]) * size]
    rand = [rng.integers(-128, 128, size=size, dtype=np.int8).tobytes() for _ in range(5)]
    return (fixed + rand)[:INPUTS_PER_MODEL]


def _assert_identical(
    tflite: bytes, engines: dict[str, Factory], reference: ReferenceFactory, seed: int
) -> set[int]:
    dsp, ref_set = engines["dsp"](tflite), engines["reference"](tflite)
    tflm = reference(tflite)
    rng = np.random.default_rng(seed)
    values: set[int] = set()
    for i, data in enumerate(_inputs(rng, dsp.input.bytes)):
        got = dsp.run(data)
        assert got == ref_set.run(data), f"input {i}: dsp differs from the reference set"
        assert got == tflm(data), f"input {i}: dsp differs from tflite-micro"
        values.update(np.frombuffer(got, np.int8).tolist())
    return values


CASES: list[tuple[int, int, bool, str]] = [
    (i, o, per_channel, act)
    for i in IN_DEPTHS
    for o in OUT_DEPTHS
    for per_channel, act in ((False, "NONE"), (True, "RELU"))
]


@pytest.mark.parametrize(("in_depth", "out_depth", "per_channel", "act"), CASES)
def test_dsp_fc_matches_reference_and_tflite_micro(
    in_depth: int, out_depth: int, per_channel: bool, act: str,
    engines: dict[str, Factory], reference: ReferenceFactory,
) -> None:  # fmt: skip
    seed = 100 * in_depth + out_depth + (7 if per_channel else 0)
    tflite = fc_model(seed, in_depth, out_depth, per_channel=per_channel, act=act)
    _assert_identical(tflite, engines, reference, seed)


@pytest.mark.parametrize(
    ("in_zp", "out_zp", "act"),
    [(-128, -128, "NONE"), (127, 127, "NONE"), (-128, 127, "RELU6"), (127, -128, "RELU")],
)
def test_dsp_fc_at_the_extreme_zero_points(
    in_zp: int, out_zp: int, act: str, engines: dict[str, Factory], reference: ReferenceFactory
) -> None:
    for in_depth, out_depth in ((33, 10), (17, 5), (640, 6)):
        tflite = fc_model(in_depth + out_depth, in_depth, out_depth, per_channel=True, act=act,
                          in_zp=in_zp, out_zp=out_zp)  # fmt: skip
        _assert_identical(tflite, engines, reference, in_depth)


@pytest.mark.parametrize("batches", [2, 3])
def test_dsp_fc_with_several_batches(
    batches: int, engines: dict[str, Factory], reference: ReferenceFactory
) -> None:
    for in_depth, out_depth in ((5, 3), (33, 10), (8, 7)):
        tflite = fc_model(batches * in_depth, in_depth, out_depth, batches=batches,
                          per_channel=batches == 3, bias=in_depth != 8)  # fmt: skip
        _assert_identical(tflite, engines, reference, out_depth)


def test_generated_fc_models_produce_varied_outputs(
    engines: dict[str, Factory], reference: ReferenceFactory
) -> None:
    """Without spread in the outputs the byte-equality above would prove little."""
    values = _assert_identical(fc_model(1, 33, 10, per_channel=True), engines, reference, 1)
    assert len(values) >= 20, sorted(values)


def _plan_fc_shapes(tflite: bytes) -> list[tuple[Any, ...]]:
    from tinybench.compiler import analyze_model

    return [
        tuple(dict(op.scalars)[k] for k in ("batches", "in_depth", "out_depth"))
        for op in analyze_model(tflite).ops
        if op.name == "FULLY_CONNECTED"
    ]


def test_ad01_on_seeded_random_inputs(
    shared_dir: Path, engines: dict[str, Factory], reference: ReferenceFactory
) -> None:
    tflite = (shared_dir / "models" / "ad01.tflite").read_bytes()
    # all ten ops are FULLY_CONNECTED: 640 -> 128, 128 -> 128, 128 -> 8, 8 -> 128, 128 -> 640
    shapes = _plan_fc_shapes(tflite)
    assert len(shapes) == 10 and {s[1] for s in shapes} == {640, 128, 8}
    dsp, ref_set = engines["dsp"](tflite), engines["reference"](tflite)
    tflm = reference(tflite)
    rng = np.random.default_rng(14)
    outputs = set()
    for _ in range(50):
        data = rng.integers(-128, 128, size=dsp.input.bytes, dtype=np.int8).tobytes()
        got = dsp.run(data)
        assert got == ref_set.run(data)
        assert got == tflm(data)
        outputs.add(got)
    assert len(outputs) == 50


ARM_CC = "arm-none-eabi-gcc"
STRICT = ["-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror", "-Wshadow",
          "-Wmissing-prototypes", "-Wstrict-prototypes"]  # fmt: skip


def _cpu_flags() -> dict[str, list[str]]:
    from tinybench.build.boardgen import arch_flags, is_cortex_m
    from tinybench.manifests.boards import load_board_manifests

    boards = load_board_manifests(Path(__file__).resolve().parents[2] / "boards").values()
    return {b.core: list(arch_flags(b)) for b in boards if is_cortex_m(b)}


# The dsp files of this part (FULLY_CONNECTED, ADD, pooling) and the functions each defines.
DSP_FILES = {
    "tb_native_fully_connected.c": (
        "tb_native_fully_connected_s8", "tb_native_fully_connected_scratch_bytes",
    ),
    "tb_native_add.c": ("tb_native_add_s8", "tb_native_add_scratch_bytes"),
    "tb_native_pool.c": (
        "tb_native_avg_pool_s8", "tb_native_avg_pool_scratch_bytes", "tb_native_max_pool_s8",
        "tb_native_max_pool_scratch_bytes",
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(DSP_FILES))
@pytest.mark.parametrize("cpu", sorted(_cpu_flags()))
def test_dsp_files_compile_warning_free_for_every_cortex_m_core(
    cpu: str, name: str, tmp_path: Path
) -> None:
    """With the DSP extension (M4, M7, M33, M55) the SIMD header's instructions, elsewhere its
    portable C: both must build with the firmware's strict warnings and define every function
    of the reference file they replace."""
    import shutil
    import subprocess

    from tinybench.compiler.hostlib import engine_dir, include_dir, kernel_set_dir

    if shutil.which(ARM_CC) is None:
        pytest.fail(f"{ARM_CC} is not installed (apt-get install gcc-arm-none-eabi)")
    source = kernel_set_dir("dsp") / name
    obj = tmp_path / "out.o"
    cmd = [ARM_CC, *_cpu_flags()[cpu], *STRICT, "-O2", "-I", str(include_dir()), "-I",
           str(engine_dir()), "-c", str(source), "-o", str(obj)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and proc.stderr == "", f"{cpu}:\n{proc.stderr}"
    nm = subprocess.run(["arm-none-eabi-nm", str(obj)], capture_output=True, text=True, check=True)
    defined = {line.split()[-1] for line in nm.stdout.splitlines() if " T " in line}
    assert defined == set(DSP_FILES[name])


REQUANT_CHECK = r"""
/* Built by tests/native/test_dsp_fc.py: the dsp FC's static requantize() against
 * tb_fx_requantize() on edge values and seeded random ones. */
#include <stdio.h>
#include "tb_native_fully_connected.c"

static uint64_t state = 0x9E3779B97F4A7C15ull;
static uint32_t next(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return (uint32_t)state;
}

int main(void)
{
    static const int32_t xs[] = {0, 1, -1, 2, -2, 3, -3, INT32_MAX, INT32_MIN, INT32_MIN + 1,
                                 INT32_MAX - 1, 1 << 30, -(1 << 30), 12345, -12345};
    static const int32_t ms[] = {0, 1, (1 << 30), INT32_MAX, INT32_MAX - 1, 1518500250,
                                 -1, INT32_MIN + 1, 1073741825, INT32_MIN};
    long checked = 0, wrong = 0;
    unsigned i, j;
    int32_t shift;
    for (i = 0; i < sizeof xs / sizeof xs[0]; ++i) {
        for (j = 0; j < sizeof ms / sizeof ms[0]; ++j) {
            for (shift = -31; shift <= 30; ++shift) {
                wrong += requantize(xs[i], ms[j], shift) != tb_fx_requantize(xs[i], ms[j], shift);
                ++checked;
            }
        }
    }
    for (i = 0; i < 3000000u; ++i) {
        const int32_t x = (int32_t)next() >> (next() % 24u);
        const int32_t m = (int32_t)(next() | 0x40000000u) & INT32_MAX;
        const int32_t sh = (int32_t)(next() % 40u) - 31; /* -31 .. 8: mostly right shifts */
        wrong += requantize(x, m, sh) != tb_fx_requantize(x, m, sh);
        ++checked;
    }
    printf("%ld %ld\n", checked, wrong);
    return wrong != 0;
}
"""


def test_dsp_fc_requantize_equals_tb_fx_requantize(tmp_path: Path) -> None:
    """The kernel's fast requantization (one SMLAL-style product and a rounding shift) against
    tb_fx_requantize for every shift on edge values and 3 million seeded random ones."""
    import subprocess

    from tinybench.compiler.hostlib import engine_dir, host_cc, include_dir, kernel_set_dir

    source = tmp_path / "check.c"
    source.write_text(REQUANT_CHECK)
    exe = tmp_path / "check"
    subprocess.run([host_cc(), "-O2", "-std=c99", "-I", str(kernel_set_dir("dsp")), "-I",
                    str(engine_dir()), "-I", str(include_dir()), str(source), "-o", str(exe)],
                   check=True)  # fmt: skip
    proc = subprocess.run([str(exe)], capture_output=True, text=True, check=False)
    checked, wrong = (int(v) for v in proc.stdout.split())
    assert checked > 3_000_000
    assert wrong == 0 and proc.returncode == 0


@pytest.mark.parametrize("model_id", ["kws01", "vww01", "ic01", "ad01"])
def test_dsp_scratch_queries_agree_with_the_planner_for_every_op(
    model_id: str, shared_dir: Path, engines: dict[str, Factory]
) -> None:
    """The dsp set's C scratch query (its own files and those it takes from reference) equals
    the planner's mirror (tinybench.compiler.scratch) and the plan, op by op."""
    from tinybench.compiler import analyze_model
    from tinybench.compiler.scratch import scratch_query

    tflite = (shared_dir / "models" / f"{model_id}.tflite").read_bytes()
    ops = engines["dsp"](tflite).op_scratch()
    lowered = analyze_model(tflite, "dsp").ops  # the dsp layouts (compiler/layout.py)
    mirror = scratch_query("dsp")
    assert len(ops) == len(lowered) > 0
    for op, low in zip(ops, lowered, strict=True):
        assert op.name == low.name
        assert op.queried == mirror(low) == op.planned, (model_id, low.index, low.name)
