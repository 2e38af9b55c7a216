"""Benchmark of the Joulescope driver's sample processing (GPI0 edges and 1 ms energy bins).

    PYTHONPATH=$PWD/host .venv/bin/python bench/joulescope_processing.py

Feeds SampleBinner 20 s of synthetic 1 MHz samples (float32 power, GPI0 with a 50 µs low pulse
every 0.5 s) in the chunk sizes a poll of the stream buffer reads, and prints the throughput in
Msamples/s next to the JS220's 1 Msample/s and the 0.82 Msamples/s of a per-sample Python loop
(the MLCommons runner's, ENERGY.md). A second pass has a NaN gap in every chunk (the
slow path). Prints numbers; asserts nothing.
"""

from __future__ import annotations

import time

import numpy as np

from tinybench.energy.joulescope import SampleBinner

SAMPLING_HZ = 1_000_000
SECONDS = 20
PER_BIN = 1000  # 1 ms bins


def synthetic(
    chunk: int, seconds: int, with_gaps: bool
) -> list[tuple[int, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(13)
    chunks = []
    for first in range(0, seconds * SAMPLING_HZ, chunk):
        ids = np.arange(first, first + chunk)
        power = (0.033 + 0.001 * rng.standard_normal(chunk)).astype(np.float32)
        gpi = np.where((ids % 500_000) < 50, 0, 1).astype(np.uint8)
        if with_gaps:
            power[chunk // 2 : chunk // 2 + 100] = np.nan
        chunks.append((first, power, gpi))
    return chunks


def run(chunk: int, with_gaps: bool) -> None:
    chunks = synthetic(chunk, SECONDS, with_gaps)
    binner = SampleBinner(SAMPLING_HZ, PER_BIN)
    started = time.perf_counter()
    for first, power, gpi in chunks:
        binner.feed(first, power, gpi)
    elapsed = time.perf_counter() - started
    samples = SECONDS * SAMPLING_HZ
    print(
        f"chunk {chunk:>7} samples{' with a NaN gap each' if with_gaps else '':<22}: "
        f"{samples / elapsed / 1e6:8.1f} Msamples/s ({elapsed:.3f} s for {SECONDS} s of data), "
        f"{binner.bins} bins, {binner.dropped_bins} dropped, {len(binner.edges)} edges"
    )


def main() -> None:
    print(f"JS220 at full rate: {SAMPLING_HZ / 1e6:.1f} Msamples/s; per-sample Python loop: 0.82")
    for chunk in (10_000, 100_000, 500_000):
        run(chunk, with_gaps=False)
    run(100_000, with_gaps=True)


if __name__ == "__main__":
    main()
