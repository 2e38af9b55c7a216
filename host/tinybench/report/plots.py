"""The report's figures, drawn with matplotlib's Agg canvas (no display, no pyplot state).

Every function returns a Plot: PNG bytes plus the stable id that the HTML puts
in data-plot="..." and the Markdown uses in the PNG's file name.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tinybench.report.metrics import ConfusionMatrix, RocCurve

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DPI = 100
PASS_COLOUR = "#2e7d32"
FAIL_COLOUR = "#c62828"
BAR_COLOUR = "#1f77b4"
PERCENTILE_COLOURS = {"p50": "#2e7d32", "p90": "#ef6c00", "p99": "#c62828"}


@dataclass(frozen=True)
class Plot:
    plot_id: str  # stable: "latency-windows", "confusion", "roc", ...
    title: str
    caption: str
    png: bytes
    width_px: int
    height_px: int


@dataclass(frozen=True)
class WindowBar:
    label: str
    latency_ms: float | None
    elapsed_s: float | None
    compliant: bool | None


def _figure(width_in: float, height_in: float) -> Figure:
    # matplotlib is imported on the first figure, not with the module: it costs every CLI
    # command about a second of start-up, and only reports draw.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width_in, height_in), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _render(figure: Figure, plot_id: str, title: str, caption: str) -> Plot:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    width, height = figure.canvas.get_width_height()
    return Plot(plot_id, title, caption, buffer.getvalue(), int(width), int(height))


def latency_windows_plot(windows: Sequence[WindowBar], min_window_s: float | None) -> Plot:
    figure = _figure(10.0, 4.0)
    latency_axes, elapsed_axes = figure.subplots(1, 2)
    labels = [w.label for w in windows]
    positions = list(range(len(windows)))
    colours = [
        BAR_COLOUR if w.compliant is None else PASS_COLOUR if w.compliant else FAIL_COLOUR
        for w in windows
    ]
    latency_axes.bar(positions, [w.latency_ms or 0.0 for w in windows], color=colours)
    latency_axes.set_xticks(positions, labels, rotation=30, ha="right", fontsize=8)
    latency_axes.set_ylabel("latency per inference (ms)")
    latency_axes.set_title("Latency per window")
    elapsed_axes.bar(positions, [w.elapsed_s or 0.0 for w in windows], color=colours)
    elapsed_axes.set_xticks(positions, labels, rotation=30, ha="right", fontsize=8)
    elapsed_axes.set_ylabel("window duration (s)")
    elapsed_axes.set_title("Window duration")
    if min_window_s is not None:
        elapsed_axes.axhline(
            min_window_s, color=FAIL_COLOUR, linestyle="--", label=f"rule: >= {min_window_s:g} s"
        )
        elapsed_axes.legend(loc="best")
    caption = (
        "One bar per performance window (green: the window meets the run rules, red: it does "
        f"not). The run rules require every window to last at least {min_window_s:g} s."
        if min_window_s is not None
        else "One bar per performance window."
    )
    return _render(figure, "latency-windows", "Latency per window", caption)


def latency_distribution_plot(
    latencies_ms: Sequence[float] | None, percentiles_ms: Mapping[str, float]
) -> Plot:
    figure = _figure(8.0, 3.6)
    axes = figure.subplots()
    if latencies_ms:
        # A long tail (preemption on a host, an interrupt on a board) would squeeze the bulk of
        # the histogram into one bar: beyond 2 x p99 the slowest inferences are counted only.
        cutoff = 2.0 * percentiles_ms["p99"] if "p99" in percentiles_ms else max(latencies_ms)
        shown = [v for v in latencies_ms if v <= cutoff]
        hidden = len(latencies_ms) - len(shown)
        axes.hist(shown, bins=min(60, max(10, len(shown) // 5)), color=BAR_COLOUR)
        # Latencies of one model differ in the 4th decimal: plain labels, not "+1.64e1" offsets.
        axes.ticklabel_format(axis="x", useOffset=False, style="plain")
        axes.set_ylabel("inferences")
        for name, value in percentiles_ms.items():
            axes.axvline(
                value,
                color=PERCENTILE_COLOURS.get(name, "black"),
                linestyle="--",
                label=f"{name} {value:.3f} ms",
            )
        axes.set_xlabel("latency per inference (ms)")
        caption = f"Per-inference latency over {len(latencies_ms)} timed inferences." + (
            f" {hidden} slower than {cutoff:.3f} ms (2 x p99, up to {max(latencies_ms):.3f} ms)"
            " are not drawn."
            if hidden
            else ""
        )
    else:
        names = list(percentiles_ms)
        axes.bar(
            names,
            [percentiles_ms[n] for n in names],
            color=[PERCENTILE_COLOURS.get(n, BAR_COLOUR) for n in names],
            label=[f"{n} {percentiles_ms[n]:.3f} ms" for n in names],
        )
        axes.set_ylabel("latency (ms)")
        caption = "Latency percentiles from results.json (no per-inference trace available)."
    if percentiles_ms:
        axes.legend(loc="upper right")
    axes.set_title("Latency distribution")
    return _render(figure, "latency-distribution", "Latency distribution", caption)


def sample_latency_plot(latencies_ms: Sequence[float]) -> Plot:
    figure = _figure(8.0, 3.2)
    axes = figure.subplots()
    axes.hist(latencies_ms, bins=min(60, max(10, len(latencies_ms) // 5)), color=BAR_COLOUR)
    axes.ticklabel_format(axis="x", useOffset=False, style="plain")
    axes.set_xlabel("single-inference latency (ms)")
    axes.set_ylabel("inferences")
    axes.set_title("Accuracy run: latency per inference (informative, not a score)")
    caption = (
        f"Timed loop of `infer 1 0`, {len(latencies_ms)} inferences; "
        "performance mode windows are the compliant measurement."
    )
    return _render(figure, "sample-latency", "Per-sample latency", caption)


def confusion_plot(matrix: ConfusionMatrix, class_names: Sequence[str]) -> Plot:
    size = min(11.0, max(4.5, 0.55 * matrix.classes + 2.5))
    figure = _figure(size + 1.0, size)
    axes = figure.subplots()
    image = axes.imshow(matrix.counts, cmap="Blues")
    figure.colorbar(image, ax=axes, shrink=0.8, label="samples")
    ticks = list(range(matrix.classes))
    axes.set_xticks(ticks, class_names, rotation=45, ha="right", fontsize=8)
    axes.set_yticks(ticks, class_names, fontsize=8)
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    peak = max(max(row) for row in matrix.counts) or 1
    if matrix.classes <= 20:
        for true, row in enumerate(matrix.counts):
            for predicted, count in enumerate(row):
                if count:
                    colour = "white" if count > peak / 2 else "black"
                    axes.text(
                        predicted,
                        true,
                        str(count),
                        ha="center",
                        va="center",
                        fontsize=7,
                        color=colour,
                    )
    axes.set_title(f"Confusion matrix ({matrix.correct}/{matrix.total} correct)")
    caption = "Rows: the label; columns: the device's top-1 prediction (ties to the first maximum)."
    return _render(figure, "confusion", "Confusion matrix", caption)


def per_class_accuracy_plot(
    matrix: ConfusionMatrix, class_names: Sequence[str], quality_target: float | None
) -> Plot:
    figure = _figure(8.0, max(3.0, 0.32 * matrix.classes + 1.2))
    axes = figure.subplots()
    accuracies = [matrix.class_accuracy(c) for c in range(matrix.classes)]
    positions = list(range(matrix.classes))
    colours: list[Any] = [
        BAR_COLOUR
        if quality_target is None or a is None
        else PASS_COLOUR
        if a >= quality_target
        else FAIL_COLOUR
        for a in accuracies
    ]
    axes.barh(positions, [100.0 * (a or 0.0) for a in accuracies], color=colours)
    axes.set_yticks(
        positions, [f"{n} (n={matrix.support(i)})" for i, n in enumerate(class_names)], fontsize=8
    )
    axes.invert_yaxis()
    axes.set_xlim(0.0, 100.0)
    axes.set_xlabel("top-1 accuracy of the class (%)")
    if quality_target is not None:
        axes.axvline(
            100.0 * quality_target,
            color="black",
            linestyle="--",
            label=f"quality target {100.0 * quality_target:g} %",
        )
        axes.legend(loc="lower right")
    axes.set_title("Per-class accuracy")
    caption = "Share of each class's samples predicted correctly (recall)."
    return _render(figure, "per-class-accuracy", "Per-class accuracy", caption)


def roc_plot(curve: RocCurve, quality_target: float | None) -> Plot:
    figure = _figure(5.5, 5.0)
    axes = figure.subplots()
    axes.plot(
        curve.false_positive_rate,
        curve.true_positive_rate,
        color=BAR_COLOUR,
        drawstyle="default",
        label=f"AUC {curve.auc:.4f}",
    )
    axes.plot([0.0, 1.0], [0.0, 1.0], color="grey", linestyle=":", label="chance")
    axes.set_xlim(0.0, 1.0)
    axes.set_ylim(0.0, 1.02)
    axes.set_xlabel("false positive rate (normal clips flagged)")
    axes.set_ylabel("true positive rate (anomalies flagged)")
    axes.legend(loc="lower right")
    target = f"; quality target {quality_target:g}" if quality_target is not None else ""
    axes.set_title("ROC curve")
    caption = (
        f"Anomaly score = mean reconstruction MSE per clip; {curve.positives} anomalous and "
        f"{curve.negatives} normal clips{target}."
    )
    return _render(figure, "roc", "ROC curve", caption)


def engine_comparison_plot(
    boards: Sequence[str],
    models: Sequence[str],
    engines: Sequence[str],
    instructions: Mapping[tuple[str, str, str], float],
) -> Plot:
    """Grouped bars per core: instructions per inference of each engine for each model."""
    figure = _figure(4.2 * max(1, len(boards)), 3.8)
    axes_list = figure.subplots(1, max(1, len(boards)), squeeze=False)[0]
    width = 0.8 / max(1, len(engines))
    for axes, board in zip(axes_list, boards, strict=False):
        for k, engine in enumerate(engines):
            xs = [i + (k - (len(engines) - 1) / 2) * width for i in range(len(models))]
            ys = [instructions.get((board, model, engine), 0.0) / 1e6 for model in models]
            axes.bar(xs, ys, width=width, label=engine)
        axes.set_xticks(range(len(models)), list(models))
        axes.set_yscale("log")
        axes.set_title(board)
        axes.set_ylabel("M instructions per inference")
    axes_list[0].legend(loc="upper left", fontsize="small")
    caption = ("Exact instruction counts under QEMU -icount shift=0, log scale; lower is "
               "better.")  # fmt: skip
    return _render(figure, "engine-comparison", "Engines compared", caption)


@dataclass(frozen=True)
class OpSeries:
    """One engine configuration's per-op figures, in the order of the model's ops."""

    label: str  # "native", "tflm-cmsis-nn", ...
    unit: str  # "instructions", "cycles" or "ticks"
    counts: tuple[float, ...]
    per_mac: tuple[float | None, ...]  # None for ops without MACs


def op_profile_plot(op_labels: Sequence[str], series: Sequence[OpSeries]) -> Plot:
    """Grouped bars per op: the count of each configuration, and its count per MAC."""
    ops = len(op_labels)
    figure = _figure(max(6.0, 1.0 + 0.32 * ops * max(1, len(series))), 7.0)
    count_axes, per_mac_axes = figure.subplots(2, 1, sharex=True)
    width = 0.8 / max(1, len(series))
    units = sorted({s.unit for s in series})
    for k, one in enumerate(series):
        xs = [i + (k - (len(series) - 1) / 2) * width for i in range(ops)]
        count_axes.bar(
            xs,
            [one.counts[i] if i < len(one.counts) else 0.0 for i in range(ops)],
            width=width,
            label=one.label,
        )
        per_mac = [one.per_mac[i] if i < len(one.per_mac) else None for i in range(ops)]
        per_mac_axes.bar(
            xs, [p if p is not None else 0.0 for p in per_mac], width=width, label=one.label
        )
    count_axes.set_ylabel(f"{'/'.join(units)} per op")
    count_axes.set_title("Per-op cost of one inference")
    count_axes.legend(loc="upper right", fontsize="small")
    per_mac_axes.set_ylabel(f"{'/'.join(units)} per MAC")
    per_mac_axes.set_title("Per-op cost per multiply-accumulate (ops with MACs)")
    per_mac_axes.set_xticks(range(ops), list(op_labels), rotation=60, ha="right", fontsize=7)
    caption = (
        "One group of bars per op, in the model's order; one colour per engine configuration. "
        "Ops without multiply-accumulates (pooling, reshape, softmax) have no per-MAC bar."
    )  # fmt: skip
    return _render(figure, "op-profile", "Per-op profile", caption)


def memory_plot(breakdown: Mapping[str, Mapping[str, int]]) -> Plot:
    """One stacked horizontal bar per memory (flash, RAM): the breakdown's figures in KiB."""
    regions = [r for r in ("flash", "ram") if breakdown.get(r)]
    figure = _figure(9.0, 1.4 + 1.1 * max(1, len(regions)))
    axes = figure.subplots()
    colours: dict[str, str] = {}  # one colour per figure name, shared by both bars
    for row, region in enumerate(regions):
        left = 0.0
        for name, size in breakdown[region].items():
            if size <= 0:
                continue
            new_name = name not in colours
            colour = colours.setdefault(name, f"C{len(colours) % 10}")
            axes.barh(row, size / 1024.0, left=left, color=colour, edgecolor="white",
                      label=name if new_name else None)  # fmt: skip
            left += size / 1024.0
    axes.set_yticks(range(len(regions)), ["flash" if r == "flash" else "RAM" for r in regions])
    axes.invert_yaxis()
    axes.set_xlabel("KiB")
    axes.set_title("Memory footprint from the ELF")
    figure.legend(loc="outside lower center", ncol=4, fontsize="small")
    caption = (
        "Each bar adds up to the image's flash or RAM total from the ELF's sections; .data is "
        "counted in both (stored in flash, copied to RAM)."
    )  # fmt: skip
    return _render(figure, "memory-breakdown", "Memory footprint", caption)


@dataclass(frozen=True)
class EnergyWindowTrace:
    """One energy window's neighbourhood: power per bin and the window's two edges (seconds)."""

    label: str
    times_s: Sequence[float]
    power_mw: Sequence[float]
    start_s: float
    end_s: float


def energy_trace_plot(windows: Sequence[EnergyWindowTrace]) -> Plot:
    """One panel per window: the monitor's power over time, the window's edges marked."""
    figure = _figure(10.0, 1.2 + 1.9 * max(1, len(windows)))
    axes_list = figure.subplots(max(1, len(windows)), 1, squeeze=False)[:, 0]
    for axes, window in zip(axes_list, windows, strict=False):
        axes.plot(window.times_s, window.power_mw, color=BAR_COLOUR, linewidth=0.8)
        for edge in (window.start_s, window.end_s):
            axes.axvline(edge, color=FAIL_COLOUR, linestyle="--", linewidth=1.0)
        axes.axvspan(window.start_s, window.end_s, color=PASS_COLOUR, alpha=0.08)
        finite = [p for p in window.power_mw if math.isfinite(p)]
        if finite and max(finite) > 0:  # from 0: a flat trace is not magnified into noise
            axes.set_ylim(0, max(finite) * 1.15)
        axes.set_ylabel("mW")
        axes.set_title(window.label, fontsize="small")
    axes_list[-1].set_xlabel("time since the acquisition started (s)")
    caption = (
        "The power monitor's trace around each scored window (averaged to at most 2,000 points a "
        "panel); dashed lines: the window's two timestamp edges, between which the energy is "
        "summed."
    )
    return _render(figure, "energy-trace", "Energy trace per window", caption)
