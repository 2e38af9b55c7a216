"""`tinybench farm up|status|down`: a loopback board farm on labgrid, for tests and demos."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import click

from tinybench.errors import TinybenchError
from tinybench.farm import loopback
from tinybench.farm.labgrid_client import farm_client, prepare_environment
from tinybench.farm.loopback import LoopbackFarm
from tinybench.project import Project

DEFAULT_DIR = Path("runs") / "farm"

dir_option = click.option(
    "--dir",
    "farm_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_DIR,
    show_default=True,
    help="The farm's directory: its state file (farm.json with every PID), configuration, logs.",
)


@click.group("farm")
def farm_command() -> None:
    """A loopback labgrid farm on 127.0.0.1: N emulated boards behind a coordinator, an exporter
    and a power switch. Runs use it with `tinybench run ... --coordinator ADDR --places ...`."""


@farm_command.command("up")
@click.argument("count", type=click.IntRange(min=1, max=32))
@click.option(
    "--board", "board_id", default="qemu-m4", show_default=True, help="An emulated board."
)
@click.option(
    "--image",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Boot every board with this ELF now (default: boards stay off until a run flashes them).",
)
@dir_option
@click.pass_obj
def farm_up(
    project: Project, count: int, board_id: str, image: Path | None, farm_dir: Path
) -> None:
    """Start COUNT emulated boards, a coordinator, an exporter and a power switch."""
    board = project.board(board_id)
    state = LoopbackFarm(farm_dir).up(board, count, image)
    click.echo(f"coordinator {state['coordinator']}")
    click.echo(f"places {','.join(state['places'])} (tags board={board_id} farm=loopback)")
    address = state["coordinator"]
    click.echo(f"run on it: tinybench run MODEL --coordinator {address} --places board={board_id}")


@farm_command.command("status")
@dir_option
def farm_status(farm_dir: Path) -> None:
    """The farm's processes, places, holders and power state."""
    farm = LoopbackFarm(farm_dir)
    state = farm.state()
    if state is None:
        raise TinybenchError(f"no farm runs from {farm_dir} (tinybench farm up N)")
    for process in farm.processes(state):
        alive = "running" if loopback.alive(process) else "GONE"
        click.echo(f"{process.role}: PID {process.pid} {alive}")
    prepare_environment()
    with farm_client(state["coordinator"]) as client:
        for place in client.places():
            power = _power(place.resources)
            holder = f"held by {place.acquired}" if place.acquired else "free"
            tags = " ".join(f"{k}={v}" for k, v in sorted(place.tags.items()))
            click.echo(f"place {place.name}: {holder}, power {power}, {tags}")


def _power(resources: object) -> str:
    for resource in resources:  # type: ignore[attr-defined]
        if resource.cls == "NetworkPowerPort" and resource.params.get("model") == "simplerest":
            url = (
                resource.params["host"].format(index=resource.params["index"], value="").rstrip("/")
            )
            try:
                with urllib.request.urlopen(url, timeout=5) as answer:
                    return "on" if answer.read().strip() == b"1" else "off"
            except OSError as exc:
                return f"unknown ({exc})"
    return "n/a"


@farm_command.command("down")
@dir_option
def farm_down(farm_dir: Path) -> None:
    """Stop exactly the processes `farm up` started (by PID, from the state file)."""
    stopped = LoopbackFarm(farm_dir).down()
    if not stopped:
        click.echo(f"no farm process was running from {farm_dir}")
    for process in stopped:
        click.echo(f"stopped {process.role} (PID {process.pid})")
