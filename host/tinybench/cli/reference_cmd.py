"""`tinybench reference`: the TF Lite Micro interpreter on the host, the oracle for device runs."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from tinybench.datasets import open_dataset
from tinybench.errors import TinybenchError
from tinybench.modelstore import sha256_file
from tinybench.project import Project
from tinybench.reference import (
    ReferenceInterpreter,
    iterate_dataset,
    iterate_random,
    run_reference,
    summary_lines,
    write_reference,
)


@click.command("reference")
@click.argument("model_id", metavar="MODEL")
@click.option(
    "--dataset",
    "dataset_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Dataset directory (default: the shared reference set for MODEL).",
)
@click.option("--limit", type=click.IntRange(min=1), help="Only the first N samples.")
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
@click.pass_obj
def reference_command(
    project: Project,
    model_id: str,
    dataset_dir: Path | None,
    limit: int | None,
    random_count: int | None,
    seed: int,
    out_file: Path | None,
) -> None:
    """Run MODEL in the tflite-micro interpreter on every sample and print its score.

    Top-1 (ties go to the first maximum) for classifiers; clip scores and AUC for ad01.
    """
    if random_count is not None and (dataset_dir is not None or limit is not None):
        raise TinybenchError(
            "--random runs generated inputs: it cannot be combined with --dataset or --limit"
        )
    model = project.model(model_id)
    project.rules().check_model(model)
    model_path = project.model_store().path(model)
    interpreter = ReferenceInterpreter(model, model_path)

    source: dict[str, object]
    if random_count is not None:
        samples = iterate_random(model, random_count, seed)
        total = random_count
        source = {"kind": "random", "count": random_count, "seed": seed}
    else:
        root = dataset_dir or project.locations.dataset_dir(model.dataset.dataset_id)
        dataset = open_dataset(model.dataset, root).limited(limit)
        samples = iterate_dataset(dataset)
        total = len(dataset.samples)
        source = {"kind": "dataset", "path": str(root.resolve()), "samples": total}

    if sys.stderr.isatty():
        with click.progressbar(length=total, label=f"{model_id} reference", file=sys.stderr) as bar:
            summary = run_reference(
                interpreter, model, samples, total, lambda _d, _t: bar.update(1)
            )
    else:
        summary = run_reference(interpreter, model, samples, total)
    for line in summary_lines(model, summary):
        click.echo(line)
    if out_file is not None:
        write_reference(out_file, model, sha256_file(model_path), source, summary)
        click.echo(f"reference outputs written to {out_file}")
