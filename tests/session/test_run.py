"""`tinybench run` end to end: firmware built, DUT started, every output checked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from datagen import write_dataset
from tinybench.build.firmware import FirmwareBuild
from tinybench.cli import cli
from tinybench.dut.emulator import QemuDut
from tinybench.dut.session import DutSession
from tinybench.manifests.boards import BoardManifest
from tinybench.manifests.runrules import load_rule_set
from tinybench.project import Project
from tinybench.reference import read_reference


def _run(args: list[str]) -> str:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def _check_run_directory(run_dir: Path, repo_root: Path, samples: int) -> dict[str, object]:
    document = json.loads((run_dir / "results.json").read_text())
    rules = load_rule_set(repo_root / "runrules")
    assert rules.missing_result_keys(document) == []
    assert document["reference_check"] == {
        "compared": samples,
        "mismatches": 0,
        "mismatched_samples": [],
    }
    journal = (run_dir / "samples.jsonl").read_text().splitlines()
    assert [json.loads(line)["index"] for line in journal] == list(range(samples))
    # The device's predictions are the reference's, sample by sample.
    _, reference = read_reference(run_dir / "reference.json")
    device = [json.loads(line) for line in journal]
    assert [d["prediction"] for d in device] == [r.prediction for r in reference]
    transcript = (run_dir / "transcript.txt").read_text()
    # Emulated and host boards run the samples in `batch` commands (inputs and outputs
    # through files); the per-sample `infer 1 0` path is pinned in tests/batch.
    batches = (samples + 49) // 50
    assert transcript.count(" 1 0%\n") == batches and transcript.count("< m-batch-[") == batches
    checker = "AUC = " if document["accuracy"]["metric"] == "auc" else "Top 1% = "
    assert (run_dir / "results.txt").read_text().startswith(checker)
    return document


def test_kws01_full_accuracy_run_on_qemu_m4_is_901_and_bit_exact(
    full_kws01_run: Path, repo_root: Path
) -> None:
    document = _check_run_directory(full_kws01_run, repo_root, 1000)
    assert document["accuracy"] == {
        "metric": "top1", "correct": 901, "total": 1000, "top1": 0.901,
        "quality_target": 0.9, "meets_target": True,
    }  # fmt: skip
    assert (full_kws01_run / "results.txt").read_text() == "Top 1% = 90.10\n"
    memory = document["memory"]
    assert isinstance(memory, dict) and 0 < memory["arena_bytes"] <= 24272


@pytest.mark.parametrize("board", ["host", "qemu-m7", "qemu-m33", "qemu-m55"])
def test_kws01_first_100_match_the_reference_on(
    board: str, tmp_path: Path, repo_root: Path
) -> None:
    output = _run(
        ["run", "kws01", "--board", board, "--limit", "100", "--out", str(tmp_path / "r")]
    )
    assert "100 compared, 0 mismatches" in output
    _check_run_directory(tmp_path / "r", repo_root, 100)


def test_a_finished_run_directory_is_not_overwritten(tmp_path: Path) -> None:
    _run(["run", "kws01", "--board", "host", "--limit", "2", "--out", str(tmp_path / "r")])
    result = CliRunner().invoke(
        cli, ["run", "kws01", "--board", "host", "--limit", "2", "--out", str(tmp_path / "r")]
    )
    assert result.exit_code == 1 and "already holds a finished run" in result.output


def test_counter_delta_is_identical_across_three_emulator_runs(
    project: Project, qemu_m4_kws01: FirmwareBuild, kws01_samples: list[bytes]
) -> None:
    board: BoardManifest = project.board("qemu-m4")
    deltas = []
    for _ in range(3):
        with QemuDut(board, qemu_m4_kws01.image, time_limit_s=60) as qemu:
            session = DutSession(qemu.transport)
            session.synchronize()
            session.load(kws01_samples[0])
            result = session.infer(3, 1)
            assert result.counter_ticks is not None
            deltas.append(result.counter_ticks)
    assert deltas[0] == deltas[1] == deltas[2]
    assert deltas[0] > 0


@pytest.mark.parametrize(
    ("model_id", "labels"),
    [("vww01", [0, 1, 1, 0]), ("ic01", [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]), ("ad01", [0, 1])],
)
def test_generated_sets_of_the_other_models_match_the_reference_on_qemu_m4(
    project: Project, repo_root: Path, tmp_path: Path, model_id: str, labels: list[int]
) -> None:
    model = project.model(model_id)
    write_dataset(tmp_path / "data", model.dataset, labels, seed=5)
    output = _run(
        [
            "run",
            model_id,
            "--board",
            "qemu-m4",
            "--dataset",
            str(tmp_path / "data"),
            "--out",
            str(tmp_path / "r"),
        ]
    )
    assert f"{len(labels)} compared, 0 mismatches" in output
    document = _check_run_directory(tmp_path / "r", repo_root, len(labels))
    accuracy = document["accuracy"]
    assert isinstance(accuracy, dict)
    if model_id == "ad01":
        # Two clips, one of each label: the AUC is 0 or 1, and equals the reference's ranking.
        _, reference = read_reference(tmp_path / "r" / "reference.json")
        normal, anomaly = (r.score for r in reference)
        assert normal is not None and anomaly is not None
        assert accuracy["auc"] == (1.0 if anomaly > normal else 0.0)
        journal = [json.loads(line) for line in (tmp_path / "r" / "samples.jsonl").open()]
        assert [len(j["raw_outputs"]) for j in journal] == [196, 196]
        assert [j["score"] for j in journal] == pytest.approx([normal, anomaly], rel=1e-6)
