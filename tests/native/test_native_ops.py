"""Per-op bit-exactness: random single-op int8 models, native engine vs tflite-micro."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from native_modelgen import (
    NativeFactory,
    ReferenceFactory,
    conv_reshape_fc_softmax,
    random_add,
    random_conv,
    random_fc,
    random_pool,
    random_softmax,
    residual_block,
)

INPUTS_PER_MODEL = 6


def _assert_same(
    tflite: bytes, native: NativeFactory, reference: ReferenceFactory, seed: int
) -> None:
    engine = native(tflite)
    ref = reference(tflite)
    rng = np.random.default_rng(1000 + seed)
    for i in range(INPUTS_PER_MODEL):
        data = rng.integers(-128, 128, size=engine.input.bytes, dtype=np.int8).tobytes()
        if i == 0:
            data = bytes(engine.input.bytes)  # all zeros: padding and offsets matter most
        expected = ref(data)
        got = engine.run(data)
        assert len(got) == engine.output.bytes
        assert got == expected, (
            f"seed {seed} input {i}: native {np.frombuffer(got, np.int8)[:16]} "
            f"!= tflite-micro {np.frombuffer(expected, np.int8)[:16]}"
        )


CASES: dict[str, Callable[[int], bytes]] = {
    "conv": lambda s: random_conv(s, depthwise=False),
    "depthwise": lambda s: random_conv(s, depthwise=True),
    "fully_connected": random_fc,
    "avg_pool": lambda s: random_pool(s, "AVERAGE_POOL_2D"),
    "max_pool": lambda s: random_pool(s, "MAX_POOL_2D"),
    "add": random_add,
    "softmax": random_softmax,
    "reshape_chain": conv_reshape_fc_softmax,
    "residual": residual_block,
}
SEEDS = {
    "conv": 24,
    "depthwise": 24,
    "fully_connected": 16,
    "avg_pool": 12,
    "max_pool": 12,
    "add": 16,
    "softmax": 16,
    "reshape_chain": 4,
    "residual": 4,
}


@pytest.mark.parametrize(
    ("case", "seed"), [(case, seed) for case, n in SEEDS.items() for seed in range(n)]
)
def test_op_matches_tflite_micro(
    case: str, seed: int, native: NativeFactory, reference: ReferenceFactory
) -> None:
    _assert_same(CASES[case](seed), native, reference, seed)


@pytest.mark.parametrize("case", sorted(CASES))
def test_generated_models_are_not_degenerate(case: str, reference: ReferenceFactory) -> None:
    """The random models must produce varied outputs, or the bit-exactness tests prove little."""
    distinct = []
    for seed in range(SEEDS[case]):
        tflite = CASES[case](seed)
        run = reference(tflite)
        rng = np.random.default_rng(seed)
        size = _input_bytes(tflite)
        values: set[int] = set()
        for _ in range(INPUTS_PER_MODEL):
            out = run(rng.integers(-128, 128, size=size, dtype=np.int8).tobytes())
            values.update(np.frombuffer(out, dtype=np.int8).tolist())
        distinct.append(len(values))
    assert float(np.median(distinct)) >= 8, distinct


def _input_bytes(tflite: bytes) -> int:
    from tinybench.compiler.model import read_model

    model = read_model(tflite)
    return model.tensors[model.inputs[0]].size


@pytest.mark.parametrize("seed", range(8))
def test_softmax_matches_on_many_structured_inputs(
    seed: int, native: NativeFactory, reference: ReferenceFactory
) -> None:
    """Rows with narrow and wide spreads reach every part of the fixed-point exp/reciprocal."""
    tflite = random_softmax(100 + seed)
    engine = native(tflite)
    ref = reference(tflite)
    rng = np.random.default_rng(seed)
    size = engine.input.bytes
    mismatches = 0
    for _ in range(300):
        spread = int(rng.integers(1, 256))
        base = int(rng.integers(-128, 128 - min(spread, 255) + 1))
        data = np.clip(base + rng.integers(0, spread, size=size), -128, 127).astype(np.int8)
        mismatches += engine.run(data.tobytes()) != ref(data.tobytes())
    assert mismatches == 0
