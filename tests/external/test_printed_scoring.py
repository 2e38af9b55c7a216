"""Scoring and checking from printed floats: ties, truncation vs rounding, ad01 MSE and AUC."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tinybench.external.check import (
    check_samples,
    difference,
    expected_vector,
    within_print_precision,
)
from tinybench.project import Project
from tinybench.reference import ReferenceSample
from tinybench.scoring import roc_auc, top1


def test_top1_from_printed_floats_breaks_ties_to_the_first_maximum() -> None:
    assert top1(np.asarray([0.1, 0.445, 0.445, 0.01])) == 1
    assert top1(np.asarray([0.5, 0.2, 0.5])) == 0


def _truncate(value: float) -> float:
    return math.trunc(value * 1000) / 1000


@pytest.mark.parametrize("q", [-128, -127, -1, 0, 37, 127])
def test_truncated_and_rounded_prints_of_a_value_both_agree(q: int) -> None:
    true = (q + 128) / 256.0  # a softmax output's dequantized value (scale 1/256, zp -128)
    rounded, truncated = float(f"{true:.3f}"), float(f"{_truncate(true):.3f}")
    assert within_print_precision(difference([rounded], [true]))
    assert within_print_precision(difference([truncated], [true]))
    assert not within_print_precision(difference([truncated - 0.0015], [true]))
    assert not within_print_precision(difference([rounded + 0.0015], [true]))


def test_nan_or_another_length_never_agrees() -> None:
    assert not within_print_precision(difference([float("nan")], [0.5]))
    assert not within_print_precision(difference([0.5, 0.5], [0.5]))


def test_printed_vectors_are_checked_against_the_dequantized_reference(project: Project) -> None:
    model = project.model("kws01")
    raw = np.array([-128] * 11 + [127], dtype=np.int8).tobytes()
    reference = {"s": ReferenceSample("s", 0, "", (raw,), 11, None)}
    good = [0.0] * 11 + [0.996]  # 255/256 = 0.99609375, truncated
    check = check_samples(model, [("s", [good], [b""])], reference)
    assert (check.compared, check.within_print_precision) == (1, 1)
    assert check.max_abs_difference == pytest.approx(0.00009375)
    bad = [0.996] + [0.0] * 11  # the right values in the wrong places
    check = check_samples(model, [("s", [bad], [b""])], reference)
    assert check.within_print_precision == 0 and check.mismatched_samples == ("s",)


def test_ad01_window_mse_and_clip_auc_from_printed_values(project: Project) -> None:
    model = project.model("ad01")
    spec = model.output
    rng = np.random.default_rng(5)
    floats = rng.uniform(-2.0, 2.0, 640).astype("<f4")
    raw = rng.integers(-128, 128, 640).astype(np.int8)
    restored = (raw.astype(np.float32) - np.float32(spec.zero_point)) * np.float32(spec.scale)
    mse = float(np.mean((restored - floats) ** 2))
    (expected,) = expected_vector(model, raw.tobytes(), floats.tobytes())
    assert expected == pytest.approx(mse, rel=1e-5)
    assert within_print_precision(difference([float(f"{mse:.3f}")], [expected]))
    # clip scores are means of printed window MSEs; the AUC ranks them (ties count half)
    clips = {0: [1.0, 1.2], 0.5: [2.0, 2.0], 1: [3.0, 3.1]}
    scores = [float(np.mean(v)) for v in clips.values()]
    assert roc_auc([0, 1, 1], scores) == 1.0
    assert roc_auc([1, 0, 0], scores) == 0.0
    assert roc_auc([0, 1, 0, 1], [1.0, 1.0, 2.0, 3.0]) == pytest.approx(
        0.625
    )  # one tie: half a pair
