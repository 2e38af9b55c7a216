"""Datasets in the official layouts, written by code (no reference data in the repository)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinybench.manifests.models import DatasetSpec


def write_dataset(
    root: Path, spec: DatasetSpec, labels: list[int], seed: int = 0, prefix: str = "s"
) -> list[bytes]:
    """Writes a dataset in the official layout; returns each sample's bytes."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []
    contents: list[bytes] = []
    for i, label in enumerate(labels):
        name = f"{prefix}_{i:06d}_{label}.bin"
        if spec.window_bytes is not None:
            data = rng.uniform(-20.0, 20.0, spec.sample_bytes // 4).astype("<f4").tobytes()
            lines.append(f"{name},{spec.classes},{label},{spec.window_bytes},{spec.window_step}")
        else:
            data = (
                rng.integers(0, 256, spec.sample_bytes, dtype=np.int16).astype(np.uint8).tobytes()
            )
            lines.append(f"{name},{spec.classes},{label}")
        (root / name).write_bytes(data)
        contents.append(data)
    (root / spec.label_file).write_text("\n".join(lines) + "\n")
    return contents
