"""A user's own model and data set, generated: a small int8 classifier and its y_labels.csv."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from native.native_modelgen import (
    INT8,
    INT32,
    ModelBuilder,
    conv_options,
    fc_options,
    softmax_options,
)

INPUT_SHAPE = (1, 8, 8, 1)
INPUT_BYTES = 64


def small_classifier(seed: int, classes: int = 3, with_tanh: bool = False) -> bytes:
    """CONV_2D 3x3 (4 channels, RELU) -> RESHAPE -> FULLY_CONNECTED -> SOFTMAX, int8.

    with_tanh puts a TANH (which the native engine does not support) before the softmax.
    """
    rng = np.random.default_rng(seed)
    mb = ModelBuilder()
    x = mb.activation(INPUT_SHAPE, 0.05, -3, name="input")
    weights = rng.integers(-127, 128, size=(4, 3, 3, 1)).astype(np.int8)
    wt = mb.constant(weights, INT8, [0.01, 0.02, 0.015, 0.03], [0, 0, 0, 0], 0)
    bias = mb.constant(rng.integers(-300, 300, size=4).astype(np.int32), INT32,
                       [0.05 * s for s in (0.01, 0.02, 0.015, 0.03)], [0] * 4, 0)  # fmt: skip
    conv = mb.activation((1, 8, 8, 4), 0.08, -20)
    mb.op("CONV_2D", [x, wt, bias], [conv], "Conv2DOptions", conv_options((1, 1), "SAME", "RELU"))
    flat = mb.activation((1, 256), 0.08, -20)
    shape = mb.constant(np.array([1, 256], dtype=np.int32), INT32)
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    mb.op("RESHAPE", [conv, shape], [flat], "ReshapeOptions", schema.ReshapeOptionsT())
    fc_w = rng.integers(-127, 128, size=(classes, 256)).astype(np.int8)
    fw = mb.constant(fc_w, INT8, [0.0002], [0])
    logits = mb.activation((1, classes), 0.05, 0)
    mb.op("FULLY_CONNECTED", [flat, fw], [logits], "FullyConnectedOptions", fc_options("NONE"))
    if with_tanh:
        squashed = mb.activation((1, classes), 1.0 / 128.0, 0)
        mb.op("TANH", [logits], [squashed])
        logits = squashed
    probs = mb.activation((1, classes), 1.0 / 256.0, -128, name="probs")
    mb.op("SOFTMAX", [logits], [probs], "SoftmaxOptions", softmax_options(1.0))
    return mb.finish([x], [probs])


def write_labelled_set(root: Path, labels: list[int], classes: int = 3, seed: int = 0) -> None:
    """The official y_labels.csv layout: `file,classes,label`, one raw int8 file per sample."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    lines = []
    for index, label in enumerate(labels):
        name = f"sample_{index:04d}_{label}.bin"
        (root / name).write_bytes(rng.integers(-128, 128, INPUT_BYTES).astype(np.int8).tobytes())
        lines.append(f"{name},{classes},{label}")
    (root / "y_labels.csv").write_text("\n".join(lines) + "\n")
