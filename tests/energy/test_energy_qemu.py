"""`tinybench run kws01 --mode energy --board qemu-m4`, co-simulated, end to end: deterministic
(two runs, identical figures), its median the power model applied to the instructions per
inference the DUT's counter measures, results.txt, the saved trace, the report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tinybench.cli import cli
from tinybench.energy.cosim import PowerModel
from tinybench.energy.tracefile import load_trace
from tinybench.hashing import sha256_file
from tinybench.manifests.boards import instructions_per_tick
from tinybench.paths import locate
from tinybench.project import Project
from tinybench.report import write_report

MODEL = PowerModel(static_mw=7.0, pj_per_instruction=80.0)
INSTRUCTIONS_PER_S = 1e9  # -icount shift=0: one instruction per ns of virtual time
_QEMU_M4 = Project(locate()).board("qemu-m4")
PER_TICK = instructions_per_tick(_QEMU_M4, _QEMU_M4.counter_hz) or 0.0  # the manifest's: 40
ARGS = ["run", "kws01", "--board", "qemu-m4", "--mode", "energy", "--min-window", "0.5",
        "--power-model", "7,80"]  # fmt: skip


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    runs = []
    for name in ("a", "b"):
        out = tmp_path_factory.mktemp("energy") / name
        result = CliRunner().invoke(cli, [*ARGS, "--out", str(out)])
        assert result.exit_code == 0, result.output + repr(result.exception)
        assert "median energy" in result.output
        runs.append(out)
    return runs[0], runs[1]


def energy_of(run_dir: Path) -> dict[str, object]:
    block = json.loads((run_dir / "results.json").read_text())["energy"]
    assert isinstance(block, dict)
    return block


def test_two_runs_give_identical_figures(two_runs: tuple[Path, Path]) -> None:
    first, second = (energy_of(r) for r in two_runs)
    assert first["median_uj_per_inference"] == second["median_uj_per_inference"]
    placement = {"start_bin", "end_bin"}  # where a window lies depends on the host's speed
    windows = [
        [{k: v for k, v in w.items() if k not in placement} for w in run["windows"]]  # type: ignore[attr-defined]
        for run in (first, second)
    ]
    assert windows[0] == windows[1]
    assert len(windows[0]) == 5
    assert first["monitor"] == "cosim" and "modelled" in str(first["modelled"])
    assert first["power_model"] == {"static_mw": 7.0, "pj_per_instruction": 80.0}


def test_the_median_is_the_model_applied_to_the_measured_instructions(
    two_runs: tuple[Path, Path], tmp_path: Path
) -> None:
    """Each window's energy per inference is the model applied to the instructions per inference
    of its input as a performance-mode build counts them (`infer 1 0`, the DUT's counter): the
    window also holds the start edge's 50 us hold and marker, a few 1e-5 of it."""
    accuracy = tmp_path / "counted"
    result = CliRunner().invoke(cli, ["run", "kws01", "--limit", "5", "--out", str(accuracy)])
    assert result.exit_code == 0, result.output
    ticks = {}
    for line in (accuracy / "samples.jsonl").read_text().splitlines():
        record = json.loads(line)
        ticks[record["name"]] = record["counter_ticks"][0]
    energy = energy_of(two_runs[0])
    expected = []
    for window in energy["windows"]:  # type: ignore[attr-defined]
        instructions = ticks[window["input"]] * PER_TICK  # 25 MHz SysTick, 1 instruction/ns
        modelled = MODEL.energy_j(instructions / INSTRUCTIONS_PER_S, instructions) * 1e6
        assert window["uj_per_inference"] == pytest.approx(modelled, rel=2e-4)
        expected.append(modelled)
    assert energy["median_uj_per_inference"] == pytest.approx(sorted(expected)[2], rel=2e-4)


def test_results_trace_and_report(two_runs: tuple[Path, Path]) -> None:
    run_dir = two_runs[0]
    document = json.loads((run_dir / "results.json").read_text())
    assert document["mode"] == "energy"
    assert not document["energy"]["compliant"]  # --min-window 0.5 < the rules' 10 s
    assert any("10 s" in r for r in document["energy"]["reasons"])
    trace_path = run_dir / "energy_trace.npz"
    assert document["provenance"]["energy_trace_sha256"] == sha256_file(trace_path)
    trace = load_trace(trace_path)
    for window in document["energy"]["windows"]:
        summed = float(trace.energy_j[window["start_bin"] : window["end_bin"]].sum()) * 1e6
        assert summed == pytest.approx(window["energy_uj"], rel=1e-9)
    files = write_report(run_dir)
    assert "energy-trace" in [p.plot_id for p in files.report.plots]
