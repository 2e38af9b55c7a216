"""Scores as the MLPerf Tiny runners compute them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt


def top1(outputs: npt.ArrayLike) -> int:
    """Index of the largest output; ties go to the FIRST maximum (kws01: 901, not 900)."""
    return int(np.argmax(np.asarray(outputs).reshape(-1)))


def dequantize(raw: npt.NDArray[np.int8], scale: float, zero_point: int) -> npt.NDArray[np.float32]:
    return (raw.astype(np.float32) - np.float32(zero_point)) * np.float32(scale)


def window_mse(
    raw_output: npt.NDArray[np.int8],
    scale: float,
    zero_point: int,
    float_input: npt.NDArray[np.float32],
) -> float:
    """ad01: mean squared error between the dequantized reconstruction and the float input."""
    restored = dequantize(raw_output.reshape(-1), scale, zero_point)
    diff = restored - float_input.reshape(-1).astype(np.float32)
    return float(np.mean(diff * diff, dtype=np.float32))


def roc_auc(labels: Sequence[int], scores: Sequence[float]) -> float | None:
    """Area under the ROC curve (label 1 = positive), ties counted half; None if one class only."""
    y = np.asarray(labels, dtype=np.int64)
    s = np.asarray(scores, dtype=np.float64)
    positives = int(np.sum(y == 1))
    negatives = int(np.sum(y == 0))
    if positives == 0 or negatives == 0:
        return None
    # Mann-Whitney U with average ranks for ties equals the trapezoidal ROC area.
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s), dtype=np.float64)
    sorted_scores = s[order]
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    rank_sum = float(np.sum(ranks[y == 1]))
    u = rank_sum - positives * (positives + 1) / 2.0
    return u / (positives * negatives)
