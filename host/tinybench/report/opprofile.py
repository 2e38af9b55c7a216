"""The per-op profile in reports: results.json's `profile` block and `tinybench profile`'s
profile.json, read leniently (a malformed block leaves the section out), shown as one table with
the configurations side by side and the op-profile bar chart.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinybench.profile import OpRow
from tinybench.report import plots
from tinybench.report.formatting import MISSING, count, fixed, percent
from tinybench.report.layout import CheckStatus, ReferenceCheck, Report, Section, Table
from tinybench.report.rundir import RunDirectoryError, number

PROFILE_FORMAT = "tinybench-profile"


@dataclass(frozen=True)
class ProfileTable:
    label: str
    unit: str
    whole_ticks: int | None
    sum_ticks: int
    ops: tuple[OpRow, ...]


def _op_row(raw: Any) -> OpRow | None:
    if not isinstance(raw, dict):
        return None
    index, macs, ticks = number(raw.get("index")), number(raw.get("macs")), number(raw.get("ticks"))
    op_count, share = number(raw.get("count")), number(raw.get("share"))
    if index is None or macs is None or ticks is None or op_count is None or share is None:
        return None
    return OpRow(
        index=round(index),
        op=str(raw.get("op", "?")),
        shape=str(raw.get("shape", "")),
        macs=round(macs),
        ticks=round(ticks),
        count=op_count,
        per_mac=number(raw.get("per_mac")),
        share=share,
    )


def read_profile(block: Any, default_label: str) -> ProfileTable | None:
    """A `profile` block as a table, or None when it is missing or not well formed."""
    if not isinstance(block, dict) or not isinstance(block.get("ops"), list):
        return None
    rows = [_op_row(raw) for raw in block["ops"]]
    if not rows or any(row is None for row in rows):
        return None
    ops = tuple(row for row in rows if row is not None)
    whole = number(block.get("whole_ticks"))
    label = block.get("label")
    return ProfileTable(
        label=label if isinstance(label, str) and label else default_label,
        unit=str(block.get("unit") or "ticks"),
        whole_ticks=None if whole is None else round(whole),
        sum_ticks=sum(op.ticks for op in ops),
        ops=ops,
    )


def _ratio(numerator: float, denominator: float) -> str:
    return f"{numerator / denominator:.2f}x" if denominator > 0 else MISSING


def _sum_text(table: ProfileTable) -> str:
    if table.whole_ticks is None or table.whole_ticks == 0:
        return f"{table.label}: per-op sum {table.sum_ticks:,} ticks."
    difference = (table.sum_ticks - table.whole_ticks) / table.whole_ticks
    return (
        f"{table.label}: per-op sum {table.sum_ticks:,} ticks against {table.whole_ticks:,} "
        f"for the whole inference ({100.0 * difference:+.2f} %)."
    )


def profile_table(tables: Sequence[ProfileTable]) -> Table:
    """Ops down, configurations across; with several, each later one's ratio to the first."""
    first = tables[0]
    headers = ["#", "op", "output shape", "MACs"]
    for table in tables:
        headers += [f"{table.label} {table.unit}", f"{table.label} per MAC", f"{table.label} share"]
    headers += [f"{first.label} / {table.label}" for table in tables[1:]]
    rows = []
    for position, op in enumerate(first.ops):
        row = [str(op.index), op.op, op.shape or MISSING, count(op.macs)]
        others = [t.ops[position] if position < len(t.ops) else None for t in tables]
        for other in others:
            if other is None:
                row += [MISSING, MISSING, MISSING]
            else:
                row += [count(other.count), fixed(other.per_mac, 2), percent(other.share, 1)]
        row += [MISSING if other is None else _ratio(op.count, other.count) for other in others[1:]]
        rows.append(tuple(row))
    return Table("op-profile", tuple(headers), tuple(rows))


def profile_section(tables: Sequence[ProfileTable], intro: str) -> Section:
    paragraphs = [intro, *(_sum_text(t) for t in tables)]
    names = [[op.op for op in t.ops] for t in tables]
    if any(other != names[0] for other in names[1:]):
        paragraphs.append(
            "The configurations' op lists differ; rows are matched by position and named after "
            f"{tables[0].label}'s ops."
        )
    series = tuple(
        plots.OpSeries(
            t.label, t.unit, tuple(op.count for op in t.ops), tuple(op.per_mac for op in t.ops)
        )
        for t in tables
    )
    labels = [f"{op.index} {op.op}" for op in tables[0].ops]
    return Section(
        "op-profile",
        "Where the time goes: per-op profile",
        tuple(paragraphs),
        (profile_table(tables),),
        (plots.op_profile_plot(labels, series),),
    )


def read_profile_file(profile_dir: Path) -> dict[str, Any]:
    path = profile_dir / "profile.json"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise RunDirectoryError(f"{profile_dir}: no readable profile.json: {exc}") from exc
    if not isinstance(document, dict) or document.get("format") != PROFILE_FORMAT:
        raise RunDirectoryError(f"{path} is not a tinybench profile file")
    return document


def build_profile_report(profile_dir: Path) -> Report:
    """The report of a `tinybench profile --out DIR` directory."""
    document = read_profile_file(profile_dir)
    raw_tables = document.get("tables")
    tables = [
        read_profile(raw, f"configuration {i + 1}")
        for i, raw in enumerate(raw_tables if isinstance(raw_tables, list) else [])
    ]
    if not tables or any(t is None for t in tables):
        raise RunDirectoryError(
            f"{profile_dir}/profile.json: a per-op table is missing or malformed"
        )
    model, board = str(document.get("model", MISSING)), str(document.get("board", MISSING))
    section = profile_section(
        [t for t in tables if t is not None],
        f"One inference of {model} on {board} per configuration, with the counter read around "
        "every op (the `opprofile` extension).",
    )
    return Report(
        title=f"tinybench per-op profile: {model} on {board}",
        subtitle=f"{len(tables)} configuration(s), directory {profile_dir.resolve().name}",
        reference_check=ReferenceCheck(
            CheckStatus.ABSENT,
            "Reference check: not part of a profile",
            "A per-op profile times one inference; `tinybench run` checks outputs against the "
            "host reference.",
        ),
        sections=(section,),
    )
