"""`tinybench bench`: native (per kernel set) vs TF Lite Micro (CMSIS-NN, reference) on the
emulated cores."""

from __future__ import annotations

from pathlib import Path

import click

from tinybench.engine_labels import known_labels
from tinybench.enginebench import ENGINE_CONFIGS, run_bench, table, write_bench
from tinybench.manifests.boards import BoardKind
from tinybench.manifests.custom_model import is_model_path
from tinybench.project import Project

ALL_MODELS = ("kws01", "vww01", "ic01", "ad01")


def _split(value: str, allowed: tuple[str, ...], what: str, paths: bool = False) -> list[str]:
    items = [v for v in value.split(",") if v]
    unknown = [v for v in items if v not in allowed and not (paths and is_model_path(v))]
    if unknown:
        raise click.BadParameter(
            f"unknown {what} {', '.join(unknown)} (known: {', '.join(allowed)})"
        )
    return items


@click.command("bench")
@click.option("--models", default=",".join(ALL_MODELS), show_default=True,
              help="Comma-separated catalogue ids or paths of your own .tflite files.")  # fmt: skip
@click.option("--boards", help="Comma-separated emulated board ids  [default: every emulated "
              "board in boards/ sized for the standard models; qemu-nrf51's 16 KB is not, but "
              "may be named]")  # fmt: skip
@click.option("--engines", default=",".join(c[0] for c in ENGINE_CONFIGS), show_default=True,
              help="Comma-separated engine labels: native (its default kernel set, reference), "
              "native-reference, native-dsp, native-mve, tflm-cmsis-nn, tflm-reference. "
              "native-dsp runs only on the DSP cores (M4, M7, M33, M55), native-mve only on "
              "the M55.")  # fmt: skip
@click.option("--inputs", type=click.IntRange(min=1), default=3, show_default=True,
              help="Seeded random inputs per model.")  # fmt: skip
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False),
              default=Path("runs/bench"), show_default=True)  # fmt: skip
@click.pass_obj
def bench_command(project: Project, models: str, boards: str | None, engines: str, inputs: int,
                  out_dir: Path) -> None:  # fmt: skip
    """Instructions per inference (exact, QEMU icount), per MAC, arena, flash and RAM for each
    model x engine label (with its kernel set) x emulated core, and the ratio to tflm with
    CMSIS-NN; writes bench.json (with each image's flash/RAM breakdown and the stack's
    high-water mark) and bench.txt (adding the weights, engine code and stack columns).
    `tinybench report DIR` on that directory plots it."""
    emulated = tuple(
        sorted(b.board_id for b in project.boards().values() if b.kind is BoardKind.EMULATED)
    )
    # A board whose RAM budget sizes the db buffer to one model cannot hold the standard set.
    standard = [b for b in emulated if project.board(b).budget.db_buffer == "largest"]
    rows = run_bench(
        project, _split(models, ALL_MODELS, "model", paths=True),
        _split(boards or ",".join(standard), emulated, "board"),
        _split(engines, known_labels(), "engine"), inputs,
        progress=lambda text: click.echo(f"measuring {text}", err=True),
    )  # fmt: skip
    for line in table(rows):
        click.echo(line)
    write_bench(out_dir, rows)
    click.echo(f"written to {out_dir / 'bench.json'} and {out_dir / 'bench.txt'}")
