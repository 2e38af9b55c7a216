"""The report as Markdown; plots are PNG files beside it, referenced by relative path.

Text is escaped so that it stays text in any renderer: `&`, `<` and `>` as entities (no raw
HTML, so no <script> or autolink from an external DUT's name), `[` and `]` with a backslash
(no link or image), `|` in table cells, and newlines as spaces.
"""

from __future__ import annotations

from collections.abc import Mapping

from tinybench.report.layout import CheckStatus, Report, Section, Table

_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", "[": "\\[", "]": "\\]", "\n": " ", "\r": " "}
)


def _text(text: str) -> str:
    return text.translate(_ESCAPES)


def _cell(text: str) -> str:
    return _text(text).replace("|", "\\|")


def _table(table: Table) -> list[str]:
    headers = [_cell(h) or " " for h in table.headers]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines.extend("| " + " | ".join(_cell(c) for c in row) + " |" for row in table.rows)
    return [*lines, ""]


def _section(section: Section, plot_files: Mapping[str, str]) -> list[str]:
    lines = [f"## {_text(section.title)}", ""]
    for paragraph in section.paragraphs:
        lines += [_text(paragraph), ""]
    for table in section.tables:
        lines += _table(table)
    for plot in section.plots:
        image = f"![{_text(plot.title)}]({plot_files[plot.plot_id]})"
        lines += [image, "", f"*{_text(plot.caption)}*", ""]
    return lines


def render_markdown(report: Report, plot_files: Mapping[str, str]) -> str:
    """plot_files maps each plot id to the PNG's path relative to the Markdown file."""
    check = report.reference_check
    marker = {CheckStatus.PASS: "PASS", CheckStatus.FAIL: "FAIL", CheckStatus.ABSENT: "NONE"}
    lines = [
        f"# {_text(report.title)}",
        "",
        _text(report.subtitle),
        "",
        f"> **{marker[check.status]} — {_text(check.headline)}**",
        ">",
        f"> {_text(check.detail)}",
        "",
    ]
    for section in report.sections:
        lines += _section(section, plot_files)
    return "\n".join(lines).rstrip("\n") + "\n"
