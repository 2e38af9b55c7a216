"""Performance mode: calibrated windows of DUT time, medians, latency distribution."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from datagen import write_dataset
from tinybench.cli import cli
from tinybench.manifests.runrules import load_rule_set
from tinybench.project import Project


def _run(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(cli, args)
    return result.exit_code, result.output


def test_default_rules_give_five_windows_of_ten_device_seconds_on_qemu_m4(
    tmp_path: Path, repo_root: Path
) -> None:
    code, output = _run(["run", "kws01", "--mode", "performance", "--out", str(tmp_path / "p")])
    assert code == 0, output
    document = json.loads((tmp_path / "p" / "results.json").read_text())
    assert load_rule_set(repo_root / "runrules").missing_result_keys(document) == []
    perf = document["performance"]
    windows = perf["windows"]
    assert len(windows) == 5
    assert len({w["input"] for w in windows}) == 5
    assert all(w["elapsed_s"] >= 10.0 and w["compliant"] for w in windows)
    assert perf["compliant"] is True
    # Under -icount shift=0 one instruction takes 1 ns of device time.
    assert perf["median_latency_ms"] == pytest.approx(
        perf["instructions_per_inference"] / 1e6, rel=1e-3
    )
    distribution = perf["latency_distribution"]
    assert distribution["count"] == sum(min(w["infer_count"], 1024) for w in windows)
    assert distribution["p50_ms"] <= distribution["p90_ms"] <= distribution["p99_ms"]
    assert distribution["p50_ms"] == pytest.approx(perf["median_latency_ms"], rel=0.01)
    assert document["reference_check"] == {
        "compared": 5,
        "mismatches": 0,
        "mismatched_samples": [],
    }
    median = perf["median_throughput_ips"]
    assert (tmp_path / "p" / "results.txt").read_text() == (
        f"Median throughput is {median:.3f} inf./sec.\n"
    )
    latencies = json.loads((tmp_path / "p" / "latencies.json").read_text())
    assert latencies["counter_hz"] == 25_000_000
    assert [len(w["ticks"]) for w in latencies["windows"]] == [
        min(w["infer_count"], 1024) for w in windows
    ]


def test_short_windows_are_marked_non_compliant_and_weighted_by_accuracy(
    tmp_path: Path,
) -> None:
    accuracy_dir = tmp_path / "acc"
    code, output = _run(["run", "kws01", "--board", "host", "--limit", "20", "--out",
                         str(accuracy_dir)])  # fmt: skip
    assert code == 0, output
    accuracy = json.loads((accuracy_dir / "results.json").read_text())["accuracy"]["top1"]
    code, output = _run(["run", "kws01", "--board", "host", "--mode", "performance",
                         "--min-window", "0.05", "--accuracy-run", str(accuracy_dir),
                         "--out", str(tmp_path / "p")])  # fmt: skip
    assert code == 0, output
    assert "NOT compliant" in output
    perf = json.loads((tmp_path / "p" / "results.json").read_text())["performance"]
    assert perf["compliant"] is False and perf["min_window_s"] == 0.05
    assert all(0.05 <= w["elapsed_s"] < 10.0 for w in perf["windows"])
    assert perf["accuracy_weighted_throughput_ips"] == pytest.approx(
        perf["median_throughput_ips"] * accuracy
    )
    assert perf["instructions_per_inference"] is None  # not an emulator: no exact count
    assert (tmp_path / "p" / "results.txt").read_text() == "\n"  # no checker line


def test_fewer_than_five_distinct_inputs_is_a_rule_violation(
    project: Project, tmp_path: Path
) -> None:
    spec = project.model("kws01").dataset
    write_dataset(tmp_path / "data", spec, [1, 2, 3])
    data, out = str(tmp_path / "data"), str(tmp_path / "p")
    code, output = _run(["run", "kws01", "--board", "host", "--mode", "performance",
                         "--dataset", data, "--out", out])  # fmt: skip
    assert code == 1
    assert "needs 5 distinct inputs" in output
