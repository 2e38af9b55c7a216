"""The `latency` extension: per-inference counter deltas of the last `infer`.

Host port (pipes) for the protocol, qemu-m4 (-icount shift=0) for determinism,
both with the TEST DOUBLE engine.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from double_model import SPECS, crc32, random_upload
from dutio import DutLink, PipeLink, host_dut, qemu_dut
from fwbuild import TARGETS

DEFAULT_CAPACITY = 1024
VALUES_PER_LINE = 64
HOST_COUNTER_HZ = 1_000_000_000

_SUMMARY = re.compile(r"m-latency-\[count=(\d+),dropped=(\d+),counter_hz=(\d+)\]")
_DATA = re.compile(r"m-latency-data-\[(\d+(?:,\d+)*)\]")


@dataclass(frozen=True)
class Latency:
    count: int
    dropped: int
    counter_hz: int
    values: list[int]
    data_lines: list[str]


def parse_latency(lines: list[str]) -> Latency:
    """Parses a `latency` reply strictly: one summary line, then only data lines."""
    assert lines, "empty latency reply"
    m = _SUMMARY.fullmatch(lines[0])
    assert m, lines[0]
    values: list[int] = []
    for line in lines[1:]:
        d = _DATA.fullmatch(line)
        assert d, line
        values += [int(v) for v in d.group(1).split(",")]
    return Latency(int(m.group(1)), int(m.group(2)), int(m.group(3)), values, lines[1:])


def infer(dut: DutLink, n: int, w: int = 0) -> int:
    """Runs `infer n w` (must succeed) and returns its m-infer-counter delta."""
    reply = dut.command(f"infer {n} {w}", timeout=60)
    ticks = [int(x[len("m-infer-counter-") :]) for x in reply if x.startswith("m-infer-counter-")]
    assert len(ticks) == 1 and reply[-1].startswith("m-results-["), reply
    return ticks[0]


def bin_upload(dut: DutLink, data: bytes) -> None:
    assert dut.command(f"db bin {len(data)} {crc32(data):08x}") == [
        f"m-[Expecting {len(data)} bytes binary]"
    ]
    dut.write(data)
    assert dut.read_until_ready(timeout=30) == ["m-load-done"]


# ---- host port ---------------------------------------------------------------------


def _open_host(exe: Path) -> Iterator[PipeLink]:
    with host_dut(exe) as link:
        assert link.read_until_ready() == ["m-init-done"]
        bin_upload(link, bytes(490))
        yield link


@pytest.fixture
def dut(host_fw: Callable[[str], Path]) -> Iterator[PipeLink]:
    yield from _open_host(host_fw("kws01"))


@pytest.fixture
def small_dut(build_double: Callable[..., Path]) -> Iterator[PipeLink]:
    """A DUT whose latency record holds only 8 entries."""
    yield from _open_host(build_double("host", "kws01", ("TB_LATENCY_CAPACITY=8",)))


def test_latency_before_any_infer_is_an_error(host_fw: Callable[[str], Path]) -> None:
    with host_dut(host_fw("kws01")) as dut:
        dut.read_until_ready()
        assert dut.command("latency") == ["e-[latency: no timed inference recorded]"]


@pytest.mark.parametrize("n", [1, 63, 64, 65, 200])
def test_latency_records_one_positive_delta_per_timed_run(dut: PipeLink, n: int) -> None:
    loop_ticks = infer(dut, n, 3)  # warm-up runs are not recorded
    lat = parse_latency(dut.command("latency"))
    assert (lat.count, lat.dropped, lat.counter_hz) == (n, 0, HOST_COUNTER_HZ)
    assert len(lat.values) == n
    assert all(v > 0 for v in lat.values)
    # N + 1 shared readings: the deltas partition the timed loop exactly.
    assert sum(lat.values) == loop_ticks
    assert len(lat.data_lines) == -(-n // VALUES_PER_LINE)
    for line in lat.data_lines[:-1]:
        assert line.count(",") == VALUES_PER_LINE - 1


def test_latency_at_default_capacity_fills_16_lines_of_64(dut: PipeLink) -> None:
    loop_ticks = infer(dut, DEFAULT_CAPACITY + 1)
    lat = parse_latency(dut.command("latency"))
    assert (lat.count, lat.dropped) == (DEFAULT_CAPACITY, 1)
    assert len(lat.values) == DEFAULT_CAPACITY
    assert len(lat.data_lines) == DEFAULT_CAPACITY // VALUES_PER_LINE
    assert all(len(line) < 1024 for line in lat.data_lines)
    assert 0 < sum(lat.values) < loop_ticks  # the last run is timed but not stored


def test_latency_over_capacity_keeps_the_first_runs_and_counts_the_rest(
    small_dut: PipeLink,
) -> None:
    loop_ticks = infer(small_dut, 20)
    lat = parse_latency(small_dut.command("latency"))
    assert (lat.count, lat.dropped) == (8, 12)
    assert len(lat.values) == 8 and all(v > 0 for v in lat.values)
    assert sum(lat.values) < loop_ticks
    assert lat.data_lines == ["m-latency-data-[" + ",".join(map(str, lat.values)) + "]"]


def test_latency_at_exactly_the_capacity_drops_nothing(small_dut: PipeLink) -> None:
    loop_ticks = infer(small_dut, 8)
    lat = parse_latency(small_dut.command("latency"))
    assert (lat.count, lat.dropped, len(lat.values)) == (8, 0, 8)
    assert sum(lat.values) == loop_ticks


def test_a_new_infer_replaces_the_record(dut: PipeLink) -> None:
    infer(dut, 10)
    assert parse_latency(dut.command("latency")).count == 10
    loop_ticks = infer(dut, 3)
    lat = parse_latency(dut.command("latency"))
    assert (lat.count, lat.dropped, len(lat.values)) == (3, 0, 3)
    assert sum(lat.values) == loop_ticks


@pytest.mark.parametrize("failing", ["infer 0", "infer 1 -1", "infer", "db load 490|infer 1 0"])
def test_a_failed_infer_clears_the_record(dut: PipeLink, failing: str) -> None:
    infer(dut, 5)
    assert parse_latency(dut.command("latency")).count == 5
    replies = [dut.command(part) for part in failing.split("|")]
    assert replies[-1][0].startswith("e-[infer"), replies
    assert dut.command("latency") == ["e-[latency: no timed inference recorded]"]


def test_latency_takes_no_arguments(dut: PipeLink) -> None:
    infer(dut, 2)
    assert dut.command("latency 5") == ["e-[latency: usage: latency]"]
    assert parse_latency(dut.command("latency")).count == 2  # the record survives


def test_help_lists_the_latency_command(dut: PipeLink) -> None:
    lines = dut.command("help")
    assert any(line.startswith("m-help-latency ") for line in lines)
    ext = [line for line in lines if line.startswith("m-ext-[")]
    assert len(ext) == 1 and "latency" in ext[0][len("m-ext-[") : -1].split(",")


# ---- qemu-m4 ------------------------------------------------------------------------

_needs_qemu = pytest.mark.skipif(
    shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
    reason="needs qemu-system-arm and arm-none-eabi-gcc",
)


@_needs_qemu
def test_qemu_per_run_deltas_are_deterministic_and_partition_the_loop(
    build_double: Callable[..., Path],
) -> None:
    """Under -icount shift=0 every run executes the same instructions: the deltas only differ
    by SysTick quantization (40 instructions per tick), never drift, repeat exactly from one
    infer to the next (the counter is re-armed on a tick edge), and add up to the loop delta."""
    target = TARGETS["qemu-m4"]
    assert target.qemu_machine and target.qemu_cpu
    elf = build_double("qemu-m4", "kws01")
    data = random_upload(SPECS["kws01"], np.random.default_rng(11))
    n = 50
    windows: list[list[int]] = []
    with qemu_dut(
        elf, target.qemu_machine, target.qemu_cpu, serial_index=target.serial_index
    ) as dut:
        dut.read_until_ready(timeout=10)
        assert dut.command("latency") == ["e-[latency: no timed inference recorded]"]
        bin_upload(dut, data)
        one = infer(dut, 1, 0)
        assert parse_latency(dut.command("latency")).values == [one]
        for _ in range(2):
            loop_ticks = infer(dut, n, 2)
            lat = parse_latency(dut.command("latency"))
            assert (lat.count, lat.dropped, lat.counter_hz) == (n, 0, target.cpu_hz)
            assert sum(lat.values) == loop_ticks
            windows.append(lat.values)
        t0 = time.perf_counter()
        infer(dut, DEFAULT_CAPACITY, 0)
        t1 = time.perf_counter()
        full = parse_latency(dut.command("latency"))
        t2 = time.perf_counter()
        dut.write("exit 0%")
        assert dut.read_line() == "m-exit-0"

    values = windows[0]
    assert windows[1] == values  # the same sequence, tick for tick
    assert max(values) - min(values) <= 1
    assert abs(one - sum(values) / n) <= 1
    mean = sum(values) / n
    prefix = 0
    for k, v in enumerate(values, start=1):
        prefix += v
        assert abs(prefix - k * mean) <= 1, (k, prefix, k * mean)  # constant cost per run
    assert full.count == DEFAULT_CAPACITY and max(full.values) - min(full.values) <= 1
    print(
        f"\nqemu-m4 kws01 test double: infer {n} 2 loop delta {sum(values)} ticks, "
        f"per run {min(values)}..{max(values)} ticks (mean {mean:.2f} = "
        f"{mean * 1e9 / target.cpu_hz:.0f} instructions); infer {DEFAULT_CAPACITY} took "
        f"{1e3 * (t1 - t0):.0f} ms, its latency dump ({len(full.data_lines)} lines) "
        f"{1e3 * (t2 - t1):.0f} ms"
    )
