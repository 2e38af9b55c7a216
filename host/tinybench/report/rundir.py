"""Reading a run directory: results.json, samples.jsonl and latencies.json.

Only results.json is required. Every other file, and every block inside
results.json other than the identity keys, may be missing (older runs, runs of
another mode, the performance block still growing): readers return None and the
report leaves the matching section out.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinybench.errors import TinybenchError


class RunDirectoryError(TinybenchError):
    """A run directory is missing results.json, or one of its files is not what it should be."""


@dataclass(frozen=True)
class SampleRecord:
    """One line of samples.jsonl, reduced to what reports use."""

    index: int
    name: str
    label: int | None
    prediction: int | None
    score: float | None
    reference_match: bool | None
    elapsed_us: tuple[int, ...]
    output_width: int | None  # length of the first device result vector, if any


@dataclass(frozen=True)
class LatencyWindow:
    input_name: str
    ticks: tuple[int, ...]


@dataclass(frozen=True)
class LatencyTrace:
    """latencies.json: per-inference counter deltas of each performance window."""

    counter_hz: int
    windows: tuple[LatencyWindow, ...]

    def latencies_ms(self) -> list[float]:
        return [1000.0 * t / self.counter_hz for w in self.windows for t in w.ticks]


@dataclass(frozen=True)
class RunDirectory:
    path: Path
    results: dict[str, Any]
    samples: tuple[SampleRecord, ...] | None
    latencies: LatencyTrace | None

    @property
    def name(self) -> str:
        return self.path.resolve().name

    def block(self, key: str) -> dict[str, Any]:
        """A sub-object of results.json, or {} when it is missing or null."""
        value = self.results.get(key)
        return value if isinstance(value, dict) else {}

    def text(self, key: str) -> str | None:
        value = self.results.get(key)
        return value if isinstance(value, str) else None


def number(value: Any) -> float | None:
    """A finite int/float from JSON, else None (bools, strings and NaN are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    result = float(value)
    return result if math.isfinite(result) else None


def _optional_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def read_results(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "results.json"
    if not run_dir.is_dir():
        raise RunDirectoryError(f"{run_dir}: not a directory")
    if not path.is_file():
        raise RunDirectoryError(f"{run_dir}: no results.json (is this a finished run directory?)")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunDirectoryError(f"{path}: not readable JSON ({exc})") from exc
    if not isinstance(document, dict):
        raise RunDirectoryError(f"{path}: expected a JSON object at the top level")
    return document


def _sample_record(line_no: int, path: Path, raw: Any) -> SampleRecord:
    if not isinstance(raw, dict) or not isinstance(raw.get("index"), int):
        raise RunDirectoryError(f"{path}:{line_no}: expected an object with an integer index")
    results = raw.get("device_results")
    first_result = results[0] if isinstance(results, list) and results else None
    width = len(first_result) if isinstance(first_result, list) and first_result else None
    elapsed = raw.get("elapsed_us")
    elapsed_us = [e for e in elapsed if isinstance(e, int)] if isinstance(elapsed, list) else []
    match = raw.get("reference_match")
    return SampleRecord(
        index=raw["index"],
        name=str(raw.get("name", raw["index"])),
        label=_optional_int(raw.get("label")),
        prediction=_optional_int(raw.get("prediction")),
        score=number(raw.get("score")),
        reference_match=match if isinstance(match, bool) else None,
        elapsed_us=tuple(elapsed_us),
        output_width=width,
    )


def read_samples(run_dir: Path) -> tuple[SampleRecord, ...] | None:
    path = run_dir / "samples.jsonl"
    if not path.is_file():
        return None
    records = []
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as exc:
                raise RunDirectoryError(f"{path}:{line_no}: not JSON ({exc})") from exc
            records.append(_sample_record(line_no, path, raw))
    return tuple(records)


def read_latencies(run_dir: Path) -> LatencyTrace | None:
    path = run_dir / "latencies.json"
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunDirectoryError(f"{path}: not readable JSON ({exc})") from exc
    hz = raw.get("counter_hz") if isinstance(raw, dict) else None
    windows = raw.get("windows") if isinstance(raw, dict) else None
    if not isinstance(hz, int) or hz <= 0 or not isinstance(windows, list):
        raise RunDirectoryError(f"{path}: expected counter_hz > 0 and a list of windows")
    parsed = []
    for i, window in enumerate(windows):
        ticks = window.get("ticks") if isinstance(window, dict) else None
        if not isinstance(ticks, list) or not all(isinstance(t, int) for t in ticks):
            raise RunDirectoryError(f"{path}: window {i} needs a list of integer ticks")
        parsed.append(LatencyWindow(str(window.get("input", f"window {i + 1}")), tuple(ticks)))
    return LatencyTrace(counter_hz=hz, windows=tuple(parsed))


def load_run_directory(run_dir: Path) -> RunDirectory:
    return RunDirectory(
        path=run_dir,
        results=read_results(run_dir),
        samples=read_samples(run_dir),
        latencies=read_latencies(run_dir),
    )
