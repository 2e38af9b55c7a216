"""Energy mode's setups on the software bench: configured against reported energy per inference.

Runs `tinybench run kws01 --mode energy` (through run_benchmark, as the CLI does) on each
physical setup of tests/energy/bench_sim.py: the qemu-m4 energy build as the DUT, its markers
driving the simulated LPM01A, Joulescope and IO managers. For each setup it prints the median
µJ/inference reported, the median of the configured (modelled) energies of the same windows,
their relative difference, and the wall time.

    .venv/bin/python bench/energy_setups.py [--min-window 0.4]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the simulated instruments live with the tests

from tests.energy.bench_sim import EnergyBench, energy_bench  # noqa: E402

from tinybench import energyrun  # noqa: E402
from tinybench.build.firmware import FirmwareBuild, build_firmware  # noqa: E402
from tinybench.energy.cosim import PowerModel  # noqa: E402
from tinybench.energy.instruments import Instruments, IoManagerSpec, MonitorSpec  # noqa: E402
from tinybench.energy.joulescope import JoulescopeMonitor  # noqa: E402
from tinybench.energy.monitor import EnergyMonitor  # noqa: E402
from tinybench.energy.tracefile import load_trace  # noqa: E402
from tinybench.paths import locate  # noqa: E402
from tinybench.project import Project  # noqa: E402
from tinybench.runner import RunRequest, run_benchmark  # noqa: E402

MODEL = PowerModel(static_mw=3.0, pj_per_instruction=60.0)

Setup = Callable[[EnergyBench, Path, float], dict[str, Any]]


def _request(out: Path, min_window: float, monitor: MonitorSpec, **extra: Any) -> RunRequest:
    return RunRequest("kws01", "nucleo-l4r5zi", "native", "energy", None, None, out,
                      extra.pop("port", None), min_window_s=min_window, monitor=monitor,
                      **extra)  # fmt: skip


def lpm01a_io_manager(kind: str) -> Setup:
    def run(bench: EnergyBench, out: Path, min_window: float) -> dict[str, Any]:
        lpm01a, sim = bench.lpm01a(), bench.io_manager(kind)
        try:
            request = _request(out, min_window, MonitorSpec("lpm01a", lpm01a.url),
                               io_manager=IoManagerSpec(kind, sim.device))  # type: ignore[arg-type]  # fmt: skip
            return run_benchmark(Project(locate()), request).document
        finally:
            sim.close()
            lpm01a.close()

    return run


def direct_lpm01a(bench: EnergyBench, out: Path, min_window: float) -> dict[str, Any]:
    lpm01a, uart = bench.lpm01a(), bench.uart()
    try:
        request = _request(out, min_window, MonitorSpec("lpm01a", lpm01a.url), port=uart.url)
        return run_benchmark(Project(locate()), request).document
    finally:
        uart.close()
        lpm01a.close()


def direct_joulescope(bench: EnergyBench, out: Path, min_window: float) -> dict[str, Any]:
    uart, double = bench.uart(), bench.joulescope()

    def joulescope() -> EnergyMonitor:
        return JoulescopeMonitor(double, bin_s=1e-4, sampling_hz=100_000, buffer_s=5.0)  # type: ignore[arg-type]

    try:
        request = _request(out, min_window, MonitorSpec("joulescope"), port=uart.url)
        return run_benchmark(Project(locate()), request,
                             instruments=Instruments(joulescope=joulescope)).document  # fmt: skip
    finally:
        uart.close()


def configured_median(document: dict[str, Any], bench: EnergyBench, out: Path) -> float:
    edges = load_trace(out / "energy_trace.npz").edges
    per_inference = []
    for window in document["energy"]["windows"]:
        k = edges.index(window["start_bin"])
        per_inference.append(bench.window_energy_j(k) * 1e6 / window["inferences"])
    return statistics.median(per_inference)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-window", type=float, default=0.4)
    args = parser.parse_args()
    project = Project(locate())
    build = build_firmware(project, "qemu-m4", "native", "kws01", timestamp_mode="energy")

    def built(*_: Any, **__: Any) -> FirmwareBuild:
        return build

    energyrun.build_firmware = built  # type: ignore[assignment]  # the bench's DUT is QEMU
    setups: dict[str, Setup] = {
        "LPM01A + Arduino IO manager": lpm01a_io_manager("arduino"),
        "LPM01A + H573 interface board": lpm01a_io_manager("h573"),
        "direct + LPM01A": direct_lpm01a,
        "direct + Joulescope (0.1 ms bins)": direct_joulescope,
    }
    print(f"kws01, qemu-m4 energy build as the DUT, --min-window {args.min_window}, model "
          f"{MODEL.static_mw:g} mW + {MODEL.pj_per_instruction:g} pJ/instruction")  # fmt: skip
    print(f"{'setup':36} {'reported uJ/inf':>16} {'configured':>12} {'difference':>11} {'wall':>7}")
    for name, setup in setups.items():
        with (
            tempfile.TemporaryDirectory() as tmp,
            energy_bench(project.board("qemu-m4"), build.image, MODEL) as bench,
        ):
            out = Path(tmp) / "run"
            started = time.monotonic()
            document = setup(bench, out, args.min_window)
            wall = time.monotonic() - started
            reported = document["energy"]["median_uj_per_inference"]
            configured = configured_median(document, bench, out)
            print(f"{name:36} {reported:16.4f} {configured:12.4f} "
                  f"{(reported / configured - 1) * 100:+10.5f}% {wall:6.1f}s")  # fmt: skip


if __name__ == "__main__":
    main()
