"""The `batch` extension's files: the inputs the host writes, the records the firmware writes.

`batch IN OUT COUNT N W` (firmware/harness/tb_cmd_batch.c) runs `infer N W` on each of the
COUNT inputs of file IN, exactly as `db file` then `infer N W` would, and appends one record
per input to file OUT through the port's file writes (semihosting under QEMU). The link
carries only `m-batch-[count=...,ticks=...]`. This module reads those records back into
what the per-sample path reads from the UART: the m-lap-us pair, the m-infer-counter value,
the raw output (`results raw`) and the `m-results` floats, formatted as the firmware's
3-decimal printing would have formatted them.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

import numpy as np

from tinybench.errors import ProtocolError

RECORD_HEADER = struct.Struct("<IIQQQfifI")  # index, raw_bytes, laps, ticks, scale, zp, mse, flags
FLAG_MSE = 1


@dataclass(frozen=True)
class BatchRecord:
    index: int  # the input's position in the batch
    lap_us: tuple[int, int]  # the two m-lap-us values around the timed loop
    counter_ticks: int  # the m-infer-counter value
    raw_output: bytes  # the output tensor's int8 bytes (`results raw`)
    results: tuple[float, ...]  # the `m-results` floats, as printed

    @property
    def elapsed_us(self) -> int:
        return self.lap_us[1] - self.lap_us[0]


def printed_f3(value: float) -> float:
    """A float as the firmware's tb_out_f3 prints it (rounded half up on |v| * 1000, in double
    precision, "-" only when the rounded value is not zero), read back as the session reads it.
    """
    if math.isnan(value):
        return math.nan
    magnitude = abs(value)
    if magnitude >= 1e15:
        return -math.inf if value < 0 and magnitude >= 0.0005 else math.inf
    milli = int(magnitude * 1000.0 + 0.5)
    text = f"{milli // 1000}.{milli % 1000:03d}"
    return float(("-" if value < 0 and magnitude >= 0.0005 else "") + text)


def _results(
    raw: bytes, scale: float, zero_point: int, mse: float, is_mse: bool
) -> tuple[float, ...]:
    if is_mse:
        return (printed_f3(mse),)
    # The firmware's float32 arithmetic: scale * (float)(raw - zero_point).
    offsets = np.frombuffer(raw, dtype=np.int8).astype(np.int32) - zero_point
    values = np.float32(scale) * offsets.astype(np.float32)
    return tuple(printed_f3(float(v)) for v in values.astype(np.float32))


def parse_records(data: bytes, count: int, output_bytes: int) -> list[BatchRecord]:
    """The COUNT records of a finished batch; anything else in the file is a ProtocolError."""
    records: list[BatchRecord] = []
    offset = 0
    for expected_index in range(count):
        if offset + RECORD_HEADER.size > len(data):
            raise ProtocolError(
                f"batch output: {len(data)} bytes hold {expected_index} of {count} records"
            )
        index, raw_bytes, lap0, lap1, ticks, scale, zero_point, mse, flags = (
            RECORD_HEADER.unpack_from(data, offset)
        )
        offset += RECORD_HEADER.size
        if index != expected_index or raw_bytes != output_bytes:
            raise ProtocolError(
                f"batch output: record {expected_index} says input {index} with {raw_bytes} "
                f"output bytes (expected {output_bytes})"
            )
        raw = data[offset : offset + raw_bytes]
        if len(raw) != raw_bytes:
            raise ProtocolError(f"batch output: record {index} is cut short")
        offset += raw_bytes
        results = _results(raw, scale, zero_point, mse, bool(flags & FLAG_MSE))
        records.append(BatchRecord(index, (lap0, lap1), ticks, raw, results))
    if offset != len(data):
        raise ProtocolError(f"batch output: {len(data) - offset} bytes after {count} records")
    return records
