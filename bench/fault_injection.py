"""Fault-injected kws01 accuracy runs against a clean one: do they end identical, or stop clearly?

    .venv/bin/python bench/fault_injection.py                 # 20 seeds, --limit 20 (~10 min)
    .venv/bin/python bench/fault_injection.py --seeds 3 --limit 5

Every run goes through the CLI (`tinybench run kws01 --board qemu-m4 --limit N --inject
SPEC`), each seed with every fault kind: drop, dup, flip and insert at --rate per byte in both
directions, stalls of 0.2 s on 0.5 % of reads, the link closed on 0.2 % of writes. A run is
`identical` when its journal holds each sample exactly once and every sample's prediction,
raw output, printed results and counter ticks equal the clean run's; elapsed_us (the DUT's
microsecond timestamps, which move with host timing) is reported as the largest difference.
A last run with --hopeless-rate shows the clear stop where recovery is impossible.

Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
COMPARED = ("prediction", "raw_outputs", "device_results", "counter_ticks")
KINDS = ("drop", "dup", "flip", "insert", "stall", "close")


def spec_for(seed: int, rate: float) -> str:
    byte_faults = ",".join(f"{kind}={rate:g}" for kind in ("drop", "dup", "flip", "insert"))
    return f"{byte_faults},stall=0.2s@0.005,close=0.002,silence=2,seed={seed}"


def run(out: Path, limit: int, spec: str | None) -> tuple[int, str, float]:
    command = [
        sys.executable, "-m", "tinybench", "run", "kws01", "--board", "qemu-m4",
        "--limit", str(limit), "--out", str(out),
    ]  # fmt: skip
    if spec is not None:
        command += ["--inject", spec]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "host")}
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
    return done.returncode, done.stdout + done.stderr, time.monotonic() - started


def journal(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / "samples.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def compare(clean: list[dict[str, Any]], faulty: list[dict[str, Any]]) -> tuple[str, int]:
    """('identical' or what differs, the largest elapsed_us difference)."""
    indices = [row["index"] for row in faulty]
    if len(indices) != len(set(indices)):
        return "DUPLICATED samples", 0
    if sorted(indices) != sorted(row["index"] for row in clean):
        return f"LOST samples ({len(indices)} of {len(clean)})", 0
    by_index = {row["index"]: row for row in faulty}
    differing = [
        key for key in COMPARED if any(row[key] != by_index[row["index"]][key] for row in clean)
    ]
    drift = max(
        abs(a - b)
        for row in clean
        for a, b in zip(row["elapsed_us"], by_index[row["index"]]["elapsed_us"], strict=True)
    )
    return ("identical" if not differing else "DIFFERENT " + ",".join(differing)), drift


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--rate", type=float, default=1e-4, help="per byte, each byte fault")
    parser.add_argument("--hopeless-rate", type=float, default=0.05)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="tinybench-faults-") as tmp:
        code, output, clean_s = run(Path(tmp) / "clean", args.limit, None)
        if code != 0:
            sys.exit(f"the clean run failed:\n{output}")
        clean = journal(Path(tmp) / "clean")
        print(f"clean run: kws01 on qemu-m4, --limit {args.limit}: {clean_s:.1f} s")
        print(f"faults: {spec_for(0, args.rate).replace(',seed=0', '')}, seed=1..{args.seeds}")
        header = f"{'seed':>4} {'result':<24} " + " ".join(f"{k:>6}" for k in KINDS)
        print(header + "  detected -> recovered by                        d_us  wall s")
        identical, total_s = 0, 0.0
        for seed in range(1, args.seeds + 1):
            out = Path(tmp) / f"seed-{seed}"
            code, output, wall = run(out, args.limit, spec_for(seed, args.rate))
            total_s += wall
            if code != 0:
                last = output.strip().splitlines()[-1] if output.strip() else "no output"
                print(f"{seed:>4} STOPPED: {last[:150]}  ({wall:.1f} s)")
                continue
            faults = json.loads((out / "results.json").read_text())["link_faults"]
            verdict, drift = compare(clean, journal(out))
            identical += verdict == "identical"
            counts = " ".join(f"{faults['injected'][k]:>6}" for k in KINDS)
            detected = ",".join(f"{k} {v}" for k, v in faults["detected"].items()) or "none"
            recovered = ",".join(f"{k} {v}" for k, v in faults["recovered_by"].items() if v)
            story = f"{detected} -> {recovered or 'nothing needed'}"
            print(f"{seed:>4} {verdict:<24} {counts}  {story:<46} {drift:>4} {wall:7.1f}")
        print(
            f"{identical} of {args.seeds} fault-injected runs identical to the clean run "
            f"({total_s:.0f} s of runs, {args.limit} samples each)"
        )
        hopeless = f"flip={args.hopeless_rate:g},silence=2,seed=1"
        code, output, wall = run(Path(tmp) / "hopeless", args.limit, hopeless)
        last = output.strip().splitlines()[-1] if output.strip() else "no output"
        print(f"unrecoverable ({hopeless}): exit code {code} after {wall:.1f} s: {last[:300]}")


if __name__ == "__main__":
    main()
