"""Checked replies over a damaged link, against the real firmware as a host process: the
reply-crc extension's wire format, and that a session never hands back a damaged output."""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterator

import pytest

from tinybench.build.firmware import FirmwareBuild
from tinybench.dut.protocol import LineSplitter
from tinybench.dut.session import DutSession, Timeouts
from tinybench.dut.transport.faulty import FaultInjector, FaultyTransport, parse_fault_spec
from tinybench.dut.transport.process_link import ProcessTransport
from tinybench.errors import DutError, ProtocolError, TransportError

FAST = Timeouts(boot_s=5.0, command_s=1.0, infer_s=2.0)


@pytest.fixture()
def damaged(host_kws01: FirmwareBuild) -> Iterator[tuple[DutSession, FaultInjector]]:
    """A checked session whose link is clean until the test sets the injector's spec."""
    injector = FaultInjector(parse_fault_spec("seed=0"))
    transport = FaultyTransport(ProcessTransport([str(host_kws01.image)]), injector)
    with DutSession(transport, FAST, verify_replies=True) as session:
        session.synchronize()
        yield session, injector


def _reply_lines(transport: ProcessTransport, command: bytes) -> list[str]:
    """Sends command and returns the raw lines up to m-ready (the session would check them)."""
    transport.write(command)
    splitter, lines = LineSplitter(), []
    deadline = time.monotonic() + 5.0
    while "m-ready" not in lines and time.monotonic() < deadline:
        lines += splitter.feed(transport.read(0.5))
    return lines


def test_crc_on_ends_each_reply_with_the_crc_of_command_and_reply(
    host_kws01: FirmwareBuild,
) -> None:
    transport = ProcessTransport([str(host_kws01.image)])
    with DutSession(transport, FAST) as session:
        session.synchronize()
        assert "reply-crc" in session.extensions
        assert _reply_lines(transport, b"crc on%") == [
            f"m-crc-[{zlib.crc32(b'crc on'):08x}]",
            "m-ready",
        ]
        expected = zlib.crc32(b"name" + b"m-name-dut-[tinybench]\r\n")
        assert _reply_lines(transport, b"name%") == [
            "m-name-dut-[tinybench]",
            f"m-crc-[{expected:08x}]",
            "m-ready",
        ]
        unknown = _reply_lines(transport, b"bogus%")
        refusal = zlib.crc32(b"bogus" + unknown[0].encode() + b"\r\n")
        assert unknown == ["e-[Unknown command: bogus]", f"m-crc-[{refusal:08x}]", "m-ready"]
        assert _reply_lines(transport, b"crc off%") == ["m-ready"]  # off before its end
        assert _reply_lines(transport, b"name%") == ["m-name-dut-[tinybench]", "m-ready"]


def test_a_refusal_that_checks_out_is_the_dut_s_own(
    damaged: tuple[DutSession, FaultInjector],
) -> None:
    session, _ = damaged
    with pytest.raises(DutError, match="Unknown command: bogus"):
        session.command("bogus")
    assert session.name() == "tinybench"


def _resync(session: DutSession) -> None:
    """resync, tried again while the damage hits its own exchange (as the worker does)."""
    for _ in range(9):
        try:
            session.resync()
            return
        except ProtocolError:
            continue
    session.resync()


@pytest.mark.parametrize("seed", [1])
def test_a_damaged_link_never_yields_a_damaged_output(
    damaged: tuple[DutSession, FaultInjector], kws01_samples: list[bytes], seed: int
) -> None:
    session, injector = damaged
    sample = kws01_samples[0]
    session.load(sample)
    clean = session.infer(1, 0).results, session.results_raw()
    injector.spec = parse_fault_spec(f"drop=2e-4,dup=2e-4,flip=2e-4,insert=2e-4,seed={seed}")
    outputs, failures = 0, 0
    for _ in range(12):
        try:
            session.load(sample)
            result = session.infer(1, 0)
            assert (result.results, session.results_raw()) == clean
            outputs += 1
        except (ProtocolError, TransportError):
            failures += 1
            _resync(session)
    assert outputs >= 3 and sum(injector.injected.values()) > 4
    assert failures + session.stats.upload_retries > 0  # damage was met and caught
    with pytest.raises(ProtocolError):  # every byte of a reply flipped: caught, not used
        injector.spec = parse_fault_spec("flip=1,dir=rx")
        session.command("results raw")
