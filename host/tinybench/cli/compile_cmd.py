"""`tinybench compile`: a .tflite model into the native engine's C plan."""

from __future__ import annotations

from pathlib import Path

import click

from tinybench.compiler import DEFAULT_KERNEL_SET, KERNEL_SETS, ModelIO, compile_model
from tinybench.project import Project


@click.command("compile")
@click.argument("model", metavar="MODEL")
@click.option(
    "-o",
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Directory for tb_native_model.h and tb_native_model.c.",
)
@click.option(
    "--kernels",
    type=click.Choice(KERNEL_SETS),
    default=DEFAULT_KERNEL_SET,
    show_default=True,
    help="Native kernel set whose scratch sizes the plan reserves.",
)
@click.pass_obj
def compile_command(project: Project, model: str, out_dir: Path, kernels: str) -> None:
    """Compile MODEL (a model id, or a path to a .tflite file) for the native engine.

    Checks every op (anything unsupported is refused with the op, the tensor and the reason),
    computes TF Lite Micro's quantized parameters, plans the arena and writes C.
    """
    path = Path(model)
    if path.suffix == ".tflite":
        try:
            tflite = path.read_bytes()
        except OSError as exc:
            raise click.ClickException(f"cannot read {path}: {exc.strerror or exc}") from exc
        model_id = path.stem
        io = ModelIO()  # int8 input taken as is, scores
    else:
        manifest = project.model(model)
        tflite = project.model_store().read(manifest)
        model_id = manifest.model_id
        io = ModelIO.of(manifest)
    result = compile_model(tflite, model_id, out_dir, kernels=kernels, io=io)
    click.echo(
        f"{model_id}: {result.op_count} ops, {result.weights_bytes} B of constants, "
        f"arena peak {result.arena_bytes} B"
    )
    for written in result.paths:
        click.echo(f"  wrote {written}")
