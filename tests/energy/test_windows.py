"""windows.py on synthetic traces: exact sums, NaN bins, drops, the run rules, the results line."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from tinybench.energy.monitor import EnergyMonitorError
from tinybench.energy.trace import EnergyTrace
from tinybench.energy.windows import (
    EnergyWindow,
    results_line,
    summarize,
    window_between,
)

BIN_S = 1e-3


def _trace(
    energy: list[float] | np.ndarray,
    edges: tuple[int, ...] = (),
    dropped_bins: int = 0,
    dropped_at: tuple[tuple[int, int], ...] = (),
    garbled_bins: int = 0,
) -> EnergyTrace:
    return EnergyTrace(
        bin_s=BIN_S,
        energy_j=np.asarray(energy, dtype=np.float64),
        edges=edges,
        dropped_bins=dropped_bins,
        garbled_bins=garbled_bins,
        source="synthetic",
        dropped_at=dropped_at,
    )


def _runs(*runs: tuple[int, float]) -> np.ndarray:
    """Bins: each (count, joules per bin) in turn."""
    return np.concatenate([np.full(count, joules) for count, joules in runs])


def _five_windows(
    trace: EnergyTrace, bins: int, inferences: int, count: int = 5
) -> list[EnergyWindow]:
    return [
        window_between(trace, 100 + i * (bins + 100), 100 + i * (bins + 100) + bins, inferences, i)
        for i in range(count)
    ]


def _bench(window_j: list[float], bins: int = 10_000) -> EnergyTrace:
    runs: list[tuple[int, float]] = [(100, 1e-6)]
    for joules in window_j:
        runs += [(bins, joules), (100, 1e-6)]
    return _trace(_runs(*runs))


def test_window_sums_exactly_the_bins_between_its_edges() -> None:
    trace = _trace(_runs((10, 5e-6), (1000, 2e-5), (10, 5e-6)))
    window = window_between(trace, 10, 1010, inferences=4, index=0)
    assert window.energy_j == pytest.approx(1000 * 2e-5, rel=1e-12)
    assert window.uj_per_inference == pytest.approx(1000 * 2e-5 * 1e6 / 4, rel=1e-12)
    assert window.power_mw == pytest.approx(20.0, rel=1e-12)  # 2e-5 J per ms
    assert window.duration_s == pytest.approx(1.0)
    assert (window.nan_bins, window.dropped_bins, window.inferences) == (0, 0, 4)
    one_bin_more = window_between(trace, 9, 1010, inferences=4, index=0)
    assert one_bin_more.energy_j - window.energy_j == pytest.approx(5e-6, rel=1e-9)


def test_nan_bins_are_counted_and_never_summed() -> None:
    energy = _runs((1000, 1e-5))
    energy[[3, 500, 999]] = math.nan
    window = window_between(_trace(energy, garbled_bins=3), 0, 1000, inferences=1, index=0)
    assert window.nan_bins == 3
    assert math.isfinite(window.energy_j)
    assert window.energy_j == pytest.approx(997 * 1e-5, rel=1e-12)
    assert window.power_mw == pytest.approx(10.0, rel=1e-12)  # over the 997 readable bins


def test_drops_are_placed_in_the_window_that_holds_them() -> None:
    trace = _trace(_runs((3000, 1e-5)), dropped_bins=7, dropped_at=((1500, 5), (2500, 2)))
    first = window_between(trace, 0, 2000, 1, 0)
    second = window_between(trace, 2000, 3000, 1, 1)
    assert (first.dropped_bins, second.dropped_bins) == (5, 2)
    assert first.duration_s == pytest.approx(2.005)
    assert window_between(trace, 1500, 2500, 1, 2).dropped_bins == 0  # at its edges: outside


def test_a_window_reports_the_peak_buffer_load_reported_inside_it() -> None:
    trace = EnergyTrace(
        bin_s=BIN_S,
        energy_j=_runs((3000, 1e-5)),
        edges=(),
        buffer_load_at=((1000, 3.0), (2000, 40.0), (3000, 7.0)),
    )
    assert window_between(trace, 0, 1000, 1, 0).peak_buffer_load == 3.0
    assert window_between(trace, 500, 2500, 1, 1).peak_buffer_load == 40.0
    assert window_between(trace, 2500, 2600, 1, 2).peak_buffer_load is None


def test_a_window_outside_the_trace_or_without_inferences_is_refused() -> None:
    trace = _trace(_runs((100, 1e-5)))
    with pytest.raises(EnergyMonitorError, match="not an interval"):
        window_between(trace, 50, 101, 1, 0)
    with pytest.raises(EnergyMonitorError, match="not an interval"):
        window_between(trace, 50, 50, 1, 0)
    with pytest.raises(EnergyMonitorError, match="0 inferences"):
        window_between(trace, 0, 100, 0, 0)


def test_five_compliant_windows_give_the_median_and_the_results_line() -> None:
    joules = [2.0e-5, 2.1e-5, 1.9e-5, 2.2e-5, 2.05e-5]
    trace = _bench(joules)
    summary = summarize(_five_windows(trace, 10_000, 100), trace)
    expected = sorted(j * 10_000 * 1e6 / 100 for j in joules)[2]  # 2050 µJ/inf
    assert summary.median_uj_per_inference == pytest.approx(expected, rel=1e-12)
    assert summary.compliant
    assert summary.reasons == ()
    assert summary.dropped_fraction == 0.0
    line = results_line(summary)
    assert line == "Median energy cost is 2050.0000 uJ/inf."
    checker = re.search(r"Median energy cost is ([\d\.]+) uJ/inf", line)
    assert checker is not None
    assert float(checker.group(1)) == pytest.approx(expected)


@pytest.mark.parametrize("count", [4, 6])
def test_a_run_without_exactly_five_windows_is_not_compliant(count: int) -> None:
    trace = _bench([2e-5] * count)
    summary = summarize(_five_windows(trace, 10_000, 10, count), trace)
    assert not summary.compliant
    assert summary.reasons == (f"{count} windows; the rules require exactly 5",)
    assert summary.median_uj_per_inference == pytest.approx(20_000.0)


def test_a_short_window_is_named() -> None:
    trace = _trace(_runs((100, 1e-6), (10_000, 2e-5), (9_999, 2e-5), (100, 1e-6)))
    windows = [
        window_between(trace, 100, 10_100, 10, 0),
        window_between(trace, 10_100, 20_099, 10, 1),
    ]
    summary = summarize(windows, trace, expected_windows=2)
    assert not summary.compliant
    assert len(summary.reasons) == 1
    assert summary.reasons[0].startswith("window 1 lasts 9.999 s")


def test_drops_over_a_tenth_of_a_percent_break_the_rules() -> None:
    trace = _bench([2e-5] * 5)
    # 50 of 50,050 samples dropped: 0.0999 %, within the rule
    within = _trace(trace.energy_j, dropped_bins=50, dropped_at=((5000, 50),))
    summary = summarize(_five_windows(within, 10_000, 10), within)
    assert summary.compliant
    assert summary.dropped_fraction == pytest.approx(50 / 50_050)
    # 51 dropped: over
    over = _trace(trace.energy_j, dropped_bins=51, dropped_at=((5000, 51),))
    summary = summarize(_five_windows(over, 10_000, 10), over)
    assert not summary.compliant
    assert summary.reasons[0].startswith("lost 51 of 50051 samples in the windows (51 dropped")
    # drops outside every window do not count against the windows
    outside = _trace(trace.energy_j, dropped_bins=500, dropped_at=((50, 500),))
    assert summarize(_five_windows(outside, 10_000, 10), outside).compliant


def test_drops_the_trace_cannot_place_are_charged_to_the_windows() -> None:
    trace = _bench([2e-5] * 5)
    unplaced = _trace(trace.energy_j, dropped_bins=60)
    summary = summarize(_five_windows(unplaced, 10_000, 10), unplaced)
    assert summary.dropped_fraction == pytest.approx(60 / 50_060)
    assert not summary.compliant


def test_unreadable_bins_are_lost_samples_and_leave_the_median_finite() -> None:
    trace = _bench([2e-5] * 5)
    energy = trace.energy_j.copy()
    energy[[150, 15_000, 15_001]] = math.nan
    garbled = _trace(energy, garbled_bins=3)
    summary = summarize(_five_windows(garbled, 10_000, 10), garbled)
    assert summary.garbled_bins == 3
    assert [w.nan_bins for w in summary.windows] == [1, 2, 0, 0, 0]
    assert summary.dropped_fraction == pytest.approx(3 / 50_000)
    assert summary.compliant
    assert summary.median_uj_per_inference == pytest.approx(20_000.0)  # windows 2 to 4 intact
    assert "nan" not in results_line(summary)


def test_no_window_is_an_error_not_a_nan_line() -> None:
    trace = _bench([2e-5])
    with pytest.raises(EnergyMonitorError, match="no window"):
        summarize([], trace)
    all_nan = _trace(np.full(100, math.nan), garbled_bins=100)
    with pytest.raises(EnergyMonitorError, match="no window"):
        summarize([window_between(all_nan, 0, 100, 1, 0)], all_nan)
