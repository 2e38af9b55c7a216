"""The DUT behind an energy-mode IO manager: the Arduino IO manager or the H573 interface board.

In energy mode the DUT is electrically isolated from the host and talks only to the IO
manager (its UART at 9,600 baud); the host talks to the IO manager. `IoManagerTransport` is
a Transport, so a DutSession runs over it unchanged: each command the session writes
(`name%`) goes out as `dut name%`, and of the reply (`m-dut-passthrough(name)`, the IO
manager's `m-ready`, then `[dut]: <line>` up to `[dut]: m-ready`) the session reads only the
DUT's lines, with the prefix stripped.

What the relay adds, and why:
- The Arduino relays DUT output asynchronously: a DUT's boot banner arrives unasked and
  would be taken as the next command's reply (the MLCommons runner's failure). Whatever is
  queued is drained and discarded before each command, and kept in `unsolicited`.
- The relay carries at most 64 bytes a line: `max_db_chunk_bytes` (26, the MLCommons
  runner's figure with a power monitor attached) is the db payload the session may send.
- It relays lines, not raw bytes: a binary upload cannot cross it (the session uses hex
  lines whenever the transport states a chunk limit).
- Only the H573 board has `setbaud`/`checkbaud`; on the Arduino they are a clear error (the
  MLCommons runner crashes there with an AttributeError).
"""

from __future__ import annotations

import re
import time
from enum import Enum
from typing import Literal

from tinybench.dut.protocol import LineSplitter, prefixed_int
from tinybench.dut.transport.base import Transport
from tinybench.errors import TransportError

IoManagerKind = Literal["arduino", "h573"]
KINDS: tuple[IoManagerKind, ...] = ("arduino", "h573")
RELAY_LINE_LIMIT = 64  # the most bytes the IO manager takes in one command line
MAX_DB_CHUNK_BYTES = 26  # `dut db ` + 52 hex digits + `%` = 60 characters, under the 64 relayed
DUT_PREFIX = "[dut]:"
READY = "m-ready"
H573_NAME = "tinyML Enhanced Interface Board"
_PASSTHROUGH = re.compile(r"m-dut-passthrough\((.*)\)$")
_SET_BAUD = re.compile(r"^set baud to: (\d+)$")
_CHECK_BAUD = re.compile(r"^baud is: (\d+)$")


class IoManagerError(TransportError):
    """The IO manager did not answer, answered something else, or lacks the command asked."""


class _State(Enum):
    IDLE = "idle"  # no command relayed: `[dut]:` lines now are unsolicited
    AWAIT_ACK = "await-ack"  # `dut <cmd>%` sent, no m-dut-passthrough yet
    RELAYING = "relaying"  # acknowledged: `[dut]:` lines are the DUT's reply


class IoManagerTransport:
    """A Transport to the DUT through an IO manager on `inner` (its USB serial port)."""

    max_db_chunk_bytes = MAX_DB_CHUNK_BYTES

    def __init__(
        self,
        inner: Transport,
        kind: IoManagerKind,
        ack_timeout_s: float = 2.0,
        command_timeout_s: float = 5.0,
        drain_quiet_s: float = 0.05,
        reset_s: float = 2.0,
    ) -> None:
        """ack_timeout_s: how long the IO manager may take to acknowledge a relayed command.
        command_timeout_s: silence allowed in the answer of its own commands (`name`, `tm`).
        drain_quiet_s: the pause that ends the drain of unsolicited lines before a command
        (a line in flight at 9,600 baud is a few ms apart from the next byte).
        reset_s: how long the H573 takes to reset after `setbaud`."""
        if kind not in KINDS:
            raise IoManagerError(f"unknown IO manager kind {kind!r}; expected one of {KINDS}")
        self._inner = inner
        self.kind: IoManagerKind = kind
        self._ack_timeout_s = ack_timeout_s
        self._command_timeout_s = command_timeout_s
        self._drain_quiet_s = drain_quiet_s
        self._reset_s = reset_s
        self._splitter = LineSplitter()
        self._written = bytearray()  # what the session wrote, up to its next `%`
        self._state = _State.IDLE
        self._command = ""
        self._ack_deadline = 0.0
        self._own_lines: list[str] = []  # the IO manager's lines inside a relayed reply
        self.unsolicited: list[str] = []  # DUT lines relayed outside any command, discarded
        self.stray: list[str] = []  # the IO manager's lines that answer nothing we sent
        self.laps_us: list[int] = []  # the Arduino's asynchronous m-lap-us-<N> (its timer)

    @property
    def description(self) -> str:
        return f"DUT through the {self.kind} IO manager on {self._inner.description}"

    @property
    def unsolicited_count(self) -> int:
        return len(self.unsolicited)

    # -- Transport -------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        """Takes the session's bytes; each complete `<cmd>%` is relayed as `dut <cmd>%`."""
        self._written += data
        while (end := self._written.find(b"%")) >= 0:
            raw = bytes(self._written[:end])
            del self._written[: end + 1]
            try:
                command = raw.decode("ascii")
            except UnicodeDecodeError:
                raise IoManagerError(
                    f"{self.description}: cannot relay non-ASCII bytes {raw[:20]!r} (the IO "
                    "manager relays command lines only; binary uploads cannot cross it)"
                ) from None
            if command.strip():
                self._relay(command)
            # An empty command (the session's lone `%` that ends a half-sent line) is not
            # relayed: the IO manager forwards whole commands, so the DUT has no half line.

    def read(self, timeout_s: float) -> bytes:
        """The DUT's lines of the current reply (prefix stripped, LF-terminated)."""
        deadline = time.monotonic() + max(0.0, timeout_s)
        out = bytearray()
        while True:
            until = deadline
            if self._state is _State.AWAIT_ACK:
                until = min(until, self._ack_deadline)
            data = self._inner.read(max(0.0, until - time.monotonic()))
            for line in self._splitter.feed(data):
                relayed = self._route(line)
                if relayed is not None:
                    out += relayed.encode("ascii", errors="replace") + b"\n"
            if out:
                return bytes(out)
            now = time.monotonic()
            if self._state is _State.AWAIT_ACK and now >= self._ack_deadline:
                raise IoManagerError(
                    f"{self.description}: no m-dut-passthrough({self._command}) within "
                    f"{self._ack_timeout_s:g} s of sending `dut {self._command}%`; is the IO "
                    f"manager connected, powered, and a {self.kind}?"
                )
            if now >= deadline:
                return b""

    def close(self) -> None:
        self._inner.close()

    # -- relaying ----------------------------------------------------------------------------

    def _relay(self, command: str) -> None:
        line = f"dut {command}%"
        if command.split()[:2] == ["db", "bin"]:
            raise IoManagerError(
                f"{self.description}: `{command}` announces a binary upload, which the IO "
                "manager cannot relay (it carries lines); upload with hex `db` lines"
            )
        if len(line) > RELAY_LINE_LIMIT:
            raise IoManagerError(
                f"{self.description}: `{line[:40]}...` is {len(line)} bytes; the IO manager "
                f"relays at most {RELAY_LINE_LIMIT} a line"
            )
        self._drain()
        self._inner.write(line.encode("ascii"))
        self._state = _State.AWAIT_ACK
        self._command = command
        self._own_lines = []
        self._ack_deadline = time.monotonic() + self._ack_timeout_s

    def _drain(self) -> None:
        """Reads and files away everything queued, until drain_quiet_s of silence: a DUT line
        in flight ends before the command goes out (the DUT link is half-duplex in practice).
        A DUT that never stops talking delays the command by command_timeout_s at most."""
        self._state = _State.IDLE
        until = time.monotonic() + self._command_timeout_s
        while time.monotonic() < until:
            data = self._inner.read(self._drain_quiet_s)
            if not data:
                return
            for line in self._splitter.feed(data):
                self._route(line)

    def _route(self, line: str) -> str | None:
        """Files one line from the IO manager; returns it when it is the DUT's, for the session."""
        match = _PASSTHROUGH.search(line)
        if match is not None:  # first: a DUT line cut short may sit in front of the echo
            if match.start() > 0:
                self.unsolicited.append(self._dut_text(line[: match.start()]))
            if self._state is not _State.AWAIT_ACK:
                self.stray.append(line[match.start() :])
                return None
            if match.group(1) != self._command:
                raise IoManagerError(
                    f"{self.description}: sent `dut {self._command}%`, the IO manager "
                    f"acknowledged {match.group(1)!r}"
                )
            self._state = _State.RELAYING
            return None
        if line.startswith(DUT_PREFIX):
            text = self._dut_text(line)
            if self._state is not _State.RELAYING:
                self.unsolicited.append(text)
                return None
            if text == READY:
                self._state = _State.IDLE
            return text
        lap = prefixed_int(line, "m-lap-us-")
        if lap is not None:
            self.laps_us.append(lap)
            return None
        if self._state is _State.AWAIT_ACK and line.startswith("e-"):
            raise IoManagerError(
                f"{self.description}: `dut {self._command}%` refused by the IO manager: {line}"
            )
        if self._state is _State.RELAYING and line == READY and READY not in self._own_lines:
            self._own_lines.append(line)
            return None
        self.stray.append(line)
        return None

    @staticmethod
    def _dut_text(line: str) -> str:
        return line.removeprefix(DUT_PREFIX).removeprefix(" ")

    # -- the IO manager's own commands ---------------------------------------------------

    def io_command(self, text: str) -> list[str]:
        """Sends one of the IO manager's own commands; its lines before its `m-ready`."""
        self._drain()
        self._inner.write(f"{text}%".encode("ascii"))
        lines: list[str] = []
        deadline = time.monotonic() + self._command_timeout_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise IoManagerError(
                    f"{self.description}: no m-ready after `{text}%` within "
                    f"{self._command_timeout_s:g} s (got {lines})"
                )
            data = self._inner.read(min(remaining, 0.5))
            if data:
                deadline = time.monotonic() + self._command_timeout_s
            for line in self._splitter.feed(data):
                if line.startswith(DUT_PREFIX):
                    self.unsolicited.append(self._dut_text(line))
                    continue
                lap = prefixed_int(line, "m-lap-us-")
                if lap is not None:
                    self.laps_us.append(lap)
                    continue
                if line == READY:
                    errors = [x for x in lines if x.startswith("e-")]
                    if errors:
                        raise IoManagerError(f"{self.description}: `{text}%` refused: {errors}")
                    return lines
                lines.append(line)

    def _expect(self, text: str, wanted: str) -> list[str]:
        lines = self.io_command(text)
        if wanted not in lines:
            raise IoManagerError(f"{self.description}: `{text}%` answered {lines}, not {wanted!r}")
        return lines

    def name(self) -> str:
        """What the IO manager calls itself (the H573: `tinyML Enhanced Interface Board`)."""
        lines = self.io_command("name")
        if not lines:
            raise IoManagerError(f"{self.description}: `name%` answered no name")
        return "; ".join(lines)

    def timer(self, enabled: bool) -> None:
        """Turns the IO manager's edge timer (asynchronous m-lap-us-<N>) on or off."""
        if enabled:
            self._expect("enable-timer", "m-timer-enabled")
        else:
            self._expect("disable-timer", "m-timer-disabled")

    def timestamp_mode_falling(self) -> None:
        """`tm 0`: falling edges are the timestamps (the IO manager then disables its timer)."""
        self._expect("tm 0", "m-timestmp-mode-FALLING")  # sic: the IO manager's spelling

    def _require_h573(self, command: str) -> None:
        if self.kind != "h573":
            raise IoManagerError(
                f"`{command}` exists only on the H573 interface board; the {self.kind} IO "
                "manager has none (its DUT link is fixed at 9,600 baud): set the DUT's baud "
                "rate in its firmware instead"
            )

    def set_baud(self, baud: int) -> None:
        """H573 only: stores the DUT link's baud rate in flash; the board then resets."""
        self._require_h573("setbaud")
        if baud <= 0:
            raise IoManagerError(f"setbaud: baud rate must be positive, got {baud}")
        lines = self.io_command(f"setbaud {baud}")
        stored = [int(m.group(1)) for m in map(_SET_BAUD.match, lines) if m]
        if stored != [baud]:
            raise IoManagerError(f"{self.description}: `setbaud {baud}%` answered {lines}")
        deadline = time.monotonic() + self._reset_s
        while (remaining := deadline - time.monotonic()) > 0:  # the board resets: let it
            for line in self._splitter.feed(self._inner.read(remaining)):
                self.stray.append(line)

    def check_baud(self) -> int:
        """H573 only: the DUT link's stored baud rate."""
        self._require_h573("checkbaud")
        lines = self.io_command("checkbaud")
        values = [int(m.group(1)) for m in map(_CHECK_BAUD.match, lines) if m]
        if len(values) != 1:
            raise IoManagerError(f"{self.description}: `checkbaud%` answered {lines}")
        return values[0]
