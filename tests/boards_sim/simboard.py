"""A simulated USB board: the host-port firmware behind a pty, as a board behind its USB VCP.

What is real: the firmware (the protocol code every board runs, built with --board host),
the pty (a kernel tty device that pyserial opens, configures and reads exactly as it does a
/dev/ttyACM0), and pyserial's whole Serial class.

What is simulated, because a pty has no modem lines and no baud rate:
- USB identity: `SimulatedBus.list_ports` reports each board's VID:PID, serial number and
  pty path, in place of serial.tools.list_ports.
- DTR/RTS and the baud rate: `SimulatedBus.factory` makes a pyserial Serial subclass that,
  whenever pyserial applies DTR, RTS or the port settings to the device, also tells the
  board (its "line state"). A board with `reset_on="dtr"` resets on the DTR-asserted edge,
  like an Arduino's auto-reset capacitor; `reset_on="open"` resets on every open, like a board
  whose USB bridge pulses reset when the port opens.
- A reset kills the firmware process and starts a fresh one after `boot_s`; the board is
  deaf while booting (bytes sent then are lost, as on a booting MCU) and then prints its banner.
- A baud mismatch: when the host's rate differs from the board's `baud`, every byte in both
  directions turns into 0x00/0x80/0xF8/0xFF noise, as a UART sampling at the wrong rate
  sees runs of start and stop bits. The firmware never receives a valid command then.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import threading
import time
import tty
from pathlib import Path
from typing import Any

import serial

from tinybench.dut.discovery import PortInfo

NOISE = (0x00, 0x80, 0xF8, 0xFF)


def garble(data: bytes) -> bytes:
    return bytes(NOISE[b & 3] for b in data)


class SimulatedUsbBoard:
    def __init__(
        self,
        image: Path,
        vid: int = 0x0483,
        pid: int = 0x374B,
        serial_number: str = "SIM0001",
        baud: int = 115200,
        reset_on: str | None = None,  # None, "dtr" or "open"
        boot_s: float = 0.05,
        description: str = "STM32 STLink - ST-Link VCP Data Interface",
    ) -> None:
        self._image = image
        self.vid, self.pid, self.serial_number = vid, pid, serial_number
        self.baud = baud
        self.reset_on = reset_on
        self.boot_s = boot_s
        self.description = description
        self.resets = 0  # resets after the first power-on
        self.opens = 0
        self._lock = threading.Lock()
        self._host_baud: int | None = None
        self._dtr = False
        self._deaf_until = 0.0
        self._process: subprocess.Popen[bytes] | None = None
        self._closed = False
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no line editing until pyserial configures it
        self.device = os.ttyname(self._slave)
        self._talked = threading.Event()  # the firmware's first output reached the pty
        self._power_on()
        self._talked.wait(5.0)  # plugged in fully booted: its banner is old news to any open
        threading.Thread(target=self._to_board, daemon=True).start()

    # -- the host side's line state (called by the simulated pyserial class) ---------------

    def line_state(self, dtr: bool | None = None, baud: int | None = None) -> None:
        reset = False
        with self._lock:
            if baud is not None:
                self._host_baud = baud
            if dtr is not None:
                reset = self.reset_on == "dtr" and dtr and not self._dtr
                self._dtr = dtr
        if reset:
            self.reset()

    def opened(self) -> None:
        self.opens += 1
        if self.reset_on == "open":
            self.reset()

    def closed(self) -> None:
        with self._lock:
            self._dtr = False  # a closed port drops DTR (HUPCL)

    # -- the board --------------------------------------------------------------------------

    def _power_on(self) -> None:
        with self._lock:
            self._deaf_until = time.monotonic() + self.boot_s
        time.sleep(self.boot_s)  # the firmware starts (and prints its banner) after booting
        process = subprocess.Popen(
            [str(self._image)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        with self._lock:
            self._process = process
        threading.Thread(target=self._to_host, args=(process,), daemon=True).start()

    def reset(self) -> None:
        self.resets += 1
        self._stop_firmware()
        threading.Thread(target=self._power_on, daemon=True).start()

    def hang(self) -> None:
        """The firmware stops (a crashed board): silent until reset."""
        self._stop_firmware()

    def _stop_firmware(self) -> None:
        with self._lock:
            process, self._process = self._process, None
        if process is not None:
            process.kill()
            process.wait()

    def _mismatch(self) -> bool:
        with self._lock:
            return self._host_baud is not None and self._host_baud != self.baud

    def _to_host(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        while chunk := process.stdout.read1(4096):
            # The baud check and the write are one step against the host's line changes: a
            # chunk checked at the old rate and written after the host reopened at another one
            # (and flushed its input) would reach it ungarbled. Output of a firmware that a
            # reset replaced is lost with it.
            with self._lock:
                if process is not self._process:
                    return
                mismatch = self._host_baud is not None and self._host_baud != self.baud
                with contextlib.suppress(OSError):
                    os.write(self._master, garble(chunk) if mismatch else chunk)
            self._talked.set()

    def _to_board(self) -> None:
        while True:
            try:
                data = os.read(self._master, 4096)
            except OSError as exc:
                if exc.errno == errno.EIO and not self._closed:
                    time.sleep(0.01)  # no one has the slave open: nothing to read
                    continue
                return
            if not data:
                return
            with self._lock:
                process = self._process
                deaf = time.monotonic() < self._deaf_until
            if process is None or deaf or process.stdin is None:
                continue  # a hung or booting board loses what it is sent
            with contextlib.suppress(BrokenPipeError, ValueError):
                process.stdin.write(garble(data) if self._mismatch() else data)
                process.stdin.flush()

    def close(self) -> None:
        self._closed = True
        self._stop_firmware()
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)


class SimulatedBus:
    """The USB side the discovery code sees: a port lister and a pyserial port factory."""

    def __init__(self) -> None:
        self.boards: dict[str, SimulatedUsbBoard] = {}
        self.other_ports: list[PortInfo] = []  # e.g. a motherboard UART with no USB ID

    def add(self, board: SimulatedUsbBoard) -> SimulatedUsbBoard:
        self.boards[board.device] = board
        return board

    def list_ports(self) -> list[PortInfo]:
        usb = [
            PortInfo(b.device, b.vid, b.pid, b.serial_number, b.description)
            for b in self.boards.values()
        ]
        return sorted(usb + self.other_ports, key=lambda p: p.device)

    def factory(self, url: str, do_not_open: bool = False, **kwargs: Any) -> serial.Serial:
        port = _SimulatedSerial(self.boards.get(url), **kwargs)
        port.port = url
        if not do_not_open:
            port.open()
        return port

    def close(self) -> None:
        for board in self.boards.values():
            board.close()


class _SimulatedSerial(serial.Serial):  # type: ignore[misc]
    """pyserial's own Serial class; it also tells the simulated board what it applies."""

    def __init__(self, board: SimulatedUsbBoard | None, **kwargs: Any) -> None:
        self._sim_board = board
        super().__init__(**kwargs)

    def open(self) -> None:
        super().open()
        if self._sim_board is not None:
            self._sim_board.opened()

    def close(self) -> None:
        was_open = self.is_open
        super().close()
        if was_open and self._sim_board is not None:
            self._sim_board.closed()

    def _reconfigure_port(self, force_update: bool = False) -> None:
        super()._reconfigure_port(force_update)
        if self._sim_board is not None:
            self._sim_board.line_state(baud=self._baudrate)

    def _update_dtr_state(self) -> None:
        if self._sim_board is not None:
            self._sim_board.line_state(dtr=self._dtr_state)
        try:
            super()._update_dtr_state()
        except OSError as exc:  # a pty has no modem lines: the ioctl is refused
            if exc.errno not in (errno.EINVAL, errno.ENOTTY):
                raise

    def _update_rts_state(self) -> None:
        try:
            super()._update_rts_state()
        except OSError as exc:
            if exc.errno not in (errno.EINVAL, errno.ENOTTY):
                raise
