"""The run directory's results: results.json (DESIGN.md keys) and results.txt (checker lines)."""

from __future__ import annotations

import json
import os
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinybench.models import Metric
from tinybench.modes.accuracy import AccuracySummary, SampleOutcome


@dataclass(frozen=True)
class Provenance:
    firmware_sha256: str
    model_sha256: str
    toolchain: str
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
    outcomes: list[SampleOutcome], counter_hz: int | None
) -> dict[str, Any]:
    """Latency of the accuracy run's single inferences: informative, not an MLPerf score."""
    elapsed = [us for o in outcomes for us in o.elapsed_us]
    ticks = [t for o in outcomes for t in o.counter_ticks]
    if not elapsed:
        return {"compliant": False, "windows": []}
    median_us = statistics.median(elapsed)
    block: dict[str, Any] = {
        "source": "accuracy run, infer 1 0 per inference (not a performance-mode window)",
        "compliant": False,
        "median_latency_ms": median_us / 1000.0,
        "median_throughput_ips": 1e6 / median_us if median_us > 0 else None,
        "windows": [],
    }
    if ticks and counter_hz:
        block["median_counter_ticks"] = statistics.median(ticks)
        block["counter_hz"] = counter_hz
    return block


def results_document(
    *,
    model: str,
    board: str,
    engine: str,
    mode: str,
    accuracy: AccuracySummary,
    performance: dict[str, Any],
    memory: dict[str, int],
    provenance: Provenance,
    quality_target: float,
    wall_time_s: dict[str, float],
) -> dict[str, Any]:
    achieved = accuracy.top1 if accuracy.metric is Metric.TOP1 else accuracy.auc
    return {
        "model": model,
        "board": board,
        "engine": engine,
        "mode": mode,
        "accuracy": {
            **accuracy_block(accuracy),
            "quality_target": quality_target,
            "meets_target": achieved is not None and achieved >= quality_target,
        },
        "reference_check": {
            "compared": accuracy.compared,
            "mismatches": accuracy.mismatches,
            "mismatched_samples": list(accuracy.mismatched_samples),
        },
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


def checker_lines(document: dict[str, Any]) -> list[str]:
    """The lines the MLPerf Tiny result checker looks for."""
    lines = []
    acc = document["accuracy"]
    if acc.get("top1") is not None:
        lines.append(f"Top 1% = {100.0 * acc['top1']:.2f}")
    if acc.get("auc") is not None:
        lines.append(f"AUC = {acc['auc']:.3f}")
    perf = document.get("performance") or {}
    if perf.get("compliant") and perf.get("median_throughput_ips") is not None:
        lines.append(f"Median throughput is {perf['median_throughput_ips']:.3f} inf./sec.")
    return lines


def write_results(run_dir: Path, document: dict[str, Any]) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(run_dir / "results.json", json.dumps(document, indent=2) + "\n")
    write_atomic(run_dir / "results.txt", "\n".join(checker_lines(document)) + "\n")
