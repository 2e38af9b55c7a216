"""`tinybench reference`: the TF Lite Micro interpreter on the host, the oracle for device runs."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import click

from tinybench.cli.options import (
    MODEL_HELP,
    custom_model_options,
    dataset_option,
    limit_option,
    model_argument,
    model_options,
)
from tinybench.datasets import open_dataset
from tinybench.errors import TinybenchError
from tinybench.project import Project
from tinybench.reference import ReferenceSummary, iterate_dataset, iterate_random, summary_lines
from tinybench.runner import reference_step


@click.command("reference", epilog=MODEL_HELP)
@model_argument
@dataset_option
@limit_option
@click.option(
    "--random",
    "random_count",
    type=click.IntRange(min=1),
    help="Run N seeded random inputs instead of a dataset.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for --random.")
@click.option(
    "--out",
    "out_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write per-sample raw int8 outputs and predictions to this JSON file.",
)
@custom_model_options
@click.pass_obj
def reference_command(
    project: Project,
    model_id: str,
    dataset_dir: Path | None,
    limit: int | None,
    random_count: int | None,
    seed: int,
    out_file: Path | None,
    input_format: str | None,
    metric: str | None,
    classes: int | None,
) -> None:
    """Run MODEL in the tflite-micro interpreter on every sample and print its score.

    Top-1 (ties go to the first maximum) for classifiers; clip scores and AUC for ad01.
    """
    if random_count is not None and (dataset_dir is not None or limit is not None):
        raise TinybenchError(
            "--random runs generated inputs: it cannot be combined with --dataset or --limit"
        )
    model = project.resolve_model(model_id, model_options(input_format, metric, classes))
    project.check_model_rules(model, project.rules())

    samples: Iterator[tuple[str, int | None, list[bytes]]]
    source: dict[str, object]
    if random_count is not None:
        samples = iterate_random(model, random_count, seed)
        total = random_count
        source = {"kind": "random", "count": random_count, "seed": seed}
    else:
        root = project.dataset_root(model, dataset_dir)
        dataset = open_dataset(model.dataset, root).limited(limit)
        samples = iterate_dataset(dataset)
        total = len(dataset.samples)
        source = {"kind": "dataset", "path": str(root.resolve()), "samples": total}

    summary: ReferenceSummary
    if sys.stderr.isatty():
        label = f"{model.model_id} reference"
        with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
            summary = reference_step(
                project, model, samples, total, source, out_file, lambda _d, _t: bar.update(1)
            )
    else:
        summary = reference_step(project, model, samples, total, source, out_file)
    for line in summary_lines(model, summary):
        click.echo(line)
    if out_file is not None:
        click.echo(f"reference outputs written to {out_file}")
