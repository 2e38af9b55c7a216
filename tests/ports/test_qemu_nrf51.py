"""The nrf5 port's legacy-UART driver and the ARMv6-M startup run under QEMU microbit (nRF51,
Cortex-M0, 16 KB of RAM): a generated model, run end to end by `tinybench run`, agrees with the
host reference on every sample. The nRF52840-DK build uses the same driver (same UART registers
and baud codes); only its clock, pins and counter differ, and those are only built."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from custom.custom_modelgen import small_classifier, write_labelled_set
from tinybench.cli import cli

LABELS = [0, 1, 2, 0, 1, 2, 0, 1]

pytestmark = pytest.mark.skipif(
    shutil.which("qemu-system-arm") is None, reason="needs qemu-system-arm"
)


def test_a_generated_model_runs_on_qemu_nrf51_and_agrees_with_the_reference(
    tmp_path: Path,
) -> None:
    model = tmp_path / "nrfnet.tflite"
    model.write_bytes(small_classifier(seed=5))
    dataset = tmp_path / "data"
    write_labelled_set(dataset, LABELS, seed=5)
    run_dir = tmp_path / "run"
    result = CliRunner().invoke(
        cli,
        ["run", str(model), "--dataset", str(dataset), "--board", "qemu-nrf51",
         "--out", str(run_dir)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"{len(LABELS)} compared, 0 mismatches" in result.output
    document = json.loads((run_dir / "results.json").read_text())
    assert document["board"] == "qemu-nrf51"
    assert document["accuracy"]["total"] == len(LABELS)
    assert document["reference_check"]["mismatches"] == 0
    performance = document["performance"]
    assert performance["counter_hz"] == 16_000_000 and performance["median_counter_ticks"] > 0
