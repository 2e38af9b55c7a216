"""A session with one DUT: handshake, upload, infer, results, over any Transport.

Standard runners see only the MLPerf Tiny commands; this session also uses the
firmware's extensions when `help` lists them (`m-ext-[...]`): a CRC-checked
binary upload, the raw int8 output, the info line and the timed loop's counter.
A standard-only session (external DUTs: firmware tinybench did not build) sends
only what the MLCommons runner sends: `name`, `profile`, `db load`, `db <hex>`
lines of 31 bytes and `infer N W`; never `help`, and never a lone `%`.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from tinybench.dut.batch import BatchRecord, parse_records
from tinybench.dut.protocol import (
    READY,
    LineSplitter,
    Reply,
    bracketed,
    encode_command,
    error_text,
    parse_floats,
    parse_hex,
    prefixed_int,
)
from tinybench.dut.transport.base import Transport
from tinybench.errors import DutError, ProtocolError, TinybenchError

HEX_BYTES_PER_LINE = 38  # "db " + 76 hex digits = 79 characters, within the 80 allowed
# What the MLCommons runner sends per line (`db ` + 62 hex digits + `%` = 66 characters):
# every vendor firmware has been driven with it, so an external DUT gets the same.
STANDARD_HEX_BYTES_PER_LINE = 31
RESYNC_NAME_EVERY_S = 1.0  # a standard-only sync repeats `name` this often until answered
SYNC_QUIET_S = 0.3  # after a standard-only sync: late lines (a repeated `name`) are drained
INIT_DONE = "m-init-done"
# A DUT that talks without end cannot hold a session: no reply of ours is this long.
MAX_REPLY_LINES = 4096
MAX_LINE_BYTES = 65536


def db_chunk_limit(transport: Transport) -> int | None:
    """The most db payload bytes a line may carry over this transport (its
    `max_db_chunk_bytes`), or None when only the DUT's own line limit applies. A transport
    that states a limit relays text lines: uploads over it are hex lines, never binary."""
    limit = getattr(transport, "max_db_chunk_bytes", None)
    if limit is None:
        return None
    if not isinstance(limit, int) or limit < 1:
        raise ProtocolError(f"{transport.description}: max_db_chunk_bytes {limit!r} is not >= 1")
    return limit


class DutSilentError(ProtocolError):
    """The DUT said nothing within the allowed silence."""


class DutResetError(ProtocolError):
    """The DUT printed its boot banner (`m-init-done`) in the middle of a session: it reset,
    and whatever it held (the loaded input) is gone."""


BATCH_INPUT_FILE = "batch-in.bin"  # relative to the DUT's working directory (batch_dir)
BATCH_OUTPUT_FILE = "batch-out.bin"


class ReplyCorruptError(ProtocolError):
    """A reply failed its reply-crc check (or lost its m-crc line): damaged in transit."""


class UploadDamagedError(ProtocolError):
    """Every try of a binary frame reached the DUT damaged (CRC mismatch or missing bytes)."""


BINARY_UPLOAD_RETRIES = 3
# Resync after damage: a DUT left inside a binary frame (its `db bin` header arrived, part of
# the payload did not) takes this many filler bytes to finish it; no input buffer is larger.
RESYNC_FILLER_BYTES = 1024
REPLY_CRC_EXTENSION = "reply-crc"
VERIFIED_HELP_TRIES = 8
MIN_LINK_BYTES_PER_S = 500.0


@dataclass(frozen=True)
class Timeouts:
    boot_s: float = 10.0  # first m-ready after the link opens
    command_s: float = 5.0  # silence allowed while a command runs (the MLCommons runner's 5 s)
    infer_s: float = 60.0  # silence allowed while `infer` runs


@dataclass
class SessionStats:
    """Where a session's wall time and wire bytes went (for the benchmarks)."""

    upload_s: float = 0.0
    upload_wire_bytes: int = 0  # everything written while uploading, commands included
    infer_s: float = 0.0
    inferences: int = 0
    upload_retries: int = 0  # binary frames the DUT rejected (CRC or timeout) and sent again


@dataclass(frozen=True)
class DutInfo:
    fields: dict[str, str]

    def get(self, key: str) -> str:
        try:
            return self.fields[key]
        except KeyError:
            raise ProtocolError(f"info line has no {key!r} (has {sorted(self.fields)})") from None

    def integer(self, key: str) -> int:
        value = self.get(key)
        if not value.isdigit():
            raise ProtocolError(f"info {key}={value!r} is not a number")
        return int(value)

    def stack(self) -> StackUsage | None:
        """The main stack's reserve and high-water mark since boot (`stack_bytes`,
        `stack_used`), or None when the DUT does not report them (the host port)."""
        if "stack_used" not in self.fields and "stack_bytes" not in self.fields:
            return None
        usage = StackUsage(used_bytes=self.integer("stack_used"), bytes=self.integer("stack_bytes"))
        if usage.used_bytes > usage.bytes:
            raise ProtocolError(
                f"info stack_used={usage.used_bytes} exceeds stack_bytes={usage.bytes}"
            )
        return usage


@dataclass(frozen=True)
class StackUsage:
    used_bytes: int  # the deepest the stack reached since boot
    bytes: int  # the stack's reserve


@dataclass(frozen=True)
class InferResult:
    count: int
    warmup: int
    # The two timestamps around the timed loop; None in energy mode, where `timestamp` drives
    # the pin for the power monitor and prints nothing.
    lap_us: tuple[int, int] | None
    counter_ticks: int | None  # the port counter's delta over the timed loop (extension)
    results: tuple[float, ...]

    @property
    def elapsed_us(self) -> int:
        if self.lap_us is None:
            raise ProtocolError("an energy-mode `infer` has no m-lap-us timestamps to time it by")
        return self.lap_us[1] - self.lap_us[0]


@dataclass(frozen=True)
class LatencyRecord:
    """Counter ticks of each timed inference of the last `infer` (the `latency` extension)."""

    ticks: tuple[int, ...]
    dropped: int  # timed inferences beyond the firmware's buffer
    counter_hz: int


@dataclass(frozen=True)
class OpTicks:
    """One op of an `opprofile` reply: its index, the engine's op name, its counter ticks."""

    index: int
    op: str
    ticks: int


@dataclass(frozen=True)
class OpProfile:
    """The `opprofile` extension: ticks per op and the whole inference's ticks, one invoke."""

    ops: tuple[OpTicks, ...]
    total_ticks: int


def parse_opprofile(lines: tuple[str, ...] | list[str]) -> OpProfile:
    """`m-op-[i,NAME,ticks]` lines then `m-op-total-[ops=N,ticks=T]`; anything malformed is a
    ProtocolError, as is an op count that disagrees with the lines."""
    ops: list[OpTicks] = []
    total: dict[str, int] = {}
    for line in lines:
        item = bracketed(line, "op")
        if item is not None:
            parts = item.split(",")
            if len(parts) != 3 or not parts[0].isdigit() or not parts[2].isdigit() or not parts[1]:
                raise ProtocolError(f"malformed opprofile line {line!r}")
            ops.append(OpTicks(int(parts[0]), parts[1], int(parts[2])))
            continue
        item = bracketed(line, "op-total")
        if item is not None:
            for field in item.split(","):
                key, _, value = field.partition("=")
                if key not in ("ops", "ticks") or not value.isdigit():
                    raise ProtocolError(f"malformed opprofile total {line!r}")
                total[key] = int(value)
    if "ops" not in total or "ticks" not in total:
        raise ProtocolError(f"`opprofile`: no m-op-total line in {list(lines)}")
    if [op.index for op in ops] != list(range(total["ops"])):
        raise ProtocolError(
            f"`opprofile`: total says {total['ops']} ops, lines give indices "
            f"{[op.index for op in ops]}"
        )
    return OpProfile(tuple(ops), total["ticks"])


class DutSession:
    """Owns a transport for the length of a `with` block."""

    def __init__(
        self,
        transport: Transport,
        timeouts: Timeouts | None = None,
        shared_dir: Path | None = None,
        standard_only: bool = False,
        timestamp_mode: str = "performance",
        batch_dir: Path | None = None,
        verify_replies: bool = False,
    ) -> None:
        """shared_dir: where the DUT reads files (`db file`), for emulated DUTs only.
        batch_dir: where the DUT reads and writes the `batch` command's files (its working
        directory: emulators and the host board), or None.
        standard_only: send only the standard commands (see the module's docstring).
        timestamp_mode: "energy" for firmware whose `timestamp` drives the pin and prints
        nothing (`infer` then has no m-lap-us lines), else "performance".
        verify_replies: turn on the firmware's reply-crc extension and check every reply
        (command text included) against its CRC-32; a damaged one is a ReplyCorruptError."""
        self._transport = transport
        self.standard_only = standard_only
        self.timestamp_mode = timestamp_mode
        self._shared_dir = shared_dir
        self._batch_dir = batch_dir
        self._timeouts = timeouts or Timeouts()
        self._splitter = LineSplitter()
        self._pending_lines: list[str] = []
        self.extensions: frozenset[str] = frozenset()
        self.stats = SessionStats()
        self._sent = 0  # bytes written by this session
        self.verify_replies = verify_replies
        self._crc_active = False  # the DUT ends every reply with m-crc (we turned it on)

    def __enter__(self) -> DutSession:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._transport.close()

    @property
    def transport(self) -> Transport:
        return self._transport

    @property
    def bytes_written(self) -> int:
        """Every byte this session has sent to the DUT."""
        return self._sent

    # -- lines ---------------------------------------------------------------

    def _next_line(self, silence_s: float, waiting_for: str, until: float | None = None) -> str:
        """The next line; silence_s of silence is allowed, and no waiting past `until`
        (a monotonic time) when given, however much the DUT babbles without a line end."""
        deadline = time.monotonic() + silence_s
        while not self._pending_lines:
            if until is not None:
                deadline = min(deadline, until)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                partial = self._splitter.partial[:60]
                raise DutSilentError(
                    f"{self._transport.description}: no answer to `{waiting_for}` within "
                    f"{silence_s:g} s" + (f" (partial line {partial!r})" if partial else "")
                )
            data = self._transport.read(min(remaining, 0.5))
            if data:
                self._pending_lines.extend(self._splitter.feed(data))
                if len(self._splitter.partial) > MAX_LINE_BYTES:
                    raise ProtocolError(
                        f"{self._transport.description}: over {MAX_LINE_BYTES} bytes without a "
                        f"line end while waiting for `{waiting_for}` (a wrong baud rate?)"
                    )
                deadline = time.monotonic() + silence_s  # silence, not total time, is limited
        return self._pending_lines.pop(0)

    def _collect(self, command: str, silence_s: float, sent: str | None = None) -> Reply:
        """The reply's lines up to m-ready; sent: the command line as the DUT received it (for
        the reply CRC; default `command`, "" for a binary frame's verdict)."""
        lines: list[str] = []
        crc = zlib.crc32((command if sent is None else sent).encode("ascii", "replace"))
        while True:
            line = self._next_line(silence_s, command)
            if line == READY:
                if self._crc_active:
                    raise ReplyCorruptError(
                        f"{self._transport.description}: the answer to `{command}` has no "
                        "m-crc line (damaged in transit, or the DUT lacks reply-crc)"
                    )
                break
            stated = bracketed(line, "crc")
            if stated is not None:
                if not self._crc_active:
                    continue  # a DUT still in crc mode, answering before a resync turned it on
                if stated != f"{crc:08x}":
                    raise ReplyCorruptError(
                        f"{self._transport.description}: the answer to `{command}` fails its "
                        f"CRC ({stated} stated, {crc:08x} received): damaged in transit"
                    )
                if self._next_line(silence_s, command) != READY:
                    raise ReplyCorruptError(
                        f"{self._transport.description}: no m-ready after the m-crc line of "
                        f"`{command}`"
                    )
                break
            crc = zlib.crc32((line + "\r\n").encode("ascii", "replace"), crc)
            if line == INIT_DONE:
                raise DutResetError(
                    f"{self._transport.description}: the DUT reset (printed {INIT_DONE}) "
                    f"while answering `{command}`"
                )
            lines.append(line)
            if len(lines) > MAX_REPLY_LINES:
                raise ProtocolError(
                    f"{self._transport.description}: over {MAX_REPLY_LINES} lines without "
                    f"m-ready in the answer to `{command}`"
                )
        errors = [t for t in (error_text(line) for line in lines) if t is not None]
        if errors:
            raise DutError(f"`{command}` was refused: " + "; ".join(errors))
        return Reply(command, tuple(lines))

    def command(self, text: str, silence_s: float | None = None) -> Reply:
        encoded = encode_command(text)
        self._sent += len(encoded)
        self._transport.write(encoded)
        return self._collect(text, self._timeouts.command_s if silence_s is None else silence_s)

    # -- handshake -------------------------------------------------------------

    def synchronize(self) -> None:
        """Gets to a known state whatever came before: a boot banner, a half-sent line.

        A lone `%` ends any partial line on the DUT (answered by an error or nothing
        worth keeping); everything up to the answer of a fresh `name` is discarded.
        """
        if self.standard_only:
            self._synchronize_standard()
            return
        if self.verify_replies:
            self.resync()
            for _ in range(VERIFIED_HELP_TRIES - 1):  # `help` is long: the likeliest to be hit
                try:
                    self.extensions = self._read_extensions()
                    return
                except ReplyCorruptError:
                    self.resync()
            self.extensions = self._read_extensions()
            return
        self._transport.write(b"%")
        deadline = time.monotonic() + self._timeouts.boot_s
        self._transport.write(encode_command("name"))
        silent = ProtocolError(
            f"{self._transport.description}: the DUT did not answer `name` within "
            f"{self._timeouts.boot_s:g} s; is it running the tinybench firmware?"
        )
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise silent
            try:
                line = self._next_line(remaining, "name")
            except ProtocolError:
                raise silent from None
            if line.startswith("m-name-dut-"):
                break
        self._collect("name", self._timeouts.command_s)
        self._pending_lines.clear()
        self.extensions = self._read_extensions()

    def resync(self) -> None:
        """Back to a known state after a damaged exchange, without a restart: `%name%` every
        RESYNC_NAME_EVERY_S (with filler bytes from the second try on, to finish a binary
        frame the DUT may be stuck in) until answered, late lines drained; with
        verify_replies, reply-crc turned on again (the DUT may have lost it)."""
        self._pending_lines.clear()
        self._splitter = LineSplitter()
        self._crc_active = False
        deadline = time.monotonic() + self._timeouts.boot_s
        attempt = 0
        while True:
            filler = b" " * RESYNC_FILLER_BYTES if attempt else b""
            attempt += 1
            self._transport.write(filler + b"%" + encode_command("name"))
            if self._name_seen(min(deadline, time.monotonic() + RESYNC_NAME_EVERY_S)):
                break
            if time.monotonic() >= deadline:
                raise DutSilentError(
                    f"{self._transport.description}: no answer to `name` within "
                    f"{self._timeouts.boot_s:g} s of resynchronizing ({attempt} tries)"
                )
        quiet_until = time.monotonic() + self._timeouts.command_s
        while True:  # the rest of the reply, answers to repeated tries, a frame's verdict
            try:
                self._next_line(SYNC_QUIET_S, "name", quiet_until)
            except DutSilentError:
                break
        self._pending_lines.clear()
        if self.verify_replies:
            self._crc_active = True
            try:
                self.command("crc on")
            except ReplyCorruptError as exc:
                if REPLY_CRC_EXTENSION not in self.extensions and self.extensions:
                    raise TinybenchError(
                        "checked replies need the firmware's reply-crc extension; this DUT "
                        f"offers {', '.join(sorted(self.extensions))}"
                    ) from exc
                raise

    def _name_seen(self, until: float) -> bool:
        while (remaining := until - time.monotonic()) > 0:
            try:
                line = self._next_line(remaining, "name", until)
            except DutSilentError:
                return False
            if line.startswith("m-name-dut-"):
                return True
        return False

    def _synchronize_standard(self) -> None:
        """`name` until a DUT answers it, then the rest of its reply and any late lines.

        No lone `%` (the reference firmware dereferences NULL on an empty command); a
        half-received line on the DUT turns the first `name` into an unknown command,
        so `name` is repeated until an answer comes or boot_s runs out.
        """
        deadline = time.monotonic() + self._timeouts.boot_s
        while not self._name_answered(min(deadline, time.monotonic() + RESYNC_NAME_EVERY_S)):
            if time.monotonic() >= deadline:
                raise DutSilentError(
                    f"{self._transport.description}: the DUT did not answer `name` within "
                    f"{self._timeouts.boot_s:g} s (sent `name%` every {RESYNC_NAME_EVERY_S:g} "
                    "s): check the port, its baud rate, and that the board runs firmware "
                    "speaking the MLPerf Tiny protocol"
                )
        self._collect("name", self._timeouts.command_s)
        quiet_until = time.monotonic() + self._timeouts.command_s
        while True:  # drain the answers of repeated `name`s and banner remnants
            try:
                self._next_line(SYNC_QUIET_S, "name", quiet_until)
            except DutSilentError:
                break
        self._pending_lines.clear()
        self.extensions = frozenset()

    def _name_answered(self, until: float) -> bool:
        """Sends `name` and reads lines until its answer (True) or the time `until` (False)."""
        self.command_nowait("name")
        return self._name_seen(until)

    def command_nowait(self, text: str) -> None:
        """Sends a command without reading its answer."""
        encoded = encode_command(text)
        self._sent += len(encoded)
        self._transport.write(encoded)

    def _read_extensions(self) -> frozenset[str]:
        reply = self.command("help")
        listed = reply.find("ext")
        return frozenset(x for x in (listed or "").split(",") if x)

    def name(self) -> str:
        return self.command("name").need("name-dut")

    def profile(self) -> tuple[str, str]:
        """(firmware version text, model id) as standard runners read them."""
        reply = self.command("profile")
        return reply.need("profile"), reply.need("model")

    def info(self) -> DutInfo:
        self._require("info")
        text = self.command("info").need("info")
        fields: dict[str, str] = {}
        for item in text.split(","):
            key, sep, value = item.partition("=")
            if not sep:
                raise ProtocolError(f"malformed info item {item!r} in {text!r}")
            fields[key] = value
        return DutInfo(fields)

    def _require(self, extension: str) -> None:
        if extension not in self.extensions:
            raise ProtocolError(
                f"the DUT does not offer the `{extension}` extension (offers: "
                f"{', '.join(sorted(self.extensions)) or 'none'}); is it tinybench firmware?"
            )

    # -- upload ------------------------------------------------------------------

    def load_hex(self, data: bytes, bytes_per_line: int = HEX_BYTES_PER_LINE) -> None:
        """The standard upload: `db load N`, then `db <hex>` lines, each answered by m-ready."""
        self.command(f"db load {len(data)}")
        done = False
        for start in range(0, len(data), bytes_per_line):
            reply = self.command("db " + data[start : start + bytes_per_line].hex())
            done = "m-load-done" in reply.lines
        if not done:
            raise ProtocolError(f"the DUT did not confirm the load of {len(data)} bytes")

    def load_binary(self, data: bytes) -> None:
        """The fast upload: `db bin N CRC32`, then N raw bytes; retried on a CRC error."""
        self._require("db-bin")
        crc = zlib.crc32(data) & 0xFFFFFFFF
        last_error: DutError | None = None
        for _ in range(BINARY_UPLOAD_RETRIES):
            self.command(f"db bin {len(data)} {crc:08x}")
            self._sent += len(data)
            self._transport.write(data)
            # The DUT stays silent until the last byte arrives: allow for the slowest link
            # (9600 baud through an energy monitor's IO manager moves under 1,000 bytes/s).
            silence_s = self._timeouts.command_s + len(data) / MIN_LINK_BYTES_PER_S
            try:
                reply = self._collect("db bin data", silence_s, sent="")
            except DutError as exc:
                last_error = exc
                self.stats.upload_retries += 1
                if self.verify_replies:  # a damaged frame's tail may sit in the line buffer
                    self.resync()
                continue
            if "m-load-done" not in reply.lines:
                raise ProtocolError(f"the DUT did not confirm the binary load: {reply.lines}")
            return
        message = f"binary upload failed {BINARY_UPLOAD_RETRIES} times: {last_error}"
        if self.verify_replies:  # a checked link: the frames were damaged, the DUT is fine
            raise UploadDamagedError(message)
        raise DutError(message)

    def load_file(self, data: bytes) -> None:
        """The emulator path: the input goes into a file the DUT reads with semihosting."""
        self._require("db-file")
        if self._shared_dir is None:
            raise ProtocolError("`db file` needs a directory shared with the DUT (emulators only)")
        name = "input.bin"  # relative to the emulator's working directory, the shared one
        (self._shared_dir / name).write_bytes(data)
        reply = self.command(f"db file {name}")
        if "m-load-done" not in reply.lines:
            raise ProtocolError(f"the DUT did not confirm the file load: {reply.lines}")

    def load(self, data: bytes) -> None:
        """Uploads one input, by the fastest path the firmware and the link offer."""
        start, sent = time.monotonic(), self._sent
        limit = db_chunk_limit(self._transport)
        if limit is not None:  # a relay (an energy-mode IO manager) carries short lines only
            default = STANDARD_HEX_BYTES_PER_LINE if self.standard_only else HEX_BYTES_PER_LINE
            self.load_hex(data, min(limit, default))
        elif self._shared_dir is not None and "db-file" in self.extensions:
            self.load_file(data)
        elif "db-bin" in self.extensions:
            self.load_binary(data)
        elif self.standard_only:
            self.load_hex(data, STANDARD_HEX_BYTES_PER_LINE)
        else:
            self.load_hex(data)
        self.stats.upload_s += time.monotonic() - start
        self.stats.upload_wire_bytes += self._sent - sent

    # -- inference ---------------------------------------------------------------

    def infer(self, count: int, warmup: int) -> InferResult:
        start = time.monotonic()
        reply = self.command(f"infer {count} {warmup}", silence_s=self._timeouts.infer_s)
        self.stats.infer_s += time.monotonic() - start
        self.stats.inferences += count + warmup
        laps = reply.ints("m-lap-us-")
        expected = 0 if self.timestamp_mode == "energy" else 2
        if len(laps) != expected:
            raise ProtocolError(
                f"`infer`: expected {expected} m-lap-us lines ({self.timestamp_mode} mode), "
                f"got {reply.lines}"
            )
        ticks = reply.ints("m-infer-counter-")
        results = parse_floats(reply.need("results"), "infer results")
        return InferResult(
            count=count,
            warmup=warmup,
            lap_us=(laps[0], laps[1]) if laps else None,
            counter_ticks=ticks[0] if ticks else None,
            results=tuple(results),
        )

    @property
    def can_batch(self) -> bool:
        """The DUT runs `batch` and shares a directory with the host for its files."""
        return self._batch_dir is not None and "batch" in self.extensions

    def batch(
        self, inputs: list[bytes], count: int, warmup: int, output_bytes: int
    ) -> list[BatchRecord]:
        """`infer count warmup` on every input, in one command: the inputs go into a file in
        the shared directory, the records come back in another (tinybench.dut.batch)."""
        self._require("batch")
        if self._batch_dir is None:
            raise ProtocolError("`batch` needs a directory shared with the DUT (emulators only)")
        if not inputs:
            return []
        size = len(inputs[0])
        if any(len(data) != size for data in inputs):
            raise ProtocolError("`batch`: every input of a batch must have the same size")
        in_file, out_file = self._batch_dir / BATCH_INPUT_FILE, self._batch_dir / BATCH_OUTPUT_FILE
        start = time.monotonic()
        in_file.write_bytes(b"".join(inputs))
        out_file.unlink(missing_ok=True)
        self.stats.upload_s += time.monotonic() - start
        start = time.monotonic()
        text = f"batch {BATCH_INPUT_FILE} {BATCH_OUTPUT_FILE} {len(inputs)} {count} {warmup}"
        # Silence lasts the whole batch: allow each inference the session's infer silence.
        silence = self._timeouts.infer_s + len(inputs) * self._timeouts.command_s
        reply = self.command(text, silence_s=silence)
        self.stats.infer_s += time.monotonic() - start
        self.stats.inferences += len(inputs) * (count + warmup)
        summary = reply.need("batch")
        if f"count={len(inputs)}," not in summary + ",":
            raise ProtocolError(f"`batch`: the DUT reports {summary!r} for {len(inputs)} inputs")
        try:
            data = out_file.read_bytes()
        except OSError as exc:
            raise ProtocolError(f"`batch`: no record file from the DUT: {exc}") from exc
        return parse_records(data, len(inputs), output_bytes)

    def results(self) -> tuple[float, ...]:
        return tuple(parse_floats(self.command("results").need("results"), "results"))

    def results_raw(self) -> bytes:
        self._require("results-raw")
        return parse_hex(self.command("results raw").need("results-raw"), "results raw")

    def latency(self) -> LatencyRecord:
        self._require("latency")
        reply = self.command("latency")
        fields: dict[str, int] = {}
        for item in reply.need("latency").split(","):
            key, _, value = item.partition("=")
            if not value.isdigit():
                raise ProtocolError(f"malformed latency header item {item!r}")
            fields[key] = int(value)
        ticks: list[int] = []
        for line in reply.lines:
            data = bracketed(line, "latency-data")
            if data is not None:
                try:
                    ticks += [int(v) for v in data.split(",") if v]
                except ValueError as exc:
                    raise ProtocolError(f"latency data is not integers: {data[:60]!r}") from exc
        if len(ticks) != fields.get("count"):
            raise ProtocolError(f"latency: header says {fields.get('count')}, got {len(ticks)}")
        return LatencyRecord(tuple(ticks), fields.get("dropped", 0), fields.get("counter_hz", 0))

    def opprofile(self) -> OpProfile:
        """One inference on the loaded input with the counter read around every op."""
        self._require("opprofile")
        reply = self.command("opprofile", silence_s=self._timeouts.infer_s)
        return parse_opprofile(reply.lines)

    def timestamp(self) -> int:
        reply = self.command("timestamp")
        values = [prefixed_int(line, "m-lap-us-") for line in reply.lines]
        found = [v for v in values if v is not None]
        if not found:
            raise ProtocolError(f"`timestamp`: no m-lap-us line in {reply.lines}")
        return found[0]
