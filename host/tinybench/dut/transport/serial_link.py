"""pyserial links: a real serial port (`/dev/ttyACM0`) or any pyserial URL (`socket://h:p`)."""

from __future__ import annotations

import contextlib
import time

import serial

from tinybench.errors import TransportError


class SerialTransport:
    def __init__(self, port: serial.SerialBase, description: str) -> None:
        self._port = port
        self._description = description

    @classmethod
    def open(cls, url: str, baud: int = 115200, connect_timeout_s: float = 5.0) -> SerialTransport:
        """Opens url, retrying until connect_timeout_s (QEMU listens 30-70 ms after start)."""
        deadline = time.monotonic() + connect_timeout_s
        while True:
            try:
                port = serial.serial_for_url(url, baudrate=baud, timeout=0, write_timeout=10)
                return cls(port, f"{url} at {baud} baud")
            except (serial.SerialException, OSError, ValueError) as exc:
                if time.monotonic() >= deadline:
                    raise TransportError(
                        f"cannot open {url}: {exc}. Check the board is connected and the port "
                        "is not held by another program (a serial monitor, an IDE)."
                    ) from exc
                time.sleep(0.02)

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
