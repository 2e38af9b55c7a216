"""`tinybench doctor`: what this machine has and lacks, with the fix for each."""

from __future__ import annotations

import click

from tinybench.doctor import check_ports, port_report_lines, run_checks
from tinybench.dut.discovery import PortAccess
from tinybench.project import Project


@click.command("doctor")
@click.option(
    "--ports",
    "ports",
    is_flag=True,
    help="Instead: list the serial ports with their USB IDs and what they are, try name% at "
    "115200, 9600 and 921600 baud with DTR/RTS off and on, print the raw bytes seen and the "
    "fix for each finding.",
)
@click.pass_obj
def doctor_command(project: Project, ports: bool) -> None:
    """Check toolchains, emulator, Python packages, model files and reference data.

    Exits 1 when something required is missing; optional items are only reported. With
    --ports, checks the serial ports instead (about 10 s a port) and always exits 0.
    """
    if ports:
        reports = check_ports(project.boards().values(), PortAccess())
        if not reports:
            click.echo(
                "no serial ports found: connect the board with a data USB cable; on Linux "
                "check `dmesg` for the cdc_acm device, on Windows the Device Manager's Ports, "
                "on macOS /dev/cu.usbmodem*"
            )
        for report in reports:
            for line in port_report_lines(report):
                click.echo(line)
        return
    checks = run_checks(project)
    width = max(len(c.name) for c in checks)
    for check in checks:
        state = "ok" if check.ok else ("MISSING" if check.required else "optional, missing")
        click.echo(f"{check.name:<{width}}  {state:<17}  {check.detail}")
    if any(c.required and not c.ok for c in checks):
        raise click.exceptions.Exit(1)
