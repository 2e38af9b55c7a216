"""`tinybench run --external` against the host port built standard-only (no extensions).

The DUT is a real firmware process behind `--port process:...`; the host knows nothing
about it beyond what the standard protocol says.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tinybench.build.firmware import FirmwareBuild, build_firmware
from tinybench.cli import cli
from tinybench.project import Project

from .conftest import sent_commands

# What the MLCommons runner sends, and nothing else: no `help`, no extension, no lone `%`.
STANDARD_WRITE = re.compile(r"^(name|profile|db load \d+|db [0-9a-f]{2,62}|infer \d+ \d+)%$")


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["run", *args])
    return result.exit_code, result.output


def _assert_standard_only(transcript: Path) -> list[str]:
    sent = sent_commands(transcript)
    assert sent, "nothing was sent"
    odd = [w for w in sent if not STANDARD_WRITE.match(w) or len(w) > 80]
    assert odd == []
    return sent


def test_full_kws01_run_scores_901_with_every_vector_within_print_precision(
    standard_only_kws01: FirmwareBuild, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    code, output = _run(
        "kws01", "--external", "--port", f"process:{standard_only_kws01.image}", "--out", str(out)
    )
    assert code == 0, output
    document = json.loads((out / "results.json").read_text())
    assert document["board"] == "external" and document["engine"] == "external"
    assert document["accuracy"]["correct"] == 901 and document["accuracy"]["total"] == 1000
    check = document["reference_check"]
    assert (check["compared"], check["within_print_precision"], check["mismatches"]) == (
        1000,
        1000,
        0,
    )
    assert 0.0 < check["max_abs_difference"] <= 0.0005 + 1e-6  # this firmware rounds
    dut = document["dut"]
    assert dut["kind"] == "external" and dut["status"] == "complete" and dut["faults"] == []
    assert dut["name"] == "tinybench"
    assert dut["profile"] == ["m-profile-[tinybench 0.1.0]", "m-model-[kws01]"]
    run = json.loads((out / "run.json").read_text())
    assert run["dut"] == "external" and run["dut_name"] == "tinybench"
    assert run["firmware_sha256"] is None
    assert "top-1 901/1000" in output and "1000/1000 printed vectors" in output
    sent = _assert_standard_only(out / "transcript.txt")
    assert sent.count("infer 1 0%") == 1000
    assert sent.count("db load 490%") == 1000
    assert (out / "samples.jsonl").read_text().count("\n") == 1000


def test_performance_mode_is_timed_by_the_duts_lap_microseconds(
    standard_only_kws01: FirmwareBuild, tmp_path: Path
) -> None:
    out = tmp_path / "perf"
    code, output = _run(
        "kws01", "--external", "--port", f"process:{standard_only_kws01.image}",
        "--mode", "performance", "--min-window", "0.2", "--out", str(out),
    )  # fmt: skip
    assert code == 0, output
    document = json.loads((out / "results.json").read_text())
    perf = document["performance"]
    assert len(perf["windows"]) == 5 and perf["compliant"] is False  # 0.2 s < the rules' 10 s
    for window in perf["windows"]:
        assert window["elapsed_s"] >= 0.2
        assert window["counter_ticks"] is None  # no counter extension: m-lap-us only
        assert window["infer_count"] > 1
        assert window["latency_ms"] == pytest.approx(
            1000.0 * window["elapsed_s"] / window["infer_count"]
        )
    check = document["reference_check"]
    assert check["compared"] == 5 and check["within_print_precision"] == 5
    sent = _assert_standard_only(out / "transcript.txt")
    assert any(re.match(r"^infer \d{2,} 10%$", w) for w in sent)


def test_ad01_is_scored_from_the_printed_window_mse(project: Project, tmp_path: Path) -> None:
    from datagen import write_dataset

    model = project.model("ad01")
    build = build_firmware(project, "host", "native", model, standard_only=True)
    dataset = tmp_path / "ad01"
    write_dataset(dataset, model.dataset, [0, 1], seed=3)
    out = tmp_path / "run"
    code, output = _run(
        "ad01", "--external", "--port", f"process:{build.image}", "--dataset", str(dataset),
        "--out", str(out),
    )  # fmt: skip
    assert code == 0, output
    document = json.loads((out / "results.json").read_text())
    reference = json.loads((out / "reference.json").read_text())
    check = document["reference_check"]
    windows = 2 * (102400 - 2560) // 512 + 2  # 196 windows per clip
    assert check["compared"] == windows == check["within_print_precision"]
    journal = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    for record, expected in zip(journal, reference["samples"], strict=True):
        printed = [v[0] for v in record["device_results"]]
        assert record["score"] == pytest.approx(float(np.mean(printed)))
        assert record["score"] == pytest.approx(expected["score"], abs=0.001)
    # two clips, labels 0 and 1: the AUC is 1 or 0 by which clip scores higher
    scores = {r["label"]: r["score"] for r in journal}
    assert document["accuracy"]["auc"] == (1.0 if scores[1] > scores[0] else 0.0)
    assert document["accuracy"]["auc"] == reference["summary"]["auc"]
    _assert_standard_only(out / "transcript.txt")


def test_external_needs_a_port_and_a_physical_board(tmp_path: Path) -> None:
    code, output = _run("kws01", "--external", "--out", str(tmp_path / "a"))
    assert code != 0 and "--external needs --port" in output and "Traceback" not in output
    code, output = _run(
        "kws01", "--external", "--board", "qemu-m4", "--port", "socket://127.0.0.1:9",
        "--out", str(tmp_path / "b"),
    )  # fmt: skip
    assert code != 0 and "qemu-m4 is emulated" in output
    code, output = _run(
        "kws01", "--external", "--port", "process:/nonexistent/dut", "--out", str(tmp_path / "c")
    )
    assert code != 0 and "/nonexistent/dut" in output and "Traceback" not in output
