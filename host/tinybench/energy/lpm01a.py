"""The ST LPM01A (PowerShield firmware) over its serial port at 3,686,400 baud.

Wire facts (../shared/ENERGY.md): commands end CRLF; each is acknowledged by `ack <the command
with its arguments>`, a failure by `error ...` then `Error detail: <text>`; lines may carry the
prompt `PowerShield > `. After `start` (ascii_dec, output energy) the stream is one `DDDD±EE`
value per bin in joules, a `TimeStamp: SSSs MMMms, buff NN%` line every 1000 samples, and
`event NN ris` on each D7 falling edge; `stop` ends on `Acquisition completed`.

What this driver does that the MLCommons runner does not: every ack is matched by its echo and
awaited with a timeout (a lost ack is an error, never a hang); a garbled value is a NaN bin,
counted, never summed; NUL bytes are stripped and counted; a TimeStamp that is further on than
the samples received counts the missing ones as dropped, placed at that TimeStamp (within one
second of where they were lost), so that windows.py charges them to the window holding them.

One reader thread owns the port's input from start() to close(); it parses the stream as it
arrives and hands ack and error lines to the command in flight through a queue.
"""

from __future__ import annotations

import contextlib
import math
import queue
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import serial

from tinybench.dut.transport.base import Transport
from tinybench.dut.transport.serial_link import SerialFactory, SerialTransport, open_port
from tinybench.energy.monitor import EnergyMonitorError
from tinybench.energy.trace import EnergyTrace
from tinybench.errors import TransportError

BAUD = 3_686_400
PROMPT = "PowerShield > "
MAX_ASCII_HZ = 5000  # ascii_dec keeps up with unlimited acquisition up to 5 kHz at 3,686,400
READ_S = 0.05  # one read of the reader thread; also how soon it notices close()
BUFFER_WARN = 50.0  # a TX buffer load (%) worth a fault line: at 100 % samples are dropped
ERROR_DETAIL_S = 0.5  # how long an `error` line waits for its `Error detail:` line

_VALUE = re.compile(r"^(\d+)([+-]\d+)$")
_TIMESTAMP = re.compile(r"^TimeStamp:\s*(\d+)s\s*(\d+)ms,\s*buff\s*(\d+)%$")
_EVENT = re.compile(r"^event\s+(\d+)\s+ris\b")
# A line that fails to parse is a mangled value (a NaN bin) unless it has this many letters:
# then it was text (a TimeStamp or event line, a message), and it is a fault line, not a bin.
TEXT_LETTERS = 3


def _freq_arg(freq_hz: int) -> str:
    return f"{freq_hz // 1000}k" if freq_hz % 1000 == 0 else str(freq_hz)


def configure_commands(voltage_mv: int, freq_hz: int) -> list[str]:
    """The MLCommons runner's sequence up to and including `start`."""
    volts = f"{voltage_mv / 1000:.1f}V "
    return [
        "htc",
        'lcd 1 "MLPerf Tiny"',
        'lcd 2 "     monitor    "',
        "pwr off",
        "acqtime inf",
        "trigdelay 0",
        "trigsrc sw",
        "eventsrc d7 fal",
        "output energy",
        "format ascii_dec",
        f"freq {_freq_arg(freq_hz)}",
        f"volt {voltage_mv}m",
        f'lcd 2 "{volts:>16}"',
        "pwr on nostatus",
        "start",
    ]


@dataclass
class _Stream:
    """What the reader thread has parsed; guarded by Lpm01a._changed."""

    values: list[float] = field(default_factory=list)
    edges: list[int] = field(default_factory=list)
    dropped_at: list[tuple[int, int]] = field(default_factory=list)
    buffer_load_at: list[tuple[int, float]] = field(default_factory=list)
    dropped: int = 0
    garbled: int = 0
    nul_bytes: int = 0
    peak_buffer_load: float | None = None
    faults: list[str] = field(default_factory=list)
    acquiring: bool = False
    completed: bool = False
    failure: str | None = None  # the port failed: no more data will come


class Lpm01a:
    def __init__(
        self,
        transport_or_url: Transport | str,
        voltage_mv: int = 1800,
        freq_hz: int = 1000,
        ack_timeout_s: float = 2.0,
        stop_timeout_s: float = 5.0,
        serial_factory: SerialFactory = serial.serial_for_url,
    ) -> None:
        if not 0 < freq_hz <= MAX_ASCII_HZ:
            raise EnergyMonitorError(
                f"LPM01A: freq {freq_hz} Hz; ascii_dec streams without loss only up to "
                f"{MAX_ASCII_HZ} Hz at {BAUD:,} baud"
            )
        if not 1800 <= voltage_mv <= 3300:
            raise EnergyMonitorError(f"LPM01A: supply {voltage_mv} mV is outside 1800..3300 mV")
        self._voltage_mv = voltage_mv
        self._freq_hz = freq_hz
        self._bin_s = 1.0 / freq_hz
        self._ack_timeout_s = ack_timeout_s
        self._stop_timeout_s = stop_timeout_s
        self._transport = (
            _open(transport_or_url, serial_factory)
            if isinstance(transport_or_url, str)
            else transport_or_url
        )
        self._replies: queue.Queue[str] = queue.Queue()
        self._changed = threading.Condition()
        self._stream = _Stream()
        self._closing = threading.Event()
        self._reader: threading.Thread | None = None
        self._stopped: EnergyTrace | None = None
        self._closed = False

    def description(self) -> str:
        return (
            f"LPM01A on {self._transport.description} ({self._voltage_mv} mV, {self._freq_hz} Hz)"
        )

    # -- commands ---------------------------------------------------------------------------

    def _send(self, command: str) -> None:
        try:
            self._transport.write(command.encode() + b"\r\n")
        except TransportError as exc:
            raise EnergyMonitorError(f"LPM01A: cannot send `{command}`: {exc}") from exc

    def _reply(self, timeout_s: float, deadline: float, waiting_for: str) -> str:
        """The next ack, error or completion line, or an error once deadline has passed."""
        try:
            return self._replies.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            failure = self._stream.failure
            raise EnergyMonitorError(
                f"LPM01A: no {waiting_for} within {timeout_s:g} s"
                + (f" (the port failed: {failure})" if failure else "")
                + f" on {self._transport.description}; check the port is the LPM01A's and "
                "that its PowerShield firmware is >= 1.0.6"
            ) from None

    def _error(self, line: str, command: str) -> EnergyMonitorError:
        detail = ""
        with contextlib.suppress(EnergyMonitorError):
            following = self._reply(ERROR_DETAIL_S, time.monotonic() + ERROR_DETAIL_S, "detail")
            detail = following if following.startswith("Error detail") else ""
        return EnergyMonitorError(
            f"LPM01A refused `{command}`: {line}" + (f" ({detail})" if detail else "")
        )

    def command(self, command: str) -> None:
        """Sends one command and waits for its ack, which must echo it exactly."""
        self._send(command)
        deadline = time.monotonic() + self._ack_timeout_s
        expected = f"ack {command}"
        while True:
            line = self._reply(self._ack_timeout_s, deadline, f"`{expected}`")
            if line == expected:
                return
            if line.startswith("error"):
                raise self._error(line, command)
            if line.startswith("ack"):
                raise EnergyMonitorError(
                    f"LPM01A: `{command}` was answered `{line}`, not `{expected}`"
                )
            # an `Error detail:` left over, or `Acquisition completed`: not this command's

    # -- the reader thread ------------------------------------------------------------------

    def _read_loop(self) -> None:
        pending = bytearray()
        while not self._closing.is_set():
            try:
                data = self._transport.read(READ_S)
            except TransportError as exc:
                with self._changed:
                    self._stream.failure = str(exc)
                    self._changed.notify_all()
                return
            if not data:
                continue
            pending += data
            if b"\n" not in data:
                continue
            *lines, rest = bytes(pending).split(b"\n")
            pending = bytearray(rest)
            with self._changed:
                for raw in lines:
                    self._parse(raw)
                self._changed.notify_all()

    def _parse(self, raw: bytes) -> None:
        stream = self._stream
        nuls = raw.count(0)
        if nuls:
            stream.nul_bytes += nuls
            raw = raw.replace(b"\x00", b"")
        text = raw.decode("ascii", errors="replace").strip()
        while text.startswith(PROMPT.strip()):
            text = text[len(PROMPT.strip()) :].strip()
        if not text:
            if nuls and stream.acquiring:  # a line of NULs only: a bin that cannot be read
                stream.values.append(math.nan)
                stream.garbled += 1
            return
        if text.startswith(("ack", "error", "Error detail")):
            if text == "ack start":
                stream.acquiring = True
            self._replies.put(text)
            return
        if text.startswith("Acquisition completed"):
            stream.acquiring = False
            stream.completed = True
            self._replies.put(text)
            return
        if not stream.acquiring:
            return  # a banner or the echo of a command: nothing to measure
        if match := _VALUE.match(text):
            stream.values.append(int(match.group(1)) * 10.0 ** int(match.group(2)))
        elif match := _TIMESTAMP.match(text):
            self._timestamp(int(match.group(1)) * 1000 + int(match.group(2)), int(match.group(3)))
        elif _EVENT.match(text):
            stream.edges.append(len(stream.values))
        elif sum(char.isalpha() for char in text) >= TEXT_LETTERS:
            shown = raw.decode("ascii", errors="backslashreplace").strip()
            stream.faults.append(f"unreadable line after bin {len(stream.values)}: {shown!r}")
        else:
            stream.values.append(math.nan)
            stream.garbled += 1

    def _timestamp(self, elapsed_ms: int, buffer_load: int) -> None:
        stream = self._stream
        load = float(buffer_load)
        stream.buffer_load_at.append((len(stream.values), load))
        if stream.peak_buffer_load is None or load > stream.peak_buffer_load:
            stream.peak_buffer_load = load
        produced = elapsed_ms * self._freq_hz // 1000
        missing = produced - len(stream.values) - stream.dropped
        if missing > 0:
            stream.dropped_at.append((len(stream.values), missing))
            stream.dropped += missing

    # -- the EnergyMonitor interface --------------------------------------------------------

    def start(self) -> None:
        if self._reader is not None:
            raise EnergyMonitorError("LPM01A: started twice")
        self._reader = threading.Thread(target=self._read_loop, name="lpm01a-reader", daemon=True)
        self._reader.start()
        for command in configure_commands(self._voltage_mv, self._freq_hz):
            self.command(command)

    def _trace(self) -> EnergyTrace:
        stream = self._stream
        faults = list(stream.faults)
        if stream.nul_bytes:
            faults.append(f"{stream.nul_bytes} NUL byte(s) stripped from the stream")
        if stream.garbled:
            faults.append(f"{stream.garbled} unreadable value line(s), kept as NaN bins")
        if stream.peak_buffer_load is not None and stream.peak_buffer_load >= BUFFER_WARN:
            faults.append(
                f"the monitor's TX buffer reached {stream.peak_buffer_load:g}%: the host is "
                "not reading fast enough, samples will be dropped at 100%"
            )
        if stream.dropped:
            faults.append(
                f"{stream.dropped} sample(s) dropped by the monitor, in "
                f"{len(stream.dropped_at)} gap(s) between TimeStamp lines"
            )
        return EnergyTrace(
            bin_s=self._bin_s,
            energy_j=np.array(stream.values, dtype=np.float64),
            edges=tuple(stream.edges),
            dropped_bins=stream.dropped,
            garbled_bins=stream.garbled,
            peak_buffer_load=stream.peak_buffer_load,
            source="lpm01a",
            faults=tuple(faults),
            dropped_at=tuple(stream.dropped_at),
            buffer_load_at=tuple(stream.buffer_load_at),
        )

    def snapshot(self) -> EnergyTrace:
        with self._changed:
            return self._trace()

    def wait_edges(self, count: int, timeout_s: float, settle_s: float = 0.05) -> EnergyTrace:
        settle_bins = math.ceil(settle_s / self._bin_s - 1e-9)
        deadline = time.monotonic() + timeout_s
        stream = self._stream

        def ready() -> bool:
            if len(stream.edges) < count:
                return False
            since = stream.edges[count - 1] if count else 0  # no edge awaited: from the start
            return len(stream.values) - since >= settle_bins

        with self._changed:
            while not ready():
                left = deadline - time.monotonic()
                if left <= 0 or stream.failure is not None or stream.completed:
                    if stream.failure is not None:
                        why = f"the port failed: {stream.failure}. Check the LPM01A's USB cable"
                    elif stream.completed:
                        why = "the acquisition ended (`Acquisition completed`)"
                    else:
                        why = (
                            f"no more within {timeout_s:g} s. Check the DUT's timestamp pin is "
                            "wired to the LPM01A's D7 (through the level shifter)"
                        )
                    raise EnergyMonitorError(
                        f"LPM01A: {len(stream.edges)} timestamp edge(s) of the {count} awaited "
                        f"and {len(stream.values)} bins; {why}"
                    )
                self._changed.wait(min(left, 0.5))
            return self._trace()

    def stop(self) -> EnergyTrace:
        """`pwr off`, `stop` (until `Acquisition completed`), `pwr off`, `hrc`; the trace."""
        if self._stopped is not None:
            return self._stopped
        if self._reader is None:
            raise EnergyMonitorError("LPM01A: stop() before start()")
        self.command("pwr off")
        self._send("stop")
        deadline = time.monotonic() + self._stop_timeout_s
        while True:
            line = self._reply(
                self._stop_timeout_s, deadline, "`Acquisition completed` after `stop`"
            )
            if line.startswith("Acquisition completed"):
                break
            if line.startswith("error"):
                raise self._error(line, "stop")
            # `ack stop` may precede it (unverified either way)
        self.command("pwr off")
        self.command("hrc")
        self._stopped = self.snapshot()
        return self._stopped

    def __enter__(self) -> Lpm01a:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Releases the port. After a failure mid-acquisition (a lost ack, a timeout) it first
        sends the closing commands without waiting for them, so that the DUT's supply does not
        stay on behind an error."""
        if self._closed:
            return
        self._closed = True
        if self._reader is not None and self._stopped is None:
            for command in ("pwr off", "stop", "hrc"):
                with contextlib.suppress(EnergyMonitorError):
                    self._send(command)
        self._closing.set()
        if self._reader is not None:
            self._reader.join(timeout=2.0)
        self._transport.close()


def _open(url: str, factory: SerialFactory) -> Transport:
    try:
        port: Any = open_port(url, BAUD, factory=factory)
    except (serial.SerialException, OSError, ValueError) as exc:
        raise EnergyMonitorError(
            f"cannot open the LPM01A at {url} at {BAUD:,} baud: {exc}. The LPM01A speaks only "
            "3,686,400 baud; a serial driver that refuses non-standard rates cannot reach it "
            "(on Linux the ST VCP accepts it through termios2). Check the port name and that "
            "no other program holds it"
        ) from exc
    return SerialTransport(port, f"{url} at {BAUD:,} baud")
