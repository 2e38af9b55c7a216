"""Run directory results: results.json (keys in docs/design.md) and results.txt (checker lines)."""

from __future__ import annotations

import json
import math
import os
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinybench.manifests.models import Metric
from tinybench.manifests.runrules import AccuracyRules
from tinybench.modes.accuracy import AccuracySummary, SampleOutcome
from tinybench.modes.performance import PerformanceOutcome, percentile


@dataclass(frozen=True)
class Provenance:
    firmware_sha256: str | None  # None: an external DUT's firmware, which tinybench never saw
    model_sha256: str
    toolchain: str | None
    runrules_id: str
    runrules_version: str
    tinybench_version: str
    reference: str
    emulator: str | None
    dut_info: dict[str, str]


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".part")
    with tmp.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)


def accuracy_block(summary: AccuracySummary) -> dict[str, Any]:
    if summary.metric is Metric.TOP1:
        return {
            "metric": "top1",
            "correct": summary.correct,
            "total": summary.total,
            "top1": summary.top1,
        }
    return {"metric": "auc", "total": summary.total, "auc": summary.auc}


def single_inference_latency(
    outcomes: list[SampleOutcome], counter_hz: int | None, counts: AccuracyRules
) -> dict[str, Any]:
    """Latency of the accuracy run's inferences (each loop's duration / its infer count):
    informative, not an MLPerf score."""
    elapsed = [us for o in outcomes for us in o.elapsed_us]
    ticks = [t for o in outcomes for t in o.counter_ticks]
    if not elapsed:
        return {"compliant": False, "windows": []}
    median_us = statistics.median(elapsed)
    block: dict[str, Any] = {
        "source": (
            f"accuracy run, infer {counts.infer_count} {counts.warmup_count} per inference "
            "(not a performance-mode window)"
        ),
        "compliant": False,
        "median_latency_ms": median_us / 1000.0,
        "median_throughput_ips": 1e6 / median_us if median_us > 0 else None,
        "windows": [],
    }
    if ticks and counter_hz:
        block["median_counter_ticks"] = statistics.median(ticks)
        block["counter_hz"] = counter_hz
    return block


def performance_block(
    outcome: PerformanceOutcome, instructions_per_tick: float | None, accuracy: float | None
) -> dict[str, Any]:
    """The performance-mode figures: every window, the medians, the latency distribution."""
    hz = outcome.counter_hz
    windows = [
        {
            "input": w.input,
            "infer_count": w.infer_count,
            "warmup_count": w.warmup_count,
            "elapsed_s": w.elapsed_s,
            "latency_ms": w.latency_ms,
            "throughput_ips": w.throughput_ips,
            "counter_ticks": w.counter_ticks,
            "compliant": w.compliant,
        }
        for w in outcome.windows
    ]
    instructions = None
    if instructions_per_tick is not None and all(w.counter_ticks for w in outcome.windows):
        instructions = statistics.median(
            (w.counter_ticks or 0) * instructions_per_tick / w.infer_count for w in outcome.windows
        )
    per_inference = [t for w in outcome.windows for t in w.per_inference_ticks]
    distribution = None
    if per_inference and hz:
        distribution = {
            "count": len(per_inference),
            "p50_ms": 1000.0 * percentile(per_inference, 0.50) / hz,
            "p90_ms": 1000.0 * percentile(per_inference, 0.90) / hz,
            "p99_ms": 1000.0 * percentile(per_inference, 0.99) / hz,
        }
    throughputs = [w.throughput_ips for w in outcome.windows]
    median = outcome.median_throughput_ips
    return {
        "compliant": outcome.compliant,
        "min_window_s": outcome.min_window_s,
        "median_latency_ms": outcome.median_latency_ms,
        "median_throughput_ips": median,
        "throughput_spread": {"min": min(throughputs), "max": max(throughputs)},
        "instructions_per_inference": instructions,
        "accuracy_weighted_throughput_ips": median * accuracy if accuracy is not None else None,
        "latency_distribution": distribution,
        "windows": windows,
    }


def latencies_document(outcome: PerformanceOutcome) -> dict[str, Any]:
    return {
        "counter_hz": outcome.counter_hz,
        "windows": [
            {"input": w.input, "ticks": list(w.per_inference_ticks)} for w in outcome.windows
        ],
    }


def results_document(
    *,
    model: str,
    board: str,
    engine: str,
    kernels: str | None,
    mode: str,
    accuracy: AccuracySummary | None,
    reference_check: dict[str, Any],
    performance: dict[str, Any],
    memory: dict[str, Any],
    provenance: Provenance,
    quality_target: float,
    wall_time_s: dict[str, float],
    profile: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """profile: the per-op table of one inference (tinybench.profile), omitted when None."""
    accuracy_doc: dict[str, Any] | None = None
    if accuracy is not None:
        achieved = accuracy.top1 if accuracy.metric is Metric.TOP1 else accuracy.auc
        accuracy_doc = {
            **accuracy_block(accuracy),
            "quality_target": quality_target,
            "meets_target": achieved is not None and achieved >= quality_target,
        }
    document: dict[str, Any] = {
        "model": model,
        "board": board,
        "engine": engine,
        "kernels": kernels,  # the engine's kernel set the firmware was built with
        "mode": mode,
        "accuracy": accuracy_doc,
        "reference_check": reference_check,
        "performance": performance,
        "memory": memory,
        "provenance": {
            "firmware_sha256": provenance.firmware_sha256,
            "model_sha256": provenance.model_sha256,
            "toolchain": provenance.toolchain,
            "runrules": provenance.runrules_id,
            "runrules_version": provenance.runrules_version,
            "tinybench_version": provenance.tinybench_version,
            "reference": provenance.reference,
            "emulator": provenance.emulator,
            "dut_info": provenance.dut_info,
        },
        "wall_time_s": wall_time_s,
    }
    if profile is not None:
        document["profile"] = profile
    return document


def reference_check_block(summary: AccuracySummary) -> dict[str, Any]:
    return {
        "compared": summary.compared,
        "mismatches": summary.mismatches,
        "mismatched_samples": list(summary.mismatched_samples),
    }


def checker_lines(document: dict[str, Any]) -> list[str]:
    """The lines the MLPerf Tiny result checker looks for."""
    lines = []
    acc = document.get("accuracy") or {}
    if acc.get("top1") is not None:
        lines.append(f"Top 1% = {100.0 * acc['top1']:.2f}")
    if acc.get("auc") is not None:
        lines.append(f"AUC = {acc['auc']:.3f}")
    perf = document.get("performance") or {}
    if perf.get("compliant") and perf.get("median_throughput_ips") is not None:
        lines.append(f"Median throughput is {perf['median_throughput_ips']:.3f} inf./sec.")
    energy = document.get("energy") or {}
    median = energy.get("median_uj_per_inference") if isinstance(energy, dict) else None
    if isinstance(median, float) and math.isfinite(median) and energy.get("compliant"):
        # The submission checker's regex: `Median energy cost is ([\d\.]+) uJ/inf`
        lines.append(f"Median energy cost is {median:.4f} uJ/inf.")
    return lines


def write_results(run_dir: Path, document: dict[str, Any]) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(run_dir / "results.json", json.dumps(document, indent=2) + "\n")
    write_atomic(run_dir / "results.txt", "\n".join(checker_lines(document)) + "\n")


def printed_check_block(
    compared: int,
    within: int,
    max_abs_difference: float | None,
    mismatched_samples: list[str],
) -> dict[str, Any]:
    """The reference check of an external DUT: its printed vectors (one per inference)
    against the reference's dequantized output, within the 3-decimal print precision."""
    largest: float | str | None = max_abs_difference
    if max_abs_difference is not None and not math.isfinite(max_abs_difference):
        largest = "inf"  # a NaN or a vector of another length; JSON has no infinity
    return {
        "method": "printed m-results floats vs the reference's dequantized output (ad01: its "
        "window MSE); a vector agrees when every value is within 0.001, the 3-decimal print "
        "precision, whether the DUT truncates (the reference firmware) or rounds (tinybench)",
        "unit": "vectors",
        "compared": compared,
        "within_print_precision": within,
        "mismatches": compared - within,
        "max_abs_difference": largest,
        "mismatched_samples": mismatched_samples,
    }
