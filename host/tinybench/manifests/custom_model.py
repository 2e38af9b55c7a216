"""A user's own .tflite model, resolved into the same ModelManifest the catalogue uses.

    tinybench run path/to/mynet.tflite --dataset DIR

The tensors (shape, dtype, scale, zero point) are read from the .tflite file itself.
How runners feed and score it comes from an optional manifest beside the model
(`mynet.toml` next to `mynet.tflite`, every key optional) and from options, which win:

    title = "My network"
    input_format = "int8"          # int8 (default), uint8-offset128 or float32
    [dataset]
    label_file = "y_labels.csv"    # default; lines `file,classes,label`
    classes = 3                    # default: the output tensor's element count
    [quality]
    metric = "top1"                # the only metric for custom models so far
    target = 0.8                   # default 0: no target

The model's source is the local file, pinned by its sha256 when it is resolved; its id
is the file's stem and must not be a catalogue model's id.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tinybench.errors import ManifestError, ModelStoreError, TinybenchError
from tinybench.hashing import sha256_bytes
from tinybench.manifests.manifest import FieldReader, load_toml, raise_if_problems
from tinybench.manifests.models import (
    DatasetSpec,
    InputFormat,
    Metric,
    ModelManifest,
    ModelSource,
    TensorSpec,
)

MODEL_SUFFIX = ".tflite"
DEFAULT_LABEL_FILE = "y_labels.csv"  # the official layout: `file,classes,label` lines
CUSTOM_METRICS = (Metric.TOP1.value,)
if TYPE_CHECKING:
    from tinybench.compiler.model import Tensor

_MODEL_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")  # what the compiler and build dirs accept
_FILE_SCHEME = "file://"


@dataclass(frozen=True)
class CustomModelOptions:
    """Command-line choices for a custom model; None leaves the manifest's value or default."""

    input_format: str | None = None
    metric: str | None = None
    classes: int | None = None

    @property
    def given(self) -> bool:
        return any(v is not None for v in (self.input_format, self.metric, self.classes))


def is_model_path(reference: str) -> bool:
    """A MODEL argument names a file (rather than a catalogue id) when it looks like one."""
    return reference.endswith(MODEL_SUFFIX) or "/" in reference


def is_custom(model: ModelManifest) -> bool:
    return model.source.url.startswith(_FILE_SCHEME)


def build_key(model: ModelManifest) -> str:
    """Names the model's build directories: two different files with one stem never share."""
    return f"{model.model_id}-{model.source.sha256[:12]}" if is_custom(model) else model.model_id


def local_model_file(model: ModelManifest) -> Path:
    """The custom model's file, refused when it changed since it was resolved."""
    path = Path(model.source.url.removeprefix(_FILE_SCHEME))
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelStoreError(f"{path}: cannot read model file: {exc}") from exc
    if sha256_bytes(data) != model.source.sha256:
        raise ModelStoreError(
            f"{path}: the model file changed since it was resolved "
            f"(sha256 {model.source.sha256[:12]}...); start again"
        )
    return path


def _tensor_spec(which: str, tensor: Tensor, problems: list[str]) -> TensorSpec:
    if tensor.dtype != "INT8":
        problems.append(
            f"{which} tensor '{tensor.name}' is {tensor.dtype}; tinybench runs int8 models "
            "(quantize the model's input and output to int8)"
        )
    if not tensor.scales or tensor.scale <= 0:
        problems.append(f"{which} tensor '{tensor.name}' has no quantization scale")
    return TensorSpec(
        shape=tensor.shape,
        dtype="int8",
        scale=tensor.scale,
        zero_point=tensor.zero_point,
    )


def _read_tensors(path: Path, tflite: bytes) -> tuple[TensorSpec, TensorSpec]:
    # Imported here: the flatbuffer schema loads with tflite-micro, which only models need.
    from tinybench.compiler.model import read_model

    try:
        model = read_model(tflite)
    except TinybenchError as exc:
        raise ManifestError(f"{path}: not a readable TF Lite model: {exc}") from exc
    problems: list[str] = []
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        problems.append(
            f"the model has {len(model.inputs)} inputs and {len(model.outputs)} outputs; "
            "tinybench runs models with one of each"
        )
        raise_if_problems(path, problems)
    spec_in = _tensor_spec("input", model.tensors[model.inputs[0]], problems)
    spec_out = _tensor_spec("output", model.tensors[model.outputs[0]], problems)
    raise_if_problems(path, problems)
    return spec_in, spec_out


@dataclass(frozen=True)
class _Choices:
    title: str
    input_format: str
    metric: str
    classes: int | None
    label_file: str
    target: float


def _read_manifest(path: Path, options: CustomModelOptions) -> _Choices:
    manifest = path.with_suffix(".toml")
    problems: list[str] = []
    top = FieldReader(load_toml(manifest) if manifest.is_file() else {}, "", problems)
    title = top.string("title", default=path.stem)
    input_format = top.string("input_format", default=InputFormat.INT8.value)
    classes: int | None = None
    label_file = DEFAULT_LABEL_FILE
    ds = top.optional_table("dataset")
    if ds is not None:
        classes = ds.integer("classes", minimum=2) if ds.has("classes") else None
        label_file = ds.string("label_file", default=DEFAULT_LABEL_FILE)
        ds.finish()
    quality = top.optional_table("quality")
    metric = Metric.TOP1.value
    target = 0.0
    if quality is not None:
        metric = quality.string("metric", default=metric)
        target = quality.number("target") if quality.has("target") else 0.0
        if not 0 <= target <= 1:
            quality.problem("target", f"is a fraction (0.9 for 90 %), got {target}")
        quality.finish()
    top.finish()
    raise_if_problems(manifest, problems)
    return _Choices(
        title=title,
        input_format=options.input_format or input_format,
        metric=options.metric or metric,
        classes=options.classes if options.classes is not None else classes,
        label_file=label_file,
        target=target,
    )


def load_custom_model(
    path: Path, options: CustomModelOptions, catalogue: Collection[str]
) -> ModelManifest:
    """Resolves a .tflite file (and its optional manifest) into a ModelManifest."""
    if not path.is_file():
        raise ModelStoreError(f"model file {path} does not exist")
    model_id = path.stem
    if not _MODEL_ID.match(model_id):
        raise ManifestError(
            f"{path}: the file name gives the model id {model_id!r}, which must be 1-64 "
            "characters of [A-Za-z0-9_.-]; rename the file"
        )
    if model_id in catalogue:
        raise ManifestError(
            f"{path}: the file name gives the model id {model_id!r}, which is a catalogue "
            "model's id; rename the file so that results cannot be mistaken for it"
        )
    tflite = path.read_bytes()
    spec_in, spec_out = _read_tensors(path, tflite)
    choices = _read_manifest(path, options)
    problems: list[str] = []
    formats = [f.value for f in InputFormat]
    if choices.input_format not in formats:
        problems.append(
            f"input format {choices.input_format!r} must be one of {', '.join(formats)}"
        )
    if choices.metric not in CUSTOM_METRICS:
        problems.append(
            f"metric {choices.metric!r}: custom models are scored with "
            f"{', '.join(CUSTOM_METRICS)} (AUC needs ad01's window layout)"
        )
    classes = choices.classes if choices.classes is not None else spec_out.elements
    if classes != spec_out.elements:
        problems.append(
            f"{classes} classes, but the output tensor {list(spec_out.shape)} has "
            f"{spec_out.elements} elements (one score per class)"
        )
    if classes < 2:
        problems.append(f"top-1 needs at least 2 classes; the output has {classes}")
    raise_if_problems(path, problems)
    input_format = InputFormat(choices.input_format)
    resolved = path.resolve()
    return ModelManifest(
        model_id=model_id,
        title=choices.title,
        source=ModelSource(
            url=_FILE_SCHEME + str(resolved),
            file_name=path.name,
            sha256=sha256_bytes(tflite),
            size_bytes=len(tflite),
        ),
        input=spec_in,
        output=spec_out,
        input_format=input_format,
        dataset=DatasetSpec(
            dataset_id=model_id,
            label_file=choices.label_file,
            classes=classes,
            sample_bytes=spec_in.elements * input_format.element_bytes,
        ),
        metric=Metric(choices.metric),
        quality_target=choices.target,
        manifest_path=path.with_suffix(".toml") if path.with_suffix(".toml").is_file() else path,
    )
