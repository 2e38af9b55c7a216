"""The CMSDK port on the Cortex-M layer booted under QEMU (-icount shift=0) with the TEST DOUBLE
engine, on every emulated board of boards/*.toml."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from double_model import (
    SPECS,
    crc32,
    expected_results,
    input_tensor,
    parse_raw,
    parse_results,
    random_upload,
    raw_output,
)
from dutio import DutLink, qemu_dut
from fwbuild import TARGETS

# Every emulated board of boards/*.toml: adding a board adds it here.
BOARDS = sorted(name for name, target in TARGETS.items() if target.qemu_machine)

pytestmark = pytest.mark.skipif(
    shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
    reason="needs qemu-system-arm and arm-none-eabi-gcc",
)


def hex_upload(dut: DutLink, data: bytes) -> list[str]:
    assert dut.command(f"db load {len(data)}") == [f"m-[Expecting {len(data)} bytes]"]
    last: list[str] = []
    for i in range(0, len(data), 31):
        last = dut.command("db " + data[i : i + 31].hex())
    return last


def bin_upload(dut: DutLink, data: bytes) -> list[str]:
    reply = dut.command(f"db bin {len(data)} {crc32(data):08x}")
    assert reply == [f"m-[Expecting {len(data)} bytes binary]"]
    dut.write(data)
    return dut.read_until_ready(timeout=30)


def infer_ticks(dut: DutLink, n: int, w: int) -> tuple[int, list[str]]:
    reply = dut.command(f"infer {n} {w}", timeout=30)
    ticks = [int(x[len("m-infer-counter-") :]) for x in reply if x.startswith("m-infer-counter-")]
    assert len(ticks) == 1, reply
    return ticks[0], reply


@pytest.mark.parametrize("board", BOARDS)
def test_board_boots_runs_the_protocol_and_counts_deterministically(
    build_double: Callable[..., Path], board: str
) -> None:
    target = TARGETS[board]
    assert target.qemu_machine and target.qemu_cpu
    elf = build_double(board, "kws01")
    spec = SPECS["kws01"]
    data = random_upload(spec, np.random.default_rng(11))
    want_raw = raw_output(spec, input_tensor(spec, data)).tobytes()
    counts: list[int] = []

    for session in range(2):
        t0 = time.perf_counter()
        with qemu_dut(
            elf, target.qemu_machine, target.qemu_cpu, serial_index=target.serial_index
        ) as dut:
            assert dut.read_until_ready(timeout=10) == ["m-init-done"]
            boot_s = time.perf_counter() - t0
            if session == 0:
                assert dut.command("name") == ["m-name-dut-[tinybench]"]
                assert dut.command("profile") == ["m-profile-[tinybench 0.1.0]", "m-model-[kws01]"]
                info = dut.command("info")[0]
                assert "counter=systick" in info
                assert "engine=test-double," in info  # its constructor ran, with the FPU on
                assert f"counter_hz={target.counter_hz}," in info  # as boards/<board>.toml says
                assert f"cpu_hz={target.cpu_hz}," in info
                # Malformed input: explicit errors, no hang, no reset needed.
                assert dut.command("db load 0")[0].startswith("e-[db load")
                assert dut.command("x" * 100)[0].startswith("e-[Command longer than 80")
                assert dut.command("infer 1 0")[0].startswith("e-[infer: no complete")
                assert dut.command("bogus") == ["e-[Unknown command: bogus]"]
                t1 = time.perf_counter()
                assert hex_upload(dut, data) == ["m-load-done"]
                t2 = time.perf_counter()
                reply = dut.command("infer 1 0", timeout=30)
                assert parse_results(reply) == pytest.approx(
                    expected_results(spec, data), abs=0.00051
                )
                assert parse_raw(dut.command("results raw")) == want_raw
                print(
                    f"\n{board}: boot {1e3 * boot_s:.0f} ms, kws01 hex upload "
                    f"{1e3 * (t2 - t1):.0f} ms"
                )
            t3 = time.perf_counter()
            assert bin_upload(dut, data) == ["m-load-done"]
            t4 = time.perf_counter()
            for _ in range(3):
                ticks, reply = infer_ticks(dut, 5, 2)
                counts.append(ticks)
                assert parse_raw(dut.command("results raw")) == want_raw
            dut.write("exit 0%")
            assert dut.read_line() == "m-exit-0"
            assert dut.wait_exit() == 0  # semihosting SYS_EXIT_EXTENDED
            print(
                f"{board} session {session}: bin upload {1e3 * (t4 - t3):.0f} ms, "
                f"infer 5 2 counter deltas {counts[-3:]}"
            )

    assert len(set(counts)) == 1, counts
    insns_per_tick = 1e9 / target.counter_hz / 2**target.icount_shift
    print(
        f"{board}: {counts[0]} ticks for 5 runs = {counts[0] * insns_per_tick:.0f} "
        f"instructions (icount: 1 ns per instruction)"
    )


def test_semihosting_exit_code_reaches_the_host(build_double: Callable[..., Path]) -> None:
    target = TARGETS["qemu-m4"]
    assert target.qemu_machine and target.qemu_cpu
    elf = build_double("qemu-m4", "kws01")
    with qemu_dut(
        elf, target.qemu_machine, target.qemu_cpu, serial_index=target.serial_index
    ) as dut:
        dut.read_until_ready(timeout=10)
        dut.write("exit 42%")
        assert dut.read_line() == "m-exit-42"
        assert dut.wait_exit() == 42


def test_counter_scales_with_work_under_icount(build_double: Callable[..., Path]) -> None:
    """N timed runs count N times one run across SysTick wraps (24-bit: 2^24 ticks = 0.67 s)."""
    target = TARGETS["qemu-m4"]
    assert target.qemu_machine and target.qemu_cpu
    elf = build_double("qemu-m4", "vww01")
    spec = SPECS["vww01"]
    data = random_upload(spec, np.random.default_rng(12))
    with qemu_dut(
        elf, target.qemu_machine, target.qemu_cpu, serial_index=target.serial_index
    ) as dut:
        dut.read_until_ready(timeout=10)
        t0 = time.perf_counter()
        assert bin_upload(dut, data) == ["m-load-done"]
        t1 = time.perf_counter()
        one, reply = infer_ticks(dut, 1, 0)
        assert parse_results(reply) == pytest.approx(expected_results(spec, data), abs=0.00051)
        many, reply = infer_ticks(dut, 2500, 0)
        laps = [int(x[len("m-lap-us-") :]) for x in reply if x.startswith("m-lap-us-")]
        dut.write("exit 0%")
    print(
        f"\nqemu-m4 vww01: bin upload of {len(data)} B {1e3 * (t1 - t0):.0f} ms; "
        f"1 run {one} ticks, 2500 runs {many} ticks ({many * 40 / 1e6:.1f} M instructions)"
    )
    assert many > 2**24  # at least one SysTick wrap inside the timed region
    assert abs(many - 2500 * one) <= 2500
    assert abs((laps[1] - laps[0]) - many / 25) <= 2  # 25 ticks per us at 25 MHz


@pytest.mark.parametrize("board", BOARDS)
def test_db_file_reads_a_host_file_through_semihosting(
    build_double: Callable[..., Path], board: str, tmp_path: Path
) -> None:
    target = TARGETS[board]
    assert target.qemu_machine and target.qemu_cpu
    # The largest standard input, except on a board whose db buffer is sized to its model
    # (qemu-nrf51: 16 KB of RAM), which gets kws01's.
    model = "kws01" if any(d.startswith("TB_DB_CAPACITY=") for d in target.defines) else "vww01"
    elf = build_double(board, model)
    spec = SPECS[model]
    samples = [random_upload(spec, np.random.default_rng(20 + i)) for i in range(2)]
    (tmp_path / "vww.bin").write_bytes(b"".join(samples))
    with qemu_dut(
        elf, target.qemu_machine, target.qemu_cpu, serial_index=target.serial_index, cwd=tmp_path
    ) as dut:
        dut.read_until_ready(timeout=10)
        assert dut.command("db file missing.bin") == ["e-[db file: cannot open 'missing.bin']"]
        t0 = time.perf_counter()
        reply = dut.command(f"db file vww.bin {len(samples[0])} {len(samples[1])}")
        t1 = time.perf_counter()
        assert reply == [f"m-[Loaded {len(samples[1])} bytes]", "m-load-done"]
        got = parse_results(dut.command("infer 1 0"))
        assert got == pytest.approx(expected_results(spec, samples[1]), abs=0.00051)
        dut.write("exit 0%")
    print(f"\n{board}: db file of {len(samples[1])} B in {1e3 * (t1 - t0):.1f} ms")
