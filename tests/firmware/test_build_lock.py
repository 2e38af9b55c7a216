"""Builds of one project take turns: a build waits while another process holds the project's
build lock (two PlatformIO runs in one build directory delete each other's objects mid-link,
as a `tinybench bench` beside a `tinybench profile` did)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tinybench.filelock import exclusive_lock


def test_a_build_waits_for_the_build_lock_and_then_builds(
    repo_root: Path, shared_dir: Path
) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(repo_root / "host"),
        "TINYBENCH_SHARED_DIR": str(shared_dir),
    }
    command = [sys.executable, "-m", "tinybench", "build", "--model", "kws01", "--board", "host"]
    # Built once first, so that the timed part below is the wait, not the compile; a second
    # run is timed: held for three times as long, the lock must be what keeps it running.
    first = subprocess.run(command, capture_output=True, text=True, env=env, cwd=repo_root)
    assert first.returncode == 0, first.stderr
    start = time.monotonic()
    again = subprocess.run(command, capture_output=True, text=True, env=env, cwd=repo_root)
    assert again.returncode == 0, again.stderr
    held_s = max(4.0, 3 * (time.monotonic() - start))
    with exclusive_lock(repo_root / "build" / ".build.lock"):
        waiting = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
            cwd=repo_root,
        )  # fmt: skip
        time.sleep(held_s)
        assert waiting.poll() is None, waiting.communicate()
    out, err = waiting.communicate(timeout=300)
    assert waiting.returncode == 0, err
    assert "host" in out + err
