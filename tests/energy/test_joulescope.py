"""The Joulescope driver through a test double that feeds the real joulescope StreamBuffer, and
its pure sample processing on its own."""

from __future__ import annotations

import numpy as np
import pytest
from joulescope.v1.js220 import DeviceJs220

from energy.joulescope_double import FakeJsdrv, JoulescopeDouble, SyntheticSignal
from tinybench.energy.joulescope import (
    JoulescopeMonitor,
    SampleBinner,
    find_edges,
    samples_per_bin,
)
from tinybench.energy.monitor import EnergyMonitorError

FS = 1_000_000
ACTIVE_W = 0.033
IDLE_W = 0.005
# A boot pulse, then two windows bounded by pulses; the times are off the 1 ms grid on purpose.
PULSES_S = (0.1001, 0.3003, 2.3007, 2.6002, 4.1005)
PULSE_S = 50e-6
WINDOWS = ((1, 2, 40), (3, 4, 25))  # (start pulse, end pulse, inferences)


def kws_like_signal(gaps: tuple[tuple[int, int], ...] = ()) -> SyntheticSignal:
    """Active power from the end (rising edge) of each window's first pulse to the end of its
    last one, idle power elsewhere."""
    spans = tuple((PULSES_S[a] + PULSE_S, PULSES_S[b] + PULSE_S) for a, b, _ in WINDOWS)
    return SyntheticSignal(
        idle_w=IDLE_W, active_w=ACTIVE_W, active_s=spans, pulses_s=PULSES_S, pulse_s=PULSE_S,
        gaps=gaps,
    )  # fmt: skip


def monitor_for(double: JoulescopeDouble, **kwargs: object) -> JoulescopeMonitor:
    options: dict[str, object] = {"buffer_s": 2.0, "clock": double.clock, "sleep": double.advance}
    options.update(kwargs)
    return JoulescopeMonitor(double, **options)  # type: ignore[arg-type]


def test_configured_energy_per_inference_is_recovered_within_0_1_percent() -> None:
    double = JoulescopeDouble(kws_like_signal())
    monitor = monitor_for(double)
    monitor.start()
    trace = monitor.wait_edges(len(PULSES_S), timeout_s=10.0)
    monitor.stop()
    monitor.close()
    assert trace.source == "joulescope-js220"
    assert trace.bin_s == pytest.approx(1e-3)
    assert len(trace.edges) == len(PULSES_S)
    assert trace.dropped_bins == 0
    assert not np.isnan(trace.energy_j).any()
    for start, end, inferences in WINDOWS:
        window_s = PULSES_S[end] - PULSES_S[start]
        configured_uj = ACTIVE_W * window_s / inferences * 1e6
        measured_uj = trace.energy_j[trace.edges[start] : trace.edges[end]].sum() / inferences * 1e6
        assert measured_uj == pytest.approx(configured_uj, rel=1e-3)
    # Each edge is in the bin of the end of its low pulse (rising edge by default).
    assert trace.edges == tuple(int((t + PULSE_S) * 1000) for t in PULSES_S)
    assert double.calls[:3] == [
        "parameter_set buffer_duration 2.0",
        "open",
        "parameter_set sampling_frequency 1000000",
    ]
    assert double.calls[-2:] == ["stop", "close"]


def test_the_real_js220_device_class_over_a_fake_usb_driver_gives_the_same_figures() -> None:
    # joulescope's own DeviceJs220 (open, parameters, start/stop, its StreamBuffer fed by its
    # _on_stream) with only pyjoulescope_driver replaced: the calls the driver makes are real.
    usb = FakeJsdrv(kws_like_signal())
    device = DeviceJs220(usb, "u/js220/004243")
    monitor = JoulescopeMonitor(device, buffer_s=2.0, clock=usb.clock, sleep=usb.advance)
    monitor.start()
    assert usb.opened == ["u/js220/004243"]
    assert ("u/js220/004243/h/fs", 1_000_000) in usb.published
    assert usb.streaming
    trace = monitor.wait_edges(len(PULSES_S), timeout_s=10.0)
    monitor.stop()
    assert not usb.streaming
    monitor.close()
    assert usb.closed == ["u/js220/004243"]
    assert monitor.description().startswith("JS220-004243: 1000000 Hz")
    assert trace.source == "joulescope-js220"
    assert trace.dropped_bins == 0
    for start, end, inferences in WINDOWS:
        configured_uj = ACTIVE_W * (PULSES_S[end] - PULSES_S[start]) / inferences * 1e6
        measured_uj = trace.energy_j[trace.edges[start] : trace.edges[end]].sum() / inferences * 1e6
        assert measured_uj == pytest.approx(configured_uj, rel=1e-3)


def test_samples_arriving_from_another_thread_are_read_while_they_stream() -> None:
    double = JoulescopeDouble(kws_like_signal())
    monitor = JoulescopeMonitor(double, buffer_s=2.0)  # the real clock and sleep
    monitor.start()
    feeder = double.stream_in_thread(speed=8.0)
    trace = monitor.wait_edges(3, timeout_s=20.0)  # the first window: 2.3 s of signal
    monitor.stop()
    feeder.join(timeout=5.0)
    monitor.close()
    assert not feeder.is_alive()
    assert trace.dropped_bins == 0
    start, end, inferences = WINDOWS[0]
    configured_uj = ACTIVE_W * (PULSES_S[end] - PULSES_S[start]) / inferences * 1e6
    measured_uj = trace.energy_j[trace.edges[start] : trace.edges[end]].sum() / inferences * 1e6
    assert measured_uj == pytest.approx(configured_uj, rel=1e-3)


def test_falling_edge_is_selectable_and_gives_the_same_window_lengths() -> None:
    rising = monitor_for(double := JoulescopeDouble(kws_like_signal()))
    rising.start()
    rising_edges = rising.wait_edges(len(PULSES_S), timeout_s=10.0).edges
    falling = monitor_for(double := JoulescopeDouble(kws_like_signal()), edge="falling")
    falling.start()
    falling_edges = falling.wait_edges(len(PULSES_S), timeout_s=10.0).edges
    assert falling_edges == tuple(int(t * 1000) for t in PULSES_S)
    assert double.calls.count("start") == 1
    assert np.diff(falling_edges) == pytest.approx(np.diff(rising_edges), abs=1)


def test_a_sample_id_gap_is_counted_as_dropped_bins_and_never_summed() -> None:
    gap = (1_500_000, 1_520_000)  # 20 ms inside the first window, on the bin grid
    double = JoulescopeDouble(kws_like_signal(gaps=(gap,)))
    monitor = monitor_for(double)
    monitor.start()
    trace = monitor.wait_edges(len(PULSES_S), timeout_s=10.0)
    assert trace.dropped_bins == 20
    assert not np.isnan(trace.energy_j).any()
    # The buffer fills GPI0 with 0 in the gap: no edge may come of it.
    assert len(trace.edges) == len(PULSES_S)
    start, end, _ = WINDOWS[0]
    window_bins = trace.edges[end] - trace.edges[start]
    assert window_bins == round((PULSES_S[end] - PULSES_S[start]) * 1000) - 20
    window_j = trace.energy_j[trace.edges[start] : trace.edges[end]].sum()
    assert window_j == pytest.approx(ACTIVE_W * window_bins * 1e-3, rel=1e-3)
    # The second window, after the gap, is whole and in the right place.
    start, end, _ = WINDOWS[1]
    assert trace.edges[end] - trace.edges[start] == round((PULSES_S[end] - PULSES_S[start]) * 1000)
    assert trace.faults == ("1 sample-id gaps: 20000 samples missing",)


def test_a_gap_that_is_not_on_the_bin_grid_drops_every_bin_it_touches() -> None:
    gap = (1_500_504, 1_502_000)  # from the middle of bin 1500 to the end of bin 1501
    double = JoulescopeDouble(kws_like_signal(gaps=(gap,)))
    monitor = monitor_for(double)
    monitor.start()
    trace = monitor.wait_edges(len(PULSES_S), timeout_s=10.0)
    assert trace.dropped_bins == 2


def test_an_edge_inside_a_gap_is_placed_at_its_end_and_reported() -> None:
    # A whole low pulse lost in a gap: its edges are gone, nothing is invented.
    signal = SyntheticSignal(idle_w=0.01, pulses_s=(0.5, 1.0002), gaps=((1_000_000, 1_000_800),))
    double = JoulescopeDouble(signal)
    monitor = monitor_for(double)
    monitor.start()
    monitor.wait_edges(1, timeout_s=3.0)
    double.advance(1.0)
    trace = monitor.snapshot()
    assert trace.edges == (500,)
    assert not any("edges fell in a gap" in fault for fault in trace.faults)
    # Low from 1.0 to 1.0002 s; the gap hides the rising edge, which lands after the gap.
    signal = SyntheticSignal(
        idle_w=0.01, pulses_s=(1.0,), pulse_s=200e-6, gaps=((1_000_096, 1_000_400),)
    )
    double = JoulescopeDouble(signal)
    monitor = monitor_for(double)
    monitor.start()
    trace = monitor.wait_edges(1, timeout_s=3.0)
    assert trace.dropped_bins == 1  # bin 1000, so the edge takes the next delivered index
    assert trace.edges == (1000,)
    assert "1 timestamp edges fell in a gap" in trace.faults[-1]


def test_the_peak_buffer_load_says_how_far_behind_the_reader_got() -> None:
    double = JoulescopeDouble(SyntheticSignal(idle_w=0.01))
    monitor = monitor_for(double, buffer_s=2.0)
    monitor.start()
    double.advance(0.5)
    assert monitor.snapshot().peak_buffer_load == pytest.approx(25.0, abs=0.1)
    double.advance(0.1)
    assert monitor.snapshot().peak_buffer_load == pytest.approx(25.0, abs=0.1)
    double.advance(1.5)
    assert monitor.snapshot().peak_buffer_load == pytest.approx(75.0, abs=0.1)


def test_samples_the_ring_overwrote_before_a_poll_are_counted_as_dropped() -> None:
    double = JoulescopeDouble(SyntheticSignal(idle_w=0.01))
    monitor = monitor_for(double, buffer_s=1.0)
    monitor.start()
    double.advance(0.5)
    monitor.poll()
    assert monitor.snapshot().bins == 500
    double.advance(2.5)  # more than the 1 s ring holds, without a poll
    trace = monitor.snapshot()
    assert trace.dropped_bins + trace.bins == 3000
    assert 1499 <= trace.dropped_bins <= 1501
    assert len(trace.faults) == 1
    assert "overwrote unread samples 1 times" in trace.faults[0]
    assert trace.energy_j == pytest.approx(np.full(trace.bins, 0.01e-3), rel=1e-6)


@pytest.mark.parametrize("split", [-1, 0, 1])
def test_an_edge_at_a_chunk_boundary_is_found_once(split: int) -> None:
    edge_id = 12_345  # the first high sample after a low pulse
    levels = np.ones(30_000, dtype=np.uint8)
    levels[edge_id - 50 : edge_id] = 0
    power = np.full(levels.shape[0], 0.02, dtype=np.float32)
    cut = edge_id + split
    binner = SampleBinner(FS, 1000)
    binner.feed(0, power[:cut], levels[:cut])
    binner.feed(cut, power[cut:], levels[cut:])
    assert binner.edge_sample_ids == (edge_id,)
    assert binner.edges == (12,)
    assert binner.bins == 30
    whole = SampleBinner(FS, 1000, edge="falling")
    whole.feed(0, power[:cut], levels[:cut])
    whole.feed(cut, power[cut:], levels[cut:])
    assert whole.edge_sample_ids == (edge_id - 50,)


def test_an_edge_on_a_poll_boundary_is_found_once_through_the_stream_buffer() -> None:
    pulse_end_id = 200_000  # the rising edge, on a chunk and a poll boundary
    signal = SyntheticSignal(idle_w=0.02, pulses_s=(0.19995,), pulse_s=50e-6)
    double = JoulescopeDouble(signal, chunk_samples=8_000)
    monitor = monitor_for(double)
    monitor.start()
    double.send_until(pulse_end_id)
    monitor.poll()
    assert monitor.snapshot().edges == ()
    double.send_until(pulse_end_id + 8)
    monitor.poll()
    double.advance(0.5)
    trace = monitor.snapshot()
    assert trace.edges == (200,)


def test_samples_before_the_first_valid_one_are_not_counted() -> None:
    binner = SampleBinner(FS, 1000)
    starting = np.full(700, np.nan, dtype=np.float32)
    binner.feed(0, starting, np.ones(700, dtype=np.uint8))
    binner.feed(700, np.full(2000, 0.01, dtype=np.float32), np.ones(2000, dtype=np.uint8))
    assert (binner.bins, binner.dropped_bins) == (2, 0)


def test_an_edge_in_a_dropped_bin_points_at_the_next_delivered_bin() -> None:
    binner = SampleBinner(FS, 1000)
    power = np.full(5000, 0.01, dtype=np.float32)
    power[2100] = np.nan  # bin 2 dropped
    levels = np.ones(5000, dtype=np.uint8)
    levels[2400:2500] = 0  # rising edge at sample 2500, in bin 2
    binner.feed(0, power, levels)
    assert binner.dropped_bins == 1
    assert binner.bins == 4
    assert binner.edges == (2,)  # delivered bins 0, 1, then the old bin 3 at index 2


def test_find_edges_uses_the_level_before_the_chunk() -> None:
    high = np.ones(4, dtype=np.bool_)
    assert find_edges(high, previous=False, edge="rising").tolist() == [0]
    assert find_edges(high, previous=True, edge="rising").tolist() == []


def test_wait_edges_times_out_with_a_clear_error_never_a_hang() -> None:
    double = JoulescopeDouble(SyntheticSignal(idle_w=0.01, pulses_s=(0.2,)))
    monitor = monitor_for(double)
    monitor.start()
    with pytest.raises(EnergyMonitorError, match=r"1 of 2 timestamp edges .* within 3 s"):
        monitor.wait_edges(2, timeout_s=3.0)
    assert 3.0 <= double.clock() < 3.1


def test_wait_edges_waits_for_the_settle_time_after_the_last_edge() -> None:
    double = JoulescopeDouble(SyntheticSignal(idle_w=0.01, pulses_s=(0.2,)))
    monitor = monitor_for(double)
    monitor.start()
    trace = monitor.wait_edges(1, timeout_s=3.0, settle_s=0.3)
    assert trace.edges == (200,)
    assert trace.bins - trace.edges[0] >= 300


def test_a_device_that_stops_by_itself_ends_the_wait_with_an_error() -> None:
    double = JoulescopeDouble(SyntheticSignal(idle_w=0.01))
    monitor = monitor_for(double)
    monitor.start()
    double.advance(0.1)
    double.fail("USB transfer error")
    with pytest.raises(EnergyMonitorError, match=r"stopped streaming .*USB transfer error"):
        monitor.wait_edges(1, timeout_s=5.0)


def test_no_device_gives_the_clear_error() -> None:
    monitor = JoulescopeMonitor()  # the real joulescope scan: no Joulescope on this machine
    with pytest.raises(EnergyMonitorError, match="plug in a Joulescope JS110 or JS220") as info:
        monitor.start()
    assert "udev" in str(info.value)
    monitor.close()


def test_the_js110_routes_gpi0_to_the_current_lsb_and_the_js220_is_limited_to_1_mhz() -> None:
    js110 = JoulescopeDouble(SyntheticSignal(idle_w=0.01), model="js110")
    monitor = monitor_for(js110, sampling_hz=2_000_000)
    monitor.start()
    assert "parameter_set current_lsb gpi0" in js110.calls
    js110.advance(0.01)
    assert monitor.snapshot().source == "joulescope-js110"
    js220 = JoulescopeDouble(SyntheticSignal(idle_w=0.01))
    with pytest.raises(EnergyMonitorError, match="up to 1 MHz"):
        monitor_for(js220, sampling_hz=2_000_000).start()
    assert js220.calls == []


def test_a_rate_the_device_rejects_is_a_clear_error() -> None:
    double = JoulescopeDouble(SyntheticSignal(idle_w=0.01))
    with pytest.raises(EnergyMonitorError, match="rejected a setting: invalid sampling frequency"):
        monitor_for(double, sampling_hz=300_000).start()


def test_stop_keeps_the_samples_that_arrived_before_it() -> None:
    double = JoulescopeDouble(SyntheticSignal(idle_w=0.01))
    monitor = monitor_for(double)
    monitor.start()
    double.advance(0.25)  # never polled
    trace = monitor.stop()
    assert trace.bins == 250
    assert trace.energy_j.sum() == pytest.approx(0.01 * 0.25, rel=1e-6)
    double.advance(0.25)
    assert monitor.snapshot().bins == 250  # nothing after the stop


def test_a_bin_must_hold_a_whole_number_of_samples() -> None:
    assert samples_per_bin(1e-3, 1_000_000) == 1000
    assert samples_per_bin(1e-3, 200_000) == 200
    with pytest.raises(EnergyMonitorError, match="whole number of samples"):
        samples_per_bin(1.5e-6, 1_000_000)
