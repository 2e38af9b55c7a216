"""The dsp kernel set's pooling (firmware/engines/native/dsp/tb_native_pool.c), built for the
host, byte for byte against the reference kernel set and tflite-micro: AVERAGE_POOL_2D on channel
counts that take the four-lane path (4, 8, 64) and that do not (3, 5), windows up to the 256
positions a 16-bit lane holds and beyond (the general path), SAME padding (clipped windows), the
extreme inputs, MAX_POOL_2D, and kws01 on its dataset samples.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from native_modelgen import (
    ModelBuilder,
    ReferenceFactory,
    out_size,
    pool_options,
    random_pool,
)

from tinybench.compiler.hostlib import HostEngine

_counter = itertools.count()
Factory = Callable[[bytes], HostEngine]


@pytest.fixture(scope="module")
def engines(kernel_set_engine: Callable[..., HostEngine]) -> dict[str, Factory]:
    return {k: functools.partial(kernel_set_engine, kernels=k) for k in ("dsp", "reference")}


def pool_model(
    kind: str, in_hw: tuple[int, int], channels: int, k: tuple[int, int],
    stride: tuple[int, int], padding: str, act: str = "NONE", zp: int = -3,
) -> bytes:  # fmt: skip
    mb = ModelBuilder()
    x = mb.activation((1, *in_hw, channels), 0.05, zp)
    oh = out_size(padding, in_hw[0], k[0], stride[0])
    ow = out_size(padding, in_hw[1], k[1], stride[1])
    y = mb.activation((1, oh, ow, channels), 0.05, zp)
    mb.op(kind, [x], [y], "Pool2DOptions", pool_options(k, stride, padding, act))
    return mb.finish([x], [y])


def _assert_identical(
    tflite: bytes, engines: dict[str, Factory], reference: ReferenceFactory, seed: int
) -> set[int]:
    dsp, ref_set = engines["dsp"](tflite), engines["reference"](tflite)
    tflm = reference(tflite)
    size = dsp.input.bytes
    rng = np.random.default_rng(seed)
    inputs = [bytes([0x80]) * size, bytes([0x7F]) * size, bytes(size)]
    inputs += [rng.integers(-128, 128, size=size, dtype=np.int8).tobytes() for _ in range(5)]
    values: set[int] = set()
    for i, data in enumerate(inputs):
        got = dsp.run(data)
        assert got == ref_set.run(data), f"input {i}: dsp differs from the reference set"
        assert got == tflm(data), f"input {i}: dsp differs from tflite-micro"
        values.update(np.frombuffer(got, np.int8).tolist())
    return values


AVERAGE_CASES = [
    # (in_hw, channels, k, stride, padding)
    ((25, 5), 64, (25, 5), (25, 5), "VALID"),  # kws01's global pool: 125 positions
    ((16, 16), 8, (16, 16), (16, 16), "VALID"),  # 256 positions: the most a lane holds
    ((17, 16), 4, (17, 16), (17, 16), "VALID"),  # 272: the general path
    ((7, 9), 4, (3, 3), (2, 2), "SAME"),  # clipped windows at the edges
    ((6, 6), 12, (2, 3), (1, 2), "VALID"),
    ((5, 7), 3, (3, 2), (1, 1), "SAME"),  # channels not a multiple of 4
    ((4, 4), 5, (4, 4), (4, 4), "VALID"),
]


@pytest.mark.parametrize(("in_hw", "channels", "k", "stride", "padding"), AVERAGE_CASES)
@pytest.mark.parametrize("act", ["NONE", "RELU6"])
def test_dsp_average_pool_matches_reference_and_tflite_micro(
    in_hw: tuple[int, int], channels: int, k: tuple[int, int], stride: tuple[int, int],
    padding: str, act: str, engines: dict[str, Factory], reference: ReferenceFactory,
) -> None:  # fmt: skip
    tflite = pool_model("AVERAGE_POOL_2D", in_hw, channels, k, stride, padding, act)
    _assert_identical(tflite, engines, reference, channels)


@pytest.mark.parametrize("seed", range(16))
@pytest.mark.parametrize("kind", ["AVERAGE_POOL_2D", "MAX_POOL_2D"])
def test_dsp_random_pools_match(
    kind: str, seed: int, engines: dict[str, Factory], reference: ReferenceFactory
) -> None:
    _assert_identical(random_pool(seed, kind), engines, reference, seed)


def test_dsp_average_pool_outputs_are_varied(
    engines: dict[str, Factory], reference: ReferenceFactory
) -> None:
    tflite = pool_model("AVERAGE_POOL_2D", (6, 6), 8, (2, 2), (1, 1), "VALID")
    assert len(_assert_identical(tflite, engines, reference, 1)) >= 30


def test_kws01_samples_through_the_dsp_pool(
    shared_dir: Path, engines: dict[str, Factory], reference: ReferenceFactory
) -> None:
    tflite = (shared_dir / "models" / "kws01.tflite").read_bytes()
    dsp, ref_set = engines["dsp"](tflite), engines["reference"](tflite)
    tflm = reference(tflite)
    folder = shared_dir / "datasets" / "kws01"
    rows = (folder / "y_labels.csv").read_text().split()[:40]
    outputs = set()
    for row in rows:
        data = (folder / row.split(",")[0]).read_bytes()
        got = dsp.run(data)
        assert got == ref_set.run(data)
        assert got == tflm(data)
        outputs.add(got)
    assert len(outputs) > 10
