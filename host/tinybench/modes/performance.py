"""Performance mode: distinct inputs, each timed over a minimum window of device time.

The counts come from the run rules (MLPerf Tiny: five inputs, windows of >= 10 s).

Every window's length is the DUT's own: the port counter's delta over the timed
loop (exact, and an instruction count under QEMU -icount), or the two `m-lap-us`
timestamps where the firmware has no counter extension. The host clock never
decides compliance. N is calibrated per input: a short probe measures one
inference, N is chosen to fill the window with a margin, and a window that still
falls short is run again with a larger N.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from tinybench.datasets import Dataset
from tinybench.dut.session import DutSession, InferResult
from tinybench.errors import RuleViolation
from tinybench.manifests.runrules import RuleSet

CALIBRATION_MARGIN = 1.10  # aim 10 % above the minimum window
MAX_WINDOW_ATTEMPTS = 4
PROBE_MIN_S = 0.05  # the probe grows until it lasts this long, so its rate is trustworthy


@dataclass(frozen=True)
class PerformanceInput:
    name: str
    wire: bytes


@dataclass(frozen=True)
class Window:
    input: str
    infer_count: int
    warmup_count: int
    elapsed_s: float  # device time of the timed loop
    counter_ticks: int | None
    latency_ms: float
    throughput_ips: float
    compliant: bool
    per_inference_ticks: tuple[int, ...]  # from the `latency` extension, when offered
    raw_output: bytes | None  # the window's output, for the reference check
    results: tuple[float, ...] = ()  # the window's printed `m-results` (external DUTs' check)


@dataclass(frozen=True)
class PerformanceOutcome:
    windows: tuple[Window, ...]
    inputs: tuple[bytes, ...]  # each window's input, in the runner's wire format
    min_window_s: float
    counter_hz: int | None

    @property
    def compliant(self) -> bool:
        return all(w.compliant for w in self.windows)

    @property
    def median_throughput_ips(self) -> float:
        return statistics.median(w.throughput_ips for w in self.windows)

    @property
    def median_latency_ms(self) -> float:
        return statistics.median(w.latency_ms for w in self.windows)


def select_inputs(samples: Iterable[tuple[str, bytes]], count: int) -> list[PerformanceInput]:
    """The first `count` distinct inputs, in dataset order, from (name, first inference's
    bytes) pairs; read lazily, so a large dataset is read only as far as needed."""
    inputs: list[PerformanceInput] = []
    for name, wire in samples:
        if all(wire != i.wire for i in inputs):
            inputs.append(PerformanceInput(name, wire))
        if len(inputs) == count:
            break
    return inputs


def rules_inputs(dataset: Dataset, rules: RuleSet) -> list[PerformanceInput]:
    """The distinct inputs the rule set's performance mode asks for, or a RuleViolation when the
    dataset has fewer."""
    timed = rules.performance
    firsts = ((s.file_name, dataset.inferences(s)[0]) for s in dataset.samples)
    inputs = select_inputs(firsts, timed.windows)
    if len(inputs) < timed.windows:
        raise RuleViolation(
            f"performance mode needs {timed.windows} distinct inputs (run rules "
            f"{rules.rules_id} {rules.version}); {dataset.root} offers {len(inputs)}"
        )
    return inputs


def device_seconds(result: InferResult, counter_hz: int | None) -> float:
    if result.counter_ticks is not None and counter_hz:
        return result.counter_ticks / counter_hz
    return result.elapsed_us / 1e6


def next_probe(count: int, seconds: float) -> int:
    """The next probe's inference count after `count` lasted `seconds`: up to 8x, aiming at
    PROBE_MIN_S."""
    return count * (8 if seconds <= 0 else max(2, min(8, math.ceil(PROBE_MIN_S / seconds))))


def window_count(count: int, seconds: float, min_window_s: float) -> int:
    """The N that makes a window last min_window_s plus the margin, from a probe of `count`
    inferences that lasted `seconds`."""
    per_inference = max(seconds / count, 1e-9)
    return max(1, math.ceil(min_window_s * CALIBRATION_MARGIN / per_inference))


def calibrate(session: DutSession, warmup: int, min_window_s: float, counter_hz: int | None) -> int:
    """The N that makes one window last min_window_s (plus margin) on this DUT and input."""
    count = 1
    while True:
        seconds = device_seconds(session.infer(count, warmup if count == 1 else 0), counter_hz)
        if seconds >= PROBE_MIN_S or seconds >= min_window_s or count >= 1 << 20:
            break
        count = next_probe(count, seconds)
    return window_count(count, seconds, min_window_s)


def run_window(
    session: DutSession,
    item: PerformanceInput,
    warmup: int,
    min_window_s: float,
    counter_hz: int | None,
    rules_min_window_s: float,
) -> Window:
    """One window of at least min_window_s; compliant when it also meets the rules' minimum."""
    session.load(item.wire)
    count = calibrate(session, warmup, min_window_s, counter_hz)
    for _ in range(MAX_WINDOW_ATTEMPTS):
        result = session.infer(count, warmup)
        seconds = device_seconds(result, counter_hz)
        if seconds >= min_window_s:
            break
        count = math.ceil(count * min_window_s * CALIBRATION_MARGIN / max(seconds, 1e-9))
    ticks: tuple[int, ...] = ()
    if "latency" in session.extensions:
        ticks = session.latency().ticks
    raw = session.results_raw() if "results-raw" in session.extensions else None
    return Window(
        input=item.name,
        infer_count=count,
        warmup_count=warmup,
        elapsed_s=seconds,
        counter_ticks=result.counter_ticks,
        latency_ms=1000.0 * seconds / count,
        throughput_ips=count / seconds if seconds > 0 else 0.0,
        compliant=seconds >= rules_min_window_s,
        per_inference_ticks=ticks,
        raw_output=raw,
        results=result.results,
    )


def run_performance(
    session_step: Callable[[Callable[[DutSession], Window]], Window],
    inputs: Sequence[PerformanceInput],
    distinct_inputs: int,
    warmup: int,
    min_window_s: float,
    counter_hz: int | None,
    rules_min_window_s: float,
    on_window: Callable[[Window], None] | None = None,
) -> PerformanceOutcome:
    """One window per input; session_step runs a step on a live DUT (restarting it if needed)."""
    if len({i.wire for i in inputs}) < distinct_inputs:
        raise RuleViolation(
            f"performance mode needs {distinct_inputs} distinct inputs; the dataset offers "
            f"{len({i.wire for i in inputs})}"
        )
    windows = []
    for item in inputs[:distinct_inputs]:

        def step(session: DutSession, item: PerformanceInput = item) -> Window:
            return run_window(session, item, warmup, min_window_s, counter_hz, rules_min_window_s)

        window = session_step(step)
        windows.append(window)
        if on_window is not None:
            on_window(window)
    used = tuple(i.wire for i in inputs[:distinct_inputs])
    return PerformanceOutcome(tuple(windows), used, min_window_s, counter_hz)


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (as MLPerf LoadGen reports them): no interpolation."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]
