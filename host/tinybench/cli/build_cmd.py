"""`tinybench build`: compile the model and build the firmware for a board and an engine."""

from __future__ import annotations

import click

from tinybench.build.firmware import ENGINES, build_firmware
from tinybench.project import Project


@click.command("build")
@click.option("--board", "board_id", default="qemu-m4", show_default=True, help="Board id.")
@click.option("--engine", type=click.Choice(ENGINES), default="native", show_default=True)
@click.option("--model", "model_id", required=True, help="Model id (kws01, vww01, ic01, ad01).")
@click.option(
    "--kernels",
    metavar="SET",
    help="Kernel set: native has reference (default); tflm has cmsis-nn (default) and "
    "reference. A set the engine does not have is an error.",
)
@click.pass_obj
def build_command(
    project: Project, board_id: str, engine: str, model_id: str, kernels: str | None
) -> None:
    """Build the firmware image and print its path.

    The native engine's C plan is regenerated only when the model or the compiler
    changed; PlatformIO rebuilds only what changed.
    """
    build = build_firmware(project, board_id, engine, model_id, kernels)
    click.echo(str(build.image))
