"""The `batch` record file read back (tinybench.dut.batch), on records built here."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from tinybench.dut.batch import FLAG_MSE, RECORD_HEADER, parse_records, printed_f3
from tinybench.errors import ProtocolError


def record(index: int, raw: bytes, laps: tuple[int, int] = (100, 16300), ticks: int = 405158,
           scale: float = 0.00390625, zero_point: int = -128, mse: float = 0.0,
           flags: int = 0) -> bytes:  # fmt: skip
    header = RECORD_HEADER.pack(index, len(raw), *laps, ticks, scale, zero_point, mse, flags)
    return header + raw


def test_records_give_laps_ticks_raw_output_and_printed_scores() -> None:
    raws = [bytes([0x80] * 7 + [0x7F] + [0x80] * 4), bytes(range(0x80, 0x8C))]
    data = b"".join(record(i, raw, ticks=1000 + i) for i, raw in enumerate(raws))
    first, second = parse_records(data, 2, 12)
    assert first.raw_output == raws[0] and second.raw_output == raws[1]
    assert first.lap_us == (100, 16300) and first.elapsed_us == 16200
    assert (first.counter_ticks, second.counter_ticks) == (1000, 1001)
    # scale 1/256, zero point -128: 0x7f (127) -> 255/256 = 0.99609375 prints 0.996
    assert first.results == (0.0,) * 7 + (0.996,) + (0.0,) * 4
    assert second.results[11] == round(11 / 256, 3)


def test_an_mse_record_gives_its_mse_as_printed() -> None:
    data = record(0, bytes(4), mse=0.123456, flags=FLAG_MSE)
    assert parse_records(data, 1, 4)[0].results == (0.123,)


@pytest.mark.parametrize(
    ("value", "printed"),
    [(0.0005, 0.001), (0.00049, 0.0), (-0.0004, 0.0), (-0.0006, -0.001), (2.5, 2.5),
     (123.4566, 123.457), (123.4565, 123.456)],
)  # fmt: skip
def test_printed_f3_rounds_like_the_firmware(value: float, printed: float) -> None:
    assert printed_f3(float(np.float32(value))) == printed


def test_the_scores_use_float32_arithmetic_like_the_firmware() -> None:
    scale = float(np.float32(0.1))
    raw = bytes([5])  # 0.1f * 133.0f in float32, then printed
    expected = printed_f3(float(np.float32(scale) * np.float32(133)))
    assert parse_records(record(0, raw, scale=scale), 1, 1)[0].results == (expected,)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (record(0, bytes(12)), "hold 1 of 2 records"),
        (record(0, bytes(12)) + record(2, bytes(12)), "says input 2"),
        (record(0, bytes(12)) + record(1, bytes(11)), "output bytes"),
        (record(0, bytes(12)) + record(1, bytes(12))[:-1], "cut short"),
        (record(0, bytes(12)) + record(1, bytes(12)) + b"x", "1 bytes after 2 records"),
    ],
)
def test_a_record_file_that_does_not_hold_exactly_the_batch_is_refused(
    data: bytes, message: str
) -> None:
    with pytest.raises(ProtocolError, match=message):
        parse_records(data, 2, 12)


def test_the_header_is_48_bytes_as_the_firmware_writes_it() -> None:
    assert RECORD_HEADER.size == 48 == struct.calcsize("<IIQQQfifI")
