"""Python mirror of the TEST DOUBLE engine and of the harness's input formats.

Keep in sync with c/tb_engine_test_double.c (shapes, quantization, input format, result kind,
function). The harness learns the format and the result kind from the engine, so the mirror
decides by those, never by the model id.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DoubleSpec:
    model: str
    input_format: str  # "int8", "uint8-offset128" or "float32" (manifest spelling)
    result_kind: str  # "scores" or "mse"
    in_bytes: int
    in_scale: float
    in_zero_point: int
    out_bytes: int
    out_scale: float
    out_zero_point: int

    @property
    def upload_bytes(self) -> int:
        return self.in_bytes * 4 if self.input_format == "float32" else self.in_bytes


SPECS = {
    "kws01": DoubleSpec("kws01", "int8", "scores", 490, 0.5, -3, 12, 1.0 / 256, -128),
    "vww01": DoubleSpec(
        "vww01", "uint8-offset128", "scores", 27648, 1.0 / 128, 0, 2, 1.0 / 256, -128
    ),
    "ic01": DoubleSpec(
        "ic01", "uint8-offset128", "scores", 3072, 1.0 / 128, 0, 10, 1.0 / 256, -128
    ),
    "ad01": DoubleSpec("ad01", "float32", "mse", 640, 0.5, 3, 640, 0.5, 3),
    "custom01": DoubleSpec("custom01", "float32", "scores", 64, 0.25, -5, 64, 0.25, -5),
}


def quantize_ad01(values: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """clamp(roundf(x / scale) + zp): float32 division, round half away from zero."""
    v = (values.astype(np.float32) / np.float32(scale)).astype(np.float64)
    r = np.sign(v) * np.floor(np.abs(v) + 0.5) + zero_point
    return np.clip(r, -128, 127).astype(np.int8)


def input_tensor(spec: DoubleSpec, upload: bytes) -> np.ndarray:
    """The int8 input tensor the harness builds from the uploaded bytes."""
    if spec.input_format == "int8":
        return np.frombuffer(upload, dtype=np.int8).copy()
    if spec.input_format == "uint8-offset128":
        return (np.frombuffer(upload, dtype=np.uint8).astype(np.int16) - 128).astype(np.int8)
    values = np.frombuffer(upload, dtype="<f4")
    return quantize_ad01(values, spec.in_scale, spec.in_zero_point)


def raw_output(spec: DoubleSpec, tensor: np.ndarray) -> np.ndarray:
    """The test double's int8 output for an int8 input tensor."""
    if spec.in_bytes == spec.out_bytes:
        return tensor.copy()
    u = tensor.view(np.uint8).astype(np.int64)
    sums = [int(u[k :: spec.out_bytes].sum()) % 256 for k in range(spec.out_bytes)]
    return np.array(sums, dtype=np.uint8).view(np.int8)


def dequantize(spec: DoubleSpec, raw: np.ndarray) -> np.ndarray:
    return np.float32(spec.out_scale) * (raw.astype(np.int32) - spec.out_zero_point).astype(
        np.float32
    )


def expected_results(spec: DoubleSpec, upload: bytes) -> list[float]:
    raw = raw_output(spec, input_tensor(spec, upload))
    deq = dequantize(spec, raw)
    if spec.result_kind == "mse":
        x = np.frombuffer(upload, dtype="<f4").astype(np.float64)
        return [float(np.mean((deq.astype(np.float64) - x) ** 2))]
    return [float(v) for v in deq]


def format3(value: float) -> str:
    """The firmware's 3-decimal format: half away from zero on the float64 value."""
    milli = int(abs(value) * 1000.0 + 0.5)
    sign = "-" if value < 0 and abs(value) >= 0.0005 else ""
    return f"{sign}{milli // 1000}.{milli % 1000:03d}"


RESULTS_RE = re.compile(r"^m-results-\[([^]]+)\]$")  # the MLCommons runner's own regex


def parse_results(lines: list[str]) -> list[float]:
    for line in lines:
        m = RESULTS_RE.match(line)
        if m:
            return [float(x) for x in m.group(1).split(",") if x.strip()]
    raise AssertionError(f"no m-results line in {lines}")


def parse_raw(lines: list[str]) -> bytes:
    for line in lines:
        m = re.match(r"^m-results-raw-\[([0-9a-f]*)\]$", line)
        if m:
            return bytes.fromhex(m.group(1))
    raise AssertionError(f"no m-results-raw line in {lines}")


def random_upload(spec: DoubleSpec, rng: np.random.Generator) -> bytes:
    if spec.input_format == "float32":
        return rng.uniform(-70.0, 70.0, spec.in_bytes).astype("<f4").tobytes()
    return rng.integers(0, 256, spec.upload_bytes, dtype=np.uint8).tobytes()


def crc32(data: bytes) -> int:
    return zlib.crc32(data) & 0xFFFFFFFF
