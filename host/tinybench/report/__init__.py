"""`tinybench report`: an HTML and a Markdown report of one run directory.

rundir (read the files) -> metrics (confusion, ROC) -> plots (matplotlib PNGs)
-> document (what the report says) -> html / markdown (how it is written).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tinybench.report.bench import build_bench_report
from tinybench.report.document import build_report
from tinybench.report.html import render_html
from tinybench.report.layout import Report
from tinybench.report.markdown import render_markdown
from tinybench.report.opprofile import build_profile_report
from tinybench.report.rundir import RunDirectoryError, load_run_directory
from tinybench.results import write_atomic

__all__ = ["ReportFiles", "RunDirectoryError", "report_paths", "write_report"]


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    markdown: Path
    plot_pngs: tuple[Path, ...]
    report: Report


def report_paths(run_dir: Path, out: Path | None) -> tuple[Path, Path]:
    """(html, markdown): DIR/report.html and DIR/report.md, or OUT (a .html file or a folder)."""
    if out is None:
        html = run_dir / "report.html"
    elif out.suffix.lower() in (".html", ".htm"):
        html = out
    else:
        html = out / "report.html"
    return html, html.with_suffix(".md")


def write_report(run_dir: Path, out: Path | None = None) -> ReportFiles:
    if (run_dir / "bench.json").is_file() and not (run_dir / "results.json").exists():
        report = build_bench_report(run_dir)  # a `tinybench bench` directory
    elif (run_dir / "profile.json").is_file() and not (run_dir / "results.json").exists():
        report = build_profile_report(run_dir)  # a `tinybench profile --out` directory
    else:
        report = build_report(load_run_directory(run_dir))
    html_path, markdown_path = report_paths(run_dir, out)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    pngs = []
    plot_files = {}
    for plot in report.plots:
        png = markdown_path.with_name(f"{markdown_path.stem}-{plot.plot_id}.png")
        png.write_bytes(plot.png)
        pngs.append(png)
        plot_files[plot.plot_id] = png.name
    write_atomic(html_path, render_html(report))
    write_atomic(markdown_path, render_markdown(report, plot_files))
    return ReportFiles(html_path, markdown_path, tuple(pngs), report)
