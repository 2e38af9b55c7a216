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
SUPPLY_V = 1.8
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


def stream_messages(
    signal: SyntheticSignal, first: int, stop: int, sampling_hz: int, every_field: bool = False
) -> list[tuple[str, dict[str, Any]]]:
    """The data messages a JS220 publishes for output samples [first, stop): (topic, value) as
    pyjoulescope_driver hands them to Device._on_stream. Power and GPI0 only, unless every_field
    (current, voltage, current range and GPI1 too, as the real device streams them)."""
    ids = np.arange(first, stop, dtype=np.int64)
    decimate = DEVICE_RATE_HZ // sampling_hz
    common: dict[str, Any] = {
        "sample_id": first * decimate,
        "sample_rate": DEVICE_RATE_HZ,
        "decimate_factor": decimate,
    }
    power = signal.power(ids, sampling_hz)
    gpi0 = np.packbits(signal.gpi0(ids, sampling_hz), bitorder="little")
    messages = [
        ("s/p/!data", {"field_id": 3, "index": 0, "data": power, **common}),
        ("s/gpi/0/!data", {"field_id": 5, "index": 0, "data": gpi0, **common}),
    ]
    if every_field:
        volts = np.full(ids.shape[0], SUPPLY_V, dtype=np.float32)
        messages += [
            ("s/i/!data", {"field_id": 1, "index": 0, "data": power / volts, **common}),
            ("s/v/!data", {"field_id": 2, "index": 0, "data": volts, **common}),
            (
                "s/i/range/!data",
                {"field_id": 4, "index": 0, "data": np.zeros(ids.shape[0], np.uint8), **common},
            ),
            (
                "s/gpi/1/!data",
                {
                    "field_id": 5,
                    "index": 1,
                    "data": np.packbits(np.ones(ids.shape[0], np.uint8)),
                    **common,
                },
            ),
        ]
    return messages


class _VirtualFeed:
    """Virtual time and the order samples are sent in, gaps left out; _deliver sends them."""

    def __init__(self, signal: SyntheticSignal, chunk_samples: int) -> None:
        if chunk_samples % 8:
            raise ValueError("chunks carry GPI0 as packed bytes: a multiple of 8 samples")
        for first, stop in signal.gaps:
            if first % 8 or stop % 8:
                raise ValueError("gap bounds must be multiples of 8 samples")
        self.signal = signal
        self.chunk_samples = chunk_samples
        self._now_s = 0.0
        self._next_id = 0  # output sample id of the next sample to send

    @property
    def sampling_hz(self) -> int:
        raise NotImplementedError

    @property
    def streaming(self) -> bool:
        raise NotImplementedError

    def _deliver(self, first: int, stop: int) -> None:
        raise NotImplementedError

    def _restart_at_now(self) -> None:
        self._next_id = round(self._now_s * self.sampling_hz) // 8 * 8

    def clock(self) -> float:
        return self._now_s

    def advance(self, seconds: float) -> None:
        """Virtual time passes: every sample up to the new time is sent (in whole bytes)."""
        self._now_s += seconds
        if self.streaming:
            self.send_until(round(self._now_s * self.sampling_hz) // 8 * 8)

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
                self._deliver(first, stop)
            self._next_id = stop


class JoulescopeDouble(_VirtualFeed):
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
        super().__init__(signal, chunk_samples)
        self._model = model
        self._serial = serial
        self.parameters: dict[str, Any] = {"buffer_duration": 30.0, "sampling_frequency": 1_000_000}
        self.calls: list[str] = []
        self.is_open = False
        self._streaming = False
        self._stream_buffer: StreamBuffer | None = None
        self._stop_fn: Callable[[int, str], None] | None = None

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

    @property
    def streaming(self) -> bool:
        return self._streaming

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
        self._streaming = True
        self._restart_at_now()

    def stop(self) -> None:
        self.calls.append("stop")
        self._halt()

    def _halt(self) -> None:
        if self._streaming:
            self._streaming = False
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
        self._streaming = False
        stop_fn, self._stop_fn = self._stop_fn, None
        if stop_fn is not None:
            stop_fn(1, message)

    def _deliver(self, first: int, stop: int) -> None:
        buffer = self._stream_buffer
        if buffer is None:
            return
        for topic, value in stream_messages(self.signal, first, stop, self.sampling_hz):
            buffer.insert(topic, value)


class FakeJsdrv(_VirtualFeed):
    """Stands in for pyjoulescope_driver.Driver under the REAL joulescope.v1 DeviceJs220: records
    what the device publishes and subscribes, and delivers the stream messages of all six fields
    to its subscribers, so Device.open/start/stop and its stream buffer run as on hardware."""

    def __init__(self, signal: SyntheticSignal, chunk_samples: int = 20_000) -> None:
        super().__init__(signal, chunk_samples)
        self.published: list[tuple[str, Any]] = []
        self.subscribers: dict[str, list[Callable[[str, Any], Any]]] = {}
        self.opened: list[str] = []
        self.closed: list[str] = []
        self.device_path = ""

    @property
    def sampling_hz(self) -> int:
        rates = [value for topic, value in self.published if topic.endswith("/h/fs")]
        return int(rates[-1]) if rates else DEVICE_RATE_HZ

    @property
    def streaming(self) -> bool:
        return bool(self.subscribers.get(f"{self.device_path}/s/p/!data"))

    def open(self, path: str, mode: Any = None, timeout: Any = None) -> int:
        self.opened.append(path)
        self.device_path = path
        return 0

    def close(self, path: str, timeout: Any = None) -> int:
        self.closed.append(path)
        return 0

    def publish(self, topic: str, value: Any, timeout: Any = None) -> int:
        self.published.append((topic, value))
        if topic.endswith("/s/p/ctrl") and value == 1:
            self._restart_at_now()
        return 0

    def query(self, topic: str, timeout: Any = None) -> int:
        return 0

    def subscribe(
        self, topic: str, flags: Any, fn: Callable[[str, Any], Any], timeout: Any = None
    ) -> int:
        self.subscribers.setdefault(topic, []).append(fn)
        return 0

    def unsubscribe(self, topic: str, fn: Callable[[str, Any], Any], timeout: Any = None) -> int:
        if fn in self.subscribers.get(topic, []):
            self.subscribers[topic].remove(fn)
        return 0

    def _deliver(self, first: int, stop: int) -> None:
        messages = stream_messages(self.signal, first, stop, self.sampling_hz, every_field=True)
        for topic, value in messages:
            full = f"{self.device_path}/{topic}"
            for fn in list(self.subscribers.get(full, [])):
                fn(full, value)
