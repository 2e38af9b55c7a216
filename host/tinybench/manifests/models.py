"""Model manifests: where a model comes from, its tensors, how runners feed it, how it is scored."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from tinybench.manifests.manifest import (
    FieldReader,
    check_file_stem,
    load_all,
    load_toml,
    manifest_path,
    raise_if_problems,
)

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class InputFormat(Enum):
    """What the standard runners send for one sample, and how the device turns it into int8."""

    INT8 = "int8"  # already quantized: copied as is
    UINT8_OFFSET = "uint8-offset128"  # tensor = value - 128
    FLOAT32 = "float32"  # quantized on the device: round(x / scale) + zero point, clamped

    @property
    def element_bytes(self) -> int:
        return 4 if self is InputFormat.FLOAT32 else 1


class Metric(Enum):
    TOP1 = "top1"
    AUC = "auc"


class ResultKind(Enum):
    """What the device reports per inference (`m-results-[...]`)."""

    SCORES = "scores"  # the dequantized output tensor
    MSE = "mse"  # one value: mse(dequantized output, float32 input), for autoencoders


@dataclass(frozen=True)
class TensorSpec:
    shape: tuple[int, ...]
    dtype: str
    scale: float
    zero_point: int

    @property
    def elements(self) -> int:
        return math.prod(self.shape)


@dataclass(frozen=True)
class ModelSource:
    url: str
    file_name: str
    sha256: str
    size_bytes: int


@dataclass(frozen=True)
class DatasetSpec:
    """The layout of a model's accuracy set, as in the official y_labels.csv files."""

    dataset_id: str
    label_file: str
    classes: int
    sample_bytes: int
    window_bytes: int | None = None  # ad01: a clip is scored as windows ...
    window_step: int | None = None  # ... moved in steps of this many bytes

    @property
    def windows_per_sample(self) -> int:
        if self.window_bytes is None or self.window_step is None:
            return 1
        return (self.sample_bytes - self.window_bytes) // self.window_step + 1


@dataclass(frozen=True)
class ModelManifest:
    model_id: str
    title: str
    source: ModelSource
    input: TensorSpec
    output: TensorSpec
    input_format: InputFormat
    dataset: DatasetSpec
    metric: Metric
    quality_target: float
    manifest_path: Path

    @property
    def result_kind(self) -> ResultKind:
        """An AUC-scored model is an autoencoder scored by reconstruction error; others score."""
        return ResultKind.MSE if self.metric is Metric.AUC else ResultKind.SCORES

    @property
    def wire_bytes(self) -> int:
        """Bytes the runner sends per inference (one window for ad01)."""
        return self.input.elements * self.input_format.element_bytes


def _tensor(reader: FieldReader) -> TensorSpec:
    spec = TensorSpec(
        shape=reader.int_list("shape", minimum=1),
        dtype=reader.choice("dtype", ("int8",)),
        scale=reader.number("scale", positive=True),
        zero_point=reader.integer("zero_point"),
    )
    if not -128 <= spec.zero_point <= 127:
        reader.problem("zero_point", f"must be within int8 range, got {spec.zero_point}")
    reader.finish()
    return spec


def parse_model_manifest(path: Path) -> ModelManifest:
    problems: list[str] = []
    top = FieldReader(load_toml(path), "", problems)
    model_id = top.string("id")
    check_file_stem(path, top, model_id)
    title = top.string("title")

    src = top.table("source")
    source = ModelSource(
        url=src.string("url"),
        file_name=src.string("file"),
        sha256=src.string("sha256"),
        size_bytes=src.integer("bytes", minimum=1),
    )
    if source.sha256 and not _SHA256.match(source.sha256):
        src.problem("sha256", "must be 64 lowercase hex digits")
    if source.url and not source.url.startswith(("https://", "http://")):
        src.problem("url", f"must be an http(s) URL, got {source.url!r}")
    src.finish()

    input_spec = _tensor(top.table("input"))
    output_spec = _tensor(top.table("output"))

    fmt_name = top.choice("input_format", [f.value for f in InputFormat])
    input_format = InputFormat(fmt_name) if fmt_name in {f.value for f in InputFormat} else None

    ds = top.table("dataset")
    window = ds.optional_table("window")
    dataset = DatasetSpec(
        dataset_id=ds.string("id"),
        label_file=ds.string("label_file", default="y_labels.csv"),
        classes=ds.integer("classes", minimum=2),
        sample_bytes=ds.integer("sample_bytes", minimum=1),
        window_bytes=window.integer("bytes", minimum=1) if window else None,
        window_step=window.integer("step", minimum=1) if window else None,
    )
    if window is not None:
        if dataset.window_bytes and dataset.window_bytes > dataset.sample_bytes:
            window.problem("bytes", "is larger than dataset.sample_bytes")
        window.finish()
    ds.finish()

    quality = top.table("quality")
    metric_name = quality.choice("metric", [m.value for m in Metric])
    metric = Metric(metric_name) if metric_name in {m.value for m in Metric} else None
    target = quality.number("target", positive=True)
    if target > 1:
        quality.problem("target", f"is a fraction (0.9 for 90 %), got {target}")
    quality.finish()
    top.finish()

    if input_format is not None and input_spec.shape:
        expected = input_spec.elements * input_format.element_bytes
        per_inference = dataset.window_bytes or dataset.sample_bytes
        if dataset.sample_bytes and per_inference != expected:
            problems.append(
                f"dataset: one inference reads {per_inference} bytes but the input tensor "
                f"{list(input_spec.shape)} in format {input_format.value} needs {expected}"
            )
    if metric is Metric.TOP1 and output_spec.shape and dataset.classes != output_spec.elements:
        problems.append(
            f"dataset.classes is {dataset.classes} but the output tensor has "
            f"{output_spec.elements} elements"
        )

    raise_if_problems(path, problems)
    assert input_format is not None and metric is not None  # guaranteed when no problems
    return ModelManifest(
        model_id=model_id,
        title=title,
        source=source,
        input=input_spec,
        output=output_spec,
        input_format=input_format,
        dataset=dataset,
        metric=metric,
        quality_target=target,
        manifest_path=path,
    )


def load_model_manifests(directory: Path) -> dict[str, ModelManifest]:
    return load_all(directory, "model", parse_model_manifest)


def load_model_manifest(directory: Path, model_id: str) -> ModelManifest:
    return parse_model_manifest(manifest_path(directory, "model", model_id))
