"""`tinybench flash`: put a firmware image on a physical board through pyOCD, then check it."""

from __future__ import annotations

from pathlib import Path

import click

from tinybench.build.firmware import build_firmware, resolve_kernels
from tinybench.cli.options import (
    MODEL_HELP,
    custom_model_options,
    engine_option,
    kernels_option,
    model_options,
)
from tinybench.dut.discovery import PortAccess
from tinybench.errors import TinybenchError
from tinybench.flash import PyocdBackend, check_ready, confirm_by_name, flash_board
from tinybench.project import Project
from tinybench.untrusted import NAME_CHARS, printable


@click.command("flash", epilog=MODEL_HELP)
@click.option("--board", "board_id", required=True, help="A physical board (see tinybench boards).")
@click.option("--model", "model_id", help="Build and flash the firmware for this model.")
@engine_option
@kernels_option
@custom_model_options
@click.option(
    "--image",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Flash this ELF instead of building one (e.g. a vendor's EEMBC firmware).",
)
@click.option(
    "--probe", "probe_id", help="Debug probe unique ID (or part of it); see `pyocd list`."
)
@click.option(
    "--pack",
    type=click.Path(path_type=Path, dir_okay=False),
    help="A local CMSIS pack (.pack) for the board's part, when `pyocd pack install` cannot "
    "reach the network.",
)
@click.option(
    "--port",
    "serial_port",
    help="The board's serial port for the check after flashing (default: found by USB ID).",
)
@click.pass_obj
def flash_command(
    project: Project,
    board_id: str,
    model_id: str | None,
    engine: str,
    kernels: str | None,
    input_format: str | None,
    metric: str | None,
    classes: int | None,
    image: Path | None,
    probe_id: str | None,
    pack: Path | None,
    serial_port: str | None,
) -> None:
    """Flash the board through its debug probe with pyOCD, reset it, and check it answers.

    The board's manifest names the pyOCD target ([flash] pyocd_target). Most of the boards'
    parts are not built into pyOCD: install the part's pack once with
    `pyocd pack install <part>` (network), or pass the downloaded .pack with --pack. After
    flashing, the board's serial port (--port, or found by its USB ID) must answer `name%`.
    """
    board = project.board(board_id)
    backend = PyocdBackend()
    check_ready(board, backend, probe_id, pack)  # before a build that may take minutes
    if image is None:
        if model_id is None:
            raise TinybenchError("give --model to build the firmware, or --image to flash an ELF")
        model = project.resolve_model(model_id, model_options(input_format, metric, classes))
        image = build_firmware(
            project, board_id, engine, model, resolve_kernels(engine, kernels)
        ).image
    confirm = confirm_by_name(board, serial_port, PortAccess())
    report = flash_board(board, image, backend, confirm, probe_id=probe_id, pack=pack)
    click.echo(
        f"flashed {report.image} (sha256 {report.image_sha256[:16]}...) onto {report.board_id} "
        f"through probe {report.probe.unique_id} ({report.probe.description}), target "
        f"{report.target}" + (f", pack {report.pack}" if report.pack else "")
    )
    name = printable(str(report.dut_name), NAME_CHARS)  # the board's text: no escape codes
    click.echo(f"the board answers: m-name-dut-[{name}]")
