"""`tinybench build`: compile the model and build the firmware for a board and an engine."""

from __future__ import annotations

import click

from tinybench.build import boardgen
from tinybench.build.firmware import build_firmware, memory_usage_line
from tinybench.cli.options import (
    MODEL_HELP,
    board_option,
    custom_model_options,
    engine_option,
    kernels_option,
    model_options,
)
from tinybench.elfsize import image_size
from tinybench.project import Project


@click.command("build", epilog=MODEL_HELP)
@board_option
@engine_option
@click.option(
    "--model", "model_id", required=True, help="Model id (kws01, vww01, ic01, ad01) or a .tflite."
)
@kernels_option
@custom_model_options
@click.option(
    "--standard-only",
    is_flag=True,
    help="Build the harness without tinybench's extensions (only the standard MLPerf Tiny "
    "commands, like a vendor's firmware): the DUT that `run --external` is tested against.",
)
@click.pass_obj
def build_command(
    project: Project,
    board_id: str,
    engine: str,
    model_id: str,
    kernels: str | None,
    input_format: str | None,
    metric: str | None,
    classes: int | None,
    standard_only: bool,
) -> None:
    """Build the firmware image and print its path, then (Cortex-M boards) its flash and
    RAM use against the board's.

    The native engine's C plan is regenerated only when the model or the compiler
    changed; PlatformIO rebuilds only what changed. A model too big for the board is
    refused before linking, with the flash and RAM it needs.
    """
    model = project.resolve_model(model_id, model_options(input_format, metric, classes))
    build = build_firmware(project, board_id, engine, model, kernels, standard_only)
    click.echo(str(build.image))
    board = project.board(board_id)
    if boardgen.is_cortex_m(board):
        click.echo(memory_usage_line(board, image_size(build.image)))
