"""The energy section of a run report: results.json `energy` and the saved trace
(energy_trace.npz) plotted around each scored window."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tinybench.energy.trace import EnergyTrace
from tinybench.energy.tracefile import TRACE_FILE, load_trace
from tinybench.errors import TinybenchError
from tinybench.report import plots
from tinybench.report.formatting import count, fixed, percent, text_or_missing
from tinybench.report.layout import Section, Table
from tinybench.report.rundir import number

PLOT_POINTS = 2000  # per window panel
CONTEXT = 0.05  # of the window's length shown on each side


def _window_trace(
    trace: EnergyTrace, index: int, window: dict[str, Any]
) -> plots.EnergyWindowTrace | None:
    start, end = number(window.get("start_bin")), number(window.get("end_bin"))
    if start is None or end is None or not 0 <= start < end <= trace.bins:
        return None
    pad = max(1, round((end - start) * CONTEXT))
    lo, hi = max(0, round(start) - pad), min(trace.bins, round(end) + pad)
    power = trace.energy_j[lo:hi] / trace.bin_s * 1e3  # J per bin -> mW
    step = max(1, (hi - lo) // PLOT_POINTS)
    usable = (hi - lo) // step * step
    averaged = np.nanmean(power[:usable].reshape(-1, step), axis=1) if usable else power
    times = (lo + np.arange(averaged.shape[0]) * step + step / 2) * trace.bin_s
    return plots.EnergyWindowTrace(
        label=f"window {index + 1}: {text_or_missing(window.get('input'))}, "
        f"{fixed(window.get('uj_per_inference'), 3, 'uJ/inf.')}",
        times_s=times.tolist(),
        power_mw=averaged.tolist(),
        start_s=start * trace.bin_s,
        end_s=end * trace.bin_s,
    )


def energy_section(energy: dict[str, Any], run_dir: Path) -> Section | None:
    if not energy:
        return None
    raw_windows = energy.get("windows")
    windows = (
        [w for w in raw_windows if isinstance(w, dict)] if isinstance(raw_windows, list) else []
    )
    reasons = energy.get("reasons")
    paragraphs = [
        f"Median energy per inference {fixed(energy.get('median_uj_per_inference'), 4, 'uJ')}, "
        f"{'compliant' if energy.get('compliant') else 'NOT compliant'} with the run rules"
        + (
            ": " + "; ".join(str(r) for r in reasons)
            if isinstance(reasons, list) and reasons
            else "."
        )
    ]
    if energy.get("modelled"):
        paragraphs.append(f"Modelled, not measured: {energy['modelled']}.")
    rows = (
        ("monitor", text_or_missing(energy.get("monitor"))),
        (
            "dropped samples",
            f"{count(energy.get('dropped_bins'))} ({percent(energy.get('dropped_fraction'), 3)})",
        ),
        ("unreadable (NaN) bins", count(energy.get("garbled_bins"))),
        ("peak monitor buffer load", fixed(energy.get("peak_buffer_load"), 0, "%")),
        ("bin width", fixed(energy.get("bin_s"), 4, "s")),
    )
    tables = [Table("energy-summary", ("", "value"), rows)]
    if windows:
        tables.append(
            Table(
                "energy-windows",
                (
                    "window",
                    "input",
                    "inferences",
                    "duration",
                    "energy",
                    "per inference",
                    "power",
                    "NaN bins",
                    "dropped",
                    "monitor buffer peak",
                ),
                tuple(
                    (
                        str(i + 1),
                        text_or_missing(w.get("input")),
                        count(w.get("inferences")),
                        fixed(w.get("duration_s"), 3, "s"),
                        fixed(w.get("energy_uj"), 1, "uJ"),
                        fixed(w.get("uj_per_inference"), 4, "uJ"),
                        fixed(w.get("power_mw"), 3, "mW"),
                        count(w.get("nan_bins")),
                        count(w.get("dropped_bins")),
                        fixed(w.get("peak_buffer_load"), 0, "%"),
                    )
                    for i, w in enumerate(windows)
                ),
            )
        )
    faults = energy.get("faults")
    if isinstance(faults, list) and faults:
        tables.append(
            Table("energy-faults", ("what the run met",), tuple((str(f),) for f in faults))
        )
    figures: list[plots.Plot] = []
    path = run_dir / TRACE_FILE
    if path.is_file() and windows:
        try:
            trace = load_trace(path)
        except TinybenchError as exc:
            paragraphs.append(f"No trace plot: {exc}")
        else:
            panels = [p for i, w in enumerate(windows) if (p := _window_trace(trace, i, w))]
            if panels:
                figures.append(plots.energy_trace_plot(panels))
    elif windows:
        paragraphs.append(f"No trace plot: {TRACE_FILE} is not in the run directory.")
    return Section("energy", "Energy", tuple(paragraphs), tuple(tables), tuple(figures))
