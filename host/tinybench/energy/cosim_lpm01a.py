"""Co-simulation behind the LPM01A's wire format: a Transport that answers like a PowerShield.

Lpm01aCosimTransport takes the LPM01A commands a driver sends (acks echoing each one) and, after
`start`, streams what a CosimMonitor models as the LPM01A's ascii_dec output at `freq 1k` with
`output energy`: one `DDDD±EE` line per bin (joules), `event NN ris` at each timestamp edge and
`TimeStamp: SSSs MMMms, buff 00%` after every 1000 samples. So the real LPM01A driver, not only
the windowing code, runs in CI against a QEMU DUT.

A real LPM01A streams in real time; here a bin exists only once the DUT's markers place it. The
stream therefore runs up to the last edge (those bins are final) and then, once no marker has come
for `quiet_s` of wall time, `settle_s` of modelled bins past it, and waits there for the next
marker. The wait matters: the two edges of a short `infer` (one kws01 inference is 16 ms of virtual
time) arrive a few ms apart, and settle bins streamed at once after the first would already cover
the second's place, making it late. Each span between two edges gets exactly the
model's energy for its counter delta: what was already streamed of it (the settle bins) is
subtracted and the rest spread over its remaining bins. Four significant digits per line would
round each bin by up to 5e-4; the encoder carries each line's rounding error into the next one,
so the sum over any run of lines is off by less than one quantum (1e-7 J at 105 mW in 1 ms
bins: 1e-7 of a 10 s window; measured -4.7e-7 on a 0.33 s qemu-m4 window).
"""

from __future__ import annotations

import math
import threading
import time

import numpy as np

from tinybench.energy.cosim import CosimMonitor
from tinybench.energy.monitor import EnergyMonitorError
from tinybench.errors import TransportError

SAMPLES_PER_TIMESTAMP = 1000
_POLL_S = 0.005


def format_ascii_dec(mantissa: int, exponent: int) -> str:
    """`DDDD±EE`: mantissa x 10**exponent, as the LPM01A prints it (`6409-07` = 640.9e-6)."""
    sign = "-" if exponent < 0 else "+"
    return f"{mantissa:04d}{sign}{abs(exponent):02d}"


def quantize_ascii_dec(value_j: float) -> tuple[int, int]:
    """The nearest `DDDD±EE` to value_j (>= 0): four significant digits, (0, 0) for zero."""
    if value_j <= 0:
        return 0, 0
    exponent = math.floor(math.log10(value_j)) - 3
    mantissa = round(value_j / 10.0**exponent)
    if mantissa >= 10000:  # rounding went up a decade (9999.7 -> 10000)
        exponent += 1
        mantissa = round(value_j / 10.0**exponent)
    elif mantissa < 1000:  # log10 rounded down across a decade boundary
        exponent -= 1
        mantissa = round(value_j / 10.0**exponent)
    if not -99 <= exponent <= 99:
        raise EnergyMonitorError(f"co-simulated LPM01A: {value_j} J per bin cannot be printed")
    return mantissa, exponent


class AsciiDecEncoder:
    """Bins -> ascii_dec lines, carrying each line's rounding error into the next."""

    def __init__(self) -> None:
        self._residual_j = 0.0

    def line(self, value_j: float) -> str:
        target = max(0.0, value_j + self._residual_j)
        mantissa, exponent = quantize_ascii_dec(target)
        self._residual_j = value_j + self._residual_j - mantissa * 10.0**exponent
        return format_ascii_dec(mantissa, exponent)

    def lines(self, value_j: float, count: int) -> list[str]:
        """`count` lines of value_j, the same as `count` calls of line() would carry them.

        Vectorised for a long run at one exponent (a 10 min gap between windows is 600,000
        lines): the k-th line prints round(S_k / q) - round(S_(k-1) / q) quanta q, where S_k is
        the residual plus k x value_j, which is what carrying the rounding error line by line
        does. A run whose mantissas would leave 1000..9999 is done line by line."""
        if count < 16 or value_j <= 0:
            return [self.line(value_j) for _ in range(count)]
        exponent = quantize_ascii_dec(value_j)[1]
        quantum = 10.0**exponent
        totals = np.rint((self._residual_j + value_j * np.arange(1, count + 1)) / quantum)
        mantissas = np.diff(totals, prepend=0.0).astype(np.int64)
        if int(mantissas.min()) < 1000 or int(mantissas.max()) > 9999:
            return [self.line(value_j) for _ in range(count)]
        self._residual_j = self._residual_j + value_j * count - float(totals[-1]) * quantum
        text = {int(m): format_ascii_dec(int(m), exponent) for m in np.unique(mantissas)}
        return [text[m] for m in mantissas.tolist()]


class Lpm01aCosimTransport:
    """A Transport to a simulated LPM01A whose samples come from a CosimMonitor.

    Commands are acknowledged with `ack <command>`; `freq` must match the monitor's bins,
    `format` must be ascii_dec and `output` energy (else `error` and `Error detail: ...`).
    `start` starts the monitor and the stream; `stop` ends it with `ack stop` and
    `Acquisition completed`. What the stream met (a late edge) is in `faults`.
    """

    def __init__(self, monitor: CosimMonitor, settle_s: float = 0.1, quiet_s: float = 0.1) -> None:
        self._monitor = monitor
        self._settle_bins = max(0, math.ceil(settle_s / monitor.bin_s - 1e-9))
        self._quiet_s = quiet_s
        self._last_marker_at = time.monotonic()  # wall time the latest marker was seen
        self._last_event_sample = 0  # samples streamed before the latest event line
        self._freq_hz = round(1.0 / monitor.bin_s)
        self._commands = bytearray()
        self._out = bytearray()
        self._encoder = AsciiDecEncoder()
        self._streaming = False
        self._closed = False
        self._samples = 0  # sample lines streamed
        self._events = 0  # event lines streamed = edges handled
        self._span_streamed_j = 0.0  # energy streamed since the last event line
        self._carried_j = 0.0  # energy of a span that had no bin of its own
        self.faults: list[str] = []
        # A driver may read from its reader thread while it writes commands from another.
        self._lock = threading.Lock()

    @property
    def description(self) -> str:
        return f"co-simulated LPM01A over {self._monitor.description()}"

    def write(self, data: bytes) -> None:
        if self._closed:
            raise TransportError(f"{self.description}: closed")
        with self._lock:
            self._commands += data
            while (end := self._commands.find(b"\n")) >= 0:
                line = bytes(self._commands[:end]).decode("ascii", "replace").strip()
                del self._commands[: end + 1]
                if line:
                    self._command(line)

    def read(self, timeout_s: float) -> bytes:
        if self._closed:
            raise TransportError(f"{self.description}: closed")
        deadline = time.monotonic() + timeout_s
        while True:
            with self._lock:
                if self._streaming:
                    self._pump()
                if self._out or time.monotonic() >= deadline:
                    data = bytes(self._out)
                    self._out.clear()
                    return data
            time.sleep(min(_POLL_S, max(0.0, deadline - time.monotonic())))

    def close(self) -> None:
        self._closed = True

    # --- commands -----------------------------------------------------------------------------

    def _reply(self, *lines: str) -> None:
        for line in lines:
            self._out += line.encode("ascii") + b"\r\n"

    def _command(self, line: str) -> None:
        words = line.split()
        name, argument = words[0], " ".join(words[1:])
        refusal = self._refusal(name, argument)
        if refusal is not None:
            self._reply(f"error {line}", f"Error detail: {refusal}")
            return
        if name == "stop":
            self._reply(f"ack {line}")
            if self._streaming:
                self._pump()
                self._streaming = False
                self._monitor.stop()
            self._reply("Acquisition completed")
            return
        self._reply(f"ack {line}")
        if name == "start" and not self._streaming:
            self._monitor.start()
            self._streaming = True

    def _refusal(self, name: str, argument: str) -> str | None:
        if name == "format" and argument != "ascii_dec":
            return "the co-simulated LPM01A streams ascii_dec only"
        if name == "output" and argument != "energy":
            return "the co-simulated LPM01A streams energy only"
        if name == "freq" and _frequency_hz(argument) != self._freq_hz:
            return f"the co-simulation's bins are {self._freq_hz} Hz"
        if name == "start" and self._streaming:
            return "already acquiring"
        return None

    # --- the stream ---------------------------------------------------------------------------

    def _samples_out(self, count: int, each_j: float) -> None:
        lines = self._encoder.lines(each_j, count)
        self._span_streamed_j += each_j * count
        done = 0
        while done < count:
            take = min(count - done, SAMPLES_PER_TIMESTAMP - self._samples % SAMPLES_PER_TIMESTAMP)
            self._out += ("\r\n".join(lines[done : done + take]) + "\r\n").encode("ascii")
            done += take
            self._samples += take
            if self._samples % SAMPLES_PER_TIMESTAMP == 0:
                seconds, ms = divmod(round(self._samples * self._monitor.bin_s * 1000), 1000)
                self._reply(f"TimeStamp: {seconds:03d}s {ms:03d}ms, buff 00%")

    def _pump(self) -> None:
        markers = self._monitor.poll()
        if len(markers) > self._events:
            self._last_marker_at = time.monotonic()
        for k in range(self._events, len(markers)):
            if k > 0:
                span_j = self._carried_j + self._monitor.energy_for_ticks(
                    markers[k].counter_ticks - markers[k - 1].counter_ticks
                )
                remaining_j = span_j - self._span_streamed_j
                bins = self._monitor.edge_bin(k) - self._samples
                self._carried_j = 0.0
                if bins > 0:
                    self._samples_out(bins, remaining_j / bins)
                elif remaining_j > 0:
                    self._carried_j = remaining_j
                if bins < 0 or remaining_j < 0:
                    self.faults.append(
                        f"edge {k} came {-bins} bin(s) after its place was streamed (within the"
                        " settle bins): its event is late, the energy before it"
                        f" {-min(remaining_j, 0.0):.3g} J high"
                    )
            self._reply(f"event {k:02d} ris")
            self._last_event_sample = self._samples
            self._events += 1
            self._span_streamed_j = 0.0
        if self._events and time.monotonic() - self._last_marker_at >= self._quiet_s:
            # Past where the last event went out (a late one went out after its place).
            last = max(self._monitor.edge_bin(self._events - 1), self._last_event_sample)
            tail = last + self._settle_bins - self._samples
            power_w = self._monitor.model.power_w(self._monitor.instructions_per_s)
            bin_j = power_w * self._monitor.bin_s
            self._samples_out(max(0, tail), bin_j)


def _frequency_hz(text: str) -> int | None:
    """`1k`, `1000`, `5k` -> Hz; None when it is no frequency."""
    scale = 1000 if text.endswith("k") else 1
    digits = text[:-1] if text.endswith("k") else text
    return int(digits) * scale if digits.isdigit() else None
