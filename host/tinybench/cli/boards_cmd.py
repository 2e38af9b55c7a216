"""`tinybench boards`: the boards tinybench knows."""

from __future__ import annotations

import click

from tinybench.project import Project


def _size(n: int) -> str:
    return f"{n // (1 << 20)} MiB" if n % (1 << 20) == 0 else f"{n // 1024} KiB"


@click.command("boards")
@click.pass_obj
def boards_command(project: Project) -> None:
    """List the boards: core, clock, memory, counter, how tinybench reaches them, and how far
    each is verified (qemu: run under emulation by the tests; build-only: built, never run)."""
    ports_dir = project.locations.project_root / "firmware" / "ports"
    for board in project.boards().values():
        click.echo(f"{board.board_id}  {board.title}")
        port_state = "present" if (ports_dir / board.port).is_dir() else "not written yet"
        click.echo(
            f"  {board.kind.value}, {board.core} at {board.cpu_hz / 1e6:g} MHz, "
            f"firmware port {board.port} ({port_state})"
        )
        verified = board.verification.value
        click.echo(
            f"  verified: {verified}"
            + (f" ({board.verification_note})" if board.verification_note else "")
        )
        for region in board.memory:
            click.echo(
                f"  {region.kind:<5} {region.name:<8} 0x{region.origin:08x} {_size(region.size)}"
            )
        if board.uart is not None:
            click.echo(f"  uart    {board.uart.name} at {board.uart.baud} baud")
        click.echo(f"  counter {board.counter.value} at {board.counter_hz / 1e6:g} MHz")
        if board.emulator is not None:
            emu = board.emulator
            click.echo(
                f"  emulator {emu.program} -M {emu.machine} -cpu {emu.cpu} "
                + " ".join(emu.command_args)
            )
