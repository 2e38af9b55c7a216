"""A DUT that is a local process speaking the protocol on stdin/stdout (the host port)."""

from __future__ import annotations

import os
import select
import subprocess
from collections.abc import Sequence
from pathlib import Path

from tinybench.errors import TransportError


class ProcessTransport:
    def __init__(self, argv: Sequence[str], cwd: Path | None = None) -> None:
        """cwd: the process's working directory, where its relative file paths resolve."""
        self._argv = list(argv)
        try:
            self._process = subprocess.Popen(
                self._argv,
                cwd=cwd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                bufsize=0,
            )
        except OSError as exc:
            raise TransportError(f"cannot start {self._argv[0]}: {exc}") from exc

    @property
    def description(self) -> str:
        return f"process {self._argv[0]} (pid {self._process.pid})"

    def _gone(self) -> TransportError:
        code = self._process.wait()
        stderr = (
            self._process.stderr.read().decode(errors="replace") if self._process.stderr else ""
        )
        tail = stderr.strip().splitlines()[-5:]
        return TransportError(
            f"{self.description} exited with code {code}"
            + (": " + " | ".join(tail) if tail else "")
        )

    def write(self, data: bytes) -> None:
        assert self._process.stdin is not None
        try:
            self._process.stdin.write(data)
            self._process.stdin.flush()
        except (BrokenPipeError, ValueError) as exc:
            raise self._gone() from exc

    def read(self, timeout_s: float) -> bytes:
        assert self._process.stdout is not None
        fd = self._process.stdout.fileno()
        ready, _, _ = select.select([fd], [], [], max(0.0, timeout_s))
        if not ready:
            return b""
        data = os.read(fd, 65536)
        if not data:
            raise self._gone()
        return data

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        for stream in (self._process.stdin, self._process.stdout, self._process.stderr):
            if stream is not None:
                stream.close()
