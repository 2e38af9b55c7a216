"""SIGKILL of the tinybench process alone (not its group) leaves no QEMU running.

Nothing in tinybench runs after a SIGKILL, so this pins the lifeline (dut/lifeline.py): each
QEMU's keeper sees the pipe from tinybench close and kills it. With --jobs 2 the QEMUs are
started from shard worker threads, the case PR_SET_PDEATHSIG would get wrong.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from procs import children

ORPHAN_GRACE_S = 5.0
TINYBENCH_RUN = [sys.executable, "-m", "tinybench", "run", "kws01", "--limit", "60"]


def _running(pid: int) -> bool:
    """True while pid is a live process (a zombie waiting for its new parent counts as dead)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


@pytest.mark.parametrize("jobs", [1, 2])
def test_sigkill_of_tinybench_alone_leaves_no_qemu_running(
    shared_dir: Path, tmp_path: Path, jobs: int
) -> None:
    run_dir = tmp_path / "run"
    env = {**os.environ, "TINYBENCH_SHARED_DIR": str(shared_dir)}
    process = subprocess.Popen(
        [*TINYBENCH_RUN, "--jobs", str(jobs), "--out", str(run_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,  # so the test can clean up its group if the lifeline fails
    )
    try:
        deadline = time.monotonic() + 120
        qemu: list[int] = []
        while len(qemu) < jobs:  # every QEMU is up
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the run never got going"
            qemu = children(process.pid, "qemu-system")
            time.sleep(0.05)
        assert len(qemu) == jobs
        os.kill(process.pid, signal.SIGKILL)  # tinybench only: QEMU is not signalled
        process.wait()
        gone_by = time.monotonic() + ORPHAN_GRACE_S
        while any(_running(pid) for pid in qemu) and time.monotonic() < gone_by:
            time.sleep(0.05)
        survivors = [pid for pid in qemu if _running(pid)]
        assert survivors == [], f"QEMU {survivors} outlived tinybench by {ORPHAN_GRACE_S} s"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
