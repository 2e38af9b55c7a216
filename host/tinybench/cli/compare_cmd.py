"""`tinybench compare`: run directories side by side in an aligned plain-text table."""

from __future__ import annotations

from pathlib import Path

import click

from tinybench.compare import compare_runs, format_comparison


@click.command("compare")
@click.argument(
    "run_dirs",
    metavar="DIR...",
    nargs=-1,
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
)
def compare_command(run_dirs: tuple[Path, ...]) -> None:
    """Compare run directories: one column per run; "-" where a run has no value.

    Rows: model, board, engine, mode, accuracy, reference mismatches, median latency,
    throughput, instructions per inference, arena, flash and RAM.
    """
    click.echo(format_comparison(compare_runs(run_dirs)), nl=False)
