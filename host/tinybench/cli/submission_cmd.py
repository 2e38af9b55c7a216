"""`tinybench submission`: lay out run directories as an MLPerf Tiny results tree."""

from __future__ import annotations

from pathlib import Path

import click

from tinybench.cli.options import rules_option
from tinybench.errors import ManifestError
from tinybench.manifests.boards import BoardManifest
from tinybench.project import Project
from tinybench.submission import DIVISIONS, plan_submission, write_submission


@click.command("submission")
@click.argument(
    "run_dirs",
    metavar="DIR...",
    nargs=-1,
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
)
@click.option(
    "--out",
    "root",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Submission root (the <division>/<organization> folder of the MLPerf Tiny tree).",
)
@click.option("--system", required=True, help="System description id: names the folders.")
@click.option("--submitter", help="Submitting organization, recorded in systems/<system>.json.")
@click.option(
    "--division",
    type=click.Choice(DIVISIONS),
    default="closed",
    show_default=True,
    help="Recorded in systems/<system>.json.",
)
@rules_option
@click.pass_obj
def submission_command(
    project: Project,
    run_dirs: tuple[Path, ...],
    root: Path,
    system: str,
    submitter: str | None,
    division: str,
    rules_file: Path | None,
) -> None:
    """Copy run directories into ROOT/results/SYSTEM/<kws|vww|ic|ad>/<mode>/ and write
    ROOT/systems/SYSTEM.json.

    Each mode folder gets results.txt (checker lines), log.txt (the DUT transcript) and
    results.json. Refuses runs without results.json, two runs of the same benchmark and
    mode, runs of different boards or engines, and runs the run rules do not allow: another
    rule set or rules file, too few samples (--limit), too few or too short windows.
    """

    def board_lookup(board_id: str) -> BoardManifest | None:
        try:
            return project.board(board_id)
        except ManifestError:
            return None

    rules = project.rules(rules_file) if rules_file else project.rules()
    plan = plan_submission(list(run_dirs), system, submitter, division, board_lookup, rules=rules)
    files = write_submission(plan, root)
    for run in plan.runs:
        click.echo(f"{run.run_dir} -> {files.results_dir / run.relative_dir}")
    click.echo(f"system description: {files.system_json}")
    for note in files.notes:
        click.echo(f"note: {note}", err=True)
