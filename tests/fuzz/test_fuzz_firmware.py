"""libFuzzer over the firmware's byte input (firmware/fuzz): 100 k executions, no finding.

The corpus is seeded from recorded sessions of the host-port firmware (fuzzbuild.py). A
crash, a sanitizer report (ASan/UBSan) or a hang (-timeout) each leave an artifact and fail
the test; bench/fuzz_firmware.py runs the long budget (10 M executions).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fuzzbuild import (
    MAX_LEN,
    build_fuzzer,
    clang_fuzzer_available,
    host_writes,
    run_fuzzer,
    seed_firmware,
    write_seed_corpus,
)

CI_RUNS = 100_000

pytestmark = pytest.mark.skipif(
    not clang_fuzzer_available(),
    reason="clang with libclang-rt-14-dev missing: ./setup.sh --dev installs them",
)


@pytest.fixture(scope="module")
def fuzzer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_fuzzer(tmp_path_factory.mktemp("fuzz") / "tb_fuzz_harness")


@pytest.fixture(scope="module")
def seed_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return seed_firmware(tmp_path_factory.mktemp("seed-fw"))


def test_seed_corpus_is_what_a_real_session_sent(seed_image: Path, tmp_path: Path) -> None:
    image = seed_image
    count = write_seed_corpus(image, tmp_path / "corpus", tmp_path, sessions=1)
    seeds = {p.read_bytes() for p in (tmp_path / "corpus").iterdir()}
    assert count == len(seeds) > 10
    assert b"db load 490%" in seeds and b"infer 2 1%" in seeds
    assert any(s.startswith(b"db bin 490 ") for s in seeds)  # with its raw payload after it
    transcript = (tmp_path / "seed-transcript-0.txt").read_text(encoding="utf-8")
    assert max(seeds, key=len) == b"".join(host_writes(transcript))[:MAX_LEN]


def test_100k_executions_find_no_crash_hang_or_sanitizer_report(
    fuzzer: Path, seed_image: Path, tmp_path: Path
) -> None:
    write_seed_corpus(seed_image, tmp_path / "corpus", tmp_path, sessions=1)
    run = run_fuzzer(fuzzer, tmp_path / "corpus", tmp_path / "artifacts", runs=CI_RUNS)
    assert run.executions >= CI_RUNS, run.log_tail
    assert (run.crashes, run.hangs, run.sanitizer_reports) == (0, 0, 0), run.log_tail
    assert run.returncode == 0, run.log_tail
    assert run.coverage > 200, run.log_tail  # the parser is reached, not just the boot
