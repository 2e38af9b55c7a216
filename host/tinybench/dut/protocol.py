"""The MLPerf Tiny / EEMBC serial protocol, host side: encoding commands and parsing replies.

The one place that knows the message formats (docs/protocol.md describes them).
Commands are ASCII words ending in `%`, at most 80 characters; replies are
CRLF-terminated lines starting with `m-` (messages) or `e-` (errors).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from tinybench.errors import ProtocolError

MAX_COMMAND_CHARS = 80
READY = "m-ready"


def encode_command(text: str) -> bytes:
    """`name` -> b"name%"; refuses what the DUT would reject as too long or not ASCII."""
    if "%" in text:
        raise ProtocolError(f"command {text!r} must not contain '%'")
    if len(text) > MAX_COMMAND_CHARS:
        raise ProtocolError(f"command of {len(text)} characters exceeds {MAX_COMMAND_CHARS}")
    try:
        return text.encode("ascii") + b"%"
    except UnicodeEncodeError as exc:
        raise ProtocolError(f"command {text!r} is not ASCII") from exc


class LineSplitter:
    """Turns received chunks into complete lines (CR, LF or CRLF terminated)."""

    def __init__(self) -> None:
        self._pending = bytearray()

    def feed(self, data: bytes) -> list[str]:
        self._pending += data
        lines: list[str] = []
        while True:
            positions = [
                p for p in (self._pending.find(b"\n"), self._pending.find(b"\r")) if p >= 0
            ]
            if not positions:
                return lines
            end = min(positions)
            raw = bytes(self._pending[:end])
            del self._pending[: end + 1]
            text = raw.decode("ascii", errors="replace").strip("\x00")
            if text:
                lines.append(text)

    @property
    def partial(self) -> bytes:
        return bytes(self._pending)


_BRACKETED = re.compile(r"^m-([a-z-]+)-\[(.*)\]$")


def bracketed(line: str, name: str) -> str | None:
    """`m-<name>-[<value>]` -> value, else None."""
    match = _BRACKETED.match(line)
    if match and match.group(1) == name:
        return match.group(2)
    return None


def prefixed_int(line: str, prefix: str) -> int | None:
    """`m-lap-us-123` with prefix `m-lap-us-` -> 123, else None."""
    if line.startswith(prefix):
        rest = line[len(prefix) :]
        if rest.isdigit():
            return int(rest)
    return None


def parse_floats(text: str, what: str) -> list[float]:
    """Finite numbers only: a NaN or an infinity is no result to score (and not JSON)."""
    try:
        values = [float(v) for v in text.split(",")] if text else []
    except ValueError as exc:
        raise ProtocolError(f"{what}: not a list of numbers: {text[:200]!r}") from exc
    if not all(math.isfinite(v) for v in values):
        raise ProtocolError(f"{what}: not finite numbers: {text[:200]!r}")
    return values


def parse_hex(text: str, what: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError as exc:
        raise ProtocolError(f"{what}: not hex: {text[:60]!r}") from exc


def error_text(line: str) -> str | None:
    """`e-[Unknown command: x]` -> `Unknown command: x`; None for other lines."""
    if not line.startswith("e-"):
        return None
    body = line[2:]
    return body[1:-1] if body.startswith("[") and body.endswith("]") else body


@dataclass(frozen=True)
class Reply:
    """Every line a command produced before its `m-ready`."""

    command: str
    lines: tuple[str, ...]

    def find(self, name: str) -> str | None:
        for line in self.lines:
            value = bracketed(line, name)
            if value is not None:
                return value
        return None

    def need(self, name: str) -> str:
        value = self.find(name)
        if value is None:
            shown = repr(list(self.lines))
            shown = shown if len(shown) <= 500 else f"{shown[:500]}... ({len(shown)} characters)"
            raise ProtocolError(f"`{self.command}`: no m-{name}-[...] line in {shown}")
        return value

    def ints(self, prefix: str) -> list[int]:
        return [v for v in (prefixed_int(line, prefix) for line in self.lines) if v is not None]
