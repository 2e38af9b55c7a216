"""Numbers the report plots: confusion matrix, per-class accuracy, ROC curve, percentiles."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tinybench.report.rundir import SampleRecord
from tinybench.scoring import roc_auc


@dataclass(frozen=True)
class ConfusionMatrix:
    """counts[true][predicted] over the samples that have both a label and a prediction."""

    classes: int
    counts: tuple[tuple[int, ...], ...]

    @property
    def total(self) -> int:
        return sum(sum(row) for row in self.counts)

    @property
    def correct(self) -> int:
        return sum(self.counts[i][i] for i in range(self.classes))

    def class_accuracy(self, label: int) -> float | None:
        """Recall of one class; None when the class has no samples."""
        support = sum(self.counts[label])
        return self.counts[label][label] / support if support else None

    def support(self, label: int) -> int:
        return sum(self.counts[label])


@dataclass(frozen=True)
class RocCurve:
    """False and true positive rates at every distinct threshold (label 1 = anomaly)."""

    false_positive_rate: tuple[float, ...]
    true_positive_rate: tuple[float, ...]
    auc: float
    positives: int
    negatives: int


def confusion_matrix(samples: Sequence[SampleRecord]) -> ConfusionMatrix | None:
    pairs = [
        (s.label, s.prediction) for s in samples if s.label is not None and s.prediction is not None
    ]
    if not pairs:
        return None
    widths = [s.output_width for s in samples if s.output_width is not None]
    classes = max([*widths, *(max(t, p) + 1 for t, p in pairs)])
    counts = [[0] * classes for _ in range(classes)]
    for true, predicted in pairs:
        counts[true][predicted] += 1
    return ConfusionMatrix(classes=classes, counts=tuple(tuple(row) for row in counts))


def roc_curve(samples: Sequence[SampleRecord]) -> RocCurve | None:
    """ROC of anomaly scores (higher = more anomalous); None without both labels 0 and 1."""
    scored = [(s.label, s.score) for s in samples if s.label in (0, 1) and s.score is not None]
    labels = [label for label, _ in scored if label is not None]
    scores = [score for _, score in scored if score is not None]
    positives = labels.count(1)
    negatives = labels.count(0)
    auc = roc_auc(labels, scores)
    if auc is None:
        return None
    y = np.asarray(labels, dtype=np.int64)
    s = np.asarray(scores, dtype=np.float64)
    fpr = [0.0]
    tpr = [0.0]
    # Lower the threshold through every distinct score, highest first: ties move together.
    for threshold in np.unique(s)[::-1]:
        flagged = s >= threshold
        tpr.append(float(np.sum(flagged & (y == 1))) / positives)
        fpr.append(float(np.sum(flagged & (y == 0))) / negatives)
    return RocCurve(tuple(fpr), tuple(tpr), auc, positives, negatives)


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default), q in [0, 100]."""
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))
