"""The `tinybench` command: a click group that only wires the commands together."""

from __future__ import annotations

from typing import Any

import click

from tinybench import __version__
from tinybench.cli.bench_cmd import bench_command
from tinybench.cli.boards_cmd import boards_command
from tinybench.cli.build_cmd import build_command
from tinybench.cli.compare_cmd import compare_command
from tinybench.cli.compile_cmd import compile_command
from tinybench.cli.deps_cmd import deps_command
from tinybench.cli.doctor_cmd import doctor_command
from tinybench.cli.farm_cmd import farm_command
from tinybench.cli.flash_cmd import flash_command
from tinybench.cli.models_cmd import models_command
from tinybench.cli.profile_cmd import profile_command
from tinybench.cli.reference_cmd import reference_command
from tinybench.cli.report_cmd import report_command
from tinybench.cli.run_cmd import run_command
from tinybench.cli.submission_cmd import submission_command
from tinybench.errors import TinybenchError
from tinybench.paths import locate
from tinybench.project import Project


class _Group(click.Group):
    """Turns every TinybenchError into a one-line message and exit code 1, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TinybenchError as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="tinybench")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """tinybench: TinyML benchmarks in the MLPerf Tiny tradition.

    Models, boards and run rules are read from the project's models/, boards/ and
    runrules/ directories; run, build, reference and bench also take the path of your
    own .tflite file as the model. Environment: TINYBENCH_SHARED_DIR (reference data, default
    ../shared), TINYBENCH_MODELS_DIR (your .tflite files, searched first),
    TINYBENCH_CACHE_DIR (downloads, default the user cache directory: ~/.cache/tinybench on Linux).
    """
    ctx.obj = Project(locate())


cli.add_command(models_command)
cli.add_command(boards_command)
cli.add_command(reference_command)
cli.add_command(build_command)
cli.add_command(compile_command)
cli.add_command(doctor_command)
cli.add_command(run_command)
cli.add_command(flash_command)
cli.add_command(report_command)
cli.add_command(compare_command)
cli.add_command(submission_command)
cli.add_command(deps_command)
cli.add_command(bench_command)
cli.add_command(profile_command)
cli.add_command(farm_command)


def main() -> None:
    cli()
