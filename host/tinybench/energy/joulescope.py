"""Joulescope JS110/JS220 power monitor: power and GPI0 through PyPI `joulescope` (its v1 API).

The device streams samples into its `stream_buffer` (a ring of `buffer_s` seconds) from the USB
thread; this driver reads that buffer incrementally by sample id and turns the samples into
energy bins and timestamp edges with numpy, never a Python loop per sample, so that it keeps up
with the JS220's 1 MHz. The processing (SampleBinner, find_edges, bin_sums) takes samples and
gives bins and edges: it is tested without any device.

Missing samples show up two ways: the buffer fills a sample-id gap with NaN power (and GPI0 0),
and the ring overwrites samples that were not read in time. Either way the bins they touch are
dropped (counted in dropped_bins, never summed), and GPI0 keeps its last level across the gap so
that the fill cannot fake an edge.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from tinybench.energy.monitor import EnergyMonitorError
from tinybench.energy.trace import EnergyTrace

Edge = Literal["rising", "falling"]

# At most this much of the buffer is processed at once: bounded memory, and a poll that gets far
# behind still ends.
_MAX_READ_S = 0.5
_NO_DEVICE_HINT = (
    "plug in a Joulescope JS110 or JS220 and check that this user may open it "
    "(on Linux the udev rules that the Joulescope software installs)"
)


class StreamBufferLike(Protocol):
    """The part of joulescope.v1.stream_buffer.StreamBuffer the driver reads."""

    @property
    def sample_id_range(self) -> tuple[int | None, int | None]: ...

    def samples_get(self, start: int, stop: int, fields: Any = None) -> Any: ...

    def __len__(self) -> int: ...  # samples the ring holds


class JoulescopeDevice(Protocol):
    """The part of a joulescope.v1 device (DeviceJs220, DeviceJs110) the driver uses."""

    @property
    def model(self) -> str: ...  # "js220" or "js110"

    @property
    def stream_buffer(self) -> StreamBufferLike | None: ...

    def parameter_set(self, name: str, value: Any) -> None: ...

    def open(self) -> Any: ...

    def close(self) -> Any: ...

    def start(self, stop_fn: Callable[[int, str], None] | None = None) -> None: ...

    def stop(self) -> Any: ...


def samples_per_bin(bin_s: float, sampling_hz: int) -> int:
    """Samples in one bin; a bin must hold a whole number of samples."""
    exact = bin_s * sampling_hz
    count = round(exact)
    if count < 1 or abs(count - exact) > 1e-6 * exact:
        raise EnergyMonitorError(
            f"a {bin_s} s bin at {sampling_hz} Hz is {exact:g} samples: choose a bin that holds "
            "a whole number of samples"
        )
    return count


def find_edges(levels: npt.NDArray[np.bool_], previous: bool, edge: Edge) -> npt.NDArray[np.intp]:
    """Indices into `levels` of the samples where the wanted edge happens.

    A rising edge is at the first high sample after a low one; `previous` is the level before
    levels[0] (the last sample of the previous chunk), so an edge on a chunk boundary is found
    once: in the chunk whose first sample it is.
    """
    step = np.diff(levels.astype(np.int8), prepend=np.int8(previous))
    return np.flatnonzero(step == (1 if edge == "rising" else -1))


def hold_over_gaps(
    gpi: npt.NDArray[np.uint8], valid: npt.NDArray[np.bool_], previous: bool
) -> npt.NDArray[np.bool_]:
    """GPI0 levels with every invalid sample holding the last valid level (or `previous`)."""
    levels: npt.NDArray[np.bool_] = np.not_equal(gpi, 0)
    if valid.all():
        return levels
    positions = np.where(valid, np.arange(levels.shape[0]), -1)
    last_valid = np.maximum.accumulate(positions)
    held = np.where(last_valid >= 0, levels[np.maximum(last_valid, 0)], previous)
    return np.asarray(held, dtype=np.bool_)


def bin_sums(power_w: npt.NDArray[Any], per_bin: int) -> npt.NDArray[np.float64]:
    """Sum of power over each whole bin of `per_bin` samples (len(power_w) a multiple of it);
    a bin with a NaN sample sums to NaN."""
    if power_w.shape[0] == 0:
        return np.zeros(0, dtype=np.float64)
    starts = np.arange(0, power_w.shape[0], per_bin)
    return np.asarray(np.add.reduceat(power_w, starts, dtype=np.float64), dtype=np.float64)


class SampleBinner:
    """Turns consecutive chunks of samples into energy bins and edge positions.

    Bins are aligned to the first valid sample (samples before it, NaN while the device starts,
    are discarded uncounted). A bin with a missing sample is dropped: not in the bins, counted,
    and the bins after it shift, so that an edge's bin index counts delivered bins only (an edge
    in a dropped bin gets the index of the next delivered bin).
    """

    def __init__(self, sampling_hz: int, per_bin: int, edge: Edge = "rising") -> None:
        self.sampling_hz = sampling_hz
        self.per_bin = per_bin
        self.edge: Edge = edge
        self._next_id: int | None = None  # sample id the next chunk must start at
        self._started = False  # a valid sample was seen: bins run from it
        self._level = True  # GPI0 before the next sample (idle high: the pulse is low)
        self._pending = np.zeros(0, dtype=np.float32)  # samples of the bin being filled
        self._pending_valid = True
        self._bins: list[npt.NDArray[np.float64]] = []
        self._delivered = 0
        self._dropped = 0
        self._dropped_ranges: list[tuple[int, int]] = []  # [first, stop) absolute bins dropped
        self._absolute_bins = 0  # bins completed, delivered or not
        self._edges: list[int] = []
        self._edge_sample_ids: list[int] = []
        self._in_gap = False  # the sample before the next chunk was missing
        self._gaps = 0
        self._missing_samples = 0
        self._overruns = 0
        self._overrun_samples = 0
        self._edges_after_gaps = 0

    @property
    def faults(self) -> tuple[str, ...]:
        """What was lost, one line per kind (the dropped bins are counted apart)."""
        lines = []
        if self._gaps:
            lines.append(f"{self._gaps} sample-id gaps: {self._missing_samples} samples missing")
        if self._overruns:
            lines.append(
                f"the stream buffer overwrote unread samples {self._overruns} times: "
                f"{self._overrun_samples} samples lost (poll more often or raise buffer_s)"
            )
        if self._edges_after_gaps:
            lines.append(
                f"{self._edges_after_gaps} timestamp edges fell in a gap and were placed at the "
                "first sample after it"
            )
        return tuple(lines)

    @property
    def edges(self) -> tuple[int, ...]:
        return tuple(self._edges)

    @property
    def edge_sample_ids(self) -> tuple[int, ...]:
        return tuple(self._edge_sample_ids)

    @property
    def dropped_bins(self) -> int:
        return self._dropped

    @property
    def bins(self) -> int:
        return self._delivered

    @property
    def next_sample_id(self) -> int | None:
        return self._next_id

    def energy_j(self) -> npt.NDArray[np.float64]:
        if not self._bins:
            return np.zeros(0, dtype=np.float64)
        joined = np.concatenate(self._bins)
        self._bins = [joined]
        return joined

    def skip(self, count: int) -> None:
        """`count` samples from the next expected id were lost (the ring overwrote them)."""
        if count <= 0 or self._next_id is None:
            return
        if not self._started:  # nothing valid yet: the acquisition has not begun
            self._next_id += count
            return
        if not self._in_gap:
            self._overruns += 1
        self._overrun_samples += count
        self._in_gap = True
        filled = self._pending.shape[0] + count
        whole = filled // self.per_bin
        self._drop(whole)
        self._pending = np.zeros(filled % self.per_bin, dtype=np.float32)
        self._pending_valid = self._pending.shape[0] == 0
        self._next_id += count

    def feed(self, first_id: int, power_w: npt.NDArray[Any], gpi: npt.NDArray[Any]) -> None:
        """Process samples [first_id, first_id + len(power_w)): power in W (NaN where the buffer
        has no sample), GPI0 as 0/1."""
        power = np.asarray(power_w)
        gpi_levels = np.asarray(gpi, dtype=np.uint8)
        if power.shape[0] != gpi_levels.shape[0]:
            raise ValueError("power and GPI0 chunks differ in length")
        if self._next_id is not None and first_id != self._next_id:
            self.skip(first_id - self._next_id)
        self._next_id = first_id + power.shape[0]
        valid = ~np.isnan(power)
        if not self._started:
            first_valid = np.flatnonzero(valid)
            if first_valid.shape[0] == 0:
                return
            start = int(first_valid[0])
            power, gpi_levels, valid = power[start:], gpi_levels[start:], valid[start:]
            first_id += start
            self._started = True
            self._level = bool(gpi_levels[0])
        if power.shape[0] == 0:
            return
        levels = hold_over_gaps(gpi_levels, valid, self._level)
        edges_at = find_edges(levels, self._level, self.edge)
        self._level = bool(levels[-1])
        invalid = ~valid
        missing = int(np.count_nonzero(invalid))
        if missing or self._in_gap:
            before_invalid = np.concatenate(([self._in_gap], invalid[:-1]))
            self._gaps += int(np.count_nonzero(invalid & ~before_invalid))
            self._missing_samples += missing
            self._edges_after_gaps += int(np.count_nonzero(before_invalid[edges_at]))
        self._in_gap = bool(invalid[-1])
        # The absolute bin of each edge: bins completed so far plus the edge's offset in the
        # pending + new samples.
        offset = self._pending.shape[0]
        edge_bins = self._absolute_bins + (offset + edges_at) // self.per_bin
        self._add_samples(power)
        for sample_index, absolute in zip(edges_at.tolist(), edge_bins.tolist(), strict=True):
            self._edges.append(absolute - self._dropped_before(absolute))
            self._edge_sample_ids.append(first_id + sample_index)

    def _add_samples(self, power: npt.NDArray[Any]) -> None:
        per_bin = self.per_bin
        need = (per_bin - self._pending.shape[0]) % per_bin
        if self._pending.shape[0] and power.shape[0] < need:
            self._pending = np.concatenate((self._pending, power.astype(np.float32)))
            self._pending_valid = self._pending_valid and not np.isnan(power).any()
            return
        if self._pending.shape[0]:
            head = power[:need]
            first = np.concatenate((self._pending, head.astype(np.float32)))
            total = float(np.sum(first, dtype=np.float64))
            if self._pending_valid and not np.isnan(total):
                self._deliver(np.array([total], dtype=np.float64))
            else:
                self._drop(1)
            power = power[need:]
        whole = power.shape[0] // per_bin
        sums = bin_sums(power[: whole * per_bin], per_bin)
        if sums.shape[0]:
            bad = np.isnan(sums)
            if not bad.any():
                self._deliver(sums)
            else:
                # Runs of good and bad bins, in order, so the drop positions stay exact.
                change = np.flatnonzero(np.diff(bad.astype(np.int8))) + 1
                for run in np.split(np.arange(sums.shape[0]), change):
                    if bad[run[0]]:
                        self._drop(run.shape[0])
                    else:
                        self._deliver(sums[run])
        rest = power[whole * per_bin :]
        self._pending = rest.astype(np.float32)
        self._pending_valid = not np.isnan(rest).any()

    def _deliver(self, sums: npt.NDArray[np.float64]) -> None:
        self._bins.append(sums / self.sampling_hz)
        self._delivered += sums.shape[0]
        self._absolute_bins += sums.shape[0]

    def _drop(self, count: int) -> None:
        if count <= 0:
            return
        first = self._absolute_bins
        if self._dropped_ranges and self._dropped_ranges[-1][1] == first:
            self._dropped_ranges[-1] = (self._dropped_ranges[-1][0], first + count)
        else:
            self._dropped_ranges.append((first, first + count))
        self._dropped += count
        self._absolute_bins += count

    def _dropped_before(self, absolute: int) -> int:
        return sum(
            min(stop, absolute) - first for first, stop in self._dropped_ranges if first < absolute
        )


def _find_one_device() -> JoulescopeDevice:
    try:
        import joulescope  # type: ignore[import-untyped]  # no type information shipped
    except ImportError as exc:  # a broken install: the dependency is in pyproject.toml
        raise EnergyMonitorError(f"the joulescope package cannot be imported ({exc})") from exc
    try:
        device: JoulescopeDevice = joulescope.scan_require_one(config="auto")
    except RuntimeError as exc:
        if "multiple" in str(exc):
            raise EnergyMonitorError(
                "more than one Joulescope is connected: unplug the others"
            ) from exc
        raise EnergyMonitorError(f"no Joulescope found: {_NO_DEVICE_HINT}") from exc
    return device


class JoulescopeMonitor:
    """EnergyMonitor for a Joulescope JS220 (up to 1 MHz) or JS110 (up to 2 MHz).

    Wiring: the DUT's supply through the Joulescope's current path, the DUT's timestamp pin to
    GPI0 (with the IO voltage set for it). `edge` is the GPI0 edge taken as the timestamp:
    "rising" (the end of the DUT's low pulse, as the MLCommons runner does) or "falling".
    `device` is a joulescope.v1 device (or anything with that interface); None means the one
    `joulescope.scan_require_one()` finds at start(). `clock` and `sleep` are injectable so that a
    test double can drive the monitor in virtual time.
    """

    def __init__(
        self,
        device: JoulescopeDevice | None = None,
        bin_s: float = 1e-3,
        sampling_hz: int = 1_000_000,
        edge: Edge = "rising",
        *,
        buffer_s: float = 15.0,
        poll_s: float = 0.01,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if edge not in ("rising", "falling"):
            raise EnergyMonitorError(f"edge must be 'rising' or 'falling', not {edge!r}")
        self._per_bin = samples_per_bin(bin_s, sampling_hz)
        self._device = device
        self._owns_device = device is None
        self._sampling_hz = sampling_hz
        self._bin_s = self._per_bin / sampling_hz
        self._edge: Edge = edge
        self._buffer_s = buffer_s
        self._poll_s = poll_s
        self._clock = clock
        self._sleep = sleep
        self._binner = SampleBinner(sampling_hz, self._per_bin, edge)
        self._open = False
        self._streaming = False
        self._stopped_by_device: str | None = None
        self._peak_load: float | None = None  # % of the ring unread at a poll, at most

    @property
    def model(self) -> str:
        return self._device.model.lower() if self._device is not None else "js220"

    def description(self) -> str:
        name = str(self._device) if self._device is not None else "Joulescope (first found)"
        return (
            f"{name}: {self._sampling_hz} Hz, {self._bin_s * 1e3:g} ms bins, "
            f"GPI0 {self._edge} edges"
        )

    def start(self) -> None:
        if self._device is None:
            self._device = _find_one_device()
        device = self._device
        if self.model == "js220" and self._sampling_hz > 1_000_000:
            raise EnergyMonitorError(
                f"the JS220 samples at up to 1 MHz, not {self._sampling_hz} Hz"
            )
        try:
            device.parameter_set("buffer_duration", self._buffer_s)
            device.open()
            self._open = True
            device.parameter_set("sampling_frequency", self._sampling_hz)
            if self.model == "js110":
                # The JS110 carries GPI0 in the current LSB only when told to (the JS220 streams
                # GPI0 on its own and has no such parameter).
                device.parameter_set("current_lsb", "gpi0")
            device.start(stop_fn=self._on_device_stop)
        except (ValueError, KeyError) as exc:
            raise EnergyMonitorError(f"the Joulescope {device} rejected a setting: {exc}") from exc
        except (RuntimeError, OSError) as exc:
            raise EnergyMonitorError(
                f"the Joulescope {device} could not be opened or started ({exc}): {_NO_DEVICE_HINT}"
            ) from exc
        self._streaming = True

    def _on_device_stop(self, status: int, message: str) -> None:
        # Called from the USB thread; a nonzero status means the device stopped by itself.
        if status != 0 and self._streaming:
            self._stopped_by_device = f"status {status}: {message}"

    def poll(self) -> int:
        """Process what the stream buffer gained since the last poll; returns samples read."""
        if self._device is None or not self._open:
            return 0
        buffer = self._device.stream_buffer
        if buffer is None:
            return 0
        first, end = buffer.sample_id_range
        if first is None or end is None or end <= first:
            return 0
        cursor = self._binner.next_sample_id
        if cursor is None:
            cursor = first
        if cursor < first:
            self._binner.skip(first - cursor)
            cursor = first
        # How far behind the reader is, as the LPM01A reports its TX buffer load.
        load = 100.0 * (end - cursor) / max(len(buffer), 1)
        self._peak_load = load if self._peak_load is None else max(self._peak_load, load)
        read = 0
        step = max(int(_MAX_READ_S * self._sampling_hz), 1)
        while cursor < end:
            stop = min(end, cursor + step)
            got = buffer.samples_get(cursor, stop, fields=["power", "current_lsb"])
            span = got["time"]["sample_id_range"]["value"]
            signals = got["signals"]
            # Copies: the buffer is a ring that the USB thread keeps writing.
            power = np.array(signals["power"]["value"], dtype=np.float32)
            gpi = np.array(signals["current_lsb"]["value"], dtype=np.uint8)
            # Samples the ring dropped while they were copied may hold newer data: lost too.
            first_after, _ = buffer.sample_id_range
            if first_after is not None and first_after > int(span[0]):
                power[: min(first_after - int(span[0]), power.shape[0])] = np.nan
            self._binner.feed(int(span[0]), power, gpi)
            read += power.shape[0]
            if int(span[1]) <= cursor:
                break
            cursor = int(span[1])
        return read

    def _trace(self) -> EnergyTrace:
        binner = self._binner
        return EnergyTrace(
            bin_s=self._bin_s,
            energy_j=binner.energy_j().copy(),
            edges=binner.edges,
            dropped_bins=binner.dropped_bins,
            peak_buffer_load=self._peak_load,
            source=f"joulescope-{self.model}",
            faults=binner.faults,
        )

    def snapshot(self) -> EnergyTrace:
        self.poll()
        return self._trace()

    def wait_edges(self, count: int, timeout_s: float, settle_s: float = 0.05) -> EnergyTrace:
        deadline = self._clock() + timeout_s
        settle_bins = int(np.ceil(settle_s / self._bin_s))
        while True:
            self.poll()
            edges = self._binner.edges
            last = edges[count - 1] if 0 < count <= len(edges) else 0
            if len(edges) >= count and self._binner.bins - last >= settle_bins:
                return self._trace()
            if self._stopped_by_device is not None:
                raise EnergyMonitorError(
                    f"the Joulescope stopped streaming ({self._stopped_by_device}) after "
                    f"{len(edges)} of {count} timestamp edges"
                )
            if self._clock() >= deadline:
                raise EnergyMonitorError(
                    f"{len(edges)} of {count} timestamp edges on the Joulescope's GPI0 within "
                    f"{timeout_s:g} s: check the DUT's timestamp pin is wired to GPI0 "
                    "(and ground), and the Joulescope's IO voltage"
                )
            self._sleep(self._poll_s)

    def stop(self) -> EnergyTrace:
        if self._device is not None and self._streaming:
            self._streaming = False
            try:
                self._device.stop()
            except (RuntimeError, OSError) as exc:
                raise EnergyMonitorError(f"the Joulescope did not stop: {exc}") from exc
            self.poll()  # what arrived before the stop is still in the buffer until close()
        return self._trace()

    def close(self) -> None:
        device = self._device
        if self._owns_device:
            self._device = None  # the next start() scans again
        if device is not None and self._open:
            self._open = False
            self._streaming = False
            try:
                device.close()
            except (RuntimeError, OSError) as exc:
                raise EnergyMonitorError(f"the Joulescope did not close: {exc}") from exc
