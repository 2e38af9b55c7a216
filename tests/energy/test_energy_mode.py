"""Energy mode's orchestration (modes/energy.py) against a simulated DUT and monitor in virtual
time: calibration from the monitor's edges, windows of >= the minimum, the configured energy per
inference recovered, and glitch edges or a short window never scored silently."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tinybench.cli import cli
from tinybench.dut.session import DutResetError, InferResult
from tinybench.energy.monitor import EnergyMonitorError
from tinybench.energy.simulated import SimulatedMonitor
from tinybench.modes.energy import EnergyRules, energy_block, run_energy
from tinybench.modes.performance import PerformanceInput
from tinybench.results import checker_lines

IDLE_W = 0.004
ACTIVE_W = 0.033
INFERENCE_S = 0.0164  # kws01-like
SETTLE_S = 0.1


class SimulatedEnergyDut:
    """`infer N W` as the energy-mode firmware does it: W warm-ups, an edge, N runs, an edge; the
    monitor sees the active power while the DUT computes and the idle power otherwise."""

    def __init__(
        self,
        monitor: SimulatedMonitor,
        glitch_on_call: int | None = None,
        reset_on_calls: tuple[int, ...] = (),
    ) -> None:
        self.monitor = monitor
        self.calls = 0
        self.loaded: list[bytes] = []
        self.glitch_on_call = glitch_on_call
        self.reset_on_calls = reset_on_calls  # these `infer` calls see the DUT reset midway
        self.synchronized = 0

    def synchronize(self) -> None:
        self.synchronized += 1

    def load(self, data: bytes) -> None:
        self.loaded.append(data)
        self.monitor.advance(0.5, IDLE_W)  # the upload: idle

    def infer(self, count: int, warmup: int) -> InferResult:
        self.calls += 1
        self.monitor.advance(warmup * INFERENCE_S, ACTIVE_W)
        self.monitor.edge()
        if self.calls in self.reset_on_calls:
            self.monitor.advance(count * INFERENCE_S / 3, ACTIVE_W)
            self.monitor.edge()  # the boot pulse of the reset DUT; it never ends the window
            self.monitor.advance(SETTLE_S, IDLE_W)
            raise DutResetError("the DUT reset (printed m-init-done) while answering `infer`")
        if self.calls == self.glitch_on_call:
            self.monitor.advance(count * INFERENCE_S / 2, ACTIVE_W)
            self.monitor.edge()  # a glitch on the timestamp line inside the window
            self.monitor.advance(count * INFERENCE_S / 2, ACTIVE_W)
        else:
            self.monitor.advance(count * INFERENCE_S, ACTIVE_W)
        self.monitor.edge()
        self.monitor.advance(SETTLE_S, IDLE_W)
        return InferResult(count, warmup, (0, 0), None, ())


def inputs() -> list[PerformanceInput]:
    return [PerformanceInput(f"tst_{i:06d}.bin", bytes([i]) * 4) for i in range(5)]


def started_monitor() -> SimulatedMonitor:
    monitor = SimulatedMonitor(IDLE_W)
    monitor.start()
    monitor.advance(0.2)
    monitor.edge()  # the reference firmware's boot edge
    monitor.advance(0.2)
    return monitor


def expected_uj() -> float:
    return ACTIVE_W * INFERENCE_S * 1e6


def test_five_windows_recover_the_energy_per_inference() -> None:
    monitor = started_monitor()
    dut = SimulatedEnergyDut(monitor)
    outcome = run_energy(dut, monitor, inputs(), EnergyRules())
    summary = outcome.summary
    assert summary.compliant, summary.reasons
    assert len(summary.windows) == 5
    assert all(w.duration_s >= 10.0 for w in summary.windows)
    # N calibrated from probes: 10 s x 1.10 margin / 16.4 ms, not hand-tuned
    assert all(660 <= w.inferences <= 740 for w in summary.windows)
    assert summary.median_uj_per_inference == pytest.approx(expected_uj(), rel=1e-3)
    assert [d[0] for d in dut.loaded] == [0, 1, 2, 3, 4]
    block = energy_block(outcome)
    assert block["monitor"] == "simulated"
    assert [w["input"] for w in block["windows"]] == [i.name for i in inputs()]
    lines = checker_lines({"energy": block})
    assert lines == [f"Median energy cost is {summary.median_uj_per_inference:.4f} uJ/inf."]


def test_a_glitch_edge_is_recorded_and_the_window_run_again() -> None:
    monitor = started_monitor()
    # Each window: two probes (1, then 4 inferences) and the window itself; call 6 is window 2.
    dut = SimulatedEnergyDut(monitor, glitch_on_call=6)
    outcome = run_energy(dut, monitor, inputs(), EnergyRules())
    assert dut.calls == 5 * 3 + 1  # window 2 ran once more
    assert any("3 timestamp edges instead of 2" in f for f in outcome.faults)
    assert outcome.summary.compliant
    assert outcome.summary.median_uj_per_inference == pytest.approx(expected_uj(), rel=1e-3)


def test_a_dut_reset_mid_window_is_counted_and_the_window_run_again_from_the_upload() -> None:
    monitor = started_monitor()
    dut = SimulatedEnergyDut(monitor, reset_on_calls=(6,))  # window 2's own run
    outcome = run_energy(dut, monitor, inputs(), EnergyRules())
    assert outcome.dut_resets == 1
    assert dut.synchronized == 1
    assert dut.loaded.count(inputs()[1].wire) == 2  # its input uploaded again after the reset
    assert dut.calls == 5 * 3 + 3  # window 2: its run, then probes and run once more
    assert any("window 2: the DUT reset during its run" in f for f in outcome.faults)
    assert energy_block(outcome)["dut_resets"] == 1
    assert outcome.summary.compliant  # the boot edge and the broken window are set aside
    assert outcome.summary.median_uj_per_inference == pytest.approx(expected_uj(), rel=1e-3)


def test_a_dut_that_resets_in_every_attempt_is_a_clear_error() -> None:
    monitor = started_monitor()
    dut = SimulatedEnergyDut(monitor, reset_on_calls=tuple(range(1, 100)))
    with pytest.raises(EnergyMonitorError, match="the DUT reset in each of 4 attempts"):
        run_energy(dut, monitor, inputs(), EnergyRules())


def test_a_short_window_is_not_compliant() -> None:
    monitor = started_monitor()
    rules = EnergyRules(min_window_s=0.5, rules_min_window_s=10.0)
    outcome = run_energy(SimulatedEnergyDut(monitor), monitor, inputs(), rules)
    assert not outcome.summary.compliant
    assert any("10" in r for r in outcome.summary.reasons)
    assert checker_lines({"energy": energy_block(outcome)}) == []  # not compliant: no score line
    assert outcome.summary.median_uj_per_inference == pytest.approx(expected_uj(), rel=1e-3)


def test_a_dut_that_makes_no_edges_is_a_clear_error() -> None:
    class Silent(SimulatedEnergyDut):
        def infer(self, count: int, warmup: int) -> InferResult:
            self.monitor.advance(1.0)
            return InferResult(count, warmup, (0, 0), None, ())

    monitor = started_monitor()
    with pytest.raises(EnergyMonitorError, match="edge"):
        run_energy(Silent(monitor), monitor, inputs(), EnergyRules())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--mode", "energy", "--board", "nucleo-l4r5zi"], "needs a power monitor: --monitor"),
        (["--mode", "energy", "--board", "host"], "the host port has no timestamp pin"),
        (["--mode", "energy", "--monitor", "lpm01a"], "needs its serial port"),
        (["--mode", "energy", "--monitor", "keysight:x"], "expected lpm01a:PORT, joulescope"),
        (["--mode", "energy", "--monitor", "joulescope"], "co-simulation of its QEMU markers"),
        (["--mode", "energy", "--io-manager", "arduino"], "expected arduino:PORT or h573:PORT"),
        (["--mode", "energy", "--io-manager", "h573:/dev/x"], "--io-manager, --port and --flash"),
        (["--monitor", "cosim"], "--monitor apply to --mode energy"),
        (
            ["--mode", "energy", "--external", "--port", "/dev/x"],
            "needs a power monitor on the DUT",
        ),
        (["--mode", "energy", "--external", "--monitor", "joulescope"], "needs the DUT's link"),
        (
            [
                "--mode",
                "energy",
                "--external",
                "--board",
                "qemu-m4",
                "--monitor",
                "joulescope",
                "--port",
                "/dev/x",
            ],
            "a vendor's firmware on a physical board; qemu-m4 is emulated",
        ),
        (["--mode", "energy", "--external", "--port", "/dev/x", "--baud", "9600"], "nor --baud"),
        (
            [
                "--mode",
                "energy",
                "--board",
                "nucleo-l4r5zi",
                "--monitor",
                "joulescope",
                "--io-manager",
                "arduino:/dev/a",
                "--port",
                "/dev/b",
            ],
            "--io-manager and --port both name the DUT's link",
        ),
        (["--power-model", "5,100"], "add --mode energy"),
        (["--mode", "energy", "--power-model", "5"], "STATIC_MW,PJ_PER_INSTRUCTION"),
        (["--mode", "energy", "--power-model", "-1,100"], "finite number >= 0"),
        (["--mode", "energy", "--limit", "3"], "--limit"),
    ],
)
def test_energy_options_that_cannot_run_are_one_line_errors(
    args: list[str], message: str, tmp_path: Path
) -> None:
    result = CliRunner().invoke(cli, ["run", "kws01", *args, "--out", str(tmp_path / "run")])
    assert result.exit_code != 0
    assert message in result.output and "Traceback" not in result.output
