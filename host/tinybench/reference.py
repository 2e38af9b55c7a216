"""The host reference: the TF Lite Micro interpreter (PyPI tflite-micro) on every sample.

Its per-sample raw int8 outputs are the oracle every device run is compared
with, byte for byte. The interpreter reuses the input tensor's memory, so the
input is set again before every invoke.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from tinybench.datasets import Dataset
from tinybench.errors import ManifestError, ReferenceRunError
from tinybench.inputs import random_wire_inputs, wire_to_tensor
from tinybench.manifests.models import InputFormat, Metric, ModelManifest, TensorSpec
from tinybench.scoring import roc_auc, top1, window_mse

REFERENCE_FORMAT = "tinybench-reference"
REFERENCE_FORMAT_VERSION = 1


def interpreter_version() -> str:
    return "tflite-micro " + importlib.metadata.version("tflite-micro")


@dataclass(frozen=True)
class ReferenceSample:
    """One sample as the reference saw it: every inference's raw output and the sample's result."""

    name: str
    label: int | None
    input_sha256: str  # of the wire bytes of the whole sample
    raw_outputs: tuple[bytes, ...]  # one per inference (196 windows for an ad01 clip)
    prediction: int | None  # top-1 models
    score: float | None  # ad01: mean window MSE


@dataclass
class ReferenceSummary:
    metric: Metric
    samples: list[ReferenceSample] = field(default_factory=list)

    @property
    def correct(self) -> int:
        return sum(1 for s in self.samples if s.label is not None and s.prediction == s.label)

    @property
    def labelled(self) -> int:
        return sum(1 for s in self.samples if s.label is not None)

    @property
    def top1(self) -> float | None:
        return self.correct / self.labelled if self.labelled else None

    @property
    def auc(self) -> float | None:
        pairs = [
            (s.label, s.score) for s in self.samples if s.label is not None and s.score is not None
        ]
        return roc_auc([p[0] for p in pairs], [p[1] for p in pairs]) if pairs else None


class ReferenceInterpreter:
    """The tflite-micro interpreter for one verified model file."""

    def __init__(self, manifest: ModelManifest, model_path: Path) -> None:
        # Imported here: loading the interpreter's native module takes a while and only
        # the reference needs it.
        from tflite_micro.python.tflite_micro import runtime

        self._manifest = manifest
        self._interpreter = runtime.Interpreter.from_file(str(model_path))
        self._check_tensor("input", manifest.input, self._interpreter.get_input_details(0))
        self._check_tensor("output", manifest.output, self._interpreter.get_output_details(0))

    def _check_tensor(self, which: str, spec: TensorSpec, details: dict[str, Any]) -> None:
        quant = details["quantization_parameters"]
        actual = (
            tuple(int(d) for d in details["shape"]),
            np.dtype(details["dtype"]).name,
            float(quant["scales"][0]),
            int(quant["zero_points"][0]),
        )
        same = (
            actual[0] == spec.shape
            and actual[1] == spec.dtype
            and np.isclose(actual[2], spec.scale, rtol=1e-6, atol=0.0)
            and actual[3] == spec.zero_point
        )
        if not same:
            raise ManifestError(
                f"{self._manifest.manifest_path}: {which} tensor is shape {list(spec.shape)} "
                f"{spec.dtype} scale {spec.scale} zero point {spec.zero_point}, but the model has "
                f"shape {list(actual[0])} {actual[1]} scale {actual[2]} zero point {actual[3]}"
            )

    def invoke(self, tensor: npt.NDArray[np.int8]) -> npt.NDArray[np.int8]:
        self._interpreter.set_input(tensor, 0)
        self._interpreter.invoke()
        output: npt.NDArray[np.int8] = np.array(self._interpreter.get_output(0), dtype=np.int8)
        return output

    def run_sample(self, name: str, label: int | None, inferences: list[bytes]) -> ReferenceSample:
        manifest = self._manifest
        raws: list[bytes] = []
        scores: list[float] = []
        for wire in inferences:
            out = self.invoke(wire_to_tensor(manifest, wire))
            raws.append(out.tobytes())
            if manifest.input_format is InputFormat.FLOAT32:
                floats = np.frombuffer(wire, dtype="<f4")
                spec = manifest.output
                scores.append(window_mse(out, spec.scale, spec.zero_point, floats))
        digest = hashlib.sha256(b"".join(inferences)).hexdigest()
        if manifest.metric is Metric.AUC:
            score = float(np.mean(np.asarray(scores, dtype=np.float64))) if scores else None
            return ReferenceSample(name, label, digest, tuple(raws), None, score)
        raw = np.frombuffer(raws[0], dtype=np.int8)
        return ReferenceSample(name, label, digest, tuple(raws), top1(raw), None)


Progress = Callable[[int, int], None]


def iterate_dataset(dataset: Dataset) -> Iterator[tuple[str, int | None, list[bytes]]]:
    for sample in dataset.samples:
        yield sample.file_name, sample.label, dataset.inferences(sample)


def iterate_random(
    manifest: ModelManifest, count: int, seed: int
) -> Iterator[tuple[str, int | None, list[bytes]]]:
    for i, wire in enumerate(random_wire_inputs(manifest, count, seed)):
        yield f"random-{seed}-{i}", None, [wire]


def run_reference(
    interpreter: ReferenceInterpreter,
    manifest: ModelManifest,
    samples: Iterable[tuple[str, int | None, list[bytes]]],
    total: int,
    progress: Progress | None = None,
    on_sample: Callable[[ReferenceSample], None] | None = None,
) -> ReferenceSummary:
    summary = ReferenceSummary(metric=manifest.metric)
    for done, (name, label, inferences) in enumerate(samples, start=1):
        summary.samples.append(interpreter.run_sample(name, label, inferences))
        if on_sample is not None:
            on_sample(summary.samples[-1])
        if progress is not None:
            progress(done, total)
    return summary


class ReferenceFeed:
    """The reference computed in a thread while the DUTs run (it is 5x faster than an emulated
    DUT, so it stays ahead): get(name) waits until that sample is done, or the thread ends."""

    def __init__(self, compute: Callable[[Callable[[ReferenceSample], None]], object]) -> None:
        """compute(on_sample) runs the reference, calling on_sample after each sample."""
        self._done: dict[str, ReferenceSample] = {}
        self._finished = False
        self._error: BaseException | None = None
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, args=(compute,), daemon=True)
        self._thread.start()

    def _run(self, compute: Callable[[Callable[[ReferenceSample], None]], object]) -> None:
        try:
            compute(self._add)
        except BaseException as exc:  # handed to whoever waits for a sample, or to join()
            with self._changed:
                self._error = exc
        finally:
            with self._changed:
                self._finished = True
                self._changed.notify_all()

    def _add(self, sample: ReferenceSample) -> None:
        with self._changed:
            self._done[sample.name] = sample
            self._changed.notify_all()

    def get(self, name: str, /) -> ReferenceSample | None:
        with self._changed:
            while name not in self._done and not self._finished:
                self._changed.wait()
            if self._error is not None:
                raise self._error
            return self._done.get(name)

    def join(self) -> None:
        """Waits for the whole reference; raises what it raised."""
        self._thread.join()
        if self._error is not None:
            raise self._error


def summary_lines(manifest: ModelManifest, summary: ReferenceSummary) -> list[str]:
    """The human-readable result: top-1 as `correct/total (percent)`, or clip scores and AUC."""
    lines: list[str] = []
    if manifest.metric is Metric.TOP1:
        if summary.labelled:
            pct = 100.0 * summary.correct / summary.labelled
            lines.append(
                f"{manifest.model_id} top-1: {summary.correct}/{summary.labelled} ({pct:.1f} %)"
            )
        else:
            lines.append(f"{manifest.model_id}: {len(summary.samples)} unlabelled inputs run")
        return lines
    for s in summary.samples:
        label = "" if s.label is None else f" label {s.label}"
        lines.append(f"{s.name}{label}: score {s.score:.4f}")
    auc = summary.auc
    if auc is None:
        lines.append(f"{manifest.model_id} AUC: n/a (needs clips of both labels)")
    else:
        lines.append(f"{manifest.model_id} AUC: {auc:.4f} over {len(summary.samples)} clips")
    return lines


def write_reference(
    path: Path,
    manifest: ModelManifest,
    model_sha256: str,
    source: dict[str, object],
    summary: ReferenceSummary,
) -> None:
    """Writes the reference file atomically (a partial file never carries the final name)."""
    document = {
        "format": REFERENCE_FORMAT,
        "format_version": REFERENCE_FORMAT_VERSION,
        "model": manifest.model_id,
        "model_sha256": model_sha256,
        "interpreter": interpreter_version(),
        "source": source,
        "metric": manifest.metric.value,
        "summary": {
            "samples": len(summary.samples),
            "correct": summary.correct if manifest.metric is Metric.TOP1 else None,
            "top1": summary.top1 if manifest.metric is Metric.TOP1 else None,
            "auc": summary.auc if manifest.metric is Metric.AUC else None,
        },
        "samples": [
            {
                "name": s.name,
                "label": s.label,
                "input_sha256": s.input_sha256,
                "raw_outputs": [r.hex() for r in s.raw_outputs],
                "prediction": s.prediction,
                "score": s.score,
            }
            for s in summary.samples
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    with tmp.open("w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=1)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)


def reference_cache_key(
    model_sha256: str, samples: Iterable[tuple[str, int | None, list[bytes]]]
) -> str:
    """What a reference depends on: the model, the interpreter, the file format and every
    sample's name, label and input bytes (sha256 over all of them)."""
    digest = hashlib.sha256()
    header = f"{model_sha256}\n{interpreter_version()}\n{REFERENCE_FORMAT_VERSION}\n"
    digest.update(header.encode())
    for name, label, inferences in samples:
        inputs = hashlib.sha256(b"".join(inferences)).hexdigest()
        digest.update(f"{name}\t{label}\t{inputs}\n".encode())
    return digest.hexdigest()


def cached_reference(
    path: Path, manifest: ModelManifest, samples: Iterable[tuple[str, int | None, list[bytes]]]
) -> ReferenceSummary | None:
    """The reference stored at path when it is for exactly these samples, else None (a
    missing, unreadable or stale cache file is recomputed, never trusted)."""
    if not path.exists():
        return None
    try:
        document, stored = read_reference(path)
    except ReferenceRunError:
        return None
    wanted = [(name, hashlib.sha256(b"".join(inf)).hexdigest()) for name, _, inf in samples]
    if (
        document.get("model") != manifest.model_id
        or [(s.name, s.input_sha256) for s in stored] != wanted
    ):
        return None
    return ReferenceSummary(metric=manifest.metric, samples=stored)


def read_reference(path: Path) -> tuple[dict[str, Any], list[ReferenceSample]]:
    """Reads a reference file back (for comparing device runs with it)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReferenceRunError(f"{path}: cannot read reference file: {exc}") from exc
    if not isinstance(document, dict) or document.get("format") != REFERENCE_FORMAT:
        raise ReferenceRunError(f"{path}: not a tinybench reference file")
    if document.get("format_version") != REFERENCE_FORMAT_VERSION:
        raise ReferenceRunError(
            f"{path}: reference format version {document.get('format_version')}, "
            f"this tinybench reads {REFERENCE_FORMAT_VERSION}"
        )
    try:
        samples = [
            ReferenceSample(
                name=str(s["name"]),
                label=None if s["label"] is None else int(s["label"]),
                input_sha256=str(s["input_sha256"]),
                raw_outputs=tuple(bytes.fromhex(r) for r in s["raw_outputs"]),
                prediction=None if s["prediction"] is None else int(s["prediction"]),
                score=None if s["score"] is None else float(s["score"]),
            )
            for s in document["samples"]
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise ReferenceRunError(f"{path}: malformed reference sample: {exc!r}") from exc
    return document, samples
