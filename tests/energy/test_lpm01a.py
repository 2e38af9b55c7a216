"""The real LPM01A driver, end to end through pyserial and a pty, against the simulated LPM01A:
the configured energy per inference comes back through windows.py, each injected fault shows up
for what it is, and a lost ack or a silent instrument ends within its timeout."""

from __future__ import annotations

import io
import math
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import serial

from tinybench.dut.transport.recording import RecordingTransport
from tinybench.dut.transport.serial_link import SerialTransport
from tinybench.energy.lpm01a import Lpm01a, configure_commands
from tinybench.energy.monitor import EnergyMonitorError
from tinybench.energy.trace import EnergyTrace
from tinybench.energy.windows import EnergySummary, results_line, summarize, window_between

from .sim_lpm01a import SimulatedLpm01a, encode_value

# ST's v1.3 NUCLEO-L4R5ZI kws01 energy run: 1430.6681 µJ/inf, windows of about 10.87 s
CONFIGURED_UJ = 1430.6681
INFERENCES = 70
WINDOW_BINS = 10_870  # 1 kHz bins
ACTIVE_W = CONFIGURED_UJ * 1e-6 * INFERENCES / (WINDOW_BINS * 1e-3)
IDLE_W = 0.002
IDLE_BINS = 300
CLOSING = ["pwr off", "stop", "pwr off", "hrc"]


@pytest.fixture
def sims() -> Iterator[list[SimulatedLpm01a]]:
    made: list[SimulatedLpm01a] = []
    yield made
    for sim in made:
        sim.close()


def _bench(sims: list[SimulatedLpm01a], **faults: Any) -> tuple[SimulatedLpm01a, Lpm01a]:
    sim = SimulatedLpm01a(**faults)
    sims.append(sim)
    return sim, Lpm01a(sim.device)


def _run_windows(sim: SimulatedLpm01a, monitor: Lpm01a, windows: int = 5) -> EnergyTrace:
    """The DUT's part: idle, an edge, N inferences at the active power, an edge; per window."""
    for _ in range(windows):
        sim.samples(IDLE_BINS, IDLE_W)
        sim.edge()
        sim.samples(WINDOW_BINS, ACTIVE_W)
        sim.edge()
    sim.samples(IDLE_BINS, IDLE_W)  # the closing samples after the last edge
    edges = 2 * windows + (1 if sim.events > 2 * windows else 0)
    monitor.wait_edges(edges, timeout_s=10.0, settle_s=0.2)
    return monitor.stop()


def _score(trace: EnergyTrace, windows: int = 5) -> EnergySummary:
    """The last 2*windows edges pair up into windows (an extra boot edge comes first)."""
    edges = trace.edges[-2 * windows :]
    return summarize(
        [
            window_between(trace, edges[2 * i], edges[2 * i + 1], INFERENCES, i)
            for i in range(windows)
        ],
        trace,
    )


def _commands(sim: SimulatedLpm01a, count: int) -> list[str]:
    """The simulated LPM01A's commands once it has read `count` of them (or after 2 s)."""
    deadline = time.monotonic() + 2.0
    while len(sim.commands) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return list(sim.commands)


def test_value_encoding_is_four_significant_digits() -> None:
    assert encode_value(640.9e-6) == "6409-07"
    assert encode_value(32.78e-6) == "3278-08"
    assert encode_value(9.99996e-6) == "1000-08"


@pytest.mark.parametrize(("prompt", "ack_stop"), [(True, False), (False, True)])
def test_the_configured_energy_per_inference_is_recovered_through_the_pty(
    sims: list[SimulatedLpm01a], prompt: bool, ack_stop: bool
) -> None:
    sim, monitor = _bench(sims, boot_edge=True, prompt=prompt, ack_stop=ack_stop)
    try:
        monitor.start()
        trace = _run_windows(sim, monitor)
    finally:
        monitor.close()
    assert sim.commands == configure_commands(1800, 1000) + CLOSING
    assert sim.commands[12] == 'lcd 2 "           1.8V "'
    assert trace.source == "lpm01a"
    assert trace.bins == 6 * IDLE_BINS + 5 * WINDOW_BINS
    assert len(trace.edges) == 11  # the boot edge first
    assert trace.edges[0] == 0
    assert (trace.dropped_bins, trace.garbled_bins, trace.faults) == (0, 0, ())
    assert trace.peak_buffer_load == 0.0
    summary = _score(trace)
    assert summary.compliant, summary.reasons
    assert [w.duration_s for w in summary.windows] == pytest.approx([10.87] * 5)
    assert summary.median_uj_per_inference == pytest.approx(CONFIGURED_UJ, rel=1e-3)
    assert results_line(summary).startswith("Median energy cost is 1430.")


def test_each_fault_is_counted_and_none_moves_the_median(sims: list[SimulatedLpm01a]) -> None:
    clean_sim, clean = _bench(sims)
    try:
        clean.start()
        reference = _score(_run_windows(clean_sim, clean)).median_uj_per_inference
    finally:
        clean.close()
    # window i's active bins are produced from sample 300 + i * 11_170 on
    window = [IDLE_BINS + i * (WINDOW_BINS + IDLE_BINS) for i in range(5)]
    sim, monitor = _bench(
        sims,
        drop_at=range(window[1] + 100, window[1] + 105),  # 5 dropped in window 1
        garble_at=(window[2] + 7, window[2] + 5000, 20),  # 2 in window 2, 1 before any window
        nul_at=(999 + 1, 2000 + 1, window[4] + 1),  # a NUL before the value after a TimeStamp
        buffer_rise_per_s=1.5,
        boot_edge=True,
    )
    try:
        monitor.start()
        trace = _run_windows(sim, monitor)
    finally:
        monitor.close()
    assert trace.dropped_bins == 5
    # placed at the TimeStamp after the gap (12,000 produced, 11,995 delivered): in window 1
    assert trace.dropped_at == ((11_995, 5),)
    assert window[1] < 11_995 < window[1] + WINDOW_BINS - 5
    assert trace.garbled_bins == 3
    assert int(sum(math.isnan(v) for v in trace.energy_j)) == 3
    assert trace.bins == 6 * IDLE_BINS + 5 * WINDOW_BINS - 5
    assert "3 NUL byte(s) stripped from the stream" in trace.faults
    assert "3 unreadable value line(s), kept as NaN bins" in trace.faults
    assert any(f.startswith("5 sample(s) dropped") for f in trace.faults)
    assert any(f.startswith("the monitor's TX buffer reached 84%") for f in trace.faults)
    produced_s = (6 * IDLE_BINS + 5 * WINDOW_BINS) // 1000
    assert trace.peak_buffer_load == float(int(1.5 * produced_s))
    summary = _score(trace)
    assert [w.dropped_bins for w in summary.windows] == [0, 5, 0, 0, 0]
    assert [w.nan_bins for w in summary.windows] == [0, 0, 2, 0, 0]
    # the TimeStamp lines inside each window: the last at 11 s, 22 s, ... of produced samples
    last_in_window = [(w + WINDOW_BINS) // 1000 for w in window]
    assert [w.peak_buffer_load for w in summary.windows] == [
        float(int(1.5 * s)) for s in last_in_window
    ]
    assert summary.windows[1].duration_s == pytest.approx(10.87)  # the drops took time too
    assert summary.garbled_bins == 3
    assert summary.dropped_fraction == pytest.approx(7 / (5 * WINDOW_BINS))
    assert summary.compliant  # 7 lost samples of 54,350: within the 0.1 % rule
    assert summary.median_uj_per_inference == reference  # windows 0, 3, 4 are intact


def test_drops_over_the_limit_make_the_run_non_compliant(sims: list[SimulatedLpm01a]) -> None:
    start = IDLE_BINS + 2 * (WINDOW_BINS + IDLE_BINS)
    sim, monitor = _bench(sims, drop_at=range(start + 10, start + 10 + 60))
    try:
        monitor.start()
        summary = _score(_run_windows(sim, monitor))
    finally:
        monitor.close()
    assert not summary.compliant
    assert summary.reasons == (
        "lost 60 of 54350 samples in the windows (60 dropped, 0 unreadable): 0.1104% > 0.1000%",
    )
    assert summary.windows[2].dropped_bins == 60


def test_a_lost_ack_fails_within_its_timeout(sims: list[SimulatedLpm01a]) -> None:
    sim = SimulatedLpm01a(no_ack_for="volt 1800m")
    sims.append(sim)
    monitor = Lpm01a(sim.device, ack_timeout_s=0.3)
    began = time.monotonic()
    try:
        with pytest.raises(EnergyMonitorError, match=r"no `ack volt 1800m` within 0\.3 s"):
            monitor.start()
    finally:
        monitor.close()
    assert 0.3 <= time.monotonic() - began < 1.5
    # nothing sent after the unanswered command but, from close(), the supply switched off
    assert _commands(sim, 15) == [*configure_commands(1800, 1000)[:12], "pwr off", "stop", "hrc"]


def test_an_error_reply_is_reported_with_its_detail(sims: list[SimulatedLpm01a]) -> None:
    sim = SimulatedLpm01a(error_for="freq 1k")
    sims.append(sim)
    with (
        Lpm01a(sim.device, ack_timeout_s=1.0) as monitor,
        pytest.raises(
            EnergyMonitorError,
            match=r"refused `freq 1k`: error freq 1k \(Error detail: parameter out of range\)",
        ),
    ):
        monitor.start()
    assert _commands(sim, 14) == [*configure_commands(1800, 1000)[:11], "pwr off", "stop", "hrc"]


def test_missing_edges_and_a_stop_that_never_completes_end_within_their_timeouts(
    sims: list[SimulatedLpm01a],
) -> None:
    sim = SimulatedLpm01a(never_completes=True)
    sims.append(sim)
    monitor = Lpm01a(sim.device, stop_timeout_s=0.4)
    try:
        monitor.start()
        sim.edge()
        sim.samples(500, IDLE_W)
        began = time.monotonic()
        with pytest.raises(EnergyMonitorError, match="1 timestamp edge\\(s\\) of the 2 awaited"):
            monitor.wait_edges(2, timeout_s=0.3)
        assert time.monotonic() - began < 1.5
        assert monitor.snapshot().bins == 500
        with pytest.raises(EnergyMonitorError, match="no `Acquisition completed` after `stop`"):
            monitor.stop()
    finally:
        monitor.close()
    monitor.close()  # twice is fine


def test_wait_edges_blocks_until_the_settle_bins_arrive(sims: list[SimulatedLpm01a]) -> None:
    sim, monitor = _bench(sims)
    try:
        monitor.start()
        sim.edge()

        def later() -> None:
            time.sleep(0.2)
            sim.samples(80, IDLE_W)

        feeder = threading.Thread(target=later)
        feeder.start()
        trace = monitor.wait_edges(1, timeout_s=5.0, settle_s=0.05)
        feeder.join()
        assert trace.edges == (0,)
        assert trace.bins >= 50
    finally:
        monitor.close()


def test_unreadable_text_lines_are_faults_not_bins_and_prompts_are_tolerated(
    sims: list[SimulatedLpm01a],
) -> None:
    sim = SimulatedLpm01a()
    sims.append(sim)
    transcript = io.StringIO()
    link = RecordingTransport(SerialTransport.open(sim.device, baud=3_686_400), transcript)
    monitor = Lpm01a(link)  # an open Transport instead of a port name
    try:
        monitor.start()
        sim.samples(10, IDLE_W)
        sim.line(b"TimeSt\xffmp: 0#1s")
        sim.line(b"PowerShield > ")
        sim.line(b"\x00\x00")  # NULs only: a bin that could not be read
        sim.line(b"evnt 00 ris")
        sim.samples(10, IDLE_W)
        trace = monitor.wait_edges(0, timeout_s=5.0, settle_s=0.021)
    finally:
        monitor.close()
    assert trace.bins == 21  # 20 values and the NUL line
    assert trace.garbled_bins == 1
    assert math.isnan(trace.energy_j[10])
    assert trace.faults[0] == "unreadable line after bin 10: 'TimeSt\\\\xffmp: 0#1s'"
    assert trace.faults[1] == "unreadable line after bin 11: 'evnt 00 ris'"
    assert "2 NUL byte(s) stripped from the stream" in trace.faults
    assert "> htc\\r\\n" in transcript.getvalue()


class _RefusesTheRate(serial.Serial):  # type: ignore[misc]
    """A port whose driver rejects 3,686,400 baud, as some USB-CDC drivers do."""

    def _reconfigure_port(self, force_update: bool = False) -> None:
        if self._baudrate == 3_686_400:
            raise serial.SerialException("Invalid baud rate: 3686400")
        super()._reconfigure_port(force_update)


def test_a_port_that_refuses_the_baud_rate_is_a_clear_error(
    sims: list[SimulatedLpm01a],
) -> None:
    sim = SimulatedLpm01a()
    sims.append(sim)

    def factory(url: str, do_not_open: bool = False, **kwargs: Any) -> serial.Serial:
        port = _RefusesTheRate(**kwargs)
        port.port = url
        return port

    with pytest.raises(EnergyMonitorError, match="at 3,686,400 baud: Invalid baud rate"):
        Lpm01a(sim.device, serial_factory=factory)


def test_a_port_that_goes_away_mid_acquisition_ends_the_wait_at_once(
    sims: list[SimulatedLpm01a],
) -> None:
    sim, monitor = _bench(sims)
    try:
        monitor.start()
        sim.edge()
        sim.samples(100, IDLE_W)
        assert monitor.wait_edges(1, timeout_s=5.0).bins == 100
        sim.close()  # unplugged
        began = time.monotonic()
        with pytest.raises(
            EnergyMonitorError, match=r"of the 2 awaited .* the port failed: "
        ) as err:
            monitor.wait_edges(2, timeout_s=30.0)
        assert "timestamp pin" not in str(err.value)
        assert time.monotonic() - began < 5.0
        assert monitor.snapshot().bins == 100  # what arrived before is kept
    finally:
        monitor.close()
