"""Property tests of the host's protocol parsing: the line splitter and the session reader.

Any bytes, split anywhere, non-ASCII or without a line end, give either lines or a
TinybenchError subclass, never another exception; memory stays bounded against a DUT that
streams forever without a newline; a silent or babbling DUT ends in a clean error.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from types import SimpleNamespace
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinybench.dut.protocol import LineSplitter, bracketed, error_text, parse_floats, parse_hex
from tinybench.dut.session import MAX_LINE_BYTES, MAX_REPLY_LINES, DutSession, Timeouts
from tinybench.errors import ProtocolError, TinybenchError

# The MLCommons runner's silences; the session waits them out on a virtual clock.
PATIENT = Timeouts(boot_s=10.0, command_s=5.0, infer_s=60.0)
# Bytes a DUT might send, weighted towards the protocol's own.
DUT_BYTES = st.binary(max_size=400) | st.lists(
    st.sampled_from([b"m-ready\r\n", b"\r", b"\n", b"e-[x]\r\n", b"m-results-[1,2]\r\n", b"\xff"]),
    max_size=30,
).map(b"".join)


def _lines_of(data: bytes, cuts: list[int]) -> tuple[list[str], bytes]:
    splitter = LineSplitter()
    lines: list[str] = []
    start = 0
    for cut in sorted(c % (len(data) + 1) for c in cuts):
        lines += splitter.feed(data[start:cut])
        start = cut
    lines += splitter.feed(data[start:])
    return lines, splitter.partial


@given(DUT_BYTES, st.lists(st.integers(min_value=0), max_size=20))
def test_lines_do_not_depend_on_where_the_link_split_the_bytes(
    data: bytes, cuts: list[int]
) -> None:
    whole = _lines_of(data, [])
    assert _lines_of(data, cuts) == whole
    lines, partial = whole
    assert all(line and "\r" not in line and "\n" not in line for line in lines)
    assert b"\r" not in partial and b"\n" not in partial
    # Bytes beyond ASCII come out as U+FFFD, never as another character or an exception.
    assert all(ch.isascii() or ch == "\ufffd" for line in lines for ch in line)


@given(st.text(max_size=120))
def test_value_parsers_give_a_value_or_a_protocol_error(text: str) -> None:
    for parse in (parse_floats, parse_hex):
        with suppress(ProtocolError):
            parse(text, "x")
    bracketed(text, "results")
    error_text(text)


class _VirtualClock:
    """time.monotonic() for the session: it moves only when a read waits out its timeout."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@contextmanager
def _virtual_time(clock: _VirtualClock) -> Iterator[None]:
    with mock.patch("tinybench.dut.session.time", SimpleNamespace(monotonic=clock.monotonic)):
        yield


class _Scripted:
    """A DUT that answers every write with `reply`, then sends `chunks` one per read.

    A read with nothing to send waits out its whole timeout on the virtual clock.
    """

    def __init__(self, reply: bytes, chunks: list[bytes] | None = None) -> None:
        self.reply = bytearray()
        self._answer = reply
        self._chunks = list(chunks or [])
        self.reads = 0
        self.clock = _VirtualClock()

    @property
    def description(self) -> str:
        return "scripted DUT"

    def write(self, data: bytes) -> None:
        self.reply += self._answer

    def read(self, timeout_s: float) -> bytes:
        self.reads += 1
        if self.reply:
            data = bytes(self.reply[:64])
            del self.reply[:64]
            return data
        if self._chunks:
            return self._chunks.pop(0)
        self.clock.now += timeout_s
        return b""

    def close(self) -> None:
        pass


@given(DUT_BYTES)
def test_any_reply_gives_a_reply_or_a_tinybench_error(reply: bytes) -> None:
    transport = _Scripted(reply)
    with _virtual_time(transport.clock), DutSession(transport, PATIENT) as session:
        for command in ("name", "infer 1 0", "results"):
            with suppress(TinybenchError):
                session.command(command)
        try:
            session.infer(1, 0)
            session.results()
        except TinybenchError:
            pass
        # Each command waited at most its silence (plus the last read's timeout), not forever.
        assert transport.clock.now - 1000.0 <= 5 * (PATIENT.infer_s + 0.5)


class _Babbler(_Scripted):
    """A DUT that sends `chunk` on every read, forever."""

    def __init__(self, chunk: bytes) -> None:
        super().__init__(b"")
        self._chunk = chunk

    def read(self, timeout_s: float) -> bytes:
        self.reads += 1
        return self._chunk


def test_a_dut_streaming_without_a_newline_is_cut_off_with_bounded_memory() -> None:
    babbler = _Babbler(b"\xa5" * 4096)
    session = DutSession(babbler, Timeouts(command_s=60.0))
    with pytest.raises(ProtocolError, match=f"over {MAX_LINE_BYTES} bytes without a line end"):
        session.command("name")
    # It stops at the first chunk past the cap: memory is bounded by cap + one read.
    assert babbler.reads == MAX_LINE_BYTES // 4096 + 1
    assert len(session._splitter.partial) <= MAX_LINE_BYTES + 4096


def test_a_dut_streaming_lines_without_m_ready_is_cut_off() -> None:
    babbler = _Babbler(b"m-noise\r\n" * 100)
    with pytest.raises(ProtocolError, match=f"over {MAX_REPLY_LINES} lines without m-ready"):
        DutSession(babbler, Timeouts(command_s=60.0)).command("name")


@given(st.binary(min_size=1, max_size=60).filter(lambda b: b"\n" not in b and b"\r" not in b))
def test_a_partial_line_then_silence_is_a_clean_timeout(partial: bytes) -> None:
    transport = _Scripted(b"", [partial])
    with _virtual_time(transport.clock), pytest.raises(ProtocolError, match="within 5 s") as err:
        DutSession(transport, PATIENT).command("name")
    assert "partial line" in str(err.value)
    assert transport.clock.now - 1000.0 == pytest.approx(PATIENT.command_s, abs=0.5)
