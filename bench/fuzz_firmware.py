"""libFuzzer over the firmware's byte input for a fixed budget; prints what it found.

Builds firmware/fuzz's target (ASan + UBSan), seeds the corpus from recorded sessions of the
host-port firmware (tests/fuzz/fuzzbuild.py), runs libFuzzer for N executions or S seconds
and prints executions, coverage (cov/ft), corpus size, crashes, hangs (-timeout) and
sanitizer reports. Artifacts (the inputs of any finding) stay in --work.

    .venv/bin/python bench/fuzz_firmware.py --runs 10000000
    .venv/bin/python bench/fuzz_firmware.py --seconds 60 --work /tmp/fuzz-work
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # fwbuild (the host-port firmware of the seeds)
sys.path.insert(0, str(ROOT / "tests" / "fuzz"))

from fuzzbuild import (  # noqa: E402
    build_fuzzer,
    clang_fuzzer_available,
    run_fuzzer,
    seed_firmware,
    write_seed_corpus,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--runs", type=int, help="executions (libFuzzer -runs)")
    budget.add_argument("--seconds", type=int, help="wall time (libFuzzer -max_total_time)")
    parser.add_argument("--timeout", type=int, default=5, help="seconds one input may take")
    parser.add_argument("--work", type=Path, help="keep the corpus and artifacts here")
    args = parser.parse_args()
    if not clang_fuzzer_available():
        print("clang with libclang-rt-14-dev is missing: ./setup.sh --dev", file=sys.stderr)
        return 2
    runs = args.runs if args.runs is not None or args.seconds is not None else 1_000_000
    work = args.work or Path(tempfile.mkdtemp(prefix="tinybench-fuzz-"))
    work.mkdir(parents=True, exist_ok=True)
    fuzzer = build_fuzzer(work / "tb_fuzz_harness")
    seeds = write_seed_corpus(seed_firmware(work / "fw"), work / "corpus", work)
    start = time.monotonic()
    run = run_fuzzer(
        fuzzer,
        work / "corpus",
        work / "artifacts",
        runs=runs,
        seconds=args.seconds,
        timeout_s=args.timeout,
    )
    wall = time.monotonic() - start
    print(f"seed corpus        {seeds} inputs from recorded host-port sessions")
    print(f"executions         {run.executions}")
    print(f"wall               {wall:.0f} s ({run.executions / max(wall, 1e-9):.0f} exec/s)")
    print(f"coverage           cov {run.coverage} ft {run.features}")
    print(f"corpus             {run.corpus_files} inputs")
    print(f"crashes            {run.crashes}")
    print(f"hangs (>{args.timeout} s)     {run.hangs}")
    print(f"sanitizer reports  {run.sanitizer_reports}")
    print(f"work dir           {work}")
    if run.crashes or run.hangs or run.sanitizer_reports or run.returncode != 0:
        print(run.log_tail, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
