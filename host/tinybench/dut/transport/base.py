"""The interface every link to a DUT implements."""

from __future__ import annotations

from typing import Protocol


class Transport(Protocol):
    @property
    def description(self) -> str:
        """Where the link goes, for messages and transcripts."""
        ...

    def write(self, data: bytes) -> None:
        """Sends all of data (blocking); raises TransportError when the link is gone."""
        ...

    def read(self, timeout_s: float) -> bytes:
        """What has arrived, waiting up to timeout_s for the first byte; b"" on timeout.

        Raises TransportError when the link is gone (port closed, process exited).
        """
        ...

    def close(self) -> None: ...
