"""The dsp kernel set's ADD (firmware/engines/native/dsp/tb_native_add.c), built for the host
(tb_native_simd.h's portable C for SMMULR), byte for byte against the reference kernel set and
tflite-micro: generated ADD models (random scales, zero points including the extremes, every
activation), ic01 (three residual ADDs) on seeded random inputs, and the general path through
plans edited to parameters the fast path leaves to it.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from native_modelgen import (
    INT8,
    ModelBuilder,
    ReferenceFactory,
    add_options,
    depthwise_options,
    random_add,
)

from tinybench.compiler.hostlib import HostEngine

_counter = itertools.count()
Factory = Callable[..., HostEngine]


@pytest.fixture(scope="module")
def engines(kernel_set_engine: Factory) -> dict[str, Factory]:
    """Compile a model for a set (optionally editing its plan) and load that set's engine."""
    return {k: functools.partial(kernel_set_engine, kernels=k) for k in ("dsp", "reference")}


def _inputs(size: int, seed: int, count: int = 8) -> list[bytes]:
    rng = np.random.default_rng(seed)
    fixed = [bytes(size), bytes([0x80]) * size, bytes([0x7F]) * size]
    rand = [rng.integers(-128, 128, size=size, dtype=np.int8).tobytes() for _ in range(count)]
    return fixed + rand


def _assert_identical(
    tflite: bytes, engines: dict[str, Factory], reference: ReferenceFactory | None, seed: int,
    edit: Callable[[str], str] | None = None,
) -> set[int]:  # fmt: skip
    dsp, ref_set = engines["dsp"](tflite, edit=edit), engines["reference"](tflite, edit=edit)
    tflm = reference(tflite) if reference is not None else None
    values: set[int] = set()
    for i, data in enumerate(_inputs(dsp.input.bytes, seed)):
        got = dsp.run(data)
        assert got == ref_set.run(data), f"input {i}: dsp differs from the reference set"
        if tflm is not None:
            assert got == tflm(data), f"input {i}: dsp differs from tflite-micro"
        values.update(np.frombuffer(got, np.int8).tolist())
    return values


@pytest.mark.parametrize("seed", range(24))
def test_dsp_add_matches_reference_and_tflite_micro(
    seed: int, engines: dict[str, Factory], reference: ReferenceFactory
) -> None:
    _assert_identical(random_add(seed), engines, reference, seed)


def _add_model(z1: int, z2: int, zo: int, act: str, s1: float, s2: float, so: float) -> bytes:
    """ADD(x, depthwise_1x1(x)) with chosen zero points and scales, 300 elements."""
    mb = ModelBuilder()
    shape = (1, 5, 6, 10)
    a = mb.activation(shape, s1, z1)
    weights = np.arange(-60, 60, 12, dtype=np.int8).reshape(1, 1, 1, 10)
    dw = mb.constant(weights, INT8, [float(np.float32(s2 / s1 / 50.0))] * 10, [0] * 10, 3)
    b = mb.activation(shape, s2, z2)
    mb.op("DEPTHWISE_CONV_2D", [a, dw], [b], "DepthwiseConv2DOptions",
          depthwise_options((1, 1), "VALID", "NONE", 1))  # fmt: skip
    y = mb.activation(shape, so, zo)
    mb.op("ADD", [a, b], [y], "AddOptions", add_options(act))
    return mb.finish([a], [y])


@pytest.mark.parametrize(
    ("z1", "z2", "zo", "act"),
    [(-128, -128, -128, "NONE"), (127, 127, 127, "NONE"), (-128, 127, -128, "RELU"),
     (127, -128, 0, "RELU6"), (0, 0, 0, "NONE")],
)  # fmt: skip
def test_dsp_add_at_the_extreme_zero_points(
    z1: int, z2: int, zo: int, act: str, engines: dict[str, Factory], reference: ReferenceFactory
) -> None:
    for s1, s2, so in ((0.05, 0.02, 0.06), (0.003, 0.3, 0.25), (0.1, 0.1, 0.04)):
        _assert_identical(_add_model(z1, z2, zo, act, s1, s2, so), engines, reference, 300 + z1)


def test_dsp_add_outputs_are_varied(
    engines: dict[str, Factory], reference: ReferenceFactory
) -> None:
    tflite = _add_model(3, -7, 5, "NONE", 0.05, 0.02, 0.06)
    values = _assert_identical(tflite, engines, reference, 0)
    assert len(values) >= 40, sorted(values)


def _set_param(name: str, value: int) -> Callable[[str], str]:
    """An edit of the plan source: the ADD parameter `name` set to value. A shift set to 0 takes
    its multiplier down by the old shift, so the scale (and the output's spread) stays."""

    def edit(source: str) -> str:
        edited, count = re.subn(rf"\.{name} = -?\d+,", f".{name} = {value},", source)
        assert count == 1, name
        if name.endswith("_shift") and name != "left_shift":
            prefix = name.removesuffix("_shift")
            old = int(re.findall(rf"\.{name} = (-?\d+),", source)[0])
            multiplier = int(re.findall(rf"\.{prefix}_multiplier = (-?\d+),", edited)[0])
            scaled = multiplier >> (value - old)
            edited = edited.replace(
                f".{prefix}_multiplier = {multiplier},", f".{prefix}_multiplier = {scaled},"
            )
        return edited

    return edit


@pytest.mark.parametrize(
    ("name", "value"),
    [("left_shift", 22), ("left_shift", 23), ("input1_shift", 0), ("output_shift", 0)],
)
def test_dsp_add_general_path_equals_reference(
    name: str, value: int, engines: dict[str, Factory]
) -> None:
    """Parameters outside the fast path's bounds (the compiler emits left shift 20 and shifts
    below 0): the dsp set must still give the reference set's bytes. tflite-micro is not the
    oracle here, the plan no longer being the model's."""
    tflite = _add_model(-3, 9, -1, "NONE", 0.05, 0.02, 0.06)
    values = _assert_identical(tflite, engines, None, 5, _set_param(name, value))
    assert len(values) >= 20, sorted(values)


def test_ic01_on_seeded_random_inputs(
    shared_dir: Path, engines: dict[str, Factory], reference: ReferenceFactory
) -> None:
    tflite = (shared_dir / "models" / "ic01.tflite").read_bytes()
    dsp, ref_set = engines["dsp"](tflite), engines["reference"](tflite)
    tflm = reference(tflite)
    rng = np.random.default_rng(1401)
    outputs = set()
    for _ in range(20):
        data = rng.integers(-128, 128, size=dsp.input.bytes, dtype=np.int8).tobytes()
        got = dsp.run(data)
        assert got == ref_set.run(data)
        assert got == tflm(data)
        outputs.add(got)
    assert len(outputs) > 1


ADD_CHECK = r"""
/* Built by tests/native/test_dsp_add.py: the dsp ADD (its fast paths) against its general path
 * (reference's arithmetic) on every pair of int8 inputs, for seeded random parameters. */
#include <stdio.h>
#include "tb_native_add.c"

static uint64_t state = 0x2545F4914F6CDD1Dull;
static uint32_t next(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return (uint32_t)state;
}

static int8_t in1[65536], in2[65536], fast[65536], slow[65536];

int main(void)
{
    long sets = 0, wrong = 0, fast_sets = 0;
    int i, k;
    for (i = 0; i < 65536; ++i) {
        in1[i] = (int8_t)(i & 0xff);
        in2[i] = (int8_t)(i >> 8);
    }
    for (k = 0; k < 300; ++k) {
        tb_native_add_t p;
        add_input_t a, b;
        p.size = 65536;
        p.input1_offset = (int32_t)(next() % 256u) - 127;
        p.input2_offset = (int32_t)(next() % 256u) - 127;
        p.output_offset = (int32_t)(next() % 256u) - 128;
        p.left_shift = k % 7 == 0 ? 22 : 20;
        /* one input at 0.5 (2^30, shift 0) most of the time, as TF Lite's are */
        p.input1_multiplier = (int32_t)(0x40000000u | (next() & 0x3fffffffu));
        p.input1_shift = -(int32_t)(1 + next() % 12u);
        p.input2_multiplier = (int32_t)(0x40000000u | (next() & 0x3fffffffu));
        p.input2_shift = -(int32_t)(1 + next() % 12u);
        if (k % 3 == 0) {
            p.input1_multiplier = 1 << 30;
            p.input1_shift = 0;
        } else if (k % 3 == 1) {
            p.input2_multiplier = 1 << 30;
            p.input2_shift = 0;
        }
        p.output_multiplier = (int32_t)(0x40000000u | (next() & 0x3fffffffu));
        p.output_shift = -(int32_t)(10 + next() % 12u);
        p.act_min = k % 2 ? p.output_offset : -128;
        p.act_max = 127;
        if (p.act_min > p.act_max) {
            p.act_min = p.act_max;
        }
        fast_sets += prepare_input(p.input1_offset, p.input1_multiplier, p.input1_shift,
                                   p.left_shift, &a) != 0 &&
                     prepare_input(p.input2_offset, p.input2_multiplier, p.input2_shift,
                                   p.left_shift, &b) != 0;
        if (tb_native_add_s8(&p, in1, in2, fast, 0) != 0) {
            return 2;
        }
        add_general(&p, in1, in2, slow);
        for (i = 0; i < 65536; ++i) {
            wrong += fast[i] != slow[i];
        }
        ++sets;
    }
    printf("%ld %ld %ld\n", sets, fast_sets, wrong);
    return wrong != 0;
}
"""


def test_dsp_add_fast_paths_equal_the_general_path_on_every_input_pair(tmp_path: Path) -> None:
    """All 65,536 (input1, input2) pairs for 300 seeded parameter sets (TF Lite's left shift 20,
    the fast path's largest 22, one input at 0.5 or neither): the fast loops against the
    general loop, which is reference's arithmetic."""
    import subprocess

    from tinybench.compiler.hostlib import engine_dir, host_cc, include_dir, kernel_set_dir

    source = tmp_path / "check.c"
    source.write_text(ADD_CHECK)
    exe = tmp_path / "check"
    subprocess.run([host_cc(), "-O2", "-std=c99", "-I", str(kernel_set_dir("dsp")), "-I",
                    str(engine_dir()), "-I", str(include_dir()), str(source), "-o", str(exe)],
                   check=True)  # fmt: skip
    proc = subprocess.run([str(exe)], capture_output=True, text=True, check=False)
    sets, fast_sets, wrong = (int(v) for v in proc.stdout.split())
    assert sets == 300 and fast_sets == 300  # every set took a fast loop
    assert wrong == 0 and proc.returncode == 0
