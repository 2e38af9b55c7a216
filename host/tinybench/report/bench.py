"""The report of a `tinybench bench` directory (bench.json): the engines compared."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tinybench.report import plots
from tinybench.report.formatting import count
from tinybench.report.layout import CheckStatus, ReferenceCheck, Report, Section, Table
from tinybench.report.rundir import RunDirectoryError


def _rows(bench_dir: Path) -> list[dict[str, Any]]:
    try:
        document = json.loads((bench_dir / "bench.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunDirectoryError(f"{bench_dir}: no readable bench.json: {exc}") from exc
    rows = document.get("rows") if isinstance(document, dict) else None
    if document.get("format") != "tinybench-bench" or not isinstance(rows, list):
        raise RunDirectoryError(f"{bench_dir}/bench.json is not a tinybench bench file")
    return rows


def _flash_figure(row: dict[str, Any], name: str) -> Any:
    """One flash figure of a row's ELF breakdown (rows of older bench.json files have none)."""
    breakdown = row.get("breakdown")
    flash = breakdown.get("flash") if isinstance(breakdown, dict) else None
    return flash.get(name) if isinstance(flash, dict) else None


def build_bench_report(bench_dir: Path) -> Report:
    rows = _rows(bench_dir)
    boards = list(dict.fromkeys(str(r["board"]) for r in rows))
    models = list(dict.fromkeys(str(r["model"]) for r in rows))
    engines = list(dict.fromkeys(str(r["engine"]) for r in rows))
    instructions = {
        (str(r["board"]), str(r["model"]), str(r["engine"])): float(r["instructions"]) for r in rows
    }
    compared = sum(int(r["inputs"]) for r in rows)
    matching = sum(int(r["reference_matches"]) for r in rows)
    status = CheckStatus.PASS if matching == compared else CheckStatus.FAIL
    check = ReferenceCheck(
        status,
        f"Reference check: {compared} compared, {compared - matching} mismatches",
        "Every output of every engine was compared with the host reference (tflite-micro).",
    )
    table = Table(
        "engines",
        ("model", "board", "engine", "M instr/inference", "instr/MAC", "vs tflm cmsis-nn",
         "arena B", "arena bound B", "flash B", "weights B", "engine code B", "total RAM B",
         "stack used B"),
        tuple(
            (str(r["model"]), str(r["board"]), str(r["engine"]),
             f"{float(r['instructions']) / 1e6:.3f}", f"{float(r['instructions_per_mac']):.2f}",
             "-" if r.get("ratio_to_baseline") is None else f"{float(r['ratio_to_baseline']):.2f}x",
             f"{int(r['arena_bytes']):,}", count(r.get("arena_bound_bytes"), ""),
             f"{int(r['flash_bytes']):,}",
             count(_flash_figure(r, "weights_and_constants"), ""),
             count(_flash_figure(r, "engine_code"), ""),
             f"{int(r['ram_bytes']):,}", count(r.get("stack_used_bytes"), ""))
            for r in rows
        ),
    )  # fmt: skip
    section = Section(
        "engines",
        "Engines compared",
        ("All figures come from one `tinybench bench` run.",),
        (table,),
        (plots.engine_comparison_plot(boards, models, engines, instructions),),
    )
    return Report(
        title="tinybench engine comparison",
        subtitle=f"{len(models)} models x {len(engines)} engines x {len(boards)} cores",
        reference_check=check,
        sections=(section,),
    )
