"""A transport wrapper that writes every byte in both directions to a transcript file."""

from __future__ import annotations

import time
from typing import TextIO

from tinybench.dut.transport.base import Transport

# Received bytes wait for their newline up to this many; a DUT that streams without one (a
# hostile or broken one) is recorded in lines of this length instead of held in memory.
MAX_PENDING_BYTES = 4096


def _escape(data: bytes) -> str:
    out = []
    for byte in data:
        if byte == 0x0A:
            out.append("\\n")
        elif byte == 0x0D:
            out.append("\\r")
        elif byte == 0x5C:
            out.append("\\\\")
        elif 0x20 <= byte < 0x7F:
            out.append(chr(byte))
        else:
            out.append(f"\\x{byte:02x}")
    return "".join(out)


class RecordingTransport:
    """Each line: seconds since start, `>` host to DUT or `<` DUT to host, the escaped bytes.

    Writes are recorded as written; received bytes are recorded one line at a time (a
    UART delivers them in arbitrary pieces), so the transcript reads like the session; a line
    longer than MAX_PENDING_BYTES is recorded in pieces of that length.
    """

    def __init__(self, inner: Transport, transcript: TextIO) -> None:
        self._inner = inner
        self._transcript = transcript
        self._start = time.monotonic()
        self._received = bytearray()
        transcript.write(f"# transcript of {inner.description}\n")

    @property
    def description(self) -> str:
        return self._inner.description

    def _record(self, direction: str, data: bytes) -> None:
        stamp = time.monotonic() - self._start
        self._transcript.write(f"{stamp:10.6f} {direction} {_escape(data)}\n")

    def write(self, data: bytes) -> None:
        self._record(">", data)
        self._inner.write(data)

    def read(self, timeout_s: float) -> bytes:
        data = self._inner.read(timeout_s)
        self._received += data
        while (end := self._received.find(b"\n")) >= 0:
            self._record("<", bytes(self._received[: end + 1]))
            del self._received[: end + 1]
        while len(self._received) >= MAX_PENDING_BYTES:
            self._record("<", bytes(self._received[:MAX_PENDING_BYTES]))
            del self._received[:MAX_PENDING_BYTES]
        return data

    def close(self) -> None:
        if self._received:
            self._record("<", bytes(self._received))
            self._received.clear()
        self._transcript.flush()
        self._inner.close()
