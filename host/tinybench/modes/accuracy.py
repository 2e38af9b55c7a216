"""Accuracy mode: every sample with the rule set's `infer N W` (MLPerf Tiny: `infer 1 0`),
each output checked against the reference.

Emulated DUTs (and the host board) run whole batches of samples in one `batch` command
(run_batch): the same `infer N W` per inference, with the inputs and the per-inference
records carried by files instead of the UART, so each outcome equals the per-sample one.

Scoring uses the raw int8 output when the firmware offers it (exact; the 3-decimal
floats of `m-results` can tie where the int8 values do not), else the floats.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tinybench.dut.session import DutSession
from tinybench.manifests.models import InputFormat, Metric, ModelManifest
from tinybench.reference import ReferenceSample
from tinybench.scoring import roc_auc, top1, window_mse


@dataclass(frozen=True)
class SampleInput:
    index: int
    name: str
    label: int | None
    inferences: tuple[bytes, ...]  # wire bytes per inference (one, or a clip's windows)


@dataclass(frozen=True)
class SampleOutcome:
    index: int
    name: str
    label: int | None
    raw_outputs: tuple[bytes, ...]  # empty when the firmware has no raw-output extension
    device_results: tuple[tuple[float, ...], ...]  # `m-results` per inference
    elapsed_us: tuple[int, ...]  # per inference: the timed loop's duration / infer count
    counter_ticks: tuple[int, ...]  # per inference, likewise
    prediction: int | None
    score: float | None
    reference_match: bool | None  # None: nothing to compare with


@dataclass(frozen=True)
class AccuracySummary:
    metric: Metric
    total: int
    correct: int | None
    top1: float | None
    auc: float | None
    compared: int
    mismatches: int
    mismatched_samples: tuple[str, ...]


def _score(
    manifest: ModelManifest, sample: SampleInput, raws: list[bytes], floats: list[tuple[float, ...]]
) -> tuple[int | None, float | None]:
    if manifest.metric is Metric.TOP1:
        if raws:
            return top1(np.frombuffer(raws[0], dtype=np.int8)), None
        return top1(np.asarray(floats[0])), None
    # ad01: mean window MSE; from the raw output when available (exact), else the DUT's value.
    if raws and manifest.input_format is InputFormat.FLOAT32:
        spec = manifest.output
        scores = [
            window_mse(
                np.frombuffer(raw, dtype=np.int8),
                spec.scale,
                spec.zero_point,
                np.frombuffer(wire, dtype="<f4"),
            )
            for raw, wire in zip(raws, sample.inferences, strict=True)
        ]
    else:
        scores = [f[0] for f in floats]
    return None, float(np.mean(np.asarray(scores, dtype=np.float64)))


def _outcome(
    manifest: ModelManifest,
    sample: SampleInput,
    reference: ReferenceSample | None,
    raws: list[bytes],
    floats: list[tuple[float, ...]],
    elapsed: list[int],
    ticks: list[int],
) -> SampleOutcome:
    prediction, score = _score(manifest, sample, raws, floats)
    match: bool | None = None
    if reference is not None and raws:
        match = tuple(raws) == reference.raw_outputs
    return SampleOutcome(
        index=sample.index,
        name=sample.name,
        label=sample.label,
        raw_outputs=tuple(raws),
        device_results=tuple(floats),
        elapsed_us=tuple(elapsed),
        counter_ticks=tuple(ticks),
        prediction=prediction,
        score=score,
        reference_match=match,
    )


def run_sample(
    session: DutSession,
    manifest: ModelManifest,
    sample: SampleInput,
    reference: ReferenceSample | None,
    infer_count: int,
    warmup_count: int,
) -> SampleOutcome:
    """One sample with `infer infer_count warmup_count` per inference (the rule set's counts:
    no defaults here, so a caller cannot silently run other counts than the rules')."""
    raw_available = "results-raw" in session.extensions
    raws: list[bytes] = []
    floats: list[tuple[float, ...]] = []
    elapsed: list[int] = []
    ticks: list[int] = []
    for wire in sample.inferences:
        session.load(wire)
        result = session.infer(infer_count, warmup_count)
        floats.append(result.results)
        # The loop ran infer_count inferences; the journal keeps one inference's share.
        elapsed.append(round(result.elapsed_us / infer_count))
        if result.counter_ticks is not None:
            ticks.append(round(result.counter_ticks / infer_count))
        if raw_available:
            raws.append(session.results_raw())
    return _outcome(manifest, sample, reference, raws, floats, elapsed, ticks)


def run_batch(
    session: DutSession,
    manifest: ModelManifest,
    samples: list[SampleInput],
    reference_of: Callable[[str], ReferenceSample | None],
    infer_count: int,
    warmup_count: int,
) -> list[SampleOutcome]:
    """Every inference of every sample in one `batch` command (session.can_batch), each
    outcome as run_sample makes it; a DUT that dies mid-batch loses the whole batch.
    reference_of(name) is asked only after the DUT ran the batch (a reference still being
    computed beside the DUT then rarely makes anyone wait)."""
    flat = [wire for sample in samples for wire in sample.inferences]
    records = session.batch(flat, infer_count, warmup_count, manifest.output.elements)
    outcomes: list[SampleOutcome] = []
    position = 0
    for sample in samples:
        reference = reference_of(sample.name)
        mine = records[position : position + len(sample.inferences)]
        position += len(sample.inferences)
        outcomes.append(
            _outcome(
                manifest,
                sample,
                reference,
                [r.raw_output for r in mine],
                [r.results for r in mine],
                [round(r.elapsed_us / infer_count) for r in mine],
                [round(r.counter_ticks / infer_count) for r in mine],
            )
        )
    return outcomes


def summarize(manifest: ModelManifest, outcomes: list[SampleOutcome]) -> AccuracySummary:
    labelled = [o for o in outcomes if o.label is not None]
    compared = [o for o in outcomes if o.reference_match is not None]
    mismatched = tuple(o.name for o in compared if not o.reference_match)
    if manifest.metric is Metric.TOP1:
        correct = sum(1 for o in labelled if o.prediction == o.label)
        return AccuracySummary(
            metric=manifest.metric,
            total=len(outcomes),
            correct=correct,
            top1=correct / len(labelled) if labelled else None,
            auc=None,
            compared=len(compared),
            mismatches=len(mismatched),
            mismatched_samples=mismatched,
        )
    auc = roc_auc(
        [o.label for o in labelled if o.label is not None],
        [o.score for o in labelled if o.score is not None],
    )
    return AccuracySummary(
        metric=manifest.metric,
        total=len(outcomes),
        correct=None,
        top1=None,
        auc=auc,
        compared=len(compared),
        mismatches=len(mismatched),
        mismatched_samples=mismatched,
    )
