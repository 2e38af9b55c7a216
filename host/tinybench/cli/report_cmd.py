"""`tinybench report`: a self-contained HTML report and a Markdown report of one run."""

from __future__ import annotations

from pathlib import Path

import click

from tinybench.report import write_report


@click.command("report")
@click.argument("run_dir", metavar="DIR", type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=True),
    help="HTML file to write (a .html path) or folder for report.html; the Markdown report "
    "and its PNG plots go beside it. Default: DIR/report.html and DIR/report.md.",
)
def report_command(run_dir: Path, out: Path | None) -> None:
    """Write report.html (plots embedded, no external files) and report.md for run DIR.

    Shows the reference check first, then accuracy (confusion matrix and per-class
    accuracy, or the ROC curve for ad01), performance windows and latency
    distribution, the per-op profile (per-op bars and cost per MAC), memory (flash
    and RAM breakdown, ELF sections, largest symbols, stack high-water mark),
    provenance and wall time. Sections without data are left out. DIR may also be a
    `tinybench bench` directory (bench.json) or a `tinybench profile --out`
    directory (profile.json): engines side by side.
    """
    files = write_report(run_dir, out)
    click.echo(f"HTML report:     {files.html}")
    click.echo(f"Markdown report: {files.markdown} ({len(files.plot_pngs)} plot PNGs beside it)")
    click.echo(files.report.reference_check.headline)
