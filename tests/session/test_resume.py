"""Journal and resume: a run survives a dying emulator and a killed tinybench, losing nothing.

Both tests compare the final results with an uninterrupted run of the same samples:
everything but wall-clock times must be equal, and the journal must hold each
sample exactly once.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from procs import children
from tinybench.journal import Journal

COMPARED_KEYS = ("model", "board", "engine", "mode", "accuracy", "reference_check", "memory")


def _comparable(document: dict[str, Any]) -> dict[str, Any]:
    result = {key: document[key] for key in COMPARED_KEYS}
    result["performance"] = {k: v for k, v in document["performance"].items()}
    result["provenance"] = dict(document["provenance"])
    return result


def _start(args: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tinybench", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: a kill takes QEMU with it
    )


def _journal_lines(run_dir: Path) -> int:
    try:
        return (run_dir / "samples.jsonl").read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def _wait_for_lines(process: subprocess.Popen[bytes], run_dir: Path, lines: int) -> None:
    deadline = time.monotonic() + 300
    while _journal_lines(run_dir) < lines:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.02)


def _check_journal(run_dir: Path, samples: int) -> None:
    journal = Journal(run_dir / "samples.jsonl")
    indices = [json.loads(line)["index"] for line in (run_dir / "samples.jsonl").open()]
    journal.close()
    assert sorted(indices) == list(range(samples))  # each sample exactly once


def test_killing_tinybench_at_five_random_points_and_resuming_gives_the_same_results(
    full_kws01_run: Path, tmp_path: Path
) -> None:
    run_dir = tmp_path / "interrupted"
    points = sorted(random.Random(20261129).sample(range(20, 980), 5))
    process = _start(["run", "kws01", "--board", "qemu-m4", "--out", str(run_dir)])
    for point in points:
        _wait_for_lines(process, run_dir, point)
        os.killpg(process.pid, signal.SIGKILL)  # tinybench and its emulator, mid-sample
        process.wait()
        process = _start(["run", "kws01", "--resume", str(run_dir)])
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err.decode()
    assert b"top-1 901/1000" in out and b"1000 compared, 0 mismatches" in out
    _check_journal(run_dir, 1000)
    resumed = json.loads((run_dir / "results.json").read_text())
    uninterrupted = json.loads((full_kws01_run / "results.json").read_text())
    assert _comparable(resumed) == _comparable(uninterrupted)


def test_an_emulator_that_dies_five_times_is_restarted_and_the_run_goes_on(
    tmp_path: Path,
) -> None:
    samples = 200
    # One sample per command: each kill lands mid-sample (a batch's death and re-run is
    # tests/batch/test_batch_qemu.py's).
    args = ["run", "kws01", "--limit", str(samples), "--batch", "0"]
    baseline = tmp_path / "baseline"
    plain = _start([*args, "--out", str(baseline)])
    assert plain.wait(timeout=600) == 0
    run_dir = tmp_path / "dying"
    process = _start([*args, "--out", str(run_dir)])
    for point in sorted(random.Random(7).sample(range(5, samples - 5), 5)):
        _wait_for_lines(process, run_dir, point)
        qemu = children(process.pid, "qemu-system")
        assert len(qemu) == 1, qemu
        os.kill(qemu[0], signal.SIGKILL)  # the emulator crashes; tinybench lives on
        # Until tinybench notices, the dead QEMU stays its (zombie) child, and a batch it
        # finished just before the kill may still reach the journal: wait for the new QEMU,
        # so that the next kill hits a live emulator.
        deadline = time.monotonic() + 120
        while children(process.pid, "qemu-system") in ([], qemu):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the emulator was not restarted"
            time.sleep(0.02)
        _wait_for_lines(process, run_dir, point + 1)
    _out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err.decode()
    assert err.decode().count("restarting it") == 5
    _check_journal(run_dir, samples)
    result = json.loads((run_dir / "results.json").read_text())
    assert result["wall_time_s"]["dut_restarts"] == 5
    assert _comparable(result) == _comparable(json.loads((baseline / "results.json").read_text()))


@pytest.mark.parametrize("jobs", [2])
def test_sharded_run_equals_the_single_job_run(
    full_kws01_run: Path, tmp_path: Path, jobs: int
) -> None:
    process = _start(["run", "kws01", "--jobs", str(jobs), "--out", str(tmp_path / "sharded")])
    _out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err.decode()
    _check_journal(tmp_path / "sharded", 1000)
    sharded = json.loads((tmp_path / "sharded" / "results.json").read_text())
    single = json.loads((full_kws01_run / "results.json").read_text())
    assert _comparable(sharded) == _comparable(single)
    assert sorted(p.name for p in (tmp_path / "sharded").glob("transcript-*.txt")) == [
        "transcript-0.txt",
        "transcript-1.txt",
    ]


def test_a_run_killed_before_its_first_sample_resumes_from_its_run_json(tmp_path: Path) -> None:
    """run.json is written first (atomically), before the build: a run killed at once still
    resumes, and gives the results of an uninterrupted run."""
    args = ["run", "kws01", "--board", "host", "--limit", "8"]
    run_dir = tmp_path / "killed"
    process = _start([*args, "--out", str(run_dir)])
    deadline = time.monotonic() + 60
    while not (run_dir / "run.json").exists():
        assert time.monotonic() < deadline and process.poll() is None, process.communicate()
        time.sleep(0.001)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    saved = json.loads((run_dir / "run.json").read_text())
    assert saved["model"] == "kws01" and saved["limit"] == 8
    assert not (run_dir / "results.json").exists()
    resumed = _start(["run", "kws01", "--resume", str(run_dir)])
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err.decode()
    fresh = _start([*args, "--out", str(tmp_path / "fresh")])
    fresh.communicate(timeout=300)
    assert fresh.returncode == 0
    _check_journal(run_dir, 8)
    documents = [
        json.loads((d / "results.json").read_text()) for d in (run_dir, tmp_path / "fresh")
    ]
    first, second = (_comparable(d) for d in documents)
    for document in (first, second):  # the host port's clock is the host's: timing differs
        document.pop("performance")
    assert first == second
    assert json.loads((run_dir / "run.json").read_text())["firmware_sha256"] is not None
