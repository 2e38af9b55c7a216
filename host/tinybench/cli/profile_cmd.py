"""`tinybench profile`: where one inference's time goes, op by op, for one or more engines."""

from __future__ import annotations

from pathlib import Path

import click

from tinybench.cli.options import board_option, model_argument
from tinybench.engine_labels import resolve_config
from tinybench.errors import TinybenchError
from tinybench.profile import profile_document, run_profile, table_lines, write_profile
from tinybench.project import Project


@click.command("profile")
@model_argument
@board_option
@click.option("--engine", "engines", multiple=True, metavar="ENGINE",
              help="Repeatable: native, tflm (with --kernels or the engine's default set), or a "
              "label as `bench` names it: native-reference, native-dsp, native-mve, "
              "tflm-cmsis-nn, tflm-reference  [default: native and tflm-cmsis-nn]")  # fmt: skip
@click.option(
    "--kernels",
    metavar="SET",
    help="Kernel set of each bare --engine native or tflm (default: the engine's); a label "
    "such as tflm-cmsis-nn keeps its own.",
)
@click.option("--input", "input_file",
              type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="One input in the model's wire format (default: seeded random).")  # fmt: skip
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random input.")
@click.option("--port", "serial_port", metavar="PORT",
              help="A physical board's port: flash the image first; one --engine.")  # fmt: skip
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False),
              default=Path("runs/profile"), show_default=True)  # fmt: skip
@click.pass_obj
def profile_command(project: Project, model_id: str, board_id: str, engines: tuple[str, ...],
                    kernels: str | None, input_file: Path | None, seed: int,
                    serial_port: str | None, out_dir: Path) -> None:  # fmt: skip
    """Per-op table of one inference on the DUT (the `opprofile` extension): op, output
    shape, MACs (computed on the host: CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED; other ops
    count 0), counter ticks as instructions (QEMU, exact), cycles (a DWT counter) or ticks,
    per MAC and share of the sum. The per-op sum is compared with the whole invoke's count
    and with a plain `infer 1 0` in the same session. Two or more engines: tables side by
    side with the first one's count over each other's per op. Writes profile.json and
    profile.txt to --out."""
    # --kernels belongs to the bare engine names: `--engine native --kernels dsp --engine
    # tflm-cmsis-nn` profiles native-dsp against tflm-cmsis-nn.
    configs = [
        resolve_config(e, None if "-" in e else kernels)
        for e in engines or ("native", "tflm-cmsis-nn")
    ]
    if len({c[0] for c in configs}) != len(configs):
        raise TinybenchError(f"--engine names a configuration twice: {[c[0] for c in configs]}")
    wire = input_file.read_bytes() if input_file is not None else None
    tables = run_profile(project, model_id, board_id, configs, wire, seed, serial_port)
    lines = table_lines(tables)
    for line in lines:
        click.echo(line)
    model = project.resolve_model(model_id).model_id
    write_profile(out_dir, profile_document(model, board_id, tables), lines)
    click.echo(f"written to {out_dir / 'profile.json'} and {out_dir / 'profile.txt'}")
