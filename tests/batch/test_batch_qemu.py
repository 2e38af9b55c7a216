"""Batched accuracy runs (`batch`, the default on emulated boards) against the per-sample path.

The journal of a batched run must equal the per-sample run's: the same predictions, raw
outputs, printed results and counter deltas (exact instruction counts under -icount). Only
elapsed_us differs: it is the difference of the two m-lap-us readings, and the first one
comes before the line that prints it and the counter's re-arm, so per sample it includes
the guest's time to write that line on the UART (which stalls when the host reads late),
while a batch prints nothing there: its elapsed_us is the counter delta within 2 us (each
m-lap-us value is truncated to whole microseconds).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from procs import children
from tinybench.cli import cli

SAMPLES = 30
BATCH = 10
COUNTER_TICKS_PER_US = 25  # qemu-m4's SysTick: 25 MHz
RESULT_KEYS = ("accuracy", "reference_check", "memory", "model", "board", "engine")


def _run(args: list[str]) -> None:
    result = CliRunner().invoke(cli, ["run", "kws01", "--limit", str(SAMPLES), *args])
    assert result.exit_code == 0, result.output


def _journal(run_dir: Path) -> dict[int, dict[str, Any]]:
    records = [json.loads(line) for line in (run_dir / "samples.jsonl").open()]
    by_index = {r["index"]: r for r in records}
    assert sorted(by_index) == list(range(SAMPLES)) and len(records) == SAMPLES
    return by_index


def _assert_same_journal(run_dir: Path, baseline: Path, exact_ticks: bool = True) -> None:
    ours, theirs = _journal(run_dir), _journal(baseline)
    timing = {"elapsed_us", "counter_ticks"}
    for index, record in ours.items():
        other = theirs[index]
        assert {k: v for k, v in record.items() if k not in timing} == {
            k: v for k, v in other.items() if k not in timing
        }
        if exact_ticks:
            assert record["counter_ticks"] == other["counter_ticks"]
            for elapsed, ticks in zip(record["elapsed_us"], record["counter_ticks"], strict=True):
                assert abs(elapsed - ticks / COUNTER_TICKS_PER_US) < 2  # two truncations
    first, second = (json.loads((d / "results.json").read_text()) for d in (run_dir, baseline))
    # The stack's high-water mark is the deepest of the commands that ran: `batch` is one more.
    for document in (first, second):
        document["memory"].pop("stack_used_bytes", None)
    assert {k: first[k] for k in RESULT_KEYS} == {k: second[k] for k in RESULT_KEYS}


@pytest.fixture(scope="module")
def per_sample_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("per-sample") / "run"
    _run(["--batch", "0", "--out", str(run_dir)])
    return run_dir


def test_batched_run_has_the_per_sample_journal_and_results(
    per_sample_run: Path, tmp_path: Path
) -> None:
    _run(["--batch", str(BATCH), "--out", str(tmp_path / "run")])
    _assert_same_journal(tmp_path / "run", per_sample_run)
    transcript = (tmp_path / "run" / "transcript.txt").read_text()
    assert transcript.count("> batch batch-in.bin batch-out.bin 10 1 0%") == SAMPLES // BATCH
    assert "> infer 1 0%" not in transcript  # no sample went over the UART
    baseline = (per_sample_run / "transcript.txt").read_text()
    assert baseline.count("> infer 1 0%") == SAMPLES and "> batch " not in baseline
    emulation = json.loads((tmp_path / "run" / "results.json").read_text())["emulation"]
    assert emulation["batch"] is True and emulation["jobs"] == 1
    assert emulation["instructions"] == 40 * sum(t for r in _journal(tmp_path / "run").values()
                                                 for t in r["counter_ticks"])  # fmt: skip
    assert 0 < emulation["efficiency"] <= 1.5


def _journal_lines(run_dir: Path) -> int:
    try:
        return (run_dir / "samples.jsonl").read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def _wait_for(process: subprocess.Popen[bytes], condition: Any) -> None:
    deadline = time.monotonic() + 120
    while not condition():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.005)


def _start(args: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tinybench", "run", "kws01", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: a kill takes QEMU with it
    )


def test_emulator_killed_mid_batch_and_run_killed_then_resumed_give_the_same_results(
    per_sample_run: Path, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    process = _start(["--limit", str(SAMPLES), "--batch", str(BATCH), "--out", str(run_dir)])
    # The second batch starts as soon as the first is journaled: kill its emulator then.
    _wait_for(process, lambda: _journal_lines(run_dir) >= BATCH)
    qemu = children(process.pid, "qemu-system")
    assert len(qemu) == 1, qemu
    os.kill(qemu[0], signal.SIGKILL)
    # The restarted DUT runs the lost batch again; then tinybench itself dies mid-batch.
    _wait_for(process, lambda: _journal_lines(run_dir) >= 2 * BATCH)
    assert _journal_lines(run_dir) == 2 * BATCH  # whole batches only
    os.killpg(process.pid, signal.SIGKILL)
    _out, err = process.communicate()
    assert err.decode().count("restarting it") == 1, err.decode()
    resumed = _start(["--resume", str(run_dir)])
    _out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err.decode()
    _assert_same_journal(run_dir, per_sample_run)


def test_batched_run_on_the_host_board_has_the_per_sample_outputs(tmp_path: Path) -> None:
    """The host port's batch (stdio files): same outputs; its clock is the host's, so timing
    differs and is not compared."""
    _run(["--board", "host", "--batch", "7", "--out", str(tmp_path / "batched")])
    _run(["--board", "host", "--batch", "0", "--out", str(tmp_path / "plain")])
    _assert_same_journal(tmp_path / "batched", tmp_path / "plain", exact_ticks=False)
    assert "> batch " in (tmp_path / "batched" / "transcript.txt").read_text()
