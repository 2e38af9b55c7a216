"""The transcript of a DUT that streams without a newline: recorded in pieces, all of it, and
never held in memory beyond MAX_PENDING_BYTES (a hostile DUT cannot grow the host's memory)."""

from __future__ import annotations

import io

from tinybench.dut.transport.recording import MAX_PENDING_BYTES, RecordingTransport


class _Streaming:
    """A transport whose DUT sends `total` bytes of 'a' in chunks, never a newline."""

    description = "streaming fake"

    def __init__(self, total: int, chunk: int) -> None:
        self._left = total
        self._chunk = chunk

    def write(self, data: bytes) -> None:
        del data

    def read(self, timeout_s: float) -> bytes:
        del timeout_s
        n = min(self._chunk, self._left)
        self._left -= n
        return b"a" * n

    def close(self) -> None:
        return


def test_a_stream_without_newlines_is_recorded_in_pieces() -> None:
    transcript = io.StringIO()
    link = RecordingTransport(_Streaming(10 * MAX_PENDING_BYTES + 123, 1000), transcript)
    received = 0
    while chunk := link.read(0.1):
        received += len(chunk)
        assert len(link._received) < MAX_PENDING_BYTES
    link.close()
    lines = transcript.getvalue().splitlines()[1:]  # after the header
    recorded = [line.split(" < ", 1)[1] for line in lines]
    assert all(text == "a" * len(text) for text in recorded)
    assert [len(text) for text in recorded] == [MAX_PENDING_BYTES] * 10 + [123]
    assert received == sum(len(text) for text in recorded)
