"""A scripted transport for tests: a peer that answers each write with bytes of its choosing."""

from __future__ import annotations

from collections.abc import Callable

from tinybench.errors import TransportError

Responder = Callable[[bytes], bytes]


class FakeTransport:
    """Records every write; what `respond(data)` returns becomes readable. No responder: silence."""

    def __init__(self, respond: Responder | None = None, description: str = "fake DUT") -> None:
        self._respond = respond
        self._description = description
        self._readable = bytearray()
        self.writes: list[bytes] = []
        self.closed = False

    @property
    def description(self) -> str:
        return self._description

    def write(self, data: bytes) -> None:
        if self.closed:
            raise TransportError(f"{self._description}: closed")
        self.writes.append(data)
        if self._respond is not None:
            self._readable += self._respond(data)

    def read(self, timeout_s: float) -> bytes:
        if self.closed:
            raise TransportError(f"{self._description}: closed")
        data = bytes(self._readable)
        self._readable.clear()
        return data

    def close(self) -> None:
        self.closed = True
