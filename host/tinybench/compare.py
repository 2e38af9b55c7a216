"""`tinybench compare`: several run directories side by side, one column per run.

Rows are the facts worth comparing across boards and engines; a value a run
does not have (an accuracy run's instructions per inference, a block not
written yet) is shown as "-".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tinybench.report.formatting import (
    accuracy_text,
    count,
    fixed,
    mismatches_text,
    text_or_missing,
)
from tinybench.report.rundir import RunDirectory, read_results

Field = Callable[[RunDirectory], str]


def _identity(key: str) -> Field:
    return lambda run: text_or_missing(run.results.get(key))


def _performance(key: str, digits: int, unit: str) -> Field:
    return lambda run: fixed(run.block("performance").get(key), digits, unit)


def _memory(key: str) -> Field:
    return lambda run: count(run.block("memory").get(key), "B")


FIELDS: tuple[tuple[str, Field], ...] = (
    ("model", _identity("model")),
    ("board", _identity("board")),
    ("engine", _identity("engine")),
    ("mode", _identity("mode")),
    ("accuracy", lambda run: accuracy_text(run.block("accuracy"))),
    ("mismatches", lambda run: mismatches_text(run.block("reference_check"))),
    ("median latency", _performance("median_latency_ms", 3, "ms")),
    ("throughput", _performance("median_throughput_ips", 3, "inf./s")),
    (
        "instructions/inference",
        lambda run: count(run.block("performance").get("instructions_per_inference")),
    ),
    ("arena", _memory("arena_bytes")),
    ("flash", _memory("flash_bytes")),
    ("RAM", _memory("ram_bytes")),
)


@dataclass(frozen=True)
class Comparison:
    run_names: tuple[str, ...]
    rows: tuple[tuple[str, tuple[str, ...]], ...]  # (field, one value per run)

    def value(self, field: str, run_index: int) -> str:
        return dict(self.rows)[field][run_index]


def compare_runs(run_dirs: Sequence[Path]) -> Comparison:
    runs = [RunDirectory(d, read_results(d), None, None) for d in run_dirs]
    rows = tuple((label, tuple(field(run) for run in runs)) for label, field in FIELDS)
    names = [run.name for run in runs]
    if len(set(names)) < len(names):  # same folder name in different places: show the paths
        names = [str(d) for d in run_dirs]
    return Comparison(tuple(names), rows)


def format_comparison(comparison: Comparison) -> str:
    """Aligned plain text: field names left-aligned, values right-aligned under each run."""
    label_width = max(len(label) for label, _ in comparison.rows)
    widths = [
        max(len(name), *(len(values[i]) for _, values in comparison.rows))
        for i, name in enumerate(comparison.run_names)
    ]
    header = " " * label_width + "".join(
        "  " + name.rjust(w) for name, w in zip(comparison.run_names, widths, strict=True)
    )
    rule = "-" * label_width + "".join("  " + "-" * w for w in widths)
    lines = [header.rstrip(), rule]
    for label, values in comparison.rows:
        cells = "".join("  " + v.rjust(w) for v, w in zip(values, widths, strict=True))
        lines.append(label.ljust(label_width) + cells)
    return "\n".join(lines) + "\n"
