"""The raw energy trace of a run, saved beside results.json (energy_trace.npz) so that every
figure can be recomputed, and its sha256 recorded in provenance."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from tinybench.energy.trace import EnergyTrace
from tinybench.errors import TinybenchError
from tinybench.hashing import sha256_file

TRACE_FILE = "energy_trace.npz"


def save_trace(trace: EnergyTrace, path: Path) -> str:
    """Writes the trace (bins in J, edges, counts, source) as a NumPy .npz; returns its sha256."""
    meta = {
        "bin_s": trace.bin_s,
        "dropped_bins": trace.dropped_bins,
        "garbled_bins": trace.garbled_bins,
        "peak_buffer_load": trace.peak_buffer_load,
        "source": trace.source,
        "modelled": trace.modelled,
        "faults": list(trace.faults),
    }
    temporary = path.with_name(path.name + ".partial")
    with temporary.open("wb") as handle:
        np.savez_compressed(
            handle,
            energy_j=trace.energy_j.astype(np.float64),
            edges=np.asarray(trace.edges, dtype=np.int64),
            meta=np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8),
        )
    temporary.replace(path)
    return sha256_file(path)


def load_trace(path: Path) -> EnergyTrace:
    try:
        with np.load(path, allow_pickle=False) as data:
            energy = np.asarray(data["energy_j"], dtype=np.float64)
            edges = tuple(int(e) for e in data["edges"])
            meta = json.loads(bytes(data["meta"]).decode("utf-8"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise TinybenchError(f"{path}: not a tinybench energy trace ({exc})") from exc
    if not isinstance(meta, dict) or not isinstance(meta.get("bin_s"), int | float):
        raise TinybenchError(f"{path}: energy trace without its bin width")
    load = meta.get("peak_buffer_load")
    return EnergyTrace(
        bin_s=float(meta["bin_s"]),
        energy_j=energy,
        edges=edges,
        dropped_bins=int(meta.get("dropped_bins", 0)),
        garbled_bins=int(meta.get("garbled_bins", 0)),
        peak_buffer_load=float(load) if isinstance(load, int | float) else None,
        source=str(meta.get("source", "")),
        modelled=meta.get("modelled") if isinstance(meta.get("modelled"), str) else None,
        faults=tuple(str(f) for f in meta.get("faults", [])),
    )
