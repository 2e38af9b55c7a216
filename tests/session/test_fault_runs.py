"""`tinybench run --inject` end to end on qemu-m4: damaged runs end identical to a clean run,
every fault counted in results.json and the summary; a hopeless link stops with a clear error.
(bench/fault_injection.py does the 20-seed version.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tinybench.cli import cli

LIMIT = ["--board", "qemu-m4", "--limit", "3"]

SPEC = "drop=1e-4,dup=1e-4,flip=2e-4,insert=1e-4,stall=0.05s@0.01,close=0.005,silence=1"


def _journal(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    run_dir = tmp_path_factory.mktemp("clean") / "run"
    result = CliRunner().invoke(cli, ["run", "kws01", *LIMIT, "--out", str(run_dir)])
    assert result.exit_code == 0, result.output
    return _journal(run_dir)


@pytest.mark.parametrize("seed", [1, 4])
def test_a_damaged_run_ends_identical_to_a_clean_one(
    clean_run: list[dict[str, Any]], tmp_path: Path, seed: int
) -> None:
    spec = f"{SPEC},seed={seed}"
    run_dir = tmp_path / "run"
    result = CliRunner().invoke(
        cli, ["run", "kws01", *LIMIT, "--out", str(run_dir), "--inject", spec]
    )
    assert result.exit_code == 0, result.output
    faulty = _journal(run_dir)
    assert [row["index"] for row in faulty] == [0, 1, 2]  # nothing lost, nothing twice
    for key in ("prediction", "raw_outputs", "device_results", "counter_ticks"):
        assert [row[key] for row in faulty] == [row[key] for row in clean_run], key
    block = json.loads((run_dir / "results.json").read_text())["link_faults"]
    assert block["spec"] == spec and block["seed"] == seed
    assert set(block["injected"]) == {"drop", "dup", "flip", "insert", "stall", "close"}
    assert sum(block["injected"].values()) > 0
    known = {"corrupt_reply", "dut_reset", "silence", "link_closed", "upload_rejected"}
    assert set(block["detected"]) <= known | {"malformed_reply"}
    assert set(block["recovered_by"]) == {"resync", "restart", "upload_retry"}
    assert f"link faults injected ({spec}):" in result.output


def test_a_hopeless_link_stops_with_a_clear_error(tmp_path: Path) -> None:
    # the host port: a restart per attempt costs a process start, not a QEMU boot
    one_sample = ["--board", "host", "--limit", "1", "--out", str(tmp_path / "run")]
    result = CliRunner().invoke(cli, ["run", "kws01", *one_sample, "--inject", "close=1"])
    assert result.exit_code != 0
    assert "the link is too damaged to recover" in result.output


def test_an_invalid_spec_is_refused_before_anything_runs(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["run", "kws01", *LIMIT, "--out", str(tmp_path / "run"), "--inject", "flip=2"]
    )
    assert result.exit_code != 0 and "flip=2: a rate must be within 0..1" in result.output
    assert not (tmp_path / "run").exists()
