"""`tinybench doctor`: what this machine has and lacks, with the fix for each."""

from __future__ import annotations

import click

from tinybench.doctor import run_checks
from tinybench.project import Project


@click.command("doctor")
@click.pass_obj
def doctor_command(project: Project) -> None:
    """Check toolchains, emulator, Python packages, model files and reference data.

    Exits 1 when something required is missing; optional items are only reported.
    """
    checks = run_checks(project)
    width = max(len(c.name) for c in checks)
    for check in checks:
        state = "ok" if check.ok else ("MISSING" if check.required else "optional, missing")
        click.echo(f"{check.name:<{width}}  {state:<17}  {check.detail}")
    if any(c.required and not c.ok for c in checks):
        raise click.exceptions.Exit(1)
