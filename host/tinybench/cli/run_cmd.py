"""`tinybench run`: a benchmark run on a board, checked against the host reference."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from tinybench.build.firmware import ENGINES
from tinybench.project import Project
from tinybench.results import checker_lines
from tinybench.runner import MODES, RunRequest, run_benchmark


@click.command("run")
@click.argument("model_id", metavar="MODEL")
@click.option("--board", "board_id", default="qemu-m4", show_default=True, help="Board id.")
@click.option("--engine", type=click.Choice(ENGINES), default="native", show_default=True)
@click.option(
    "--mode",
    type=click.Choice(MODES),
    default="accuracy",
    show_default=True,
    help="Only accuracy runs today.",
)
@click.option(
    "--dataset",
    "dataset_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Dataset directory (default: the shared reference set for MODEL).",
)
@click.option("--limit", type=click.IntRange(min=1), help="Only the first N samples.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Run directory (default: runs/<model>-<board>-<engine>-<mode>-<time>).",
)
@click.option("--port", "serial_port", help="Serial port or pyserial URL of a physical board.")
@click.pass_obj
def run_command(
    project: Project,
    model_id: str,
    board_id: str,
    engine: str,
    mode: str,
    dataset_dir: Path | None,
    limit: int | None,
    out_dir: Path | None,
    serial_port: str | None,
) -> None:
    """Build the firmware, run MODEL on the board and check every output against the reference.

    Writes results.json, results.txt (MLPerf checker lines), transcript.txt, reference.json
    and samples.jsonl into the run directory.
    """
    request = RunRequest(model_id, board_id, engine, mode, dataset_dir, limit, out_dir, serial_port)
    if sys.stderr.isatty():
        with click.progressbar(length=1, label=f"{model_id} on {board_id}", file=sys.stderr) as bar:

            def progress(done: int, total: int) -> None:
                bar.length = total
                bar.update(done - bar.pos)

            outcome = run_benchmark(project, request, progress)
    else:
        outcome = run_benchmark(project, request)
    doc = outcome.document
    acc, check = doc["accuracy"], doc["reference_check"]
    if acc["metric"] == "top1":
        click.echo(
            f"{model_id} on {board_id} ({engine}): top-1 {acc['correct']}/{acc['total']} "
            f"({100.0 * acc['top1']:.1f} %)"
        )
    else:
        auc = "n/a (needs clips of both labels)" if acc["auc"] is None else f"{acc['auc']:.4f}"
        click.echo(f"{model_id} on {board_id} ({engine}): AUC {auc} over {acc['total']} clips")
    click.echo(f"reference check: {check['compared']} compared, {check['mismatches']} mismatches")
    for line in checker_lines(doc):
        click.echo(line)
    click.echo(f"run directory: {outcome.run_dir}")
