"""`tinybench submission`: the MLPerf Tiny results tree and its refusals."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from tinybench.cli import cli
from tinybench.manifests.runrules import RuleSet, parse_rule_set
from tinybench.paths import locate
from tinybench.project import Project
from tinybench.submission import SubmissionError, plan_submission, write_submission

from .rundirs import (
    write_auc_run,
    write_energy_run,
    write_json,
    write_performance_run,
    write_top1_run,
)

RULES: RuleSet = Project(locate()).rules()


def tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def three_runs(tmp_path: Path) -> list[Path]:
    return [
        write_top1_run(tmp_path / "kws-acc"),
        write_performance_run(tmp_path / "kws-perf"),
        write_auc_run(tmp_path / "ad-acc"),
    ]


def test_submission_tree_follows_the_mlperf_tiny_layout(tmp_path: Path) -> None:
    root = tmp_path / "closed" / "tinybench-org"
    result = CliRunner().invoke(
        cli,
        [
            "submission",
            *map(str, three_runs(tmp_path)),
            "--out",
            str(root),
            "--system",
            "qemu-m4-native",
            "--submitter",
            "Example Org",
        ],
    )
    assert result.exit_code == 0, result.output
    assert tree(root) == [
        "results/qemu-m4-native/ad/accuracy/log.txt",
        "results/qemu-m4-native/ad/accuracy/results.json",
        "results/qemu-m4-native/ad/accuracy/results.txt",
        "results/qemu-m4-native/kws/accuracy/log.txt",
        "results/qemu-m4-native/kws/accuracy/results.json",
        "results/qemu-m4-native/kws/accuracy/results.txt",
        "results/qemu-m4-native/kws/performance/log.txt",
        "results/qemu-m4-native/kws/performance/results.json",
        "results/qemu-m4-native/kws/performance/results.txt",
        "systems/qemu-m4-native.json",
    ]
    perf = root / "results" / "qemu-m4-native" / "kws" / "performance"
    assert (perf / "results.txt").read_text() == "Median throughput is 61.728 inf./sec.\n"
    assert (perf / "log.txt").read_text() == "  0.000036 > infer 700 10%\n"
    assert json.loads((perf / "results.json").read_text())["mode"] == "performance"


def test_system_description_comes_from_the_board_manifest_and_results(tmp_path: Path) -> None:
    project = Project(locate())
    plan = plan_submission(
        three_runs(tmp_path), "qemu-m4-native", "Example Org", "closed", project.board, rules=RULES
    )
    system = plan.system_description
    assert system["Submitter"] == "Example Org"
    assert system["Division"] == "Closed"
    assert system["System Name"] == "qemu-m4-native"
    assert system["Board Name"] == "Arm MPS2 AN386, Cortex-M4F (QEMU mps2-an386)"
    assert system["Processor(s) Name"] == "cortex-m4 with FPU fpv4-sp-d16"
    assert system["Processor(s) Frequencies"] == "25 MHz"
    assert system["Processor memory type and capacity"] == "4096 KiB RAM (ssram23 at 0x20000000)"
    assert system["Inference Framework"] == "tinybench native engine 0.1.0"
    assert system["General Compiler(s)"] == "arm-none-eabi-gcc 12.2.1"
    assert system["Operating System"] == "bare metal"
    details = system["tinybench"]
    assert details["cpu_hz"] == 25_000_000
    assert [(r["benchmark"], r["mode"]) for r in details["runs"]] == [
        ("kws", "accuracy"),
        ("kws", "performance"),
        ("ad", "accuracy"),
    ]
    written = write_submission(plan, tmp_path / "root")
    assert json.loads(written.system_json.read_text()) == system


def test_without_a_board_manifest_the_clock_comes_from_the_dut(tmp_path: Path) -> None:
    plan = plan_submission(
        [write_top1_run(tmp_path / "run")], "sys", None, "open", None, rules=RULES
    )
    assert plan.system_description["Processor(s) Frequencies"] == "25 MHz"
    assert plan.system_description["Submitter"] == ""
    assert plan.system_description["Division"] == "Open"


def test_two_runs_of_the_same_benchmark_and_mode_are_refused(tmp_path: Path) -> None:
    runs = [write_top1_run(tmp_path / "one"), write_top1_run(tmp_path / "two")]
    root = tmp_path / "root"
    result = CliRunner().invoke(
        cli, ["submission", *map(str, runs), "--out", str(root), "--system", "s"]
    )
    assert result.exit_code == 1
    assert "both claim kws/accuracy" in result.output
    assert "Traceback" not in result.output
    assert not root.exists()  # nothing written


def test_a_run_without_results_json_is_refused(tmp_path: Path) -> None:
    good = write_top1_run(tmp_path / "good")
    (tmp_path / "unfinished").mkdir()
    root = tmp_path / "root"
    result = CliRunner().invoke(
        cli,
        [
            "submission",
            str(good),
            str(tmp_path / "unfinished"),
            "--out",
            str(root),
            "--system",
            "s",
        ],
    )
    assert result.exit_code == 1
    assert "unfinished: no results.json" in result.output
    assert "Traceback" not in result.output
    assert not root.exists()


def test_non_compliant_performance_run_is_refused(tmp_path: Path) -> None:
    run = write_performance_run(tmp_path / "perf", compliant=False)
    with pytest.raises(SubmissionError, match="not compliant"):
        plan_submission([run], "s", rules=RULES)


def test_runs_of_different_boards_are_refused(tmp_path: Path) -> None:
    runs = [write_top1_run(tmp_path / "m4"), write_auc_run(tmp_path / "ad")]
    document = json.loads((runs[1] / "results.json").read_text())
    document["board"] = "qemu-m7"
    write_json(runs[1] / "results.json", document)
    with pytest.raises(SubmissionError, match="one system has one board"):
        plan_submission(runs, "s", rules=RULES)


def test_unknown_benchmark_and_bad_system_name_are_refused(tmp_path: Path) -> None:
    run = write_top1_run(tmp_path / "run")
    document = json.loads((run / "results.json").read_text())
    with pytest.raises(SubmissionError, match="must be letters"):
        plan_submission([run], "../escape", rules=RULES)
    document["model"] = "mnist"
    write_json(run / "results.json", document)
    with pytest.raises(SubmissionError, match="'mnist' is not an MLPerf Tiny benchmark"):
        plan_submission([run], "s", rules=RULES)


def test_existing_results_are_not_overwritten(tmp_path: Path) -> None:
    plan = plan_submission([write_top1_run(tmp_path / "run")], "s", rules=RULES)
    write_submission(plan, tmp_path / "root")
    with pytest.raises(SubmissionError, match="already holds results"):
        write_submission(plan, tmp_path / "root")


def test_missing_results_txt_is_regenerated_from_results_json(tmp_path: Path) -> None:
    run = write_top1_run(tmp_path / "run")
    (run / "results.txt").unlink()
    files = write_submission(plan_submission([run], "s", rules=RULES), tmp_path / "root")
    produced = tmp_path / "root" / "results" / "s" / "kws" / "accuracy" / "results.txt"
    assert produced.read_text() == "Top 1% = 80.00\n"
    assert any("regenerated" in note for note in files.notes)


def test_an_accuracy_run_limited_to_some_samples_is_refused(tmp_path: Path) -> None:
    run = write_top1_run(tmp_path / "kws-acc")
    write_json(run / "run.json", {"model": "kws01", "mode": "accuracy", "limit": 100})
    with pytest.raises(SubmissionError, match=r"only the first 100 samples \(--limit\)"):
        plan_submission([run], "sys1", "org", "closed", rules=RULES)


def _rules_copy(tmp_path: Path, old: str, new: str) -> Path:
    """An edited copy of the project's rules file (same id, so the file keeps its name)."""
    text = RULES.path.read_text()
    assert old in text
    path = tmp_path / "rules" / RULES.path.name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.replace(old, new))
    return path


def _submit(runs: list[Path], root: Path, *extra: str) -> tuple[int, str]:
    args = ["submission", *map(str, runs), "--out", str(root), "--system", "s", *extra]
    result = CliRunner().invoke(cli, args)
    return result.exit_code, result.output


def test_limited_accuracy_runs_follow_the_rules_every_sample(tmp_path: Path) -> None:
    run = write_top1_run(tmp_path / "kws-acc")
    write_json(run / "run.json", {"model": "kws01", "mode": "accuracy", "limit": 10})
    code, output = _submit([run], tmp_path / "refused")
    assert code == 1 and "require every sample" in output
    relaxed = _rules_copy(tmp_path, "every_sample = true", "every_sample = false")
    code, output = _submit([run], tmp_path / "accepted", "--rules", str(relaxed))
    assert code == 0, output
    assert (tmp_path / "accepted" / "results" / "s" / "kws" / "accuracy" / "results.txt").is_file()


def test_performance_windows_are_checked_against_the_rules_values(tmp_path: Path) -> None:
    run = write_performance_run(tmp_path / "perf")  # windows of 10.85 .. 11.9 s, 10 warm-ups
    assert plan_submission([run], "s", rules=RULES).runs[0].mode == "performance"
    longer = parse_rule_set(
        _rules_copy(tmp_path / "a", "min_window_s = 10.0", "min_window_s = 11.0")
    )
    with pytest.raises(
        SubmissionError, match=r"lasted 10.85 s; the run rules require at least 11.0"
    ):
        plan_submission([run], "s", rules=longer)
    more = parse_rule_set(_rules_copy(tmp_path / "b", "distinct_inputs = 5", "distinct_inputs = 6"))
    with pytest.raises(SubmissionError, match="has 5 distinct inputs; the run rules require 6"):
        plan_submission([run], "s", rules=more)
    warm = parse_rule_set(_rules_copy(tmp_path / "c", "warmup_count = 10", "warmup_count = 20"))
    with pytest.raises(
        SubmissionError, match="had 10 warm-up inferences; the run rules require 20"
    ):
        plan_submission([run], "s", rules=warm)


def test_runs_under_other_rules_are_refused(tmp_path: Path) -> None:
    run = write_top1_run(tmp_path / "run")
    newer = parse_rule_set(_rules_copy(tmp_path / "v", 'version = "1.0"', 'version = "1.1"'))
    with pytest.raises(
        SubmissionError, match=r"followed run rules mlperf-tiny 1.0, not mlperf-tiny 1.1"
    ):
        plan_submission([run], "s", rules=newer)
    document = json.loads((run / "results.json").read_text())
    document["provenance"]["runrules_sha256"] = "0" * 64
    document["provenance"]["runrules_file"] = "/tmp/edited/mlperf-tiny.toml"
    write_json(run / "results.json", document)
    with pytest.raises(
        SubmissionError, match=r"followed /tmp/edited/mlperf-tiny.toml \(sha256 000000000000\)"
    ):
        plan_submission([run], "s", rules=RULES)
    document["provenance"]["runrules_sha256"] = RULES.sha256
    write_json(run / "results.json", document)
    assert len(plan_submission([run], "s", rules=RULES).runs) == 1


def test_an_energy_run_lands_in_the_energy_folder(tmp_path: Path) -> None:
    run_dir = write_energy_run(tmp_path / "kws-energy")
    (run_dir / "results.txt").unlink()  # regenerated from results.json
    root = tmp_path / "closed" / "org"
    args = ["submission", str(run_dir), "--out", str(root), "--system", "qemu-m4-native"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    energy = root / "results" / "qemu-m4-native" / "kws" / "energy"
    # the submission checker's regex: `Median energy cost is ([\d\.]+) uJ/inf`
    assert (energy / "results.txt").read_text() == "Median energy cost is 1200.0000 uJ/inf.\n"
    assert (energy / "log.txt").is_file()


def test_a_short_energy_window_is_refused(tmp_path: Path) -> None:
    run_dir = write_energy_run(tmp_path / "kws-energy")
    document = json.loads((run_dir / "results.json").read_text())
    document["energy"]["windows"][3]["duration_s"] = 9.5
    write_json(run_dir / "results.json", document)
    args = ["submission", str(run_dir), "--out", str(tmp_path / "out"), "--system", "s1"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code != 0
    assert "lasted 9.5 s; the run rules require at least 10.0 s" in result.output


@pytest.mark.parametrize("length", [float("nan"), float("inf")])
@pytest.mark.parametrize(
    ("writer", "block", "key"),
    [
        (write_performance_run, "performance", "elapsed_s"),
        (write_energy_run, "energy", "duration_s"),
    ],
)
def test_a_window_of_no_finite_length_is_refused(
    tmp_path: Path, writer: Callable[[Path], Path], block: str, key: str, length: float
) -> None:
    run_dir = writer(tmp_path / "run")
    document = json.loads((run_dir / "results.json").read_text())
    document[block]["windows"][2][key] = length  # json writes NaN / Infinity, and reads them
    write_json(run_dir / "results.json", document)
    with pytest.raises(SubmissionError, match=rf"lasted {length} s, not a finite length"):
        plan_submission([run_dir], "s", rules=RULES)
