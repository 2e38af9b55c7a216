"""What the device does to the bytes a runner sends before they reach the input tensor.

The host reference must feed the interpreter exactly the int8 tensor the
firmware builds, so this mirrors the firmware's conversion: int8 as is, uint8
minus 128, float32 quantized with C `round()` (half away from zero) and clamped.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from tinybench.errors import TinybenchError
from tinybench.manifests.models import InputFormat, ModelManifest

Int8Array = npt.NDArray[np.int8]


def wire_to_tensor(manifest: ModelManifest, wire: bytes) -> Int8Array:
    """Turns one inference's wire bytes into the model's int8 input tensor."""
    if len(wire) != manifest.wire_bytes:
        raise TinybenchError(
            f"{manifest.model_id}: input of {len(wire)} bytes, expected {manifest.wire_bytes}"
        )
    shape = manifest.input.shape
    fmt = manifest.input_format
    if fmt is InputFormat.INT8:
        return np.frombuffer(wire, dtype=np.int8).reshape(shape).copy()
    if fmt is InputFormat.UINT8_OFFSET:
        values = np.frombuffer(wire, dtype=np.uint8).astype(np.int16) - 128
        return values.astype(np.int8).reshape(shape)
    floats = np.frombuffer(wire, dtype="<f4")
    # The quotient in float32 like the device's `x / scale`; the rounding in float64, where
    # adding 0.5 is exact (in float32, 0.49999997 + 0.5 would round up to 1.0; C round() gives 0).
    scaled = (floats / np.float32(manifest.input.scale)).astype(np.float64)
    rounded = np.where(scaled >= 0, np.floor(scaled + 0.5), np.ceil(scaled - 0.5))
    quantized = np.clip(rounded + manifest.input.zero_point, -128, 127)
    result: Int8Array = quantized.astype(np.int8).reshape(shape)
    return result


def random_wire_inputs(manifest: ModelManifest, count: int, seed: int) -> list[bytes]:
    """Seeded random inputs in the runner's wire format, spanning the input's real range."""
    rng = np.random.default_rng(seed)
    n = manifest.input.elements
    result: list[bytes] = []
    for _ in range(count):
        fmt = manifest.input_format
        if fmt is InputFormat.INT8:
            result.append(rng.integers(-128, 128, n, dtype=np.int16).astype(np.int8).tobytes())
        elif fmt is InputFormat.UINT8_OFFSET:
            result.append(rng.integers(0, 256, n, dtype=np.int16).astype(np.uint8).tobytes())
        else:
            spec = manifest.input
            low = (-128 - spec.zero_point) * spec.scale
            high = (127 - spec.zero_point) * spec.scale
            result.append(rng.uniform(low, high, n).astype("<f4").tobytes())
    return result
