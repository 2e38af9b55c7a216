"""A simulated LPM01A (PowerShield firmware) behind a pty, speaking its serial protocol.

What is real: the pty (a kernel tty that pyserial opens and configures at 3,686,400 baud as it
does the LPM01A's /dev/ttyACM0), pyserial, and the driver under test. What is simulated: the
instrument. It answers each command with `ack <command>` (after the `PowerShield > ` prompt)
and, after `start`, streams what the test tells it to, in virtual time at the configured rate:
samples(count, power_w) produces that many bins (a `DDDD±EE` line each, joules per bin, and a
`TimeStamp` line after every 1000 produced samples), edge() an `event NN ris` line.

Fault injection, each by produced-sample index or command: dropped samples (produced and
counted by the TimeStamp lines, never sent), garbled value lines, NUL bytes before a value, a
command whose ack never comes, a command answered with an error, a `stop` that never completes,
a TX buffer load that rises with time, an extra edge right after `start` (the boot edge),
any raw line (line()). Unverified on the real instrument, so both are offered: the prompt before
acks (prompt=) and an `ack stop` before `Acquisition completed` (ack_stop=).
"""

from __future__ import annotations

import contextlib
import math
import os
import select
import threading
import tty
from collections.abc import Collection

WRITE_TIMEOUT_S = 10.0  # a driver that stopped reading fails the test instead of hanging it
SERVE_POLL_S = 0.05  # how soon the command thread notices close()
GARBAGE = b"3\xff#7-0?"


def encode_value(joules: float) -> str:
    """`DDDD±EE`: DDDD x 10^±EE with four significant digits, as ascii_dec sends."""
    if joules <= 0:
        return "0000+00"
    exponent = math.floor(math.log10(joules)) - 3
    mantissa = round(joules / 10.0**exponent)
    if mantissa >= 10_000:
        mantissa, exponent = mantissa // 10, exponent + 1
    return f"{mantissa:04d}{exponent:+03d}"


class SimulatedLpm01a:
    def __init__(
        self,
        drop_at: Collection[int] = (),
        garble_at: Collection[int] = (),
        nul_at: Collection[int] = (),
        no_ack_for: str | None = None,
        error_for: str | None = None,
        never_completes: bool = False,
        buffer_rise_per_s: float = 0.0,
        boot_edge: bool = False,
        prompt: bool = True,
        ack_stop: bool = False,  # whether `ack stop` precedes `Acquisition completed`: unverified
    ) -> None:
        self._drop_at = frozenset(drop_at)
        self._garble_at = frozenset(garble_at)
        self._nul_at = frozenset(nul_at)
        self._no_ack_for = no_ack_for
        self._error_for = error_for
        self._never_completes = never_completes
        self._buffer_rise_per_s = buffer_rise_per_s
        self._boot_edge = boot_edge
        self._prompt = "PowerShield > " if prompt else ""
        self._ack_stop = ack_stop
        self.commands: list[str] = []  # every command received, in order
        self.freq_hz = 1000
        self.produced = 0  # samples produced since start, dropped ones included
        self.events = 0
        self.acquiring = False
        self._lock = threading.Lock()  # whole lines only: acks never split a value line
        self._closed = False
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.device = os.ttyname(self._slave)
        self._thread = threading.Thread(target=self._serve, name="sim-lpm01a", daemon=True)
        self._thread.start()

    # -- the wire -----------------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        with self._lock:
            view = memoryview(data)
            while view:
                _, writable, _ = select.select([], [self._master], [], WRITE_TIMEOUT_S)
                if not writable:
                    raise TimeoutError("simulated LPM01A: the driver stopped reading")
                written = os.write(self._master, view[:4096])
                view = view[written:]

    def _serve(self) -> None:
        pending = b""
        while not self._closed:
            # close() joins this thread before it closes the fds: a read blocked on a closed
            # fd's number would read from whatever pty the next test opens under that number
            readable, _, _ = select.select([self._master], [], [], SERVE_POLL_S)
            if not readable:
                continue
            try:
                data = os.read(self._master, 4096)
            except OSError:
                return
            if not data:
                return
            pending += data
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                try:
                    self._command(line.decode(errors="replace").strip())
                except (OSError, ValueError):
                    if self._closed:
                        return  # unplugged while answering: the answer is lost
                    raise

    def _command(self, command: str) -> None:
        if not command:
            return
        self.commands.append(command)
        if command == self._no_ack_for:
            return
        if command == self._error_for:
            detail = "Error detail: parameter out of range"
            self._write(f"{self._prompt}error {command}\r\n{detail}\r\n".encode())
            return
        if command.startswith("freq "):
            arg = command.split()[1]
            self.freq_hz = int(arg[:-1]) * 1000 if arg.endswith("k") else int(arg)
        if command == "stop":
            self.acquiring = False
            if self._ack_stop:
                self._write(f"{self._prompt}ack stop\r\n".encode())
            if not self._never_completes:
                self._write(b"Acquisition completed\r\n")
            return
        if command == "start":  # acquiring before the ack: the test may drive it right after
            self.acquiring = True
            self.produced = 0
        self._write(f"{self._prompt}ack {command}\r\n".encode())
        if command == "start" and self._boot_edge:
            self.edge()

    # -- what the test drives -----------------------------------------------------------------

    def samples(self, count: int, power_w: float) -> None:
        """count bins at power_w in virtual time, with the faults that fall among them."""
        assert self.acquiring, "the simulated LPM01A streams only after `start`"
        value = f"{encode_value(power_w / self.freq_hz)}\r\n".encode()
        out = bytearray()
        for _ in range(count):
            index = self.produced
            self.produced += 1
            if index in self._garble_at:
                out += GARBAGE + b"\r\n"
            elif index not in self._drop_at:
                out += (b"\x00" if index in self._nul_at else b"") + value
            if self.produced % self.freq_hz == 0:
                out += self._timestamp()
        self._write(bytes(out))

    def _timestamp(self) -> bytes:
        elapsed_ms = self.produced * 1000 // self.freq_hz
        load = min(99, int(self._buffer_rise_per_s * elapsed_ms / 1000))
        return (
            f"TimeStamp: {elapsed_ms // 1000:03d}s {elapsed_ms % 1000:03d}ms, buff {load:02d}%\r\n"
        ).encode()

    def edge(self) -> None:
        """A falling edge on D7, logged at the current sample."""
        assert self.acquiring, "the simulated LPM01A logs events only after `start`"
        self._write(f"event {self.events:02d} ris\r\n".encode())
        self.events += 1

    def line(self, raw: bytes) -> None:
        """Any line, as a glitch on the wire would deliver it (CRLF added)."""
        self._write(raw + b"\r\n")

    def close(self) -> None:
        self._closed = True
        self._thread.join(timeout=5.0)
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)
