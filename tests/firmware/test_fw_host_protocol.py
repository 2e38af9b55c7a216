"""The DUT protocol, driven over pipes against the host-port firmware + TEST DOUBLE engine."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from double_model import SPECS, expected_results, parse_results, random_upload
from dutio import PipeLink, host_dut

CAPACITY = 27648


@pytest.fixture
def dut(host_fw: Callable[[str], Path]) -> Iterator[PipeLink]:
    with host_dut(host_fw("kws01")) as link:
        assert link.read_until_ready() == ["m-init-done"]
        yield link


def hex_upload(dut: PipeLink, data: bytes, per_line: int = 31) -> list[str]:
    """Uploads like the MLCommons runner: db load, then hex lines, text and '%' apart."""
    reply = dut.command(f"db load {len(data)}")
    assert reply == [f"m-[Expecting {len(data)} bytes]"]
    last: list[str] = []
    for i in range(0, len(data), per_line):
        last = dut.command("db " + data[i : i + per_line].hex())
        if i + per_line < len(data):
            assert last == [], last
    return last


def is_error(lines: list[str]) -> bool:
    return len(lines) == 1 and lines[0].startswith("e-[") and lines[0].endswith("]")


# ---- boot and identity ---------------------------------------------------


def test_boot_prints_init_done_then_ready(host_fw: Callable[[str], Path]) -> None:
    with host_dut(host_fw("kws01")) as link:
        assert link.read_line() == "m-init-done"
        assert link.read_line() == "m-ready"


def test_name_profile_and_model_id(dut: PipeLink) -> None:
    assert dut.command("name") == ["m-name-dut-[tinybench]"]
    assert dut.command("profile") == ["m-profile-[tinybench 0.1.0]", "m-model-[kws01]"]


def test_help_lists_standard_commands_and_extensions(dut: PipeLink) -> None:
    lines = dut.command("help")
    text = "\n".join(lines)
    for word in (
        "name",
        "profile",
        "timestamp",
        "db load",
        "infer",
        "results",
        "info",
        "db bin",
        "db file",
        "results raw",
        "latency",
        "exit",
    ):
        assert word in text
    assert (
        "m-ext-[db-bin,db-file,results-raw,info,infer-counter,latency,opprofile,exit,batch,reply-crc]"
        in lines
    )


def test_timestamp_prints_lap_us(dut: PipeLink) -> None:
    first = dut.command("timestamp")
    second = dut.command("timestamp")
    a = int(re.fullmatch(r"m-lap-us-(\d+)", first[0]).group(1))  # type: ignore[union-attr]
    b = int(re.fullmatch(r"m-lap-us-(\d+)", second[0]).group(1))  # type: ignore[union-attr]
    assert b >= a


def test_unknown_command_is_reported_and_followed_by_ready(dut: PipeLink) -> None:
    assert dut.command("frobnicate now") == ["e-[Unknown command: frobnicate]"]
    assert dut.command("name") == ["m-name-dut-[tinybench]"]


def test_empty_line_only_gets_ready(dut: PipeLink) -> None:
    assert dut.command("") == []
    assert dut.command("   ") == []


# ---- line assembly -----------------------------------------------------------


def test_line_of_exactly_80_characters_is_accepted(dut: PipeLink) -> None:
    line = "name" + " " * 76
    assert len(line) == 80
    assert dut.command(line) == ["m-name-dut-[tinybench]"]


def test_line_over_80_characters_is_rejected_and_discarded_whole(dut: PipeLink) -> None:
    line = "name" + " " * 76 + "x"
    assert len(line) == 81
    reply = dut.command(line)
    assert is_error(reply) and "80" in reply[0]
    # A long db line is discarded whole: nothing of it reaches the buffer.
    dut.command("db load 4")
    reply = dut.command("db " + "00" * 40)
    assert is_error(reply)
    assert dut.command("db 01020304")[0].startswith("e-[")  # the load was invalidated
    assert dut.command("name") == ["m-name-dut-[tinybench]"]


def test_very_long_line_is_discarded_until_the_next_percent(dut: PipeLink) -> None:
    dut.write("name " + "y" * 5000)
    dut.write("%")
    assert is_error(dut.read_until_ready())
    assert dut.command("name") == ["m-name-dut-[tinybench]"]


def test_cr_lf_nul_noise_is_ignored(dut: PipeLink) -> None:
    dut.write(b"\r\nna\x00m\re\n%")
    assert dut.read_until_ready() == ["m-name-dut-[tinybench]"]


def test_non_printable_byte_rejects_the_line(dut: PipeLink) -> None:
    dut.write(b"na\x01me%")
    reply = dut.read_until_ready()
    assert reply == ["e-[Non-printable byte 0x01 in command; line discarded]"]


def test_line_cut_off_mid_command_does_not_hang(dut: PipeLink) -> None:
    dut.write("db lo")  # the host dies mid-command; the next '%' ends the fragment
    assert dut.command("") == ["e-[db: no load in progress; send db load N first]"]
    dut.write("infer 1")  # cut off, then a fresh command glued on: one bad line, no hang
    assert dut.command("name") == ["e-[infer: N must be an integer > 0, got '1name']"]
    assert dut.command("name") == ["m-name-dut-[tinybench]"]


def test_commands_split_into_arbitrary_chunks_give_the_same_transcript(
    host_fw: Callable[[str], Path],
) -> None:
    data = bytes(range(256)) * 2
    data = data[:490]
    script = (
        "name%profile%db load 490%"
        + "".join(f"db {data[i : i + 31].hex()}%" for i in range(0, 490, 31))
        + "infer 2 1%results%bogus%db print 8 4%"
    ).encode()

    def run(chunks: list[bytes]) -> list[str]:
        with host_dut(host_fw("kws01")) as link:
            for c in chunks:
                link.write(c)
            lines = []
            while len([x for x in lines if x == "m-ready"]) < 1 + script.count(b"%"):
                lines.append(link.read_line())
            return [
                x
                for x in lines
                if not x.startswith("m-lap-us-") and not x.startswith("m-infer-counter-")
            ]

    whole = run([script])
    rng = random.Random(1234)
    pieces: list[bytes] = []
    i = 0
    while i < len(script):
        n = rng.randint(1, 7)
        pieces.append(script[i : i + n])
        i += n
    assert run(pieces) == whole
    assert run([bytes([b]) for b in script]) == whole
    assert "m-load-done" in whole


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_garbage_then_percent_then_name_is_answered(dut: PipeLink, seed: int) -> None:
    rng = random.Random(seed)
    garbage = bytes(rng.randrange(256) for _ in range(20000))
    i = 0
    while i < len(garbage):
        n = rng.randint(1, 300)
        dut.write(garbage[i : i + n])
        i += n
    dut.write("%name%")
    for _ in range(2000):
        if dut.read_line() == "m-name-dut-[tinybench]":
            break
    else:
        raise AssertionError("name not answered after garbage")
    assert dut.read_line() == "m-ready"
    assert dut.command("name") == ["m-name-dut-[tinybench]"]


# ---- db ----------------------------------------------------------------------


@pytest.mark.parametrize("arg", ["0", str(CAPACITY + 1), "-5", "abc", "12x", "99999999999"])
def test_db_load_with_bad_size_is_rejected(dut: PipeLink, arg: str) -> None:
    assert is_error(dut.command(f"db load {arg}"))
    assert dut.command("db 00")[0].startswith("e-[db: no load")


def test_db_load_missing_size_is_rejected(dut: PipeLink) -> None:
    assert is_error(dut.command("db load"))
    assert is_error(dut.command("db"))


def test_db_load_of_full_capacity_is_accepted(dut: PipeLink) -> None:
    assert dut.command(f"db load {CAPACITY}") == [f"m-[Expecting {CAPACITY} bytes]"]


def test_db_without_load_is_rejected(dut: PipeLink) -> None:
    assert dut.command("db 0011")[0].startswith("e-[db: no load")


@pytest.mark.parametrize("payload", ["abc", "0g", "zz", "0x12", "12-3"])
def test_db_bad_hex_is_rejected_and_invalidates_the_load(dut: PipeLink, payload: str) -> None:
    dut.command("db load 4")
    assert dut.command("db 0102") == []
    assert is_error(dut.command(f"db {payload}"))
    assert dut.command("db 0304")[0].startswith("e-[db: no load")
    assert dut.command("infer 1 0")[0].startswith("e-[infer: no complete db load")


def test_db_more_bytes_than_announced_is_rejected(dut: PipeLink) -> None:
    dut.command("db load 3")
    reply = dut.command("db 01020304")
    assert is_error(reply) and "more bytes" in reply[0]
    assert dut.command("infer 1 0")[0].startswith("e-[")
    # Once complete, any further byte is also an overflow.
    dut.command("db load 2")
    assert dut.command("db 0102") == ["m-load-done"]
    assert is_error(dut.command("db 03"))
    assert dut.command("infer 1 0")[0].startswith("e-[infer: no complete db load")


def test_db_with_two_hex_arguments_is_rejected(dut: PipeLink) -> None:
    dut.command("db load 4")
    assert is_error(dut.command("db 0102 0304"))


def test_db_print_dumps_the_loaded_bytes(dut: PipeLink) -> None:
    data = bytes(range(40))
    hex_upload(dut, data)
    assert dut.command("db print") == ["m-buffer-" + data[:32].hex(), "m-buffer-" + data[32:].hex()]
    assert dut.command("db print 3 5") == ["m-buffer-050607"]
    assert is_error(dut.command("db print 10 35"))
    assert is_error(dut.command("db print x"))


def test_new_db_load_discards_a_partial_load(dut: PipeLink) -> None:
    dut.command("db load 490")
    dut.command("db 0102")
    data = bytes(490)
    hex_upload(dut, data)
    assert dut.command("db print 2") == ["m-buffer-0000"]


# ---- infer -------------------------------------------------------------------


def test_infer_before_any_load_is_rejected(dut: PipeLink) -> None:
    reply = dut.command("infer 1 0")
    assert reply == ["e-[infer: no complete db load (0 of 0 bytes)]"]


def test_infer_after_partial_load_is_rejected(dut: PipeLink) -> None:
    dut.command("db load 490")
    dut.command("db " + "00" * 31)
    assert dut.command("infer 1 0") == ["e-[infer: no complete db load (31 of 490 bytes)]"]


@pytest.mark.parametrize("args", ["0", "-1", "0 0", "1 -1", "x", "1 y", "1.5", "", "1 2 3"])
def test_infer_with_bad_arguments_is_rejected(dut: PipeLink, args: str) -> None:
    hex_upload(dut, bytes(490))
    reply = dut.command(f"infer {args}".strip())
    assert is_error(reply), reply
    assert dut.command("results")[0].startswith("e-[results: no successful inference")


def test_infer_with_wrong_input_size_is_rejected(dut: PipeLink) -> None:
    hex_upload(dut, bytes(100))
    reply = dut.command("infer 1 0")
    assert reply == ["e-[infer: loaded 100 bytes but model kws01 expects 490]"]


def test_mlcommons_runner_sequence(dut: PipeLink) -> None:
    """name, profile, db load, 31-byte hex lines (text then '%'), infer 1 0, parse m-results."""
    spec = SPECS["kws01"]
    data = random_upload(spec, np.random.default_rng(7))
    assert any(re.match(r"^m-(name)-dut-\[([^]]+)]$", x) for x in dut.command("name"))
    prof = dut.command("profile")
    model = next(
        m.group(2)
        for x in prof
        if (m := re.match(r"^m-(model|profile)-\[([^]]+)]$", x)) and m.group(1) == "model"
    )
    assert model == "kws01"
    assert hex_upload(dut, data) == ["m-load-done"]
    reply = dut.command("infer 1 0", timeout=30)
    assert reply[:3] == ["m-warmup-start-0", "m-warmup-done", "m-infer-start-1"]
    laps = [int(x[len("m-lap-us-") :]) for x in reply if x.startswith("m-lap-us-")]
    assert len(laps) == 2 and laps[1] >= laps[0]
    got = parse_results(reply)
    assert got == pytest.approx(expected_results(spec, data), abs=0.00051)


def test_infer_n_w_prints_the_loadgen_sequence_and_right_results(dut: PipeLink) -> None:
    spec = SPECS["kws01"]
    data = random_upload(spec, np.random.default_rng(8))
    hex_upload(dut, data)
    reply = dut.command("infer 3 2")
    kinds = [
        re.sub(r"-?\d+$", "", x) if not x.startswith("m-results") else "m-results" for x in reply
    ]
    assert kinds == [
        "m-warmup-start",
        "m-warmup-done",
        "m-infer-start",
        "m-lap-us",
        "m-lap-us",
        "m-infer-counter",
        "m-infer-done",
        "m-results",
    ]
    assert reply[0] == "m-warmup-start-2" and reply[2] == "m-infer-start-3"
    assert parse_results(reply) == pytest.approx(expected_results(spec, data), abs=0.00051)
    # The default W is 10; results stay right when repeated.
    reply = dut.command("infer 1")
    assert reply[0] == "m-warmup-start-10"
    assert parse_results(dut.command("results")) == pytest.approx(
        expected_results(spec, data), abs=0.00051
    )


@pytest.mark.parametrize("model", ["vww01", "ic01"])
def test_uint8_image_inputs_are_offset_by_128(host_fw: Callable[[str], Path], model: str) -> None:
    spec = SPECS[model]
    data = random_upload(spec, np.random.default_rng(9))
    with host_dut(host_fw(model)) as dut:
        dut.read_until_ready()
        assert dut.command("profile")[1] == f"m-model-[{model}]"
        assert hex_upload(dut, data) == ["m-load-done"]
        got = parse_results(dut.command("infer 1 0"))
    assert got == pytest.approx(expected_results(spec, data), abs=0.00051)


def test_ad01_float_input_is_quantized_half_away_from_zero_and_mse_reported(
    host_fw: Callable[[str], Path],
) -> None:
    from double_model import input_tensor, parse_raw

    spec = SPECS["ad01"]
    rng = np.random.default_rng(10)
    values = rng.uniform(-70.0, 70.0, 640).astype(np.float32)
    # Ties (x / 0.5 = k + 0.5) round away from zero; out-of-range values clamp.
    values[:8] = [0.25, -0.25, 0.75, -0.75, 1000.0, -1000.0, 62.25, -65.75]
    data = values.astype("<f4").tobytes()
    with host_dut(host_fw("ad01")) as dut:
        dut.read_until_ready()
        assert dut.command("info")[0].endswith(",input_format=float32,result=mse]")
        assert hex_upload(dut, data) == ["m-load-done"]
        reply = dut.command("infer 1 0")
        raw = parse_raw(dut.command("results raw"))
    tensor = input_tensor(spec, data)
    assert list(tensor[:8]) == [4, 2, 5, 1, 127, -128, 127, -128]
    assert raw == tensor.tobytes()
    mse = parse_results(reply)
    assert len(mse) == 1
    assert mse[0] == pytest.approx(expected_results(spec, data)[0], abs=0.00051)


def test_format3_of_a_binary_tie_rounds_half_away_from_zero(
    host_fw: Callable[[str], Path],
) -> None:
    # kws01 double: out scale 1/256, zp -128; raw 16-128 = -112 -> 16/256 = 0.0625 -> "0.063".
    from double_model import format3

    assert format3(0.0625) == "0.063"
    data = bytearray(490)
    data[0] = (256 + 16 - 128 + 0) % 256  # class 0 sum = 16 - 128 + 256 -> raw -112
    with host_dut(host_fw("kws01")) as dut:
        dut.read_until_ready()
        hex_upload(dut, bytes(data))
        reply = dut.command("infer 1 0")
    line = next(x for x in reply if x.startswith("m-results-["))
    assert line.startswith("m-results-[0.063,0.500,")


def test_float_format_matches_its_specification_on_random_values(tmp_path: Path) -> None:
    """tb_out_f3 == 3 decimals, half away from zero, for 20k floats incl. ties and specials."""
    import struct
    import subprocess

    from double_model import format3
    from fwbuild import COMMON, FIRMWARE, TEST_C

    exe = tmp_path / "f3"
    subprocess.run(
        [
            "gcc",
            *COMMON,
            f"-I{FIRMWARE / 'include'}",
            f"-I{FIRMWARE / 'harness'}",
            str(TEST_C / "tb_out_f3_check.c"),
            str(FIRMWARE / "harness" / "tb_out.c"),
            str(FIRMWARE / "harness" / "tb_crc32.c"),  # the reply-crc extension
            "-o",
            str(exe),
        ],
        check=True,
    )
    rng = np.random.default_rng(5)
    values = np.concatenate(
        [
            rng.uniform(-2, 2, 8000),
            rng.uniform(-1e6, 1e6, 4000),
            np.exp(rng.uniform(-20, 30, 4000)) * rng.choice([-1, 1], 4000),
            np.arange(-4096, 4096) / 256.0,  # every binary tie of 1/256 steps
            [0.0, -0.0, 0.0005, -0.0005, 0.0004999, -0.0004999, 1e15, -1e15, 9.999e14],
        ]
    ).astype(np.float32)
    specials = [np.float32(x) for x in ("nan", "inf", "-inf")]
    words = [struct.unpack("<I", struct.pack("<f", v))[0] for v in [*values, *specials]]
    out = subprocess.run(
        [str(exe)],
        input="\n".join(f"{w:x}" for w in words),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    want = []
    for v in values:
        want.append(
            "inf"
            if abs(float(v)) >= 1e15 and v > 0
            else "-inf"
            if abs(float(v)) >= 1e15
            else format3(float(v))
        )
    assert out[: len(values)] == want
    assert out[len(values) : len(values) + 3] == ["nan", "inf", "-inf"]


def test_ad01_non_finite_inputs_give_explicit_results(host_fw: Callable[[str], Path]) -> None:
    from double_model import parse_raw

    values = np.zeros(640, dtype=np.float32)
    values[0] = np.float32("nan")
    values[1] = np.float32("inf")
    values[2] = np.float32("-inf")
    with host_dut(host_fw("ad01")) as dut:
        dut.read_until_ready()
        hex_upload(dut, values.astype("<f4").tobytes())
        reply = dut.command("infer 1 0")
        raw = parse_raw(dut.command("results raw"))
    assert list(np.frombuffer(raw[:3], dtype=np.int8)) == [3, 127, -128]  # NaN -> zero point
    assert "m-results-[nan]" in reply  # the MSE against a NaN input


def test_a_model_the_harness_never_heard_of_is_fed_as_its_engine_reports(
    host_fw: Callable[[str], Path],
) -> None:
    # custom01: float32 input with scores, a combination no built-in model has; the harness
    # learns it from tb_engine_model() alone (there is no model table to edit).
    from double_model import input_tensor, parse_raw

    spec = SPECS["custom01"]
    data = random_upload(spec, np.random.default_rng(12))
    with host_dut(host_fw("custom01")) as dut:
        dut.read_until_ready()
        assert dut.command("profile")[1] == "m-model-[custom01]"
        assert dut.command("info")[0].endswith(",input_format=float32,result=scores]")
        # One byte per element (as for an int8 model) is refused: float32 needs 4.
        assert hex_upload(dut, bytes(spec.in_bytes)) == ["m-load-done"]
        assert any("expects 256" in line for line in dut.command("infer 1 0"))
        assert hex_upload(dut, data) == ["m-load-done"]
        reply = dut.command("infer 1 0")
        raw = parse_raw(dut.command("results raw"))
    assert raw == input_tensor(spec, data).tobytes()
    got = parse_results(reply)
    assert len(got) == 64
    assert got == pytest.approx(expected_results(spec, data), abs=0.00051)


@pytest.mark.parametrize(
    ("model", "reported"),
    [("kws01", 7), ("ad01", 0)],  # no such format; an MSE result over an int8 input
)
def test_an_engine_reporting_an_unknown_input_format_is_not_run(
    build_double: Callable[..., Path], model: str, reported: int
) -> None:
    exe = build_double("host", model, (f"TB_DOUBLE_INPUT_FORMAT={reported}",))
    with host_dut(exe) as dut:
        boot = dut.read_until_ready()
        assert "e-[engine init failed: input format or result kind not supported]" in boot, boot
        assert hex_upload(dut, bytes(SPECS[model].in_bytes)) == ["m-load-done"]
        reply = dut.command("infer 1 0")
    assert is_error(reply)
    assert any("engine not ready: model inconsistent" in line for line in reply), reply
