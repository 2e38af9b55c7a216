"""A deliberately plain host for conformance tests: raw writes, lines read until m-ready."""

from __future__ import annotations

import time

from tinybench.dut.transport.base import Transport


class RawLink:
    def __init__(self, link: Transport) -> None:
        self.link = link
        self.buffer = b""

    def until_ready(self, timeout_s: float = 30.0) -> list[str]:
        """The lines before the next m-ready; fails (the DUT hung) when none comes in time."""
        lines: list[str] = []
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            while b"\n" in self.buffer:
                raw, self.buffer = self.buffer.split(b"\n", 1)
                line = raw.decode(errors="replace").strip()
                if line == "m-ready":
                    return lines
                if line:
                    lines.append(line)
            self.buffer += self.link.read(0.2)
        raise AssertionError(f"the DUT hung: no m-ready within {timeout_s} s after {lines}")

    def send(self, data: bytes) -> list[str]:
        self.link.write(data)
        return self.until_ready()

    def send_like_the_mlcommons_runner(self, text: str) -> list[str]:
        """The runner writes the command text, then `%` alone."""
        self.link.write(text.encode())
        self.link.write(b"%")
        return self.until_ready()
