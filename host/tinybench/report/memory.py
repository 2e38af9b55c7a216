"""The memory section of a run report: results.json's `memory` block (the ELF's sections, the
flash/RAM breakdown, the largest symbols, the stack high-water mark) as tables and a stacked bar.
"""

from __future__ import annotations

from typing import Any

from tinybench.report import plots
from tinybench.report.formatting import MISSING, count, percent, text_or_missing
from tinybench.report.layout import Section, Table
from tinybench.report.rundir import number

REGIONS = (("flash", "flash"), ("ram", "RAM"))


def _breakdown(memory: dict[str, Any]) -> dict[str, dict[str, int]]:
    """{"flash": {figure: bytes}, "ram": {...}}, keeping only whole non-negative numbers."""
    raw = memory.get("breakdown")
    found: dict[str, dict[str, int]] = {}
    if not isinstance(raw, dict):
        return found
    for region, _ in REGIONS:
        figures = raw.get(region)
        if isinstance(figures, dict):
            parsed = {str(k): number(v) for k, v in figures.items()}
            found[region] = {k: round(v) for k, v in parsed.items() if v is not None and v >= 0}
    return {k: v for k, v in found.items() if v}


def _stack_text(memory: dict[str, Any]) -> str:
    used, reserved = number(memory.get("stack_used_bytes")), number(memory.get("stack_bytes"))
    if used is None:
        return MISSING
    of = f" of {count(reserved, 'B')} reserved" if reserved else ""
    return f"{count(used, 'B')}{of}"


def stack_text(memory: dict[str, Any]) -> str:
    """The summary's stack row: '1,234 B of 8,192 B reserved' or '-'."""
    return _stack_text(memory)


def memory_section(memory: dict[str, Any]) -> Section | None:
    breakdown = _breakdown(memory)
    if not breakdown:
        return None
    totals = {"flash": number(memory.get("flash_bytes")), "ram": number(memory.get("ram_bytes"))}
    rows = []
    for region, title in REGIONS:
        figures = breakdown.get(region, {})
        total = totals[region] or float(sum(figures.values()))
        rows += [
            (title, name, count(size, "B"), percent(size / total if total else None, 1))
            for name, size in figures.items()
        ]
    paragraphs = [
        f"Flash {count(memory.get('flash_bytes'), 'B')}, RAM {count(memory.get('ram_bytes'), 'B')}"
        f" (arena {count(memory.get('arena_bytes'), 'B')}); stack high-water mark "
        f"{_stack_text(memory)}. From the firmware's ELF (section headers and symbols)."
    ]
    tables = [Table("memory-breakdown", ("memory", "figure", "bytes", "share"), tuple(rows))]
    sections = memory.get("sections")
    if isinstance(sections, list):
        tables.append(
            Table(
                "memory-sections",
                ("section", "address", "bytes", "placement"),
                tuple(
                    (
                        text_or_missing(s.get("name")),
                        _address(s.get("address")),
                        count(s.get("size")),
                        text_or_missing(s.get("placement")),
                    )
                    for s in sections
                    if isinstance(s, dict)
                ),
            )
        )
    symbols = memory.get("top_symbols")
    if isinstance(symbols, list):
        tables.append(
            Table(
                "top-symbols",
                ("symbol", "section", "bytes"),
                tuple(
                    (
                        text_or_missing(s.get("name")),
                        text_or_missing(s.get("section")),
                        count(s.get("size")),
                    )
                    for s in symbols
                    if isinstance(s, dict)
                ),
            )
        )
    return Section(
        "memory", "Memory", tuple(paragraphs), tuple(tables), (plots.memory_plot(breakdown),)
    )


def _address(value: Any) -> str:
    parsed = number(value)
    return MISSING if parsed is None else f"0x{round(parsed):08x}"
