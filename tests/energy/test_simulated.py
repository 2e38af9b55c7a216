"""SimulatedMonitor: virtual time, edges, and the windowing code fed from it."""

from __future__ import annotations

import pytest

from tinybench.energy.monitor import EnergyMonitor, EnergyMonitorError
from tinybench.energy.simulated import SimulatedMonitor
from tinybench.energy.windows import results_line, summarize, window_between


def test_advance_appends_bins_at_the_power_and_edges_land_on_the_current_bin() -> None:
    monitor = SimulatedMonitor(power_w=0.033)
    monitor.start()
    monitor.advance(0.010)
    monitor.edge()
    monitor.advance(0.005, power_w=0.050)
    monitor.edge(at_s=0.020)  # in the future: reached at 50 mW
    trace = monitor.snapshot()
    assert trace.bins == 20
    assert trace.edges == (10, 20)
    assert trace.energy_j[:10].tolist() == pytest.approx([33e-6] * 10)
    assert trace.energy_j[10:].tolist() == pytest.approx([50e-6] * 10)
    assert trace.source == "simulated"
    assert monitor.now_s == pytest.approx(0.020)


def test_wait_edges_returns_at_once_or_names_what_it_has() -> None:
    monitor = SimulatedMonitor(power_w=0.01)
    monitor.start()
    monitor.edge()
    with pytest.raises(EnergyMonitorError, match="1 edge\\(s\\) of the 2 awaited"):
        monitor.wait_edges(2, timeout_s=100.0)
    monitor.advance(1.0)
    monitor.edge()
    with pytest.raises(EnergyMonitorError, match="0 bin\\(s\\) after edge 1, 50 awaited"):
        monitor.wait_edges(2, timeout_s=100.0, settle_s=0.05)
    monitor.advance(0.05)
    trace = monitor.wait_edges(2, timeout_s=100.0, settle_s=0.05)
    assert trace.edges == (0, 1000)
    assert trace.bins == 1050


def test_edges_out_of_order_and_use_outside_an_acquisition_are_refused() -> None:
    monitor = SimulatedMonitor(power_w=0.01)
    with pytest.raises(EnergyMonitorError, match="not acquiring"):
        monitor.advance(1.0)
    monitor.start()
    monitor.advance(1.0)
    monitor.edge()
    with pytest.raises(EnergyMonitorError, match="before the last one"):
        monitor.edge(at_s=0.5)
    final = monitor.stop()
    assert final.bins == 1000
    with pytest.raises(EnergyMonitorError, match="not acquiring"):
        monitor.edge()
    monitor.close()
    monitor.close()


def test_a_simulated_run_scores_its_configured_energy_through_the_windows() -> None:
    sim = SimulatedMonitor(power_w=0.002)
    monitor: EnergyMonitor = sim  # what the energy mode sees
    monitor.start()
    sim.edge()  # the boot edge
    inferences, active_w = 70, 0.0331
    for _ in range(5):
        sim.advance(0.2, power_w=0.002)
        sim.edge()
        sim.advance(10.87, power_w=active_w)
        sim.edge()
    sim.advance(0.1, power_w=0.002)
    trace = monitor.wait_edges(11, timeout_s=1.0)
    windows = [
        window_between(trace, trace.edges[2 * i + 1], trace.edges[2 * i + 2], inferences, i)
        for i in range(5)
    ]
    summary = summarize(windows, monitor.stop())
    expected_uj = active_w * 10.87 * 1e6 / inferences
    assert summary.compliant
    assert summary.median_uj_per_inference == pytest.approx(expected_uj, rel=1e-9)
    assert results_line(summary) == f"Median energy cost is {expected_uj:.4f} uJ/inf."
    assert [w.duration_s for w in windows] == pytest.approx([10.87] * 5)
