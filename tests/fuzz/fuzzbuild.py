"""Test-only: the libFuzzer target of firmware/fuzz, its seed corpus, and a fuzzing run.

Lives with the tests, not in the tinybench package: fuzzing the harness is how the project
checks its firmware, not something a user of tinybench runs on theirs, and the seeds come
from the test double firmware of tests/firmware. bench/fuzz_firmware.py and
tests/fuzz/test_fuzz_firmware.py both use it.

The seeds are what a real host sends: a tinybench `DutSession` drives the host-port firmware
(the test double engine) through a `RecordingTransport`, and the host-to-DUT records of
that transcript become the corpus, whole and one command at a time. Nothing is committed.
"""

from __future__ import annotations

import hashlib
import random
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from firmware.fwbuild import FIRMWARE, build_test_double
from tinybench.dut.session import DutSession, Timeouts
from tinybench.dut.transport.process_link import ProcessTransport
from tinybench.dut.transport.recording import RecordingTransport

FUZZ_DIR = FIRMWARE / "fuzz"
CLANG = "clang"
SANITIZE = (
    "-fsanitize=fuzzer,address,undefined",
    "-fno-sanitize-recover=all",
    "-fno-omit-frame-pointer",
)
WARNINGS = ("-Wall", "-Wextra", "-Werror", "-Wstrict-prototypes", "-Wmissing-prototypes")
# Long enough for a whole recorded session (a hex upload of the 490-byte input and more).
MAX_LEN = 4096
_SESSION_TIMEOUTS = Timeouts(boot_s=5.0, command_s=5.0, infer_s=10.0)


class FuzzBuildError(RuntimeError):
    """clang failed (or is missing); the message holds its output."""


def clang_fuzzer_available() -> bool:
    """clang is installed and links -fsanitize=fuzzer (libclang-rt-14-dev)."""
    if shutil.which(CLANG) is None:
        return False
    probe = subprocess.run(
        [CLANG, "-fsanitize=fuzzer", "-x", "c", "-", "-o", "/dev/null"],
        input="#include <stdint.h>\n#include <stddef.h>\n"
        "int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);\n"
        "int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n",
        capture_output=True,
        text=True,
        check=False,
    )
    return probe.returncode == 0


def build_fuzzer(output: Path) -> Path:
    """The harness (without tb_main.c) + the fuzz port and engine doubles, with ASan and UBSan."""
    harness = sorted(p for p in (FIRMWARE / "harness").glob("*.c") if p.name != "tb_main.c")
    output.parent.mkdir(parents=True, exist_ok=True)
    cmd = [CLANG, "-std=c99", "-O1", "-g", *WARNINGS, *SANITIZE]
    cmd += [f"-I{FIRMWARE / 'include'}", f"-I{FIRMWARE / 'harness'}", f"-I{FUZZ_DIR}"]
    cmd += [str(p) for p in (*harness, *sorted(FUZZ_DIR.glob("*.c")))]
    cmd += ["-lm", "-o", str(output)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise FuzzBuildError(f"cannot run {CLANG}: {exc}") from exc
    if proc.returncode != 0:
        raise FuzzBuildError(f"{' '.join(cmd)}\n{proc.stdout}{proc.stderr}")
    return output


def _unescape(text: str) -> bytes:
    """Inverse of recording._escape (\\n, \\r, \\\\, \\xHH, printable ASCII as is)."""
    out = bytearray()
    i = 0
    while i < len(text):
        ch = text[i]
        if ch != "\\":
            out.append(ord(ch))
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "x":
            out.append(int(text[i + 2 : i + 4], 16))
            i += 4
        else:
            out.append({"n": 0x0A, "r": 0x0D, "\\": 0x5C}[nxt])
            i += 2
    return bytes(out)


_RECORD = re.compile(r"^\s*[0-9.]+ > (.*)$")


def host_writes(transcript: str) -> list[bytes]:
    """The host-to-DUT records of a RecordingTransport transcript, in order."""
    return [_unescape(m.group(1)) for line in transcript.splitlines() if (m := _RECORD.match(line))]


def record_session(image: Path, transcript: Path, seed: int) -> None:
    """One real session against the host-port firmware, every byte written to `transcript`."""
    rng = random.Random(seed)
    sample = bytes(rng.randrange(256) for _ in range(490))
    with (
        transcript.open("w", encoding="utf-8") as out,
        DutSession(
            RecordingTransport(ProcessTransport([str(image)]), out), _SESSION_TIMEOUTS
        ) as session,
    ):
        session.synchronize()
        session.profile()
        session.info()
        session.command("help")
        session.load_hex(sample)
        session.infer(2, 1)
        session.results()
        session.results_raw()
        session.latency()
        session.opprofile()
        session.load_binary(sample[::-1])
        session.infer(1, 0)
        session.command("db print 16 8")
        session.command("timestamp")
        session.command_nowait("exit 0")


def _split_commands(stream: bytes) -> list[bytes]:
    """Each '%'-terminated command with the raw bytes that follow it up to the next command."""
    parts, start = [], 0
    for i, byte in enumerate(stream):
        if byte == ord("%"):
            parts.append(stream[start : i + 1])
            start = i + 1
    if start < len(stream):
        parts.append(stream[start:])
    return parts


def write_seed_corpus(image: Path, corpus: Path, work: Path, sessions: int = 2) -> int:
    """Records `sessions` sessions; writes their host streams (whole and per command) to corpus.

    Returns the number of seed files (identical seeds are written once).
    """
    corpus.mkdir(parents=True, exist_ok=True)
    seeds: set[bytes] = set()
    for k in range(sessions):
        transcript = work / f"seed-transcript-{k}.txt"
        record_session(image, transcript, seed=k)
        stream = b"".join(host_writes(transcript.read_text(encoding="utf-8")))
        seeds.add(stream[:MAX_LEN])
        seeds.update(_split_commands(stream))
    for data in seeds:
        (corpus / hashlib.sha1(data).hexdigest()).write_bytes(data)
    return len(seeds)


def seed_firmware(out_dir: Path) -> Path:
    """The host-port firmware (kws01 test double) the seed sessions talk to."""
    return build_test_double("host", "kws01", out_dir)


@dataclass(frozen=True)
class FuzzRun:
    """What one libFuzzer run printed."""

    executions: int
    coverage: int  # cov: edges reached
    features: int  # ft:
    corpus_files: int
    crashes: int  # crash-*, leak-* and oom-* artifacts (sanitizer findings included)
    hangs: int  # timeout-* artifacts
    sanitizer_reports: int
    seconds: float
    returncode: int
    log_tail: str


_STATS = re.compile(r"^#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)/", re.MULTILINE)
_DONE = re.compile(r"^Done (\d+) runs in (\d+) second", re.MULTILINE)
_FINAL = re.compile(r"^stat::number_of_executed_units: (\d+)", re.MULTILINE)
_SANITIZER = re.compile(r"runtime error:|ERROR: (?:Address|Leak|UndefinedBehavior)Sanitizer")


def run_fuzzer(
    fuzzer: Path,
    corpus: Path,
    artifacts: Path,
    runs: int | None = None,
    seconds: int | None = None,
    timeout_s: int = 5,
) -> FuzzRun:
    """Runs libFuzzer for a budget of executions or seconds over `corpus` (which grows)."""
    artifacts.mkdir(parents=True, exist_ok=True)
    cmd = [
        str(fuzzer),
        f"-max_len={MAX_LEN}",
        f"-timeout={timeout_s}",
        "-print_final_stats=1",
        f"-artifact_prefix={artifacts}/",
    ]
    if runs is not None:
        cmd.append(f"-runs={runs}")
    if seconds is not None:
        cmd.append(f"-max_total_time={seconds}")
    cmd.append(str(corpus))
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    log = proc.stderr + proc.stdout
    stats = _STATS.findall(log)
    done = _DONE.search(log)
    final = _FINAL.search(log)
    names = [p.name for p in artifacts.iterdir()]
    executions = int(final.group(1)) if final else (int(done.group(1)) if done else 0)
    return FuzzRun(
        executions=executions,
        coverage=int(stats[-1][1]) if stats else 0,
        features=int(stats[-1][2]) if stats else 0,
        corpus_files=sum(1 for p in corpus.iterdir() if p.is_file()),
        crashes=sum(1 for n in names if n.startswith(("crash-", "leak-", "oom-"))),
        hangs=sum(1 for n in names if n.startswith("timeout-")),
        sanitizer_reports=len(_SANITIZER.findall(log)),
        seconds=float(done.group(2)) if done else 0.0,
        returncode=proc.returncode,
        log_tail=log[-3000:],
    )
