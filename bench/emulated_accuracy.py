"""Benchmark of full emulated accuracy runs against the emulator's own speed (issue 17).

    .venv/bin/python bench/emulated_accuracy.py                 # kws01, all 1000 samples
    .venv/bin/python bench/emulated_accuracy.py kws01 ic01 --limit 200 --per-sample

For each model, in one run of this script: the pure-emulation time (one `infer N 0` on a
freshly booted QEMU, N = the run's sample count, timed around that one command), then the
full `tinybench run` (build, reference, boot, every sample, scoring; in-process) with
--jobs 1 and --jobs auto, each with its ratio to the pure-emulation time; the pure time is
measured again after every run, and a run's ratio uses the mean of the two around it.
--per-sample adds the per-sample path (--batch 0) with --jobs 1 for comparison. Prints the
load average before, after every run and at the end (the machine is shared). Prints
numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from tinybench.build.firmware import build_firmware
from tinybench.datasets import open_dataset
from tinybench.dut.emulator import QemuDut
from tinybench.dut.session import DutSession, Timeouts
from tinybench.paths import locate
from tinybench.project import Project
from tinybench.runner import JOBS_AUTO, RunRequest, resolve_jobs, run_benchmark

BOARD = "qemu-m4"


def pure_emulation_s(project: Project, model_id: str, count: int) -> float:
    """Wall seconds of one `infer count 0` on the model's first sample (inputs already in)."""
    board = project.board(BOARD)
    model = project.resolve_model(model_id)
    build = build_firmware(project, BOARD, "native", model)
    dataset = open_dataset(model.dataset, project.dataset_root(model, None))
    wire = dataset.inferences(dataset.samples[0])[0]
    with QemuDut(board, build.image) as qemu:
        session = DutSession(qemu.transport, Timeouts(infer_s=600.0), shared_dir=qemu.workdir)
        session.synchronize()
        session.load(wire)
        started = time.monotonic()
        session.infer(count, 0)
        return time.monotonic() - started


def full_run_s(
    project: Project, model_id: str, jobs: int, batch: int, limit: int | None, out: Path
) -> float:
    request = RunRequest(
        model_id, BOARD, "native", "accuracy", None, limit, out, None, jobs=jobs, batch_size=batch
    )
    started = time.monotonic()
    outcome = run_benchmark(project, request)
    wall = time.monotonic() - started
    emulation = outcome.document.get("emulation") or {}
    times = outcome.document["wall_time_s"]
    print(
        f"    (run: {outcome.document['accuracy']['total']} samples; build {times['build']:.2f} "
        f"s, reference {times.get('reference', 0.0):.2f} s beside the DUTs "
        f"({'cached' if times.get('reference_cached') else 'computed'}), samples "
        f"{emulation.get('samples_wall_s')} s, DUT sessions {times['dut_sessions']:.2f} s; "
        f"emulation efficiency {emulation.get('efficiency')} over {emulation.get('jobs')} "
        "DUT(s))",
        flush=True,
    )
    return wall


def load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", default=["kws01"])
    parser.add_argument("--limit", type=int, default=None, help="samples per model (all)")
    parser.add_argument("--per-sample", action="store_true", help="also run --batch 0")
    args = parser.parse_args()
    project = Project(locate())
    auto = resolve_jobs(JOBS_AUTO, project.board(BOARD), "accuracy")
    print(f"{BOARD}, {len(os.sched_getaffinity(0))} usable cores, load average {load()}")
    for model_id in args.models:
        model = project.resolve_model(model_id)
        dataset = open_dataset(model.dataset, project.dataset_root(model, None))
        samples = dataset.limited(args.limit).samples
        count = sum(len(dataset.inferences(s)) for s in samples)
        print(f"{model_id}: {len(samples)} samples, {count} inferences", flush=True)
        configs = [("--jobs 1", 1, 50), (f"--jobs auto ({auto})", JOBS_AUTO, 50)]
        if args.per_sample:
            configs.append(("--jobs 1 --batch 0", 1, 0))
        # The pure-emulation time is taken before every run and after the last, and each
        # run's ratio uses the mean of the two around it: a shared machine's load drifts.
        pure = pure_emulation_s(project, model_id, count)
        print(f"  pure emulation (one infer {count} 0): {pure:7.2f} s", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            for k, (label, jobs, batch) in enumerate(configs):
                wall = full_run_s(project, model_id, jobs, batch, args.limit, Path(tmp) / str(k))
                after = pure_emulation_s(project, model_id, count)
                print(f"  pure emulation (one infer {count} 0): {after:7.2f} s", flush=True)
                mean = (pure + after) / 2
                print(
                    f"  full run {label:22s} {wall:7.2f} s   ratio {wall / mean:5.2f}x to the "
                    f"pure time around it ({mean:.2f} s); load {load()}",
                    flush=True,
                )
                pure = after
    print(f"load average after: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
