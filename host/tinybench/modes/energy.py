"""Energy mode: windows timed and measured by the power monitor, scored as median µJ/inference.

The DUT runs `infer N W` as in performance mode, but in energy mode its `timestamp` drives the
timestamp pin instead of printing, and the power monitor sees each edge. Each `infer` makes two
edges (before and after the N timed runs); the window is the bins between them. Nothing here reads
a host clock or the DUT's own timing: durations come from the monitor's bins, so that the same
code scores an LPM01A, a Joulescope and the QEMU co-simulation.

N is calibrated from probes measured the same way (a short `infer n 0`, its two edges), then each
window that still falls short of the rules' minimum is run again with a larger N. Every probe and
retry is a separate pair of edges; only the scored windows enter the summary. A window that shows
more than its two edges (a glitch on the timestamp line) is never scored silently: it is run
again, and the fault is recorded.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from tinybench.dut.session import DutResetError, InferResult
from tinybench.energy.monitor import EnergyMonitor, EnergyMonitorError
from tinybench.energy.trace import EnergyTrace
from tinybench.energy.windows import EnergySummary, EnergyWindow, summarize, window_between
from tinybench.modes.performance import (
    CALIBRATION_MARGIN,
    PROBE_MIN_S,
    PerformanceInput,
    next_probe,
    window_count,
)

MAX_WINDOW_ATTEMPTS = 4
EDGE_TIMEOUT_MARGIN_S = 5.0  # how long after `m-infer-done` the monitor may take to show the edges
SETTLE_S = 0.3  # no new edge for this long: every edge of the last command has arrived


class EnergyDut(Protocol):
    """What energy mode needs of a DUT session (DutSession has it, directly or through an IO
    manager)."""

    def synchronize(self) -> None: ...

    def load(self, data: bytes) -> None: ...

    def infer(self, count: int, warmup: int) -> InferResult: ...


@dataclass(frozen=True)
class EnergyRules:
    windows: int = 5
    min_window_s: float = 10.0  # the run's target (--min-window may lower it)
    rules_min_window_s: float = 10.0  # what compliance is judged by
    warmup_count: int = 10
    max_drop_fraction: float = 0.001


@dataclass(frozen=True)
class EnergyOutcome:
    summary: EnergySummary
    trace: EnergyTrace
    inputs: tuple[str, ...]  # each scored window's input name
    warmups: tuple[int, ...]
    faults: tuple[str, ...]  # the monitor's faults and what this mode met (glitch edges, retries)
    dut_resets: int = 0  # windows (or their probes) the DUT reset in, each run again


@dataclass
class _EdgeCursor:
    """Edges already accounted for: the boot edge, every earlier probe and window."""

    seen: int


def _settled(monitor: EnergyMonitor, at_least: int, timeout_s: float) -> EnergyTrace:
    """The trace once it holds at_least edges and no further edge came for SETTLE_S.

    An edge reaches the host on the monitor's own link, in no fixed order with the DUT's reply
    (QEMU's second UART, the LPM01A's USB port): the DUT's `m-infer-done` can arrive before the
    monitor shows the window's closing edge, and a late boot edge can arrive after a command was
    sent. Waiting for quiet makes every edge the DUT made count where it belongs."""
    trace = monitor.wait_edges(at_least, timeout_s) if at_least else monitor.snapshot()
    while True:
        try:
            trace = monitor.wait_edges(len(trace.edges) + 1, SETTLE_S)
        except EnergyMonitorError:  # no further edge within SETTLE_S: quiet
            return monitor.snapshot()


def _timed_run(
    session: EnergyDut,
    monitor: EnergyMonitor,
    cursor: _EdgeCursor,
    count: int,
    warmup: int,
    faults: list[str],
) -> tuple[EnergyTrace, int, int, InferResult] | None:
    """Runs `infer count warmup`; the trace, the bins of its two edges and the DUT's reply, or
    None (and a fault) when the monitor saw another number of edges for it."""
    before = _settled(monitor, cursor.seen, EDGE_TIMEOUT_MARGIN_S)
    if len(before.edges) != cursor.seen:
        faults.append(
            f"{len(before.edges) - cursor.seen} timestamp edge(s) between commands, when the "
            "DUT was idle: not part of any window"
        )
    cursor.seen = len(before.edges)
    result = session.infer(count, warmup)
    trace = _settled(monitor, cursor.seen + 2, EDGE_TIMEOUT_MARGIN_S)
    new_edges = trace.edges[cursor.seen :]
    cursor.seen = len(trace.edges)
    if len(new_edges) != 2:
        faults.append(
            f"`infer {count} {warmup}` showed {len(new_edges)} timestamp edges instead of 2 "
            f"(a glitch on the timestamp line?): run again, not scored"
        )
        return None
    return trace, new_edges[0], new_edges[1], result


def _seconds(start_bin: int, end_bin: int, trace: EnergyTrace) -> float:
    return (end_bin - start_bin) * trace.bin_s


def calibrate(
    session: EnergyDut,
    monitor: EnergyMonitor,
    cursor: _EdgeCursor,
    min_window_s: float,
    counter_hz: int | None,
    faults: list[str],
) -> int:
    """The N that makes a window last min_window_s (plus margin), from probes: timed by the DUT's
    counter when it reports one (exact under QEMU, so N is the same in every run), else by the
    monitor's edges. Only N comes from this; every scored figure comes from the monitor."""
    count = 1
    seconds = 0.0
    for _ in range(24):
        measured = _timed_run(session, monitor, cursor, count, 0, faults)
        if measured is None:
            continue
        trace, start, end, result = measured
        if result.counter_ticks is not None and counter_hz:
            seconds = result.counter_ticks / counter_hz
        else:
            seconds = _seconds(start, end, trace)
        if seconds >= PROBE_MIN_S or seconds >= min_window_s or count >= 1 << 24:
            break
        count = next_probe(count, seconds)
    else:
        raise EnergyMonitorError("energy mode: no probe gave a clean pair of timestamp edges")
    return window_count(count, seconds, min_window_s)


@dataclass
class _ResetCount:
    value: int = 0


def run_energy_window(
    session: EnergyDut,
    monitor: EnergyMonitor,
    cursor: _EdgeCursor,
    item: PerformanceInput,
    index: int,
    rules: EnergyRules,
    counter_hz: int | None,
    faults: list[str],
    resets: _ResetCount | None = None,
) -> EnergyWindow:
    """One scored window on `item`. A DUT that resets meanwhile (its boot banner in the reply:
    a brown-out, a watchdog, a loose wire) has lost its input and its count: the session is
    synchronized again, the edges its boot made are set aside, and the window starts over from
    the upload, at most MAX_WINDOW_ATTEMPTS times."""
    resets = resets if resets is not None else _ResetCount()
    for _ in range(MAX_WINDOW_ATTEMPTS):
        try:
            return _window_on_input(session, monitor, cursor, item, index, rules, counter_hz,
                                    faults)  # fmt: skip
        except DutResetError as error:
            resets.value += 1
            faults.append(
                f"window {index + 1}: the DUT reset during its run ({error}): synchronized "
                "again, input reloaded, the window run again"
            )
            session.synchronize()
            cursor.seen = len(_settled(monitor, cursor.seen, EDGE_TIMEOUT_MARGIN_S).edges)
    raise EnergyMonitorError(
        f"energy window {index + 1}: the DUT reset in each of {MAX_WINDOW_ATTEMPTS} attempts "
        "(check its supply: a DUT that browns out under the monitor's voltage resets under load)"
    )


def _window_on_input(
    session: EnergyDut,
    monitor: EnergyMonitor,
    cursor: _EdgeCursor,
    item: PerformanceInput,
    index: int,
    rules: EnergyRules,
    counter_hz: int | None,
    faults: list[str],
) -> EnergyWindow:
    session.load(item.wire)
    count = calibrate(session, monitor, cursor, rules.min_window_s, counter_hz, faults)
    window: EnergyWindow | None = None
    for _ in range(MAX_WINDOW_ATTEMPTS):
        measured = _timed_run(session, monitor, cursor, count, rules.warmup_count, faults)
        if measured is None:
            continue
        trace, start, end, _ = measured
        window = window_between(trace, start, end, count, index + 1)  # numbered from 1
        if window.duration_s >= rules.min_window_s:
            return window
        faults.append(
            f"window {index + 1}: {window.duration_s:.3f} s < {rules.min_window_s:g} s with "
            f"N={count}: run again with a larger N"
        )
        count = math.ceil(
            count * rules.min_window_s * CALIBRATION_MARGIN / max(window.duration_s, 1e-9)
        )
    if window is None:
        raise EnergyMonitorError(
            f"energy window {index + 1}: {MAX_WINDOW_ATTEMPTS} attempts without a clean pair of "
            "timestamp edges (check the timestamp wiring and the monitor's event input)"
        )
    return window  # still short after every attempt: summarize() marks it non-compliant


def run_energy(
    session: EnergyDut,
    monitor: EnergyMonitor,
    inputs: Sequence[PerformanceInput],
    rules: EnergyRules,
    counter_hz: int | None = None,
    on_window: Callable[[EnergyWindow], None] | None = None,
) -> EnergyOutcome:
    """The rules' windows, one per input, on an already started monitor whose trace holds the DUT's
    boot edge(s) so far; stops the monitor and scores the windows."""
    faults: list[str] = []
    cursor = _EdgeCursor(len(_settled(monitor, 0, EDGE_TIMEOUT_MARGIN_S).edges))  # boot edge(s)
    windows: list[EnergyWindow] = []
    resets = _ResetCount()
    for index, item in enumerate(inputs[: rules.windows]):
        window = run_energy_window(session, monitor, cursor, item, index, rules, counter_hz,
                                   faults, resets)  # fmt: skip
        windows.append(window)
        if on_window is not None:
            on_window(window)
    trace = monitor.stop()
    summary = summarize(
        windows,
        trace,
        expected_windows=rules.windows,
        min_window_s=rules.rules_min_window_s,
        max_drop_fraction=rules.max_drop_fraction,
    )
    return EnergyOutcome(
        summary=summary,
        trace=trace,
        inputs=tuple(item.name for item in inputs[: rules.windows]),
        warmups=tuple(rules.warmup_count for _ in windows),
        faults=(*trace.faults, *faults),
        dut_resets=resets.value,
    )


def energy_block(outcome: EnergyOutcome) -> dict[str, object]:
    """results.json `energy`: the summary, each window, the trace's counts and provenance."""
    summary, trace = outcome.summary, outcome.trace
    return {
        "median_uj_per_inference": summary.median_uj_per_inference,
        "compliant": summary.compliant,
        "reasons": list(summary.reasons),
        "dropped_fraction": summary.dropped_fraction,
        "garbled_bins": summary.garbled_bins,
        "dropped_bins": trace.dropped_bins,
        "peak_buffer_load": trace.peak_buffer_load,
        "bin_s": trace.bin_s,
        "monitor": trace.source,
        "modelled": trace.modelled,
        "faults": list(outcome.faults),
        "dut_resets": outcome.dut_resets,
        "windows": [
            {
                "input": name,
                "inferences": w.inferences,
                "warmup_count": warmup,
                "duration_s": w.duration_s,
                "energy_uj": w.energy_j * 1e6,
                "uj_per_inference": w.uj_per_inference,
                "power_mw": w.power_mw,
                "nan_bins": w.nan_bins,
                "dropped_bins": w.dropped_bins,
                "peak_buffer_load": w.peak_buffer_load,
                "start_bin": w.start_bin,
                "end_bin": w.end_bin,
            }
            for name, warmup, w in zip(
                outcome.inputs, outcome.warmups, summary.windows, strict=False
            )
        ],
    }
