"""Windowing and scoring, written once for every monitor: the energy between two timestamp
edges, µJ per inference, the median over windows and the run rules' compliance checks.

A bin the monitor could not read (NaN in the trace) is never summed: it is counted in its
window's nan_bins, and, like a dropped bin, it is a lost sample for the drop rule. The median is
taken over the windows' µJ per inference; a summary without a finite one is an error, so that
`results_line` never prints "nan" (the submission checker's regex cannot read it).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tinybench.energy.monitor import EnergyMonitorError
from tinybench.energy.trace import EnergyTrace


@dataclass(frozen=True)
class EnergyWindow:
    index: int  # 0 for the first window of the run
    start_bin: int  # first bin of the window (the bin of its opening edge)
    end_bin: int  # one past its last bin (the bin of its closing edge)
    duration_s: float  # elapsed time, dropped bins included (they took time too)
    inferences: int
    energy_j: float  # the sum of the window's readable bins
    uj_per_inference: float
    power_mw: float  # average over the readable bins
    nan_bins: int  # bins the monitor sent but that could not be read, not summed
    dropped_bins: int  # bins the monitor never delivered, where the trace places them
    peak_buffer_load: float | None = None  # the monitor's TX buffer load in %, if it reports it


@dataclass(frozen=True)
class EnergySummary:
    windows: tuple[EnergyWindow, ...]
    median_uj_per_inference: float
    compliant: bool
    reasons: tuple[str, ...]  # one line per failed rule; empty when compliant
    dropped_fraction: float  # lost samples (dropped and unreadable) over the windows' samples
    garbled_bins: int  # unreadable bins in the whole trace, inside windows or not


def _dropped_inside(trace: EnergyTrace, start_bin: int, end_bin: int) -> int:
    """Drops the trace places strictly inside [start_bin, end_bin): a gap recorded before bin
    b lies between bins b-1 and b, so it belongs to a window that holds both."""
    return sum(count for before, count in trace.dropped_at if start_bin < before < end_bin)


def window_between(
    trace: EnergyTrace, start_bin: int, end_bin: int, inferences: int, index: int
) -> EnergyWindow:
    """The window of bins [start_bin, end_bin) with `inferences` inferences in it."""
    if not 0 <= start_bin < end_bin <= trace.bins:
        raise EnergyMonitorError(
            f"window {index}: bins [{start_bin}, {end_bin}) are not an interval inside the "
            f"trace's {trace.bins} bins"
        )
    if inferences <= 0:
        raise EnergyMonitorError(f"window {index}: {inferences} inferences; it needs at least 1")
    bins = trace.energy_j[start_bin:end_bin]
    readable = ~np.isnan(bins)
    readable_count = int(np.count_nonzero(readable))
    nan_bins = int(bins.shape[0]) - readable_count
    energy_j = float(np.sum(bins[readable]))
    dropped = _dropped_inside(trace, start_bin, end_bin)
    power_mw = energy_j / (readable_count * trace.bin_s) * 1e3 if readable_count else math.nan
    loads = [load for at, load in trace.buffer_load_at if start_bin < at <= end_bin]
    return EnergyWindow(
        index=index,
        start_bin=start_bin,
        end_bin=end_bin,
        duration_s=(end_bin - start_bin + dropped) * trace.bin_s,
        inferences=inferences,
        energy_j=energy_j,
        uj_per_inference=energy_j * 1e6 / inferences if readable_count else math.nan,
        power_mw=power_mw,
        nan_bins=nan_bins,
        dropped_bins=dropped,
        peak_buffer_load=max(loads) if loads else None,
    )


def summarize(
    windows: Sequence[EnergyWindow],
    trace: EnergyTrace,
    expected_windows: int = 5,
    min_window_s: float = 10.0,
    max_drop_fraction: float = 0.001,
) -> EnergySummary:
    """The median µJ per inference over the windows, and which run rules they break."""
    scores = [w.uj_per_inference for w in windows if math.isfinite(w.uj_per_inference)]
    if not scores:
        raise EnergyMonitorError(
            f"no window with a readable energy among {len(windows)} window(s): the monitor "
            f"delivered {trace.bins} bins and {len(trace.edges)} timestamp edge(s)"
        )
    reasons: list[str] = []
    if len(windows) != expected_windows:
        reasons.append(f"{len(windows)} windows; the rules require exactly {expected_windows}")
    for window in windows:
        if window.duration_s < min_window_s:
            reasons.append(
                f"window {window.index} lasts {window.duration_s:.3f} s; the rules require "
                f"at least {min_window_s:g} s (raise the inference count)"
            )
        if not math.isfinite(window.uj_per_inference):
            reasons.append(f"window {window.index} has no readable bin")
    samples = sum(w.end_bin - w.start_bin + w.dropped_bins for w in windows)
    dropped = sum(w.dropped_bins for w in windows)
    unreadable = sum(w.nan_bins for w in windows)
    # Drops the trace cannot place are charged to the windows in full: never fewer than it has.
    unplaced = trace.dropped_bins - sum(count for _, count in trace.dropped_at)
    dropped += max(0, unplaced)
    samples += max(0, unplaced)
    fraction = (dropped + unreadable) / samples if samples else 0.0
    if fraction > max_drop_fraction:
        reasons.append(
            f"lost {dropped + unreadable} of {samples} samples in the windows ({dropped} "
            f"dropped, {unreadable} unreadable): {fraction:.4%} > {max_drop_fraction:.4%}"
        )
    return EnergySummary(
        windows=tuple(windows),
        median_uj_per_inference=float(np.median(scores)),
        compliant=not reasons,
        reasons=tuple(reasons),
        dropped_fraction=fraction,
        garbled_bins=trace.garbled_bins,
    )


def results_line(summary: EnergySummary) -> str:
    """The line results.txt carries and the submission checker reads."""
    median = summary.median_uj_per_inference
    if not math.isfinite(median):
        raise EnergyMonitorError(f"the median energy is {median}: no valid window to report")
    return f"Median energy cost is {median:.4f} uJ/inf."
