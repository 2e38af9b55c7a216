"""A Joulescope test double: the device interface JoulescopeMonitor uses, in virtual time,
feeding the REAL joulescope.v1.stream_buffer.StreamBuffer with synthetic samples.

Neither joulescope nor pyjoulescope_driver ships a simulator, so the double plays the USB thread:
it calls StreamBuffer.insert with the messages pyjoulescope_driver publishes (sample ids at the
2 MHz device rate with a decimate factor, float32 power, GPI0 as little-endian packed bits), so
the buffer's own sample-id gap handling (NaN power, GPI0 0) is what the driver meets.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from joulescope.v1.stream_buffer import StreamBuffer  # type: ignore[import-untyped]

DEVICE_RATE_HZ = 2_000_000  # both models sample at 2 MHz and decimate
JS220_RATES = (1_000_000, 500_000, 200_000, 100_000, 50_000, 20_000, 10_000, 5_000, 2_000, 1_000)


@dataclass(frozen=True)
class SyntheticSignal:
    """What the double measures: `idle_w` everywhere except `active_w` inside each active span,
    and GPI0 high except for low pulses of `pulse_s` starting at `pulses_s`. Spans are in
    seconds from the first sample; gaps are [first, stop) sample ids the device never sends
    (multiples of 8: GPI0 travels as packed bytes)."""

    idle_w: float
    active_w: float = 0.0
    active_s: tuple[tuple[float, float], ...] = ()
    pulses_s: tuple[float, ...] = ()
    pulse_s: float = 50e-6
    gaps: tuple[tuple[int, int], ...] = field(default=())

    def power(self, ids: npt.NDArray[np.int64], sampling_hz: int) -> npt.NDArray[np.float32]:
        t = ids / sampling_hz
        power = np.full(ids.shape[0], self.idle_w, dtype=np.float64)
        for begin, end in self.active_s:
            power[(t >= begin) & (t < end)] = self.active_w
        return power.astype(np.float32)

    def gpi0(self, ids: npt.NDArray[np.int64], sampling_hz: int) -> npt.NDArray[np.uint8]:
        low = np.zeros(ids.shape[0], dtype=np.bool_)
        for begin in self.pulses_s:
            first = round(begin * sampling_hz)
            stop = round((begin + self.pulse_s) * sampling_hz)
            low |= (ids >= first) & (ids < stop)
        return (~low).astype(np.uint8)


class JoulescopeDouble:
    """Presents model, stream_buffer, parameter_set, open, close, start, stop like a
    joulescope.v1 DeviceJs220/DeviceJs110; advance(seconds) is its USB thread in virtual time
    (pass clock=double.clock, sleep=double.advance to the monitor)."""

    def __init__(
        self,
        signal: SyntheticSignal,
        model: str = "js220",
        serial: str = "004242",
        chunk_samples: int = 20_000,
    ) -> None:
        if chunk_samples % 8:
            raise ValueError("chunks carry GPI0 as packed bytes: a multiple of 8 samples")
        for first, stop in signal.gaps:
            if first % 8 or stop % 8:
                raise ValueError("gap bounds must be multiples of 8 samples")
        self.signal = signal
        self._model = model
        self._serial = serial
        self.chunk_samples = chunk_samples
        self.parameters: dict[str, Any] = {"buffer_duration": 30.0, "sampling_frequency": 1_000_000}
        self.calls: list[str] = []
        self.is_open = False
        self.streaming = False
        self._stream_buffer: StreamBuffer | None = None
        self._stop_fn: Callable[[int, str], None] | None = None
        self._now_s = 0.0
        self._next_id = 0  # output sample id of the next sample to send

    def __str__(self) -> str:
        return f"{self._model.upper()}-{self._serial}"

    @property
    def model(self) -> str:
        return self._model

    @property
    def stream_buffer(self) -> StreamBuffer | None:
        return self._stream_buffer

    @property
    def sampling_hz(self) -> int:
        return int(self.parameters["sampling_frequency"])

    def parameter_set(self, name: str, value: Any) -> None:
        self.calls.append(f"parameter_set {name} {value}")
        if name == "sampling_frequency":
            value = int(value)
            if self._model == "js220" and value not in JS220_RATES:
                raise ValueError(f"invalid sampling frequency {value}")
            if self._stream_buffer is not None:
                self._stream_buffer.output_sampling_frequency = value
        self.parameters[name] = value

    def open(self) -> None:
        self.calls.append("open")
        self.is_open = True
        self._stream_buffer = StreamBuffer(
            float(self.parameters["buffer_duration"]),
            frequency=DEVICE_RATE_HZ,
            device=self._model,
            output_frequency=self.sampling_hz,
        )

    def start(self, stop_fn: Callable[[int, str], None] | None = None) -> None:
        self.calls.append("start")
        assert self._stream_buffer is not None, "start before open"
        self._stream_buffer.reset()
        # Like Device.start for streams it does not subscribe: only power and GPI0 are fed.
        for key, buffer in self._stream_buffer.buffers.items():
            buffer.active = key in ((3, 0), (5, 0))
        self._stop_fn = stop_fn
        self.streaming = True
        self._next_id = round(self._now_s * self.sampling_hz) // 8 * 8

    def stop(self) -> None:
        self.calls.append("stop")
        self._halt()

    def _halt(self) -> None:
        if self.streaming:
            self.streaming = False
            stop_fn, self._stop_fn = self._stop_fn, None
            if stop_fn is not None:
                stop_fn(0, "")

    def close(self) -> None:
        self.calls.append("close")
        self._halt()  # as Device.close stops a stream still running
        self.is_open = False
        self._stream_buffer = None

    def fail(self, message: str) -> None:
        """The device stops by itself, as on a USB error."""
        self.streaming = False
        stop_fn, self._stop_fn = self._stop_fn, None
        if stop_fn is not None:
            stop_fn(1, message)

    def clock(self) -> float:
        return self._now_s

    def advance(self, seconds: float) -> None:
        """Virtual time passes: every sample up to the new time is sent (in whole bytes)."""
        self._now_s += seconds
        if not self.streaming or self._stream_buffer is None:
            return
        target = round(self._now_s * self.sampling_hz) // 8 * 8
        self.send_until(target)

    def stream_in_thread(self, speed: float = 1.0, tick_s: float = 0.002) -> threading.Thread:
        """Like the USB thread of a real device: samples arrive on their own, `speed` times
        faster than real time, until stop() or close(). Returns the started thread."""

        def run() -> None:
            while self.streaming:
                time.sleep(tick_s)
                self.advance(tick_s * speed)

        thread = threading.Thread(target=run, name="joulescope-double", daemon=True)
        thread.start()
        return thread

    def send_until(self, target_id: int) -> None:
        """Send samples [next, target_id) in chunks, leaving out the gaps."""
        assert self._stream_buffer is not None
        while self._next_id < target_id:
            first = self._next_id
            stop = min(target_id, first + self.chunk_samples)
            for gap_first, gap_stop in self.signal.gaps:
                if gap_first <= first < gap_stop:
                    first = stop = min(gap_stop, target_id)
                    break
                if first < gap_first < stop:
                    stop = gap_first
            if stop > first:
                self._insert(first, stop)
            self._next_id = stop

    def _insert(self, first: int, stop: int) -> None:
        assert self._stream_buffer is not None
        fs = self.sampling_hz
        ids = np.arange(first, stop, dtype=np.int64)
        decimate = DEVICE_RATE_HZ // fs
        common = {"sample_id": first * decimate, "sample_rate": DEVICE_RATE_HZ}
        common["decimate_factor"] = decimate
        power = self.signal.power(ids, fs)
        gpi = np.packbits(self.signal.gpi0(ids, fs), bitorder="little")
        self._stream_buffer.insert(
            "s/p/!data", {"field_id": 3, "index": 0, "data": power, **common}
        )
        self._stream_buffer.insert(
            "s/gpi/0/!data", {"field_id": 5, "index": 0, "data": gpi, **common}
        )
