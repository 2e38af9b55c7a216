"""A tiny run of bench/soak.py's code path (the soak itself is a benchmark, not a test)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_the_soak_script_checks_every_output_and_passes_on_a_short_run(
    repo_root: Path, shared_dir: Path
) -> None:
    env = {**os.environ, "TINYBENCH_SHARED_DIR": str(shared_dir)}
    args = ["--inferences", "6", "--inputs", "3", "--host-hours", "0.2", "--host-scale", "2000"]
    done = subprocess.run(
        [sys.executable, str(repo_root / "bench" / "soak.py"), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "6 inferences in one QEMU session" in out
    assert "0 mismatches with the reference" in out and "largest spread over the cycles 0" in out
    assert "qemu soak: PASS" in out and "host soak: PASS" in out
    assert "timestamps that went backwards: 0" in out
