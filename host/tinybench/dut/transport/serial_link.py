"""pyserial links: a real serial port (`COM3`, `/dev/ttyACM0`) or any pyserial URL (`socket://h:p`).

A port is opened with DTR and RTS deasserted, set before the open: pyserial asserts both by
default, and boards with an auto-reset circuit on DTR or RTS (Arduino style) reset on that
edge. Where the operating system pulses them anyway, or the board resets on any open, its
boot banner arrives right after the open; the transport waits for that banner to finish
before the first command, so the command is not lost while the board boots.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

import serial

from tinybench.errors import TransportError

# Makes an unopened pyserial port for a URL or device name (serial.serial_for_url with
# do_not_open=True); tests substitute a simulated board's port class.
SerialFactory = Callable[..., Any]

BOOT_BANNER_END = b"m-ready"
BANNER_FIRST_BYTE_S = 0.5  # a board that resets on open starts its banner within this
BANNER_QUIET_S = 0.5  # a banner is over after this much silence (or at m-ready)


def open_port(
    url: str,
    baud: int,
    dtr: bool = False,
    rts: bool = False,
    factory: SerialFactory = serial.serial_for_url,
) -> Any:
    """An open pyserial port with DTR and RTS in the given state from the first moment."""
    port = factory(url, do_not_open=True)
    port.baudrate = baud
    port.timeout = 0
    port.write_timeout = 10
    port.dtr = dtr
    port.rts = rts
    port.open()
    return port


def read_boot_banner(port: Any, first_byte_s: float, boot_s: float) -> bytes:
    """Whatever the board says unprompted right after the open: b"" from a board that did not
    reset; the whole banner, up to m-ready or a pause, from one that did."""
    port.timeout = first_byte_s
    banner: bytes = port.read(1)
    if not banner:
        return b""
    deadline = time.monotonic() + boot_s
    port.timeout = BANNER_QUIET_S
    while BOOT_BANNER_END not in banner and time.monotonic() < deadline:
        chunk: bytes = port.read(max(1, port.in_waiting))
        if not chunk:
            break
        banner += chunk
    port.timeout = 0
    return banner


class SerialTransport:
    def __init__(self, port: Any, description: str, banner: bytes = b"") -> None:
        self._port = port
        self._description = description
        self._pending = banner  # the boot banner read while opening, delivered first
        self.banner = banner

    @classmethod
    def open(
        cls,
        url: str,
        baud: int = 115200,
        connect_timeout_s: float = 5.0,
        factory: SerialFactory = serial.serial_for_url,
        banner_first_byte_s: float = 0.0,
        boot_s: float = 10.0,
    ) -> SerialTransport:
        """Opens url without a DTR/RTS edge, retrying until connect_timeout_s (QEMU listens
        30-70 ms after start). With banner_first_byte_s > 0 (physical boards), a boot banner
        that starts within that time is read to its end (bounded by boot_s) before returning."""
        deadline = time.monotonic() + connect_timeout_s
        while True:
            try:
                port = open_port(url, baud, factory=factory)
                break
            except (serial.SerialException, OSError, ValueError) as exc:
                if time.monotonic() >= deadline:
                    raise TransportError(
                        f"cannot open {url}: {exc}. Check the board is connected and the port "
                        "is not held by another program (a serial monitor, an IDE); "
                        "`tinybench doctor --ports` lists the ports and what answers on them."
                    ) from exc
                time.sleep(0.02)
        try:
            banner = (
                read_boot_banner(port, banner_first_byte_s, boot_s)
                if banner_first_byte_s > 0
                else b""
            )
        except (serial.SerialException, OSError) as exc:
            with contextlib.suppress(serial.SerialException, OSError):
                port.close()
            raise TransportError(f"{url}: read failed right after opening: {exc}") from exc
        return cls(port, f"{url} at {baud} baud", banner)

    @property
    def description(self) -> str:
        return self._description

    def write(self, data: bytes) -> None:
        try:
            self._port.write(data)
            self._port.flush()
        except (serial.SerialException, OSError) as exc:
            raise TransportError(f"{self._description}: write failed: {exc}") from exc

    def read(self, timeout_s: float) -> bytes:
        if self._pending:
            pending, self._pending = self._pending, b""
            return pending
        try:
            self._port.timeout = timeout_s
            first: bytes = self._port.read(1)
            if not first:
                return b""
            self._port.timeout = 0
            waiting = self._port.in_waiting
            return first + (self._port.read(waiting) if waiting else b"")
        except (serial.SerialException, OSError) as exc:
            raise TransportError(f"{self._description}: read failed: {exc}") from exc

    def close(self) -> None:
        with contextlib.suppress(serial.SerialException, OSError):
            self._port.close()
