"""Runs firmware under QEMU with its UART on a local TCP port, always under a time limit.

`-icount shift=N` (the manifest's typed icount_shift; 0 on every board) makes virtual
time advance 2**N nanoseconds per instruction, so the SysTick counter is an exact
instruction count; `nodelay=on` avoids Nagle's
~47 ms stalls; `-semihosting` lets the firmware exit QEMU with a code. The TCP chardev goes
to the manifest's serial_index-th `-serial` (the console UART), the ones before it to null.

With energy_markers (firmware built with timestamp_mode="energy" for the cmsdk port), a second
TCP chardev goes on the next UART, where the firmware writes `tb-mark <edge> <counter>` at
each timestamp edge. QEMU opens its chardevs in order and, with wait=on, blocks on each until
it is connected: serial1 is not listening while QEMU waits on serial0, and with wait=off what
UART1 sends before a connect is lost. So both are wait=on and the launcher connects the console
first, then the marker port (with the same retry); the guest starts only once both are up.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path
from types import TracebackType

from tinybench.dut.lifeline import Lifeline
from tinybench.dut.transport.base import Transport
from tinybench.dut.transport.serial_link import SerialTransport
from tinybench.errors import TinybenchError, TransportError
from tinybench.manifests.boards import BoardManifest

DEFAULT_TIME_LIMIT_S = 3600.0
MARKER_PORTS = ("cmsdk",)  # the ports whose energy-mode firmware writes UART1 markers


def _tcp_chardev(port: int) -> str:
    return f"tcp:127.0.0.1:{port},server=on,wait=on,nodelay=on"


def free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


BOOT_OUTPUT_WAIT_S = 5.0  # for boards whose UART drops input until the firmware enables it


class _BootOutputFirst:
    """A transport whose first read returns what arrived while the launcher waited for the
    guest's first output (its boot banner), so the session still sees every byte."""

    def __init__(self, inner: SerialTransport, timeout_s: float) -> None:
        self._inner = inner
        self._early = inner.read(timeout_s)

    @property
    def description(self) -> str:
        return self._inner.description

    def write(self, data: bytes) -> None:
        self._inner.write(data)

    def read(self, timeout_s: float) -> bytes:
        if self._early:
            early, self._early = self._early, b""
            return early
        return self._inner.read(timeout_s)

    def close(self) -> None:
        self._inner.close()


class QemuDut:
    """A QEMU process running one firmware image; a context manager that always cleans up."""

    def __init__(
        self,
        board: BoardManifest,
        image: Path,
        time_limit_s: float = DEFAULT_TIME_LIMIT_S,
        energy_markers: bool = False,
        resettable: bool = False,
    ) -> None:
        """resettable: QEMU's human monitor listens on a local port, so that reset() can
        reset the guest as the reset button resets a board (a fresh boot, RAM not kept)."""
        if board.emulator is None:
            raise TinybenchError(f"board {board.board_id} is not emulated")
        if energy_markers and board.port not in MARKER_PORTS:
            raise TinybenchError(
                f"board {board.board_id} (port {board.port}) writes no energy markers; only the "
                f"{', '.join(MARKER_PORTS)} port does (e.g. qemu-m4)"
            )
        program = shutil.which(board.emulator.program)
        if program is None:
            raise TinybenchError(
                f"{board.emulator.program} not found; install the Debian package qemu-system-arm "
                "(bash scripts/setup.sh does)"
            )
        self.board = board
        self.image = image
        self.port = free_tcp_port()
        self.marker_port = free_tcp_port() if energy_markers else None
        self.monitor_port = free_tcp_port() if resettable else None
        self._monitor: socket.socket | None = None
        # Kept open for the life of the emulator and closed in close().
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115
        emulator = board.emulator
        self.argv = [
            program,
            "-M",
            emulator.machine,
            "-cpu",
            emulator.cpu,
            *emulator.command_args,
            "-monitor",
            f"tcp:127.0.0.1:{self.monitor_port},server=on,wait=off" if resettable else "none",
            *emulator.serial_args(
                _tcp_chardev(self.port),
                _tcp_chardev(self.marker_port) if self.marker_port is not None else None,
            ),
            "-kernel",
            str(image),
        ]
        # The guest's semihosting file calls resolve relative paths here: the host drops
        # inputs into this directory and the firmware's `db file` reads them in milliseconds.
        self.workdir = Path(tempfile.mkdtemp(prefix="tinybench-qemu-"))
        # SIGKILL of tinybench must not leave this QEMU running (see dut/lifeline.py).
        self._lifeline = Lifeline()
        try:
            self._process = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=self._stderr,
                cwd=self.workdir,
            )
        except BaseException:
            self._lifeline.close()
            raise
        self._lifeline.watch(self._process)
        # The time limit: a guest that hangs (a bkpt without semihosting, a kernel bug)
        # must never hang the host.
        self._watchdog = threading.Timer(time_limit_s, self._process.kill)
        self._watchdog.daemon = True
        self._watchdog.start()
        self.transport: Transport
        self.marker_transport: Transport | None = None  # UART1's markers (energy_markers)
        try:
            serial_link = SerialTransport.open(f"socket://127.0.0.1:{self.port}")
            self.transport = serial_link
            if self.marker_port is not None:
                # Listening only once serial0 is connected: the open's retry covers the gap.
                self.marker_transport = SerialTransport.open(
                    f"socket://127.0.0.1:{self.marker_port}"
                )
            # QEMU starts the guest when the link connects; a UART that drops input until the
            # firmware enables it would lose a command sent at once (the session's first `name`).
            if emulator.rx_drops_until_enabled:
                self.transport = _BootOutputFirst(serial_link, BOOT_OUTPUT_WAIT_S)
        except TransportError as exc:
            stderr = self.stderr_text()  # before close(), which closes the file
            self.close()
            raise TransportError(f"QEMU did not open its serial port: {stderr}") from exc

    def __enter__(self) -> QemuDut:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def pid(self) -> int:
        return self._process.pid

    def alive(self) -> bool:
        return self._process.poll() is None

    def stderr_text(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace").strip()

    def reset(self) -> None:
        """`system_reset` through QEMU's monitor: the guest reboots from its reset vector."""
        if self.monitor_port is None:
            raise TinybenchError("this QEMU was started without resettable=True")
        if self._monitor is None:
            self._monitor = socket.create_connection(("127.0.0.1", self.monitor_port), timeout=5)
        self._monitor.sendall(b"system_reset\n")

    def wait(self, timeout_s: float) -> int:
        """Waits for the guest to exit (semihosting) and returns QEMU's exit code."""
        return self._process.wait(timeout=timeout_s)

    def close(self) -> None:
        self._watchdog.cancel()
        if getattr(self, "_monitor", None) is not None:
            assert self._monitor is not None
            self._monitor.close()
            self._monitor = None
        for name in ("transport", "marker_transport"):
            transport = getattr(self, name, None)
            if transport is not None:
                transport.close()
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._lifeline.close()
        self._stderr.close()
        shutil.rmtree(self.workdir, ignore_errors=True)
