"""Click options that several commands share, defined once so their names and help agree."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from tinybench.build.firmware import ENGINES
from tinybench.manifests.custom_model import CUSTOM_METRICS, CustomModelOptions
from tinybench.manifests.models import InputFormat

F = TypeVar("F", bound=Callable[..., Any])

MODEL_HELP = (
    "MODEL is a catalogue id (kws01, vww01, ic01, ad01) or the path of your own .tflite "
    "file; its input format, metric and classes come from a .toml beside it, or the "
    "--input-format/--metric/--classes options (defaults: int8 input as is, top-1)."
)

model_argument = click.argument("model_id", metavar="MODEL")
board_option = click.option(
    "--board", "board_id", default="qemu-m4", show_default=True, help="Board id."
)
engine_option = click.option(
    "--engine", type=click.Choice(ENGINES), default="native", show_default=True
)
kernels_option = click.option(
    "--kernels",
    metavar="SET",
    help="Kernel set: native has reference (default), dsp (cores with the DSP extension: M4, "
    "M7, M33, M55) and mve (Helium: M55); tflm has cmsis-nn (default) and reference. A set the "
    "engine or the core does not have is an error.",
)
dataset_option = click.option(
    "--dataset",
    "dataset_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Dataset directory in the y_labels.csv layout (default: the shared reference set "
    "of a catalogue model; required for your own model).",
)
limit_option = click.option("--limit", type=click.IntRange(min=1), help="Only the first N samples.")
rules_option = click.option(
    "--rules",
    "rules_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Run rules file instead of runrules/mlperf-tiny.toml (its counts drive the run).",
)


def custom_model_options(command: F) -> F:
    """--input-format, --metric and --classes: how to feed and score a model file."""
    decorators = [
        click.option(
            "--input-format",
            type=click.Choice([f.value for f in InputFormat]),
            help="Your own model: what one sample's bytes are (default int8, sent as is).",
        ),
        click.option(
            "--metric",
            type=click.Choice(CUSTOM_METRICS),
            help="Your own model: the accuracy metric (default top1).",
        ),
        click.option(
            "--classes",
            type=click.IntRange(min=2),
            help="Your own model: classes (default: the output tensor's element count).",
        ),
    ]
    for decorate in reversed(decorators):
        command = decorate(command)
    return command


def model_options(
    input_format: str | None, metric: str | None, classes: int | None
) -> CustomModelOptions:
    return CustomModelOptions(input_format=input_format, metric=metric, classes=classes)
