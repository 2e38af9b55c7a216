"""The co-simulated power monitor: marker lines of a QEMU DUT -> a modelled EnergyTrace.

The marker transport is scripted here (the QEMU firmware side is tested with the firmware). The
board facts are qemu-m4's: a 25 MHz counter, 40 instructions per tick under -icount shift=0.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest

from tinybench.energy.cosim import (
    CosimMonitor,
    PowerModel,
    cosim_monitor_for_board,
    parse_marker,
)
from tinybench.energy.monitor import EnergyMonitor, EnergyMonitorError
from tinybench.energy.trace import EnergyTrace
from tinybench.errors import TransportError
from tinybench.manifests.boards import load_board_manifests

COUNTER_HZ = 25_000_000
PER_TICK = 40.0
MODEL = PowerModel(static_mw=5.0, pj_per_instruction=100.0)
# 1e9 instructions/s: 5 mW static + 100 pJ x 1e9/s = 105 mW in all.
POWER_W = 0.105


class ScriptedMarkers:
    """A marker port whose reads return the scripted chunks one by one, then nothing (or fail)."""

    def __init__(self, chunks: list[bytes], fail_at_end: bool = False) -> None:
        self._chunks = list(chunks)
        self._fail_at_end = fail_at_end
        self.closed = False

    @property
    def description(self) -> str:
        return "scripted UART1"

    def write(self, data: bytes) -> None:
        raise AssertionError("the co-simulated monitor never writes to the marker port")

    def read(self, timeout_s: float) -> bytes:
        if self._chunks:
            return self._chunks.pop(0)
        if self._fail_at_end:
            raise TransportError("QEMU exited")
        time.sleep(min(timeout_s, 0.01))  # a real port waits for the first byte
        return b""

    def close(self) -> None:
        self.closed = True


def marker_lines(ticks: list[int]) -> bytes:
    return b"".join(f"tb-mark {i} {t}\n".encode() for i, t in enumerate(ticks))


def model_energy_j(ticks: int) -> float:
    """The model applied by hand: t = ticks / 25 MHz, instructions = 40 x ticks."""
    return 5e-3 * ticks / COUNTER_HZ + 100e-12 * 40 * ticks


def monitor_over(chunks: list[bytes], **kwargs: float) -> CosimMonitor:
    monitor = CosimMonitor(ScriptedMarkers(chunks), COUNTER_HZ, PER_TICK, MODEL, **kwargs)
    monitor.start()
    return monitor


# Five windows of known tick deltas, none a whole number of 1 ms bins (25,000 ticks), with gaps
# of host traffic between them; the boot edge at an arbitrary counter value.
BOOT_TICKS = 123_456_789
WINDOWS = (271_750_000 + 12_345, 262_500_000, 300_000_000 + 24_999, 250_013_001, 275_000_777)
GAPS = (50_000_017, 3_333_333, 37_501, 7_777_777, 40_000_001)


def five_window_ticks() -> list[int]:
    ticks = [BOOT_TICKS]
    for gap, window in zip(GAPS, WINDOWS, strict=True):
        ticks.append(ticks[-1] + gap)
        ticks.append(ticks[-1] + window)
    return ticks


def window_sum(trace: EnergyTrace, start_edge: int, end_edge: int) -> float:
    return float(trace.energy_j[trace.edges[start_edge] : trace.edges[end_edge]].sum())


def test_each_window_holds_the_model_applied_to_its_ticks() -> None:
    monitor = monitor_over([marker_lines(five_window_ticks())])
    trace = monitor.wait_edges(11, timeout_s=1.0)
    assert len(trace.edges) == 11
    for i, window in enumerate(WINDOWS):
        energy = window_sum(trace, 1 + 2 * i, 2 + 2 * i)
        assert energy == pytest.approx(model_energy_j(window), rel=1e-9)
        assert energy == pytest.approx(POWER_W * window / COUNTER_HZ, rel=1e-9)
    # and the gaps, and the whole acquisition between the first and the last edge
    assert window_sum(trace, 0, 1) == pytest.approx(model_energy_j(GAPS[0]), rel=1e-9)
    assert window_sum(trace, 0, 10) == pytest.approx(
        model_energy_j(sum(WINDOWS) + sum(GAPS)), rel=1e-9
    )


def test_uj_per_inference_of_a_known_window() -> None:
    # 10.5 s at 105 mW = 1.1025 J; over 70 inferences = 15750 uJ each.
    monitor = monitor_over([marker_lines([0, 1_000_000, 1_000_000 + 262_500_000])])
    trace = monitor.wait_edges(3, timeout_s=1.0)
    assert window_sum(trace, 1, 2) / 70 * 1e6 == pytest.approx(15750.0, rel=1e-12)
    assert monitor.energy_for_ticks(262_500_000) == pytest.approx(1.1025, rel=1e-12)


def test_each_span_is_its_own_delta_rounded_half_up_to_bins() -> None:
    # deltas in bins of 25,000 ticks: 1.49996 -> 1, 0.00004 -> 0, 1.0 -> 1, 0.2 -> 0
    ticks = [7, 7 + 37_499, 7 + 37_500, 7 + 62_500, 7 + 67_500]
    assert monitor_over([marker_lines(ticks)]).wait_edges(5, 1.0).edges == (0, 1, 1, 2, 2)
    # 1.5 -> 2 whatever the span's absolute start: the same window placed anywhere has one length
    for start in (0, 3, 12_345, 24_999):
        trace = monitor_over(
            [marker_lines([0, start + 10_000, start + 10_000 + 37_500])]
        ).wait_edges(3, 1.0)
        assert trace.edges[2] - trace.edges[1] == 2


def test_the_bins_are_1_ms_of_virtual_time_and_the_settle_tail_runs_at_the_model_power() -> None:
    monitor = monitor_over([marker_lines([0, 250_000])])  # edges 10 ms apart
    trace = monitor.wait_edges(2, timeout_s=1.0, settle_s=0.02)
    assert trace.bin_s == 1e-3
    assert trace.edges == (0, 10)
    assert trace.bins == 30
    np.testing.assert_allclose(trace.energy_j, POWER_W * 1e-3, rtol=1e-12)


def test_the_same_markers_give_an_identical_trace_however_they_arrive() -> None:
    stream = marker_lines(five_window_ticks())
    whole = monitor_over([stream]).wait_edges(11, 1.0)
    bytewise = monitor_over([stream[i : i + 1] for i in range(len(stream))]).wait_edges(11, 1.0)
    again = monitor_over([stream]).wait_edges(11, 1.0)
    for other in (bytewise, again):
        assert other.edges == whole.edges
        assert other.energy_j.tobytes() == whole.energy_j.tobytes()
        assert other.faults == whole.faults == ()


def test_the_trace_says_it_is_modelled_and_states_the_model() -> None:
    monitor = monitor_over([marker_lines([0, 25_000_000])])
    trace = monitor.wait_edges(2, 1.0)
    assert trace.source == "cosim"
    assert trace.modelled is not None and trace.modelled.startswith("modelled: ")
    assert "5 mW static + 100 pJ per instruction" in trace.modelled
    assert "1e+09 instructions per second" in trace.modelled
    assert "= 105 mW" in trace.modelled
    assert trace.dropped_bins == trace.garbled_bins == 0
    assert monitor.parameters() == {
        "static_mw": 5.0,
        "pj_per_instruction": 100.0,
        "counter_hz": 25e6,
        "instructions_per_tick": 40.0,
        "instructions_per_s": 1e9,
        "bin_s": 1e-3,
    }
    assert MODEL.describe() == "modelled: P = 5 mW static + 100 pJ per instruction"


def test_crlf_line_ends_and_lines_split_across_reads_are_read() -> None:
    monitor = monitor_over([b"tb-mark 0 5", b"0\r\ntb-m", b"ark 1 25000050\r", b"\n"])
    trace = monitor.wait_edges(2, 1.0)
    assert [(m.edge_index, m.counter_ticks) for m in monitor.markers] == [(0, 50), (1, 25_000_050)]
    assert trace.edges == (0, 1000)


@pytest.mark.parametrize(
    ("stream", "message"),
    [
        (b"tb-mark 0 100\ntb-mark 1 x200\n", "malformed marker line 'tb-mark 1 x200'"),
        (b"tb-mark 0 100\ntb-mark 1\n", "malformed marker line 'tb-mark 1'"),
        (b"tb-mark 0 100\ntb-mark 1 -200\n", "malformed marker line"),
        (b"tb-mark 0 100\ntb-mark 3 200\n", "edges 1..2 are missing before edge 3"),
        (b"tb-mark 0 100\ntb-mark 1 200\ntb-mark 1 300\n", "edge 1 again or out of order"),
        (b"tb-mark 2 100\n", "the first marker is edge 2, not the boot edge 0"),
        (b"tb-mark 0 100\ntb-mark 1 99\n", "the counter went backwards at edge 1 (100 -> 99)"),
        (b"tb-mark 0 100\ntb-mark 1 \xff\n", "a non-ASCII line"),
        (b"tb-mark 0 18446744073709551616\n", "the counter exceeds 64 bits"),
    ],
)
def test_bad_markers_end_with_a_clear_error(stream: bytes, message: str) -> None:
    monitor = monitor_over([stream])
    with pytest.raises(EnergyMonitorError, match=re.escape(message)):
        monitor.wait_edges(3, timeout_s=1.0)


def test_a_restarted_dut_continues_the_edges_and_says_so() -> None:
    # edge 0 again at counter 5 (its boot after a reset), then its edge 1 at 25
    monitor = monitor_over([b"tb-mark 0 100\ntb-mark 1 200\ntb-mark 0 5\ntb-mark 1 25\n"])
    trace = monitor.wait_edges(4, timeout_s=1.0)
    assert [(m.edge_index, m.counter_ticks) for m in monitor.markers] == [
        (0, 100), (1, 200), (2, 205), (3, 225),
    ]  # fmt: skip
    assert len(trace.edges) == 4
    restarts = [fault for fault in trace.faults if "restarted" in fault]
    assert len(restarts) == 1 and restarts[0].startswith("the DUT restarted after edge 1")
    # after the restart, edges still must come in order
    with pytest.raises(EnergyMonitorError, match=r"edges 3\.\.3 are missing before edge 4"):
        monitor_over([b"tb-mark 0 100\ntb-mark 1 200\ntb-mark 0 5\ntb-mark 2 9\n"]).wait_edges(
            4, timeout_s=1.0
        )


def test_a_line_that_is_no_marker_is_a_fault_not_an_error() -> None:
    monitor = monitor_over([b"tb-mark 0 0\nhello from UART1\n\ntb-mark 1 25000\n"])
    trace = monitor.wait_edges(2, 1.0)
    assert trace.edges == (0, 1)
    assert trace.faults == (
        "ignored a line on the marker port that is no marker: 'hello from UART1'",
    )


def test_edges_in_one_bin_carry_their_energy_to_the_next_span() -> None:
    ticks = [0, 100_000, 100_400, 200_000]  # edges 1 and 2 are 16 us apart
    trace = monitor_over([marker_lines(ticks)]).wait_edges(4, 1.0)
    assert trace.edges == (0, 4, 4, 8)
    assert window_sum(trace, 1, 3) == pytest.approx(model_energy_j(100_000), rel=1e-12)
    assert window_sum(trace, 0, 3) == pytest.approx(model_energy_j(200_000), rel=1e-12)
    assert trace.faults == (
        "edges 1 and 2 fall in the same 0.001 s bin: the energy between them is carried into"
        " the next span",
    )


def test_too_few_markers_time_out_with_a_clear_error() -> None:
    monitor = monitor_over([b"tb-mark 0 0\n"])
    started = time.monotonic()
    with pytest.raises(
        EnergyMonitorError, match=re.escape("1 of 3 timestamp markers within 0.2 s")
    ):
        monitor.wait_edges(3, timeout_s=0.2)
    assert time.monotonic() - started < 2.0


def test_a_marker_port_that_fails_is_an_energy_monitor_error() -> None:
    monitor = CosimMonitor(
        ScriptedMarkers([b"tb-mark 0 0\n"], fail_at_end=True), COUNTER_HZ, PER_TICK, MODEL
    )
    monitor.start()
    with pytest.raises(EnergyMonitorError, match="failed after 1 markers: QEMU exited"):
        monitor.wait_edges(2, timeout_s=1.0)


def test_snapshot_and_stop_return_what_arrived_and_stop_ends_the_acquisition() -> None:
    monitor = monitor_over([marker_lines([0, 50_000]), b"tb-mark 2 100000\n"])
    first = monitor.snapshot()
    assert first.edges == (0, 2)
    assert first.bins == 2 + 50  # the default settle tail of 0.05 s
    final = monitor.stop()
    assert final.edges == (0, 2, 4)
    with pytest.raises(EnergyMonitorError, match="not started"):
        monitor.snapshot()


def test_wait_before_start_and_after_close_are_errors_and_close_is_idempotent() -> None:
    markers = ScriptedMarkers([marker_lines([0])])
    monitor = CosimMonitor(markers, COUNTER_HZ, PER_TICK, MODEL)
    with pytest.raises(EnergyMonitorError, match="not started"):
        monitor.wait_edges(1, 1.0)
    monitor.start()
    monitor.close()
    monitor.close()
    assert not markers.closed  # the port belongs to QemuDut unless told otherwise
    with pytest.raises(EnergyMonitorError, match="closed"):
        monitor.wait_edges(1, 1.0)
    owning = CosimMonitor(markers, COUNTER_HZ, PER_TICK, MODEL, close_transport=True)
    owning.close()
    owning.close()
    assert markers.closed


def test_an_empty_trace_before_the_boot_marker() -> None:
    trace = monitor_over([]).snapshot()
    assert trace.bins == 0 and trace.edges == ()


@pytest.mark.parametrize(
    ("static_mw", "pj", "message"),
    [(-1.0, 100.0, "static_mw"), (5.0, float("nan"), "pj_per_instruction")],
)
def test_a_power_model_with_bad_parameters_is_rejected(
    static_mw: float, pj: float, message: str
) -> None:
    with pytest.raises(EnergyMonitorError, match=message):
        PowerModel(static_mw, pj)


def test_bad_monitor_parameters_are_rejected() -> None:
    with pytest.raises(EnergyMonitorError, match="instructions_per_tick must be > 0"):
        CosimMonitor(ScriptedMarkers([]), COUNTER_HZ, 0.0, MODEL)
    with pytest.raises(EnergyMonitorError, match="counter_hz must be > 0"):
        CosimMonitor(ScriptedMarkers([]), 0, PER_TICK, MODEL)


def test_parse_marker_reads_decimal_fields() -> None:
    marker = parse_marker("tb-mark 12 18446744073709551615")
    assert (marker.edge_index, marker.counter_ticks) == (12, 2**64 - 1)


def test_cosim_monitor_is_an_energy_monitor() -> None:
    monitor: EnergyMonitor = monitor_over([])
    assert monitor.description().startswith("co-simulated power monitor on scripted UART1")


def test_a_monitor_for_qemu_m4_takes_its_counter_and_icount_from_the_manifest(
    repo_root: Path,
) -> None:
    boards = load_board_manifests(repo_root / "boards")
    monitor = cosim_monitor_for_board(ScriptedMarkers([]), boards["qemu-m4"], MODEL)
    assert monitor.parameters()["counter_hz"] == 25e6
    assert monitor.parameters()["instructions_per_tick"] == 40.0
    assert monitor.instructions_per_s == 1e9
    with pytest.raises(EnergyMonitorError, match="board nucleo-l4r5zi is not emulated"):
        cosim_monitor_for_board(ScriptedMarkers([]), boards["nucleo-l4r5zi"], MODEL)


def test_poll_reads_the_markers_and_edge_bin_places_them_without_a_trace() -> None:
    monitor = monitor_over([b"tb-mark 0 10\ntb-mark 1 37510\n", b"tb-mark 2 62511\n"])
    assert [m.counter_ticks for m in monitor.poll()] == [10, 37_510]
    assert [m.edge_index for m in monitor.poll()] == [0, 1, 2]
    assert [monitor.edge_bin(k) for k in range(3)] == [0, 2, 3]
    assert monitor.snapshot().edges == (0, 2, 3)


def test_the_model_per_inference_is_what_a_window_scores() -> None:
    # kws01 on qemu-m4: 16,396,960 instructions an inference at 1e9 per second and 105 mW
    assert MODEL.uj_per_inference(16_396_960, 1e9) == pytest.approx(1721.6808, rel=1e-12)
    ticks = 20 * 16_396_960 // 40  # a window of 20 inferences
    monitor = monitor_over([marker_lines([15, 1_000_015, 1_000_015 + ticks])])
    trace = monitor.wait_edges(3, 1.0)
    assert window_sum(trace, 1, 2) / 20 * 1e6 == pytest.approx(
        MODEL.uj_per_inference(16_396_960, monitor.instructions_per_s), rel=1e-12
    )
