"""What a report says, independent of how it is rendered (HTML or Markdown).

build_report() turns a run directory into a Report: the reference-check verdict
shown first, then sections of paragraphs, tables and plots. Sections whose data
the run does not have (no samples.jsonl, an accuracy run without windows, a
performance block still being extended) are left out rather than failing.
"""

from __future__ import annotations

import statistics
from typing import Any

from tinybench.report import plots
from tinybench.report.classnames import class_names
from tinybench.report.dut import dut_section
from tinybench.report.energy import energy_section
from tinybench.report.fleet import fleet_section
from tinybench.report.formatting import (
    MISSING,
    accuracy_text,
    count,
    fixed,
    percent,
    text_or_missing,
)
from tinybench.report.layout import CheckStatus, ReferenceCheck, Report, Section, Table
from tinybench.report.memory import memory_section, stack_text
from tinybench.report.metrics import confusion_matrix, percentile, roc_curve
from tinybench.report.opprofile import profile_section, read_profile
from tinybench.report.rundir import RunDirectory, number


def reference_check(run: RunDirectory) -> ReferenceCheck:
    check = run.block("reference_check")
    compared = number(check.get("compared"))
    mismatches = number(check.get("mismatches"))
    reference = text_or_missing(run.block("provenance").get("reference"))
    if not compared or mismatches is None:
        return ReferenceCheck(
            CheckStatus.ABSENT,
            "Reference check: not performed",
            "No device output was compared with the host reference interpreter in this run.",
        )
    if mismatches == 0:
        return ReferenceCheck(
            CheckStatus.PASS,
            f"Reference check: {round(compared)} compared, 0 mismatches",
            f"Every compared output equals the host reference ({reference}) bit for bit.",
        )
    listed = [str(s) for s in check.get("mismatched_samples") or []]
    shown = ", ".join(listed[:20]) + (f" and {len(listed) - 20} more" if len(listed) > 20 else "")
    return ReferenceCheck(
        CheckStatus.FAIL,
        f"Reference check: {round(compared)} compared, {round(mismatches)} MISMATCHES",
        f"Outputs differ from the host reference ({reference})"
        + (f" for: {shown}." if shown else "."),
    )


def _summary(run: RunDirectory) -> Section:
    accuracy = run.block("accuracy")
    performance = run.block("performance")
    memory = run.block("memory")
    compliant = performance.get("compliant")
    rows = [
        ("model", text_or_missing(run.results.get("model"))),
        ("board", text_or_missing(run.results.get("board"))),
        ("engine", text_or_missing(run.results.get("engine"))),
        ("mode", text_or_missing(run.results.get("mode"))),
        ("accuracy", accuracy_text(accuracy)),
        ("quality target", _target_text(accuracy)),
        ("meets quality target", text_or_missing(accuracy.get("meets_target"))),
        ("median latency", fixed(performance.get("median_latency_ms"), 3, "ms")),
        ("median throughput", fixed(performance.get("median_throughput_ips"), 3, "inf./s")),
        ("performance windows compliant", text_or_missing(compliant)),
        ("arena", count(memory.get("arena_bytes"), "B")),
        ("flash", count(memory.get("flash_bytes"), "B")),
        ("RAM", count(memory.get("ram_bytes"), "B")),
        ("stack high-water mark", stack_text(memory)),
    ]
    notes = []
    if performance.get("source"):
        notes.append(f"Latency and throughput here come from the {performance['source']}.")
    return Section(
        "summary", "Summary", tuple(notes), (Table("summary", ("", "value"), tuple(rows)),)
    )


def _target_text(accuracy: dict[str, Any]) -> str:
    target = number(accuracy.get("quality_target"))
    if target is None:
        return MISSING
    return f"AUC >= {target:g}" if accuracy.get("metric") == "auc" else f">= {percent(target, 1)}"


def _accuracy_section(run: RunDirectory) -> Section | None:
    accuracy = run.block("accuracy")
    samples = run.samples or ()
    target = number(accuracy.get("quality_target"))
    if accuracy.get("metric") == "auc" or accuracy.get("auc") is not None:
        curve = roc_curve(samples)
        paragraphs = [f"Result: {accuracy_text(accuracy)}."]
        if curve is None:
            paragraphs.append(
                "No ROC curve: samples.jsonl needs scored clips with both labels 0 and 1."
            )
            return Section("accuracy", "Accuracy", tuple(paragraphs))
        paragraphs.append(f"AUC from samples.jsonl: {curve.auc:.4f}.")
        return Section(
            "accuracy", "Accuracy", tuple(paragraphs), plots=(plots.roc_plot(curve, target),)
        )
    matrix = confusion_matrix(samples)
    if matrix is None:
        if not accuracy:
            return None
        return Section(
            "accuracy",
            "Accuracy",
            (
                f"Result: {accuracy_text(accuracy)}.",
                "No confusion matrix: samples.jsonl has no labelled predictions.",
            ),
        )
    names = class_names(samples, matrix.classes)
    rows = tuple(
        (name, str(matrix.support(i)), str(matrix.counts[i][i]), percent(matrix.class_accuracy(i)))
        for i, name in enumerate(names)
    )
    return Section(
        "accuracy",
        "Accuracy",
        (
            f"Result: {accuracy_text(accuracy)}; from samples.jsonl {matrix.correct}/"
            f"{matrix.total} labelled samples correct.",
        ),
        (Table("per-class", ("class", "samples", "correct", "accuracy"), rows),),
        (
            plots.confusion_plot(matrix, names),
            plots.per_class_accuracy_plot(matrix, names, target),
        ),
    )


def _window_bars(windows: list[dict[str, Any]]) -> list[plots.WindowBar]:
    bars = []
    for i, window in enumerate(windows):
        compliant = window.get("compliant")
        bars.append(
            plots.WindowBar(
                label=f"{i + 1}: {window.get('input', '?')}",
                latency_ms=number(window.get("latency_ms")),
                elapsed_s=number(window.get("elapsed_s")),
                compliant=compliant if isinstance(compliant, bool) else None,
            )
        )
    return bars


def _percentiles(run: RunDirectory, latencies_ms: list[float] | None) -> dict[str, float]:
    distribution = run.block("performance").get("latency_distribution")
    if isinstance(distribution, dict):
        found = {
            name: value
            for name in ("p50", "p90", "p99")
            if (value := number(distribution.get(f"{name}_ms"))) is not None
        }
        if found:
            return found
    if latencies_ms:
        return {
            name: percentile(latencies_ms, q) for name, q in (("p50", 50), ("p90", 90), ("p99", 99))
        }
    return {}


def _performance_section(run: RunDirectory) -> Section | None:
    performance = run.block("performance")
    raw_windows = performance.get("windows")
    windows = (
        [w for w in raw_windows if isinstance(w, dict)] if isinstance(raw_windows, list) else []
    )
    min_window_s = number(performance.get("min_window_s"))
    paragraphs: list[str] = []
    tables: list[Table] = []
    figures: list[plots.Plot] = []
    if windows:
        verdict = "compliant" if performance.get("compliant") else "NOT compliant"
        rule = f" (each window >= {min_window_s:g} s)" if min_window_s is not None else ""
        paragraphs.append(
            f"{len(windows)} windows, {verdict} with the run rules{rule}. Median throughput "
            f"{fixed(performance.get('median_throughput_ips'), 3, 'inf./s')}, median latency "
            f"{fixed(performance.get('median_latency_ms'), 3, 'ms')}."
        )
        spread = performance.get("throughput_spread")
        if isinstance(spread, dict):
            paragraphs.append(
                f"Throughput spread over the windows: {fixed(spread.get('min'), 3)} to "
                f"{fixed(spread.get('max'), 3)} inf./s."
            )
        tables.append(
            Table(
                "windows",
                (
                    "window",
                    "input",
                    "inferences",
                    "warm-up",
                    "elapsed",
                    "latency",
                    "throughput",
                    "counter ticks",
                    "compliant",
                ),
                tuple(
                    (
                        str(i + 1),
                        text_or_missing(w.get("input")),
                        count(w.get("infer_count")),
                        count(w.get("warmup_count")),
                        fixed(w.get("elapsed_s"), 3, "s"),
                        fixed(w.get("latency_ms"), 4, "ms"),
                        fixed(w.get("throughput_ips"), 3, "inf./s"),
                        count(w.get("counter_ticks")),
                        text_or_missing(w.get("compliant")),
                    )
                    for i, w in enumerate(windows)
                ),
            )
        )
        figures.append(plots.latency_windows_plot(_window_bars(windows), min_window_s))
    extra = [
        ("instructions per inference", count(performance.get("instructions_per_inference"))),
        (
            "accuracy-weighted throughput",
            fixed(performance.get("accuracy_weighted_throughput_ips"), 3, "inf./s"),
        ),
    ]
    if any(value != MISSING for _, value in extra):
        tables.append(Table("performance-extra", ("", "value"), tuple(extra)))
    latencies_ms = run.latencies.latencies_ms() if run.latencies is not None else None
    percentiles = _percentiles(run, latencies_ms)
    if latencies_ms or (windows and percentiles):
        figures.append(plots.latency_distribution_plot(latencies_ms, percentiles))
    if not windows:
        sample_ms = [us / 1000.0 for s in run.samples or () for us in s.elapsed_us]
        if sample_ms:
            paragraphs.append(
                "No performance-mode windows in this run: the latency below is the "
                f"informative single-inference time of the accuracy run (median "
                f"{statistics.median(sample_ms):.3f} ms), not an MLPerf score."
            )
            figures.append(plots.sample_latency_plot(sample_ms))
    if not (paragraphs or tables or figures):
        return None
    return Section("performance", "Performance", tuple(paragraphs), tuple(tables), tuple(figures))


def _provenance_section(run: RunDirectory) -> Section:
    provenance = run.block("provenance")
    rules = provenance.get("runrules")
    version = provenance.get("runrules_version")
    rule_text = " ".join(text_or_missing(v) for v in (rules, version) if v is not None)
    rows = [
        ("firmware sha256", text_or_missing(provenance.get("firmware_sha256"))),
        ("model sha256", text_or_missing(provenance.get("model_sha256"))),
        ("toolchain", text_or_missing(provenance.get("toolchain"))),
        ("run rules", rule_text or MISSING),
        ("tinybench version", text_or_missing(provenance.get("tinybench_version"))),
        ("reference interpreter", text_or_missing(provenance.get("reference"))),
        ("emulator", text_or_missing(provenance.get("emulator"))),
    ]
    dut_info = provenance.get("dut_info")
    tables = [Table("provenance", ("", "value"), tuple(rows))]
    if isinstance(dut_info, dict) and dut_info:
        tables.append(
            Table(
                "dut-info",
                ("DUT info field", "value"),
                tuple((str(k), text_or_missing(v)) for k, v in dut_info.items()),
            )
        )
    return Section("provenance", "Provenance", (), tuple(tables))


def _wall_time_section(run: RunDirectory) -> Section | None:
    wall = run.block("wall_time_s")
    if not wall:
        return None
    rows = tuple(
        (str(k), count(v, "B") if k.endswith("_bytes") else fixed(v, 3, "s"))
        for k, v in wall.items()
    )
    return Section("wall-time", "Wall time", (), (Table("wall-time", ("step", "time"), rows),))


def _profile_section(run: RunDirectory) -> Section | None:
    block = run.block("profile")
    label = " ".join(str(v) for v in (run.results.get("engine"), block.get("kernels")) if v)
    table = read_profile(block, label or "engine")
    if table is None:
        return None
    return profile_section(
        (table,),
        "One inference of this run's input with the counter read around every op (the "
        "`opprofile` extension); `tinybench profile` puts engines side by side.",
    )


def build_report(run: RunDirectory) -> Report:
    model = text_or_missing(run.results.get("model"))
    board = text_or_missing(run.results.get("board"))
    engine = text_or_missing(run.results.get("engine"))
    mode = text_or_missing(run.results.get("mode"))
    sections = [
        _summary(run),
        _accuracy_section(run),
        _performance_section(run),
        _profile_section(run),
        memory_section(run.block("memory")),
        energy_section(run.block("energy"), run.path),
        fleet_section(run.block("farm")),
        _provenance_section(run),
        _wall_time_section(run),
        dut_section(run.block("dut")),
    ]
    return Report(
        title=f"tinybench report: {model} on {board}",
        subtitle=f"engine {engine}, {mode} mode, run directory {run.name}",
        reference_check=reference_check(run),
        sections=tuple(s for s in sections if s is not None),
    )
