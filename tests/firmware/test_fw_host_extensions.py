"""tinybench extensions, over pipes against the host-port firmware + TEST DOUBLE engine."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
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
from dutio import DutLink, PipeLink, host_dut


@pytest.fixture
def dut(host_fw: Callable[[str], Path]) -> Iterator[PipeLink]:
    with host_dut(host_fw("kws01")) as link:
        link.read_until_ready()
        yield link


def bin_upload(dut: DutLink, data: bytes, crc: int | None = None) -> list[str]:
    """The fast upload: `db bin N CRC%`, wait for the go-ahead, then the raw bytes."""
    crc = crc32(data) if crc is None else crc
    reply = dut.command(f"db bin {len(data)} {crc:08x}")
    assert reply == [f"m-[Expecting {len(data)} bytes binary]"], reply
    dut.write(data)
    return dut.read_until_ready(timeout=30)


def hex_upload(dut: DutLink, data: bytes) -> list[str]:
    dut.command(f"db load {len(data)}")
    last: list[str] = []
    for i in range(0, len(data), 31):
        last = dut.command("db " + data[i : i + 31].hex())
    return last


# ---- (a) binary upload with length and CRC-32 -----------------------------------


def test_db_bin_upload_loads_the_buffer(dut: PipeLink) -> None:
    spec = SPECS["kws01"]
    data = random_upload(spec, np.random.default_rng(1))
    assert bin_upload(dut, data) == ["m-load-done"]
    assert dut.command("db print 31") == ["m-buffer-" + data[:31].hex()]
    got = parse_results(dut.command("infer 1 0"))
    assert got == pytest.approx(expected_results(spec, data), abs=0.00051)


def test_db_bin_payload_may_contain_percent_cr_lf_nul(dut: PipeLink) -> None:
    data = (b"%\r\n\x00" * 123)[:490]
    assert bin_upload(dut, data) == ["m-load-done"]
    assert dut.command("db print 8") == ["m-buffer-" + data[:8].hex()]


def test_db_bin_crc_mismatch_is_rejected_and_a_retry_succeeds(dut: PipeLink) -> None:
    data = bytes(range(256)) + bytes(234)
    reply = bin_upload(dut, data, crc=crc32(data) ^ 1)
    assert len(reply) == 1 and reply[0].startswith("e-[db bin: CRC-32 mismatch")
    assert f"{crc32(data):08x}" in reply[0]
    assert dut.command("infer 1 0")[0].startswith("e-[infer: no complete db load")
    assert bin_upload(dut, data) == ["m-load-done"]
    assert parse_results(dut.command("infer 1 0"))


def test_db_bin_corrupted_byte_is_rejected(dut: PipeLink) -> None:
    data = bytes(490)
    crc = crc32(data)
    dut.command(f"db bin 490 {crc:08x}")
    dut.write(b"\x01" + data[1:])
    assert dut.read_until_ready()[0].startswith("e-[db bin: CRC-32 mismatch")


@pytest.mark.parametrize(
    "args", ["", "490", "0 12345678", "27649 12345678", "490 xyz", "490 123456789", "-1 0"]
)
def test_db_bin_bad_arguments_are_rejected(dut: PipeLink, args: str) -> None:
    reply = dut.command(f"db bin {args}".strip())
    assert len(reply) == 1 and reply[0].startswith("e-[db bin"), reply
    # Still in line mode: a command is answered.
    assert dut.command("name") == ["m-name-dut-[tinybench]"]


def test_db_bin_short_payload_times_out_and_the_dut_recovers(
    build_double: Callable[..., Path],
) -> None:
    exe = build_double("host", "kws01", ("TB_BIN_TIMEOUT_MS=200",))
    with host_dut(exe) as dut:
        dut.read_until_ready()
        dut.command(f"db bin 490 {crc32(bytes(490)):08x}")
        dut.write(bytes(100))
        reply = dut.read_until_ready(timeout=5)
        assert reply == ["e-[db bin: timeout after 100 of 490 bytes; load invalidated]"]
        assert dut.command("name") == ["m-name-dut-[tinybench]"]
        assert dut.command("infer 1 0")[0].startswith("e-[infer: no complete db load")


def test_wire_bytes_hex_vs_binary_upload(host_fw: Callable[[str], Path]) -> None:
    """Prints bytes on the wire per sample for both uploads (a measurement, not a limit)."""
    for model in ("kws01", "vww01"):
        spec = SPECS[model]
        data = random_upload(spec, np.random.default_rng(2))
        with host_dut(host_fw(model)) as dut:
            dut.read_until_ready()
            s0, r0, t0 = dut.bytes_sent, dut.bytes_received, time.perf_counter()
            assert hex_upload(dut, data) == ["m-load-done"]
            s1, r1, t1 = dut.bytes_sent, dut.bytes_received, time.perf_counter()
            assert bin_upload(dut, data) == ["m-load-done"]
            s2, r2, t2 = dut.bytes_sent, dut.bytes_received, time.perf_counter()
        hex_lines = -(-len(data) // 31)
        print(
            f"\n{model}: {len(data)} B sample; hex: {s1 - s0} B sent + {r1 - r0} B received, "
            f"{hex_lines + 1} round trips, {1e3 * (t1 - t0):.1f} ms host; "
            f"bin: {s2 - s1} B sent + {r2 - r1} B received, 2 round trips, "
            f"{1e3 * (t2 - t1):.1f} ms host"
        )
        assert s2 - s1 < len(data) + 32


# ---- (b) raw int8 output ------------------------------------------------------------


@pytest.mark.parametrize("model", ["kws01", "ic01", "vww01"])
def test_results_raw_gives_the_exact_output_bytes(
    host_fw: Callable[[str], Path], model: str
) -> None:
    spec = SPECS[model]
    data = random_upload(spec, np.random.default_rng(3))
    with host_dut(host_fw(model)) as dut:
        dut.read_until_ready()
        assert bin_upload(dut, data) == ["m-load-done"]
        dut.command("infer 2 1")
        raw = parse_raw(dut.command("results raw"))
    assert raw == raw_output(spec, input_tensor(spec, data)).tobytes()


def test_results_raw_before_inference_is_rejected(dut: PipeLink) -> None:
    assert dut.command("results raw")[0].startswith("e-[results: no successful inference")
    assert dut.command("results cooked")[0].startswith("e-[results: usage")


def test_standard_runner_regex_ignores_the_raw_line() -> None:
    runner = re.compile(r"^m-results-\[([^]]+)\]$")
    assert runner.match("m-results-raw-[0102]") is None


# ---- (c) info line ---------------------------------------------------------------------


def test_info_line_reports_board_counter_engine_arena_and_model(dut: PipeLink) -> None:
    reply = dut.command("info")
    assert len(reply) == 1
    m = re.fullmatch(r"m-info-\[(.*)\]", reply[0])
    assert m
    info = dict(kv.split("=", 1) for kv in m.group(1).split(","))
    assert info["fw"] == "0.1.0"
    assert info["counter"] == "host-monotonic" and info["counter_hz"] == "1000000000"
    assert info["engine"] == "test-double" and info["engine_version"] == "0.0.0-test"
    assert info["engine_status"] == "ok"
    assert int(info["arena_required"]) == 512 and int(info["arena_used"]) == 512
    assert int(info["arena_bytes"]) >= int(info["arena_required"])
    assert info["model"] == "kws01"
    assert re.fullmatch(r"[0-9a-f]{64}", info["model_sha256"])
    assert info["input_bytes"] == "490" and info["output_bytes"] == "12"
    assert info["db_capacity"] == "27648"
    assert info["input_format"] == "int8" and info["result"] == "scores"
    assert "cpu_hz" in info


def test_engine_init_failure_is_reported_and_the_dut_stays_usable(
    build_double: Callable[..., Path],
) -> None:
    exe = build_double("host", "kws01", ("TB_ARENA_BYTES=64",))
    with host_dut(exe) as dut:
        assert dut.read_until_ready() == ["e-[engine init failed: arena too small]", "m-init-done"]
        assert dut.command("name") == ["m-name-dut-[tinybench]"]
        assert "engine_status=arena too small" in dut.command("info")[0]
        dut.command("db load 490")
        for i in range(0, 490, 31):
            dut.command("db " + "00" * min(31, 490 - i))
        assert dut.command("infer 1 0") == ["e-[infer: engine not ready: arena too small]"]


# ---- (d) counter delta of the timed loop -------------------------------------------


def test_infer_reports_the_raw_counter_delta(dut: PipeLink) -> None:
    bin_upload(dut, bytes(490))
    reply = dut.command("infer 50 0")
    laps = [int(x[len("m-lap-us-") :]) for x in reply if x.startswith("m-lap-us-")]
    ticks = [int(x[len("m-infer-counter-") :]) for x in reply if x.startswith("m-infer-counter-")]
    assert len(ticks) == 1 and ticks[0] > 0
    # Host counter is in ns; the lap difference (us) brackets the measured region.
    assert ticks[0] / 1000 <= laps[1] - laps[0] + 1


# ---- exit --------------------------------------------------------------------------------


def test_exit_ends_the_program_with_the_code(host_fw: Callable[[str], Path]) -> None:
    with host_dut(host_fw("kws01")) as dut:
        dut.read_until_ready()
        assert is_err(dut.command("exit 300"))
        dut.write("exit 3%")
        assert dut.read_line() == "m-exit-3"
        assert dut.proc.wait(timeout=5) == 3


def is_err(lines: list[str]) -> bool:
    return len(lines) == 1 and lines[0].startswith("e-[")


# ---- (e) db file: bulk input from a host file ------------------------------------------


@pytest.fixture
def file_dut(host_fw: Callable[[str], Path], tmp_path: Path) -> Iterator[PipeLink]:
    """A DUT whose working directory is tmp_path: paths stay short (80-character lines)."""
    with host_dut(host_fw("kws01"), cwd=tmp_path) as link:
        link.read_until_ready()
        yield link


def test_db_file_loads_a_whole_file(file_dut: PipeLink, tmp_path: Path) -> None:
    dut = file_dut
    spec = SPECS["kws01"]
    data = random_upload(spec, np.random.default_rng(4))
    (tmp_path / "s.bin").write_bytes(data)
    reply = dut.command("db file s.bin")
    assert reply == ["m-[Loaded 490 bytes]", "m-load-done"]
    got = parse_results(dut.command("infer 1 0"))
    assert got == pytest.approx(expected_results(spec, data), abs=0.00051)


def test_db_file_loads_a_slice_of_a_packed_file(file_dut: PipeLink, tmp_path: Path) -> None:
    dut = file_dut
    samples = [bytes([i]) * 490 for i in range(3)]
    (tmp_path / "all.bin").write_bytes(b"".join(samples))
    assert dut.command("db file all.bin 980 490")[-1] == "m-load-done"
    assert dut.command("db print 2") == ["m-buffer-0202"]


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ("/nonexistent/x.bin", "e-[db file: cannot open '/nonexistent/x.bin']"),
        ("{big}", "e-[db file: range beyond the file or over the buffer's 27648 bytes]"),
        ("{small} 0 491", "e-[db file: range beyond the file or over the buffer's 27648 bytes]"),
        ("{small} 491 1", "e-[db file: range beyond the file or over the buffer's 27648 bytes]"),
        ("{empty}", "e-[db file: nothing to load (empty file or range)]"),
        ("{small} 0 0", "e-[db file: offset must be >= 0 and length > 0]"),
        ("{small} 0", "e-[db file: usage: db file PATH [offset length]]"),
    ],
)
def test_db_file_errors_are_explicit(
    file_dut: PipeLink, tmp_path: Path, args: str, error: str
) -> None:
    dut = file_dut
    (tmp_path / "big").write_bytes(bytes(27649))
    (tmp_path / "small").write_bytes(bytes(490))
    (tmp_path / "empty").write_bytes(b"")
    line = "db file " + args.format(big="big", small="small", empty="empty")
    assert dut.command(line) == [error]
    assert dut.command("infer 1 0")[0].startswith("e-[infer: no complete db load")
