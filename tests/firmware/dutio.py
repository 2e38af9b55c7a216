"""Test-only DUT links: the firmware over pipes (host port) or TCP (QEMU).

Both expose the same small interface: write bytes, read lines with a time-out,
send a command (text and '%' in two writes, like the MLCommons runner) and
collect the reply up to m-ready.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

READY = "m-ready"


class DutTimeout(AssertionError):
    """The DUT did not answer in time (a hang is a test failure)."""


class DutLink:
    """Line-oriented view of a byte link; subclasses supply _send and _recv."""

    def __init__(self) -> None:
        self._buf = b""
        self.transcript: list[str] = []
        self.bytes_sent = 0
        self.bytes_received = 0

    # transport primitives -------------------------------------------------
    def _send(self, data: bytes) -> None:
        raise NotImplementedError

    def _recv(self, timeout: float) -> bytes:
        """Up to a few KiB, b'' on time-out; raises EOFError when closed."""
        raise NotImplementedError

    # public ---------------------------------------------------------------
    def write(self, data: bytes | str) -> None:
        raw = data.encode() if isinstance(data, str) else data
        self.bytes_sent += len(raw)
        self._send(raw)

    def read_line(self, timeout: float = 5.0) -> str:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise DutTimeout(f"no line within {timeout} s; pending {self._buf[:200]!r}")
            chunk = self._recv(left)
            self.bytes_received += len(chunk)
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        text = line.decode("ascii", errors="replace").rstrip("\r")
        self.transcript.append(text)
        return text

    def read_until_ready(self, timeout: float = 5.0) -> list[str]:
        lines: list[str] = []
        while True:
            line = self.read_line(timeout)
            if line == READY:
                return lines
            lines.append(line)

    def command(self, text: str, timeout: float = 5.0, split: bool = True) -> list[str]:
        """Sends `text%` (text then '%' as two writes when split) and returns the reply."""
        if split:
            self.write(text)
            self.write("%")
        else:
            self.write(text + "%")
        return self.read_until_ready(timeout)

    def read_quiet(self, quiet: float = 0.2) -> bytes:
        """Everything that arrives until `quiet` seconds pass without a byte."""
        got = self._buf
        self._buf = b""
        while True:
            try:
                chunk = self._recv(quiet)
            except EOFError:
                return got
            if not chunk:
                return got
            got += chunk

    def close(self) -> None:
        pass


class PipeLink(DutLink):
    """The host-port firmware as a child process on stdin/stdout."""

    def __init__(self, exe: Path, args: Sequence[str] = (), cwd: Path | None = None) -> None:
        super().__init__()
        self.proc = subprocess.Popen(
            [str(exe), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
            cwd=cwd,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._in = self.proc.stdin
        self._out = self.proc.stdout.fileno()

    def _send(self, data: bytes) -> None:
        self._in.write(data)
        self._in.flush()

    def _recv(self, timeout: float) -> bytes:
        ready, _, _ = select.select([self._out], [], [], max(timeout, 0))
        if not ready:
            return b""
        chunk = os.read(self._out, 65536)
        if not chunk:
            raise EOFError("DUT closed its output")
        return chunk

    def close(self) -> None:
        with contextlib.suppress(BrokenPipeError, OSError):
            self._in.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class SocketLink(DutLink):
    """A TCP byte link (QEMU's -serial tcp:...)."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self.sock = sock

    def _send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _recv(self, timeout: float) -> bytes:
        ready, _, _ = select.select([self.sock], [], [], max(timeout, 0))
        if not ready:
            return b""
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("DUT closed the connection")
        return chunk

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def host_dut(exe: Path, cwd: Path | None = None) -> Iterator[PipeLink]:
    link = PipeLink(exe, cwd=cwd)
    try:
        yield link
    finally:
        link.close()


class QemuDut(SocketLink):
    """QEMU running an image with its UART0 on a local TCP port."""

    def __init__(self, sock: socket.socket, proc: subprocess.Popen[bytes]) -> None:
        super().__init__(sock)
        self.proc = proc

    def wait_exit(self, timeout: float = 10.0) -> int:
        return self.proc.wait(timeout=timeout)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Ends `timeout ... qemu-system-arm`: SIGTERM, which timeout passes on to QEMU. A SIGKILL
    would end timeout alone and leave QEMU running with no parent (measured: one orphan per
    suite run from the test that closes the link without `exit`)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    proc.wait()


@contextlib.contextmanager
def qemu_dut(
    elf: Path,
    machine: str,
    cpu: str,
    wall_limit_s: int = 120,
    cwd: Path | None = None,
    serial_index: int = 0,
) -> Iterator[QemuDut]:
    """Boots `elf` under QEMU with -icount shift=0 and connects to its UART, the
    serial_index-th -serial of the machine (the earlier ones go to null)."""
    for _attempt in range(3):
        port = _free_port()
        cmd = [
            "timeout",
            str(wall_limit_s),
            "qemu-system-arm",
            "-M",
            machine,
            "-cpu",
            cpu,
            "-nographic",
            "-monitor",
            "none",
            "-semihosting",
            "-icount",
            "shift=0",
            "-kernel",
            str(elf),
            *("-serial", "null") * serial_index,
            "-serial",
            f"tcp:127.0.0.1:{port},server=on,wait=on,nodelay=on",
        ]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=cwd)
        sock = None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=1)
                break
            except OSError:
                time.sleep(0.02)
        if sock is not None:
            break
        _stop(proc)
    else:
        raise AssertionError(f"QEMU did not listen: {proc.stderr.read() if proc.stderr else ''}")
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    link = QemuDut(sock, proc)
    try:
        yield link
    finally:
        link.close()
        _stop(proc)
        if proc.stderr is not None:
            proc.stderr.close()
