"""`tinybench compile`: a .tflite model into the native engine's C plan."""

from __future__ import annotations

from pathlib import Path

import click

from tinybench.build import boardgen
from tinybench.build.firmware import LARGEST_STANDARD_INPUT, db_capacity, estimate_need
from tinybench.cli.options import board_option
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
@board_option
@click.pass_obj
def compile_command(
    project: Project, model: str, out_dir: Path, kernels: str, board_id: str
) -> None:
    """Compile MODEL (a model id, or a path to a .tflite file) for the native engine.

    Checks every op (anything unsupported is refused with the op, the tensor and the reason),
    computes TF Lite Micro's quantized parameters, plans the arena and writes C. Prints the
    arena beside its live-tensor lower bound, and the total RAM an image of it needs on
    --board (arena, the harness's db buffer, which also holds the input tensor, latency
    record and state, and the board's stack).
    """
    path = Path(model)
    if path.suffix == ".tflite":
        try:
            tflite = path.read_bytes()
        except OSError as exc:
            raise click.ClickException(f"cannot read {path}: {exc.strerror or exc}") from exc
        model_id = path.stem
        io = ModelIO()  # int8 input taken as is, scores
        manifest = None
    else:
        manifest = project.model(model)
        tflite = project.model_store().read(manifest)
        model_id = manifest.model_id
        io = ModelIO.of(manifest)
    board = project.board(board_id)
    result = compile_model(tflite, model_id, out_dir, kernels=kernels, io=io)
    bound = result.arena_bound_bytes
    click.echo(
        f"{model_id}: {result.op_count} ops, {result.weights_bytes} B of constants, "
        f"arena peak {result.arena_bytes} B (live-tensor bound {bound} B, "
        f"{100 * result.arena_bytes / max(bound, 1):.1f} %)"
    )
    if manifest is not None:
        db_bytes = db_capacity(board, manifest)
    elif board.budget.db_buffer == "model":  # a .tflite file: int8 input, taken as it is
        db_bytes = -(-result.input_bytes // 16) * 16
    else:
        db_bytes = LARGEST_STANDARD_INPUT
    if boardgen.is_cortex_m(board):
        need = estimate_need(
            board, "native", constant_bytes=result.weights_bytes, arena_bytes=result.arena_bytes,
            db_bytes=db_bytes,
        )  # fmt: skip
        parts = " + ".join(f"{name} {n}" for name, n in need.ram_parts)
        click.echo(f"  total RAM on {board_id}: about {need.ram_bytes} B ({parts})")
    for written in result.paths:
        click.echo(f"  wrote {written}")
