"""The report as Markdown; plots are PNG files beside it, referenced by relative path."""

from __future__ import annotations

from collections.abc import Mapping

from tinybench.report.layout import CheckStatus, Report, Section, Table


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(table: Table) -> list[str]:
    headers = [_cell(h) or " " for h in table.headers]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines.extend("| " + " | ".join(_cell(c) for c in row) + " |" for row in table.rows)
    return [*lines, ""]


def _section(section: Section, plot_files: Mapping[str, str]) -> list[str]:
    lines = [f"## {section.title}", ""]
    for paragraph in section.paragraphs:
        lines += [paragraph, ""]
    for table in section.tables:
        lines += _table(table)
    for plot in section.plots:
        lines += [f"![{plot.title}]({plot_files[plot.plot_id]})", "", f"*{plot.caption}*", ""]
    return lines


def render_markdown(report: Report, plot_files: Mapping[str, str]) -> str:
    """plot_files maps each plot id to the PNG's path relative to the Markdown file."""
    check = report.reference_check
    marker = {CheckStatus.PASS: "PASS", CheckStatus.FAIL: "FAIL", CheckStatus.ABSENT: "NONE"}
    lines = [
        f"# {report.title}",
        "",
        report.subtitle,
        "",
        f"> **{marker[check.status]} — {check.headline}**",
        ">",
        f"> {check.detail}",
        "",
    ]
    for section in report.sections:
        lines += _section(section, plot_files)
    return "\n".join(lines).rstrip("\n") + "\n"
