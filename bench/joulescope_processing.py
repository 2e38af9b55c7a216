"""Benchmark of the Joulescope driver's sample processing (GPI0 edges and 1 ms energy bins).

    PYTHONPATH=$PWD/host .venv/bin/python bench/joulescope_processing.py

Feeds SampleBinner 20 s of synthetic 1 MHz samples (float32 power, GPI0 with a 50 µs low pulse
every 0.5 s) in the chunk sizes a poll of the stream buffer reads, and prints the throughput in
Msamples/s next to the JS220's 1 Msample/s and the 0.82 Msamples/s of a per-sample Python loop
(the MLCommons runner's, ENERGY.md). A second pass has a NaN gap in every chunk (the
slow path). A last pass reads 5 s out of the real joulescope StreamBuffer the way
JoulescopeMonitor.poll does (samples_get, copies, then the processing). Prints numbers; asserts
nothing.
"""

from __future__ import annotations

import time

import numpy as np
from joulescope.v1.stream_buffer import StreamBuffer

from tinybench.energy.joulescope import JoulescopeMonitor, SampleBinner

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


class _FilledDevice:
    """Just enough of a JS220 for JoulescopeMonitor.poll: a StreamBuffer already filled."""

    model = "js220"

    def __init__(self, seconds: int) -> None:
        self.stream_buffer = StreamBuffer(seconds + 1, 2_000_000, "js220", SAMPLING_HZ)
        for key, buffer in self.stream_buffer.buffers.items():
            buffer.active = key in ((3, 0), (5, 0))
        for first, power, gpi in synthetic(100_000, seconds, with_gaps=False):
            common = {"sample_id": 2 * first, "sample_rate": 2_000_000, "decimate_factor": 2}
            packed = np.packbits(gpi, bitorder="little")
            self.stream_buffer.insert(
                "s/p/!data", {"field_id": 3, "index": 0, "data": power, **common}
            )
            self.stream_buffer.insert(
                "s/gpi/0/!data", {"field_id": 5, "index": 0, "data": packed, **common}
            )

    def parameter_set(self, name: str, value: object) -> None:
        pass

    def open(self) -> None:
        pass

    def start(self, stop_fn: object = None) -> None:
        pass


def run_through_stream_buffer(seconds: int) -> None:
    device = _FilledDevice(seconds)
    monitor = JoulescopeMonitor(device)  # type: ignore[arg-type]
    monitor.start()
    started = time.perf_counter()
    samples = monitor.poll()
    elapsed = time.perf_counter() - started
    trace = monitor.snapshot()
    print(
        f"through the StreamBuffer (poll)           : {samples / elapsed / 1e6:8.1f} Msamples/s "
        f"({elapsed:.3f} s for {seconds} s of data), {trace.bins} bins, {len(trace.edges)} edges"
    )


def main() -> None:
    print(f"JS220 at full rate: {SAMPLING_HZ / 1e6:.1f} Msamples/s; per-sample Python loop: 0.82")
    for chunk in (10_000, 100_000, 500_000):
        run(chunk, with_gaps=False)
    run(100_000, with_gaps=True)
    run_through_stream_buffer(5)


if __name__ == "__main__":
    main()
