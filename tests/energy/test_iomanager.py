"""A DutSession through the IO-manager relay, over a local socket, to the real host-port firmware.

The chain is the energy-mode one: DutSession -> IoManagerTransport -> SerialTransport
(pyserial on the socket:// URL) -> simulated Arduino IO manager or H573 interface board -> the DUT
process. A direct session on the same firmware gives the figures the relay must reproduce.
"""

from __future__ import annotations

import re
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tinybench.build.firmware import FirmwareBuild, build_firmware
from tinybench.dut.iomanager import (
    MAX_DB_CHUNK_BYTES,
    RELAY_LINE_LIMIT,
    IoManagerError,
    IoManagerTransport,
)
from tinybench.dut.session import DutResetError, DutSession, Timeouts, db_chunk_limit
from tinybench.dut.transport.fake import FakeTransport
from tinybench.dut.transport.process_link import ProcessTransport
from tinybench.dut.transport.serial_link import SerialTransport
from tinybench.paths import locate
from tinybench.project import Project

from .sim_iomanager import H573_NAME, SimulatedIoManager

KINDS = ("arduino", "h573")
INPUT_BYTES = 490  # kws01's input tensor (the firmware's info line says input_bytes=490)


@pytest.fixture(scope="module")
def host_kws01() -> FirmwareBuild:
    return build_firmware(Project(locate()), "host", "native", "kws01")


@pytest.fixture(scope="module")
def kws01_input(shared_dir: Path) -> bytes:
    data = (shared_dir / "datasets" / "kws01" / "tst_000000_Stop_7.bin").read_bytes()
    assert len(data) == INPUT_BYTES
    return data


@pytest.fixture(scope="module")
def direct_results(host_kws01: FirmwareBuild, kws01_input: bytes) -> tuple[float, ...]:
    with DutSession(ProcessTransport([str(host_kws01.image)])) as session:
        session.synchronize()
        session.load(kws01_input)
        return session.infer(1, 0).results


class Bench:
    def __init__(self, sim: SimulatedIoManager, relay: IoManagerTransport) -> None:
        self.sim = sim
        self.relay = relay


def _open(sim: SimulatedIoManager, kind: str, **kwargs: float) -> IoManagerTransport:
    serial_link = SerialTransport.open(sim.device, baud=115200)
    return IoManagerTransport(serial_link, kind, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(params=KINDS)
def bench(request: pytest.FixtureRequest, host_kws01: FirmwareBuild) -> Iterator[Bench]:
    kind = str(request.param)
    sim = SimulatedIoManager(host_kws01.image, kind)
    relay = _open(sim, kind)
    yield Bench(sim, relay)
    relay.close()
    sim.close()


def test_name_profile_upload_and_infer_match_a_direct_session(
    bench: Bench, kws01_input: bytes, direct_results: tuple[float, ...]
) -> None:
    with DutSession(bench.relay) as session:
        session.synchronize()
        assert "db-bin" in session.extensions  # offered, yet the relay gets hex lines only
        assert session.name() == "tinybench"
        assert session.profile() == ("tinybench 0.1.0", "kws01")
        session.load(kws01_input)
        readback = session.command(f"db print {INPUT_BYTES} 0").lines
        result = session.infer(1, 0)
    chunks = [c[len("db ") :] for c in bench.sim.relayed_to_dut if re.fullmatch(r"db [0-9a-f]+", c)]
    assert chunks and all(len(c) <= 2 * MAX_DB_CHUNK_BYTES for c in chunks)
    assert len(chunks) == -(-INPUT_BYTES // MAX_DB_CHUNK_BYTES)  # 19 lines for 490 bytes
    assert bytes.fromhex("".join(chunks)) == kws01_input
    assert f"db load {INPUT_BYTES}" in bench.sim.relayed_to_dut
    assert not any(c.startswith("db bin") for c in bench.sim.relayed_to_dut)
    assert all(len(c) + len("dut %") <= 64 for c in bench.sim.received)  # the relay's limit
    loaded = b"".join(
        bytes.fromhex(line.removeprefix("m-buffer-"))
        for line in readback
        if line.startswith("m-buffer-")
    )
    assert len(loaded) == INPUT_BYTES
    assert zlib.crc32(loaded) == zlib.crc32(kws01_input)
    assert result.results == direct_results
    assert len(result.results) == 12
    assert max(result.results) > 0.5  # a real sample: one keyword clearly wins


def test_a_standard_only_session_runs_through_the_relay(
    bench: Bench, kws01_input: bytes, direct_results: tuple[float, ...]
) -> None:
    with DutSession(bench.relay, standard_only=True) as session:
        session.synchronize()
        session.load(kws01_input)
        assert session.infer(1, 0).results == direct_results
    assert "help" not in bench.sim.relayed_to_dut
    chunks = [c for c in bench.sim.relayed_to_dut if re.fullmatch(r"db [0-9a-f]+", c)]
    assert max(len(c) for c in chunks) == len("db ") + 2 * MAX_DB_CHUNK_BYTES  # not 31 bytes


def test_every_command_goes_out_wrapped_in_dut(bench: Bench) -> None:
    with DutSession(bench.relay) as session:
        session.synchronize()
        session.name()
    dut_commands = [c for c in bench.sim.received if c.startswith("dut ")]
    assert dut_commands == [f"dut {c}" for c in bench.sim.relayed_to_dut]
    assert [c for c in bench.sim.received if not c.startswith("dut ")] == []
    assert "dut " not in bench.sim.received  # the session's lone `%` is not relayed
    assert bench.sim.relayed_to_dut == ["name", "help", "name"]


def test_a_queued_boot_banner_is_discarded_and_counted(bench: Bench) -> None:
    with DutSession(bench.relay) as session:
        session.synchronize()
        before = list(bench.relay.unsolicited)
        bench.sim.reset_dut()
        if bench.sim.kind == "arduino":
            assert bench.sim.banner_relayed.wait(5.0)
            time.sleep(0.1)  # the banner now sits in the socket, unread
        else:
            time.sleep(0.3)  # the H573 does not read the DUT outside a command
        assert session.name() == "tinybench"
        assert session.profile() == ("tinybench 0.1.0", "kws01")
    new = bench.relay.unsolicited[len(before) :]
    if bench.sim.kind == "arduino":
        assert new == ["m-init-done", "m-ready"]
    else:
        assert new == []
        assert bench.sim.lost_dut_lines[-2:] == ["m-init-done", "m-ready"]


def test_a_dut_reset_in_the_middle_of_infer_is_reported_as_a_reset(
    bench: Bench, kws01_input: bytes
) -> None:
    with DutSession(bench.relay) as session:
        session.synchronize()
        session.load(kws01_input)
        reset = threading.Timer(1.0, bench.sim.reset_dut)  # infer 3000 takes ~4 s here
        reset.start()
        try:
            with pytest.raises(DutResetError, match="while answering `infer 3000 0`"):
                session.infer(3000, 0)
        finally:
            reset.join()
    assert bench.sim.relayed_to_dut[-1] == "infer 3000 0"


def test_timestamp_mode_and_timer_commands(bench: Bench) -> None:
    bench.relay.timestamp_mode_falling()
    assert bench.sim.timer_enabled is False
    bench.relay.timer(True)
    assert bench.sim.timer_enabled is True
    bench.relay.timer(False)
    assert bench.sim.timer_enabled is False
    assert bench.sim.received[-3:] == ["tm 0", "enable-timer", "disable-timer"]


def test_setbaud_and_checkbaud_on_the_h573(host_kws01: FirmwareBuild) -> None:
    sim = SimulatedIoManager(host_kws01.image, "h573", reset_s=0.2)
    relay = _open(sim, "h573", reset_s=0.4)
    try:
        assert relay.name() == H573_NAME
        assert relay.check_baud() == 9600
        relay.set_baud(19200)
        assert sim.resets == 1
        assert relay.check_baud() == 19200  # answered after the reset
        with DutSession(relay) as session:  # the DUT is still reachable afterwards
            session.synchronize()
            assert session.name() == "tinybench"
    finally:
        relay.close()
        sim.close()


def test_setbaud_on_the_arduino_is_a_clear_error_and_sends_nothing(
    host_kws01: FirmwareBuild,
) -> None:
    sim = SimulatedIoManager(host_kws01.image, "arduino")
    relay = _open(sim, "arduino")
    try:
        with pytest.raises(IoManagerError, match="only on the H573"):
            relay.set_baud(115200)
        with pytest.raises(IoManagerError, match="only on the H573"):
            relay.check_baud()
        assert relay.name() == "m-name-[arduino-io-manager]"
        assert sim.received == ["name"]
    finally:
        relay.close()
        sim.close()


@pytest.mark.parametrize("kind", KINDS)
def test_a_silent_io_manager_is_a_timeout_error_not_a_hang(
    host_kws01: FirmwareBuild, kind: str
) -> None:
    sim = SimulatedIoManager(host_kws01.image, kind, silent=True)
    relay = _open(sim, kind, ack_timeout_s=0.5, command_timeout_s=0.5)
    try:
        start = time.monotonic()
        with pytest.raises(IoManagerError, match=r"no m-dut-passthrough\(name\) within 0\.5 s"):
            DutSession(relay, Timeouts(boot_s=30.0)).synchronize()
        assert time.monotonic() - start < 5.0  # the ack timeout, not the 30 s boot allowance
        with pytest.raises(IoManagerError, match=r"no m-ready after `name%` within 0\.5 s"):
            relay.name()
        assert sim.received == ["dut name", "name"]
    finally:
        relay.close()
        sim.close()


def test_a_wrong_passthrough_echo_is_an_error() -> None:
    def respond(data: bytes) -> bytes:
        return b"m-dut-passthrough(nmae)\r\nm-ready\r\n" if data == b"dut name%" else b""

    relay = IoManagerTransport(FakeTransport(respond), "h573", drain_quiet_s=0.0)
    relay.write(b"name%")
    with pytest.raises(IoManagerError, match="acknowledged 'nmae'"):
        relay.read(0.1)


def test_a_command_longer_than_the_relay_line_is_refused_before_sending() -> None:
    inner = FakeTransport()
    relay = IoManagerTransport(inner, "arduino", drain_quiet_s=0.0)
    command = "db " + "00" * 40  # 83 bytes with `dut ` and `%`
    with pytest.raises(IoManagerError, match=f"relays at most {RELAY_LINE_LIMIT} a line"):
        relay.write(command.encode() + b"%")
    assert inner.writes == []


def test_binary_bytes_cannot_be_relayed() -> None:
    inner = FakeTransport()
    relay = IoManagerTransport(inner, "arduino", drain_quiet_s=0.0)
    with pytest.raises(IoManagerError, match="binary uploads cannot cross"):
        relay.write(bytes([0xF0, 0x9F, 0x25]))
    with pytest.raises(IoManagerError, match="announces a binary upload"):
        relay.write(b"db bin 490 1234abcd%")
    assert inner.writes == []


def test_the_session_asks_the_transport_for_its_chunk_limit() -> None:
    assert db_chunk_limit(FakeTransport()) is None  # a direct link: the default chunks
    relay = IoManagerTransport(FakeTransport(), "arduino")
    assert db_chunk_limit(relay) == MAX_DB_CHUNK_BYTES == 26


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(IoManagerError, match="unknown IO manager kind 'uno'"):
        IoManagerTransport(FakeTransport(), "uno")  # type: ignore[arg-type]


class _ScriptedIoManager:
    """An IO manager's USB side driven by the test: what `queue` puts there is read next."""

    def __init__(self) -> None:
        self.readable = bytearray()
        self.writes: list[bytes] = []

    @property
    def description(self) -> str:
        return "scripted IO manager"

    def queue(self, data: bytes) -> None:
        self.readable += data

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def read(self, timeout_s: float) -> bytes:
        data = bytes(self.readable)
        self.readable.clear()
        return data

    def close(self) -> None:
        pass


def test_the_tail_of_an_abandoned_reply_is_discarded_not_taken_as_the_next_reply() -> None:
    peer = _ScriptedIoManager()
    relay = IoManagerTransport(peer, "arduino", drain_quiet_s=0.0)
    relay.write(b"name%")
    peer.queue(b"m-dut-passthrough(name)\r\nm-ready\r\n[dut]: m-name-dut-[x]\r\n")
    assert relay.read(0.1) == b"m-name-dut-[x]\n"  # the session gives up before m-ready
    peer.queue(b"[dut]: late\r\n[dut]: m-ready\r\n")  # the rest arrives after all
    relay.write(b"profile%")
    assert peer.writes == [b"dut name%", b"dut profile%"]
    peer.queue(b"m-dut-passthrough(profile)\r\nm-ready\r\n[dut]: m-model-[kws01]\r\n")
    peer.queue(b"[dut]: m-ready\r\n")
    assert relay.read(0.1) == b"m-model-[kws01]\nm-ready\n"
    assert relay.unsolicited == ["late", "m-ready"]
    assert relay.stray == []


def test_the_arduino_timer_laps_are_kept_apart_from_the_dut_reply() -> None:
    peer = _ScriptedIoManager()
    relay = IoManagerTransport(peer, "arduino", drain_quiet_s=0.0)
    relay.write(b"name%")
    peer.queue(b"m-dut-passthrough(name)\r\nm-lap-us-1234\r\nm-ready\r\n")
    peer.queue(b"[dut]: m-name-dut-[x]\r\nm-lap-us-5678\r\n[dut]: m-ready\r\n")
    assert relay.read(0.1) == b"m-name-dut-[x]\nm-ready\n"
    assert relay.laps_us == [1234, 5678]


def test_a_dut_line_cut_short_before_the_echo_does_not_hide_the_echo() -> None:
    peer = _ScriptedIoManager()
    relay = IoManagerTransport(peer, "arduino", drain_quiet_s=0.0)
    peer.queue(b"[dut]: m-init")  # a banner line in flight when the command goes out
    relay.write(b"name%")
    peer.queue(b"m-dut-passthrough(name)\r\nm-ready\r\n[dut]: m-name-dut-[x]\r\n")
    peer.queue(b"[dut]: m-ready\r\n")
    assert relay.read(0.1) == b"m-name-dut-[x]\nm-ready\n"
    assert relay.unsolicited == ["m-init"]
