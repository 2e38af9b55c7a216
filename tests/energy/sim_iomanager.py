"""Simulated energy-mode IO managers on a local socket, relaying to a real DUT process.

What is real: the DUT (the host-port firmware, the protocol code every board runs) and
pyserial itself, which opens the simulator's `socket://` URL as it opens the IO manager's
/dev/ttyACM0 (the same Serial object, read and written the same way). A socket rather than a
pty: on this machine's kernel, pty data was measured to sit for up to 4 s between the two
ends, which no real USB-CDC link does and which made the relay's 2 s acknowledgement timeout
fire at random. What is simulated is the IO manager between them, speaking the strings
../shared/ENERGY.md lists (from real EEMBC energy logs):

- `dut <cmd>%` -> `m-dut-passthrough(<cmd>)`, `m-ready`, then the DUT's lines as
  `[dut]: <line>`, the last one `[dut]: m-ready`;
- `tm 0%`, `enable-timer%`, `disable-timer%` with their replies;
- the H573 interface board also: `name%` (`tinyML Enhanced Interface Board`), `setbaud N%`
  (`set baud to: N`, `m-ready`, then it stores N and resets: deaf for `reset_s`) and
  `checkbaud%` (`baud is: N`).

The two kinds differ in when they read the DUT: the Arduino relays the DUT's output as it
comes, asked or not (a DUT reset puts its boot banner on the host link unasked); the H573
reads the DUT only inside a `dut` command (what the DUT says otherwise is lost).

Not verified against real hardware, so chosen here and stated: the Arduino's answer to
`name%` (`m-name-[arduino-io-manager]`), and both kinds' answer to an unknown command
(`e-[unknown command: <cmd>]`, `m-ready`).
"""

from __future__ import annotations

import contextlib
import queue
import select
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

from tinybench.dut.protocol import LineSplitter
from tinybench.dut.transport.base import Transport
from tinybench.errors import TransportError

H573_NAME = "tinyML Enhanced Interface Board"
ARDUINO_NAME = "m-name-[arduino-io-manager]"  # unverified: the real reply is not documented
H573_REPLY_TIMEOUT_S = 30.0  # the H573 stops relaying when the DUT gives no m-ready by then


class ProcessDut:
    """The DUT as the host-port firmware process: its stdin and stdout are its UART."""

    def __init__(self, image: Path) -> None:
        self._image = image
        self._process: subprocess.Popen[bytes] | None = None
        self._on_line: Callable[[str], None] = lambda line: None

    def start(self, on_line: Callable[[str], None]) -> None:
        self._on_line = on_line
        process = subprocess.Popen(
            [str(self._image)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        self._process = process
        threading.Thread(target=self._read, args=(process,), daemon=True).start()

    def _read(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        with contextlib.suppress(OSError, ValueError):
            for raw in process.stdout:
                line = raw.decode("ascii", errors="replace").strip("\r\n")
                if line:
                    self._on_line(line)

    def send(self, data: bytes) -> None:
        process = self._process
        if process is None or process.stdin is None:
            return
        with contextlib.suppress(BrokenPipeError, ValueError):
            process.stdin.write(data)
            process.stdin.flush()

    def reset(self) -> None:
        """A brown-out or the reset button: the firmware starts again and prints its banner."""
        self.stop()
        self.start(self._on_line)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.kill()
            process.wait()
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    stream.close()


class TransportDut:
    """The DUT behind a Transport (a QEMU board's UART0): lines read by a polling thread.
    `reset` is what resets the DUT (QemuDut.reset for QEMU), None when it cannot be reset."""

    def __init__(self, transport: Transport, reset: Callable[[], None] | None = None) -> None:
        self._transport = transport
        self._reset = reset
        self._splitter = LineSplitter()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, on_line: Callable[[str], None]) -> None:
        def read() -> None:
            while not self._closed.is_set():
                try:
                    data = self._transport.read(0.05)
                except TransportError:
                    return
                for line in self._splitter.feed(data):
                    if line:
                        on_line(line)

        self._thread = threading.Thread(target=read, daemon=True)
        self._thread.start()

    def send(self, data: bytes) -> None:
        with contextlib.suppress(TransportError):
            self._transport.write(data)

    def reset(self) -> None:
        if self._reset is None:
            raise AssertionError("this DUT cannot be reset")
        self._reset()

    def stop(self) -> None:
        self._closed.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)


DutEnd = ProcessDut | TransportDut


class SimulatedIoManager:
    """An IO manager of `kind` ("arduino" or "h573") on a socket, with its DUT: the host-port
    firmware process `image`, or any DutEnd (a QEMU board's UART)."""

    def __init__(
        self,
        dut: Path | DutEnd,
        kind: str,
        baud: int = 9600,
        reset_s: float = 0.2,
        silent: bool = False,
    ) -> None:
        if kind not in ("arduino", "h573"):
            raise ValueError(f"kind {kind!r}")
        self.kind = kind
        self.baud = baud  # the DUT link's rate (the H573 keeps it in flash)
        self.reset_s = reset_s
        self.silent = silent  # a dead IO manager: reads the host, never answers
        self.received: list[str] = []  # every command from the host, in order
        self.relayed_to_dut: list[str] = []  # every command passed on to the DUT
        self.lost_dut_lines: list[str] = []  # H573: what the DUT said outside a command
        self.resets = 0
        self.timer_enabled = False
        self.banner_relayed = threading.Event()  # set when the DUT's m-ready went out unasked
        self._write_lock = threading.Lock()
        self._deaf_until = 0.0
        self._in_command = False
        self._dut_lines: queue.Queue[str] = queue.Queue()
        self._closed = False
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.device = f"socket://127.0.0.1:{self._listener.getsockname()[1]}"
        self._host: socket.socket | None = None
        self._early: list[bytes] = []  # sent before the host connected, as a tty would keep it
        self._dut: DutEnd = ProcessDut(dut) if isinstance(dut, Path) else dut
        # Called with every command relayed to the DUT (tests inject faults from it).
        self.on_relay: Callable[[str], None] = lambda command: None
        self._dut.start(self._from_dut)
        self._host_thread = threading.Thread(target=self._from_host, daemon=True)
        self._host_thread.start()

    # -- the DUT -----------------------------------------------------------------------------

    def reset_dut(self) -> None:
        """The DUT resets (a brown-out, its reset button): it boots and prints its banner."""
        self.banner_relayed.clear()
        self._dut.reset()

    def _from_dut(self, line: str) -> None:
        if self.kind == "arduino":
            self._send(f"[dut]: {line}")
            if line == "m-ready":
                if not self._in_command:
                    self.banner_relayed.set()
                self._in_command = False
        elif self._in_command:
            self._dut_lines.put(line)
        else:
            self.lost_dut_lines.append(line)

    def _to_dut(self, command: str) -> None:
        self.relayed_to_dut.append(command)
        self._dut.send(f"{command}%".encode("ascii"))
        self.on_relay(command)

    # -- the host link -------------------------------------------------------------------------

    def _send(self, line: str) -> None:
        data = f"{line}\r\n".encode("ascii")
        with self._write_lock, contextlib.suppress(OSError):
            if self._host is None:
                self._early.append(data)
            else:
                self._host.sendall(data)

    def _accept(self) -> socket.socket | None:
        while not self._closed:
            ready, _, _ = select.select([self._listener], [], [], 0.05)
            if ready:
                host, _ = self._listener.accept()
                with self._write_lock:
                    for data in self._early:
                        host.sendall(data)
                    self._early.clear()
                    self._host = host
                return host
        return None

    def _from_host(self) -> None:
        pending = bytearray()
        host = self._accept()
        while host is not None and not self._closed:
            # Polled, never a blocking read: close() joins this thread before it closes the
            # sockets, so no read outlives the simulator.
            try:
                ready, _, _ = select.select([host], [], [], 0.05)
                if not ready:
                    continue
                data = host.recv(4096)
            except (OSError, ValueError):
                return
            if not data:
                return
            if time.monotonic() < self._deaf_until:
                continue  # resetting: what arrives now is lost
            pending += data
            while (end := pending.find(b"%")) >= 0:
                command = pending[:end].decode("ascii", errors="replace").strip()
                del pending[: end + 1]
                self.received.append(command)
                if not self.silent:
                    self._answer(command)

    def _answer(self, command: str) -> None:
        word, _, argument = command.partition(" ")
        if word == "dut":
            self._passthrough(argument)
        elif word == "tm" and argument == "0":
            self.timer_enabled = False
            self._reply("m-timestmp-mode-FALLING", "m-[Timer disabled after mode change]")
        elif word == "enable-timer":
            self.timer_enabled = True
            self._reply("m-timer-enabled")
        elif word == "disable-timer":
            self.timer_enabled = False
            self._reply("m-timer-disabled")
        elif word == "name":
            self._reply(H573_NAME if self.kind == "h573" else ARDUINO_NAME)
        elif self.kind == "h573" and word == "setbaud" and argument.isdigit():
            self._reply(f"set baud to: {int(argument)}")
            self.baud = int(argument)
            self.resets += 1
            self._deaf_until = time.monotonic() + self.reset_s
        elif self.kind == "h573" and word == "checkbaud":
            self._reply(f"baud is: {self.baud}")
        else:
            self._reply(f"e-[unknown command: {command}]")

    def _reply(self, *lines: str) -> None:
        for line in (*lines, "m-ready"):
            self._send(line)

    def _passthrough(self, command: str) -> None:
        self._send(f"m-dut-passthrough({command})")
        self._send("m-ready")
        if self.kind == "arduino":
            self._in_command = True  # marks the lines up to m-ready as asked; all are relayed
            self._to_dut(command)
            return
        while not self._dut_lines.empty():  # left over from an earlier command's tail
            self.lost_dut_lines.append(self._dut_lines.get_nowait())
        self._in_command = True
        self._to_dut(command)
        deadline = time.monotonic() + H573_REPLY_TIMEOUT_S
        try:
            while (remaining := deadline - time.monotonic()) > 0:
                try:
                    line = self._dut_lines.get(timeout=remaining)
                except queue.Empty:
                    break
                self._send(f"[dut]: {line}")
                if line == "m-ready":
                    break
        finally:
            self._in_command = False

    def close(self) -> None:
        self._closed = True
        self._dut.stop()
        self._host_thread.join(timeout=5.0)
        for sock in (self._host, self._listener):
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.close()
