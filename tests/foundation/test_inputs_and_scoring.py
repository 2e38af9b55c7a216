"""The device-side input conversions mirrored on the host, and the MLPerf scores."""

from __future__ import annotations

import itertools
import struct
from pathlib import Path

import numpy as np
import pytest

from tinybench.errors import TinybenchError
from tinybench.inputs import random_wire_inputs, wire_to_tensor
from tinybench.manifests.models import ModelManifest, load_model_manifests
from tinybench.scoring import roc_auc, top1, window_mse


@pytest.fixture(scope="module")
def models(repo_root: Path) -> dict[str, ModelManifest]:
    return load_model_manifests(repo_root / "models")


def test_int8_input_is_copied_as_is(models: dict[str, ModelManifest]) -> None:
    wire = bytes(range(256)) + bytes(234)
    tensor = wire_to_tensor(models["kws01"], wire)
    assert tensor.shape == (1, 49, 10, 1)
    assert tensor.tobytes() == wire


def test_uint8_input_is_shifted_by_128(models: dict[str, ModelManifest]) -> None:
    wire = bytes([0, 1, 127, 128, 129, 255]) + bytes(3066)
    tensor = wire_to_tensor(models["ic01"], wire).reshape(-1)
    assert tensor[:6].tolist() == [-128, -127, -1, 0, 1, 127]


def test_float_input_rounds_half_away_from_zero_and_clamps(
    models: dict[str, ModelManifest],
) -> None:
    model = models["ad01"]
    scale, zp = np.float32(model.input.scale), model.input.zero_point
    halves = [np.float32(2.5) * scale, np.float32(-2.5) * scale]
    # C round(): 2.5 -> 3, -2.5 -> -3 (numpy's rint would give 2 and -2).
    values = [*halves, np.float32(1e6), np.float32(-1e6)] + [0.0] * 636
    wire = struct.pack("<640f", *values)
    q = wire_to_tensor(model, wire).reshape(-1)
    assert [float(h / scale) for h in halves] == [2.5, -2.5]  # exact halves reach the rounding
    assert [int(q[0]) - zp, int(q[1]) - zp] == [3, -3]
    assert q[2] == 127 and q[3] == -128
    assert q[4] == zp


def test_float_input_just_below_a_half_rounds_down_like_c_round(
    models: dict[str, ModelManifest],
) -> None:
    model = models["ad01"]
    scale = np.float32(model.input.scale)
    below_half = np.nextafter(np.float32(0.5), np.float32(0.0))
    # Find a float input whose float32 quotient is the largest float below 0.5.
    x = below_half * scale
    while np.float32(x) / scale >= np.float32(0.5):
        x = np.nextafter(np.float32(x), np.float32(0.0))
    quotient = np.float32(x) / scale
    assert quotient < 0.5
    assert quotient + np.float32(0.5) == np.float32(1.0)  # the float32 trap this test guards
    wire = struct.pack("<640f", float(x), *([0.0] * 639))
    assert int(wire_to_tensor(model, wire).reshape(-1)[0]) == model.input.zero_point


def test_wrong_input_size_is_an_error(models: dict[str, ModelManifest]) -> None:
    with pytest.raises(TinybenchError, match="input of 489 bytes, expected 490"):
        wire_to_tensor(models["kws01"], bytes(489))


def test_random_inputs_are_seeded_and_in_the_wire_format(models: dict[str, ModelManifest]) -> None:
    for model in models.values():
        a = random_wire_inputs(model, 3, seed=7)
        assert a == random_wire_inputs(model, 3, seed=7)
        assert a != random_wire_inputs(model, 3, seed=8)
        assert all(len(w) == model.wire_bytes for w in a)
        assert len(set(a)) == 3


def test_top1_breaks_ties_to_the_first_maximum() -> None:
    assert top1(np.array([-5, 7, 3, 7], dtype=np.int8)) == 1
    assert top1(np.array([[0, 0, 0]], dtype=np.int8)) == 0


def test_window_mse_dequantizes_the_output() -> None:
    raw = np.array([10, 12], dtype=np.int8)
    value = window_mse(raw, scale=0.5, zero_point=10, float_input=np.array([0.0, 2.0], np.float32))
    # dequantized [0.0, 1.0] against [0.0, 2.0]
    assert value == pytest.approx(0.5)


def _auc_by_pairs(labels: list[int], scores: list[float]) -> float:
    pos = [s for s, y in zip(scores, labels, strict=True) if y == 1]
    neg = [s for s, y in zip(scores, labels, strict=True) if y == 0]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(pos, neg))
    return wins / (len(pos) * len(neg))


@pytest.mark.parametrize("seed", range(5))
def test_auc_equals_the_pairwise_definition_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, 40).tolist()
    scores = rng.integers(0, 6, 40).astype(float).tolist()  # many ties
    assert roc_auc(labels, scores) == pytest.approx(_auc_by_pairs(labels, scores))


def test_auc_extremes_and_single_class() -> None:
    assert roc_auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert roc_auc([1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9]) == 0.0
    assert roc_auc([0, 0], [0.1, 0.2]) is None
