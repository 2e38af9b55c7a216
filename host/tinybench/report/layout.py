"""The parts a report is made of (verdict, sections, tables, plots), shared by every kind of
report (run, bench, profile) and by both renderers (HTML, Markdown)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from tinybench.report import plots


class CheckStatus(Enum):
    PASS = "pass"  # every compared output equals the reference
    FAIL = "fail"  # at least one mismatch
    ABSENT = "absent"  # nothing was compared


@dataclass(frozen=True)
class ReferenceCheck:
    status: CheckStatus
    headline: str
    detail: str


@dataclass(frozen=True)
class Table:
    table_id: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Section:
    section_id: str
    title: str
    paragraphs: tuple[str, ...] = ()
    tables: tuple[Table, ...] = ()
    plots: tuple[plots.Plot, ...] = ()


@dataclass(frozen=True)
class Report:
    title: str
    subtitle: str
    reference_check: ReferenceCheck
    sections: tuple[Section, ...]

    @property
    def plots(self) -> tuple[plots.Plot, ...]:
        return tuple(p for s in self.sections for p in s.plots)
