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
    document["memory"] = MEMORY_BLOCK
    document["profile"] = profile_block("native", 3)
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


# Per-op ticks of a small model under two configurations: (op, shape, MACs, native, tflm).
PROFILE_OPS: tuple[tuple[str, str, int, int, int], ...] = (
    ("CONV_2D", "1x25x5x64", 640_000, 180_000, 80_000),
    ("DEPTHWISE_CONV_2D", "1x25x5x64", 72_000, 40_000, 30_000),
    ("AVERAGE_POOL_2D", "1x1x1x64", 0, 2_000, 2_500),
    ("FULLY_CONNECTED", "1x12", 768, 1_500, 900),
    ("SOFTMAX", "1x12", 0, 1_200, 1_100),
)
INSTRUCTIONS_PER_TICK = 40.0


def profile_block(label: str, column: int) -> dict[str, Any]:
    """A `profile` block (round-4 format) for column 3 (native) or 4 (tflm) of PROFILE_OPS."""
    ticks = [op[column] for op in PROFILE_OPS]
    total = sum(ticks)
    return {
        "label": label,
        "engine": label.split("-")[0],
        "kernels": "cmsis-nn" if label.startswith("tflm") else "reference",
        "unit": "instructions",
        "per_tick": INSTRUCTIONS_PER_TICK,
        "whole_ticks": total + 37,
        "sum_ticks": total,
        "ops": [
            {
                "index": i,
                "op": op,
                "shape": shape,
                "macs": macs,
                "ticks": t,
                "count": t * INSTRUCTIONS_PER_TICK,
                "per_mac": t * INSTRUCTIONS_PER_TICK / macs if macs else None,
                "share": t / total,
            }
            for i, ((op, shape, macs, _, _), t) in enumerate(zip(PROFILE_OPS, ticks, strict=True))
        ],
    }


MEMORY_BLOCK: dict[str, Any] = {
    "flash_bytes": 68473,
    "ram_bytes": 51728,
    "arena_bytes": 16496,
    "stack_bytes": 8192,
    "stack_used_bytes": 1304,
    "sections": [
        {"name": ".vectors", "address": 0, "size": 1024, "placement": "flash"},
        {"name": ".text", "address": 1024, "size": 67049, "placement": "flash"},
        {"name": ".data", "address": 0x20000000, "size": 400, "placement": "both"},
        {"name": ".bss", "address": 0x20000190, "size": 43136, "placement": "ram"},
        {"name": ".stack", "address": 0x2000A9D0, "size": 8192, "placement": "ram"},
    ],
    "breakdown": {
        "flash": {"weights": 40000, "engine_code": 12000, "harness_and_port": 16073, "data": 400},
        "ram": {
            "arena": 16496,
            "db_buffer": 20480,
            "latency_record": 4096,
            "data": 400,
            "other": 2064,
            "stack": 8192,
        },
    },
    "top_symbols": [
        {"name": "s_db_buf", "size": 20480, "section": ".bss"},
        {"name": "s_arena", "size": 16496, "section": ".bss"},
        {"name": "op0_weights", "size": 12800, "section": ".text"},
    ],
}


def write_profile_dir(profile_dir: Path) -> Path:
    """What `tinybench profile --out DIR` writes for two configurations."""
    profile_dir.mkdir(parents=True)
    write_json(
        profile_dir / "profile.json",
        {
            "format": "tinybench-profile",
            "version": 1,
            "model": "kws01",
            "board": "qemu-m4",
            "tables": [profile_block("native", 3), profile_block("tflm-cmsis-nn", 4)],
        },
    )
    return profile_dir


ENERGY_WINDOW_BINS = 11_000  # 11 s of 1 ms bins
ENERGY_UJ_PER_INFERENCE = 1200.0
ENERGY_INFERENCES = 700


def write_energy_run(run_dir: Path) -> Path:
    """An energy run of five 11 s windows at 1,200 uJ per inference, with its saved trace."""
    import numpy as np

    from tinybench.energy.trace import EnergyTrace
    from tinybench.energy.tracefile import save_trace

    run_dir.mkdir(parents=True)
    per_bin = ENERGY_UJ_PER_INFERENCE * 1e-6 * ENERGY_INFERENCES / ENERGY_WINDOW_BINS
    idle, bins, edges, windows = 500, [], [0], []
    position = 0
    for i in range(5):
        bins.append(np.full(idle, per_bin / 10))
        start = position + idle
        bins.append(np.full(ENERGY_WINDOW_BINS, per_bin))
        position = start + ENERGY_WINDOW_BINS
        edges += [start, position]
        windows.append(
            {
                "input": f"tst_{i:06d}.bin",
                "inferences": ENERGY_INFERENCES,
                "warmup_count": 10,
                "duration_s": ENERGY_WINDOW_BINS / 1000,
                "energy_uj": ENERGY_UJ_PER_INFERENCE * ENERGY_INFERENCES,
                "uj_per_inference": ENERGY_UJ_PER_INFERENCE,
                "power_mw": ENERGY_UJ_PER_INFERENCE * ENERGY_INFERENCES / ENERGY_WINDOW_BINS,
                "nan_bins": 0,
                "dropped_bins": 0,
                "start_bin": start,
                "end_bin": position,
            }
        )
    bins.append(np.full(idle, per_bin / 10))
    trace = EnergyTrace(1e-3, np.concatenate(bins), tuple(edges), source="simulated")
    sha = save_trace(trace, run_dir / "energy_trace.npz")
    document = _base("kws01", "energy")
    document["provenance"]["energy_trace_sha256"] = sha
    document["energy"] = {
        "median_uj_per_inference": ENERGY_UJ_PER_INFERENCE,
        "compliant": True,
        "reasons": [],
        "dropped_fraction": 0.0,
        "garbled_bins": 0,
        "dropped_bins": 0,
        "peak_buffer_load": 3.0,
        "bin_s": 1e-3,
        "monitor": "simulated",
        "modelled": "P = 33 mW, a test trace",
        "faults": [],
        "windows": windows,
    }
    write_json(run_dir / "results.json", document)
    (run_dir / "results.txt").write_text(
        "Median energy cost is 1200.0000 uJ/inf.\n", encoding="utf-8"
    )
    (run_dir / "transcript.txt").write_text("  0.000036 > infer 700 10%\n", encoding="utf-8")
    return run_dir
