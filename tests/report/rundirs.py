"""Synthetic run directories, written by code: a top-1 run, an ad01 AUC run, a performance run.

Values are small and chosen so that tests can state the expected numbers exactly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

KWS_WORDS = ("Down", "Go", "Left", "No", "Off", "On", "Right", "Stop", "Up", "Yes")

# (label, prediction) pairs of the top-1 run: class 0 all right, class 1 half right, ...
TOP1_PAIRS: tuple[tuple[int, int], ...] = (
    (0, 0),
    (0, 0),
    (0, 0),
    (0, 0),
    (1, 1),
    (1, 2),
    (2, 2),
    (2, 2),
    (2, 0),
    (3, 3),
)
TOP1_CLASSES = 4

# ad01 clips: (label, score); label 1 = anomaly. Pairs (pos, neg) ordered: 5 of 6 -> AUC 5/6.
AUC_CLIPS: tuple[tuple[int, float], ...] = (
    (0, 1.0),
    (0, 2.0),
    (0, 4.0),
    (1, 3.0),
    (1, 5.0),
)
AUC_EXPECTED = 5 / 6

WINDOW_LATENCIES_MS = (16.0, 16.5, 17.0, 15.5, 16.2)


def provenance(emulator: str | None = "QEMU emulator version 7.2.0") -> dict[str, Any]:
    return {
        "firmware_sha256": "f" * 64,
        "model_sha256": "a" * 64,
        "toolchain": "arm-none-eabi-gcc 12.2.1",
        "runrules": "mlperf-tiny",
        "runrules_version": "1.0",
        "tinybench_version": "0.1.0",
        "reference": "tflite-micro 0.dev20261023182759",
        "emulator": emulator,
        "dut_info": {
            "fw": "0.1.0",
            "cpu_hz": "25000000",
            "engine": "native",
            "engine_version": "0.1.0",
            "arena_used": "16496",
        },
    }


def _base(model: str, mode: str, board: str = "qemu-m4") -> dict[str, Any]:
    return {
        "model": model,
        "board": board,
        "engine": "native",
        "mode": mode,
        "memory": {"flash_bytes": 68473, "ram_bytes": 51728, "arena_bytes": 16496},
        "provenance": provenance(),
        "wall_time_s": {"build": 1.25, "total": 4.5, "upload_wire_bytes": 25500},
    }


def write_json(path: Path, document: Any) -> None:
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def write_samples(run_dir: Path, records: list[dict[str, Any]]) -> None:
    with (run_dir / "samples.jsonl").open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")


def write_top1_run(run_dir: Path, mismatched: tuple[str, ...] = (), board: str = "qemu-m4") -> Path:
    """kws01-like accuracy run over TOP1_PAIRS: 8/10 correct."""
    run_dir.mkdir(parents=True)
    records = []
    for index, (label, prediction) in enumerate(TOP1_PAIRS):
        name = f"tst_{index:06d}_{KWS_WORDS[label]}_{label}.bin"
        outputs = [0.0] * TOP1_CLASSES
        outputs[prediction] = 0.996
        records.append(
            {
                "index": index,
                "name": name,
                "label": label,
                "raw_outputs": ["80" * TOP1_CLASSES],
                "device_results": [outputs],
                "elapsed_us": [2000 + 100 * index],
                "counter_ticks": [50000 + 2500 * index],
                "prediction": prediction,
                "score": None,
                "reference_match": name not in mismatched,
            }
        )
    write_samples(run_dir, records)
    document = _base("kws01", "accuracy", board)
    document["accuracy"] = {
        "metric": "top1",
        "correct": 8,
        "total": 10,
        "top1": 0.8,
        "quality_target": 0.9,
        "meets_target": False,
    }
    document["reference_check"] = {
        "compared": 10,
        "mismatches": len(mismatched),
        "mismatched_samples": list(mismatched),
    }
    document["performance"] = {
        "source": "accuracy run, infer 1 0 per inference (not a performance-mode window)",
        "compliant": False,
        "median_latency_ms": 2.45,
        "median_throughput_ips": 408.163,
        "windows": [],
    }
    write_json(run_dir / "results.json", document)
    (run_dir / "results.txt").write_text("Top 1% = 80.00\n", encoding="utf-8")
    (run_dir / "transcript.txt").write_text("  0.000036 > name%\n", encoding="utf-8")
    return run_dir


def write_auc_run(run_dir: Path) -> Path:
    """ad01 accuracy run over AUC_CLIPS: AUC 5/6."""
    run_dir.mkdir(parents=True)
    write_samples(
        run_dir,
        [
            {
                "index": i,
                "name": f"anomaly_id_{i:02d}.bin",
                "label": label,
                "raw_outputs": [],
                "device_results": [[score]],
                "elapsed_us": [150, 151],
                "counter_ticks": [3700, 3710],
                "prediction": None,
                "score": score,
                "reference_match": True,
            }
            for i, (label, score) in enumerate(AUC_CLIPS)
        ],
    )
    document = _base("ad01", "accuracy")
    document["accuracy"] = {
        "metric": "auc",
        "total": 5,
        "auc": AUC_EXPECTED,
        "quality_target": 0.85,
        "meets_target": False,
    }
    document["reference_check"] = {"compared": 5, "mismatches": 0, "mismatched_samples": []}
    document["performance"] = {"compliant": False, "windows": []}
    write_json(run_dir / "results.json", document)
    (run_dir / "results.txt").write_text("AUC = 0.833\n", encoding="utf-8")
    (run_dir / "transcript.txt").write_text("  0.000036 > profile%\n", encoding="utf-8")
    return run_dir


def write_performance_run(run_dir: Path, compliant: bool = True) -> Path:
    """kws01 performance run: five windows, latencies.json with 40 inferences each."""
    run_dir.mkdir(parents=True)
    counter_hz = 25_000_000
    windows = []
    traces = []
    for i, latency_ms in enumerate(WINDOW_LATENCIES_MS):
        infer_count = 700
        elapsed_s = infer_count * latency_ms / 1000.0
        windows.append(
            {
                "input": f"tst_{i:06d}.bin",
                "infer_count": infer_count,
                "warmup_count": 10,
                "elapsed_s": elapsed_s,
                "latency_ms": latency_ms,
                "throughput_ips": 1000.0 / latency_ms,
                "counter_ticks": round(elapsed_s * counter_hz),
                "compliant": compliant and elapsed_s >= 10.0,
            }
        )
        ticks = [round(latency_ms * counter_hz / 1000.0) + j for j in range(40)]
        traces.append({"input": f"tst_{i:06d}.bin", "ticks": ticks})
    document = _base("kws01", "performance")
    document["accuracy"] = None  # performance mode scores no accuracy
    document["reference_check"] = {"compared": 5, "mismatches": 0, "mismatched_samples": []}
    document["performance"] = {
        "compliant": compliant,
        "min_window_s": 10.0,
        "median_latency_ms": 16.2,
        "median_throughput_ips": 61.728,
        "throughput_spread": {"min": 58.824, "max": 64.516},
        "instructions_per_inference": 16_400_000.0,
        "accuracy_weighted_throughput_ips": None,
        "latency_distribution": {"count": 200, "p50_ms": 16.2, "p90_ms": 17.0, "p99_ms": 17.1},
        "windows": windows,
    }
    write_json(run_dir / "results.json", document)
    write_json(run_dir / "latencies.json", {"counter_hz": counter_hz, "windows": traces})
    (run_dir / "results.txt").write_text(
        "Median throughput is 61.728 inf./sec.\n", encoding="utf-8"
    )
    (run_dir / "transcript.txt").write_text("  0.000036 > infer 700 10%\n", encoding="utf-8")
    return run_dir


def write_minimal_run(run_dir: Path) -> Path:
    """Only the identity keys; every block missing or null."""
    run_dir.mkdir(parents=True)
    write_json(
        run_dir / "results.json",
        {
            "model": "vww01",
            "board": "qemu-m7",
            "engine": "tflm",
            "mode": "accuracy",
            "performance": None,
            "accuracy": None,
        },
    )
    return run_dir
