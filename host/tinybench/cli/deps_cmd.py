"""`tinybench deps`: the pinned upstream sources of the tflm engine, in a cache outside the repo."""

from __future__ import annotations

from pathlib import Path

import click

from tinybench.deps import (
    FETCH_COMMAND,
    IMPORT_COMMAND,
    CacheState,
    DepsCache,
    DepsError,
    Outcome,
    open_cache,
    pin_tree,
)
from tinybench.project import Project


def _cache(project: Project) -> DepsCache:
    return open_cache(project.locations)


def _size(nbytes: int) -> str:
    return f"{nbytes / 1e6:.1f} MB" if nbytes >= 100_000 else f"{nbytes / 1e3:.1f} kB"


def _echo_outcomes(outcomes: list[Outcome]) -> None:
    for outcome in outcomes:
        patched = " (patched)" if outcome.patched else ""
        origin = f" from {outcome.origin}" if outcome.origin else ""
        click.echo(
            f"{outcome.name:<13} {outcome.commit[:12]}  {outcome.action}{patched}{origin}\n"
            f"{'':<13} -> {outcome.directory}"
        )


@click.group("deps")
def deps_command() -> None:
    """Pinned upstream sources (TF Lite Micro, CMSIS-NN, flatbuffers, gemmlowp, ruy).

    The pins (commit, archive URL, kept paths, sha256 of every kept file) are in the repo's
    deps.toml; the trees go to <cache_dir>/deps/<name>/<commit>/ and are verified file by file.
    """


@deps_command.command("fetch")
@click.argument("names", nargs=-1)
@click.pass_obj
def fetch_command(project: Project, names: tuple[str, ...]) -> None:
    """Download the pinned archives, verify them, fill the cache.

    NAMES limits the download to some dependencies (default: all). Already verified trees
    are not downloaded again. Without network, use `tinybench deps import DIR`.
    """
    cache = _cache(project)
    outcomes = cache.fetch(names or None, progress=lambda m: click.echo(m, err=True))
    _echo_outcomes(outcomes)


@deps_command.command("import")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.pass_obj
def import_command(project: Project, directory: Path) -> None:
    """Verify local copies in DIRECTORY and cache them (offline).

    DIRECTORY is one repository tree, or a folder of them (named as GitHub's zips extract,
    e.g. tflite-micro-<commit>/, or by dependency name). Each tree is identified by matching
    the pinned file hashes; flatbuffers gets TFLM's patch (applied with `git apply`) if it does
    not have it yet.
    """
    _echo_outcomes(_cache(project).import_tree(directory))


@deps_command.command("status")
@click.option("--quick", is_flag=True, help="Trust the markers; do not hash the files again.")
@click.option("--check", is_flag=True, help="Exit with status 1 unless everything is verified.")
@click.pass_obj
def status_command(project: Project, quick: bool, check: bool) -> None:
    """What is cached and verified, and where."""
    cache = _cache(project)
    click.echo(f"pins:  {cache.manifest.path}")
    click.echo(f"cache: {cache.cache_root / 'deps'}")
    statuses = cache.status(deep=not quick)
    for item in statuses:
        dep = item.dependency
        tag = f" ({dep.tag})" if dep.tag else ""
        click.echo(
            f"{dep.name:<13} {dep.commit[:12]}{tag:<12} {item.state.value:<10} "
            f"{dep.files:>4} files {_size(dep.size_bytes):>8}  {item.directory}"
        )
        if item.state is CacheState.CHANGED:
            click.echo(f"{'':<13} {item.detail}")
    if not all(item.verified for item in statuses):
        click.echo(
            f"fill the cache with `{FETCH_COMMAND}` (needs github.com) or `{IMPORT_COMMAND}` "
            "(local copies)"
        )
        if check:
            raise DepsError("some pinned dependencies are not cached and verified")


@deps_command.command("pin")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "-p",
    "--path",
    "patterns",
    multiple=True,
    required=True,
    help="A glob of kept paths (repeat; `!` excludes, the last match wins).",
)
@click.option("--name", default="NAME", show_default=True, help="Dependency name for [listing].")
def pin_command(directory: Path, patterns: tuple[str, ...], name: str) -> None:
    """Print the pins of a tree for deps.toml (maintainers)."""
    click.echo(pin_tree(directory, patterns).toml(name), nl=False)
