"""The harness's input hand-off, on the host: the int8 input tensor is built inside the db buffer
(tb_model_input_in_db) and the loaded bytes are given back afterwards (tb_model_restore_db), for
each input format; a float32 load that leaves no room for its tensor is refused (NULL)."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
from fwbuild import COMMON, FIRMWARE, TEST_C

INT8, UINT8_OFFSET, FLOAT32 = 0, 1, 2  # tb_input_format_t of engine.h


@pytest.fixture(scope="module")
def check(tmp_path_factory: pytest.TempPathFactory) -> Path:
    exe = tmp_path_factory.mktemp("input-in-db") / "input_check"
    subprocess.run(
        ["gcc", *COMMON, f"-I{FIRMWARE / 'include'}", f"-I{FIRMWARE / 'harness'}",
         str(TEST_C / "tb_model_input_check.c"), str(FIRMWARE / "harness" / "tb_model.c"),
         "-lm", "-o", str(exe)],
        check=True,
    )  # fmt: skip
    return exe


def _run(
    exe: Path, fmt: int, capacity: int, elements: int, scale: float, zp: int, db: bytes
) -> tuple[int, bytes, bytes]:
    scale_bits = struct.unpack("<I", struct.pack("<f", scale))[0]
    out = subprocess.run(
        [str(exe)],
        input=f"{fmt} {capacity} {elements} {scale_bits:x} {zp}\n{db.hex()}\n",
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    return int(out[0]), bytes.fromhex(out[1]), bytes.fromhex(out[2])


def test_an_int8_load_is_the_tensor(check: Path) -> None:
    db = bytes(range(7, 7 + 49))
    offset, tensor, after = _run(check, INT8, 64, len(db), 0.5, 3, db)
    assert (offset, tensor, after) == (0, db, db)


def test_a_uint8_load_is_converted_in_place_and_given_back(check: Path) -> None:
    db = bytes(np.random.default_rng(1).integers(0, 256, 300, dtype=np.uint8))
    offset, tensor, after = _run(check, UINT8_OFFSET, 320, len(db), 1 / 255, -128, db)
    assert offset == 0
    assert tensor == bytes((v - 128) & 0xFF for v in db)  # value - 128 as int8
    assert after == db


def _quantize(values: np.ndarray, scale: float, zp: int) -> bytes:
    q = np.float32(values) / np.float32(scale)
    rounded = np.sign(q) * np.floor(np.abs(q) + np.float32(0.5))  # roundf: half away from zero
    return np.clip(rounded + zp, -128, 127).astype(np.int8).tobytes()


@pytest.mark.parametrize("elements", [1, 5, 64, 200])
def test_a_float32_load_gets_its_tensor_after_the_floats(check: Path, elements: int) -> None:
    values = np.random.default_rng(elements).normal(0, 3, elements).astype("<f4")
    db = values.tobytes()
    floats_end = -(-4 * elements // 16) * 16
    offset, tensor, after = _run(check, FLOAT32, floats_end + elements, elements, 0.05, -4, db)
    assert offset == floats_end and offset % 16 == 0
    assert tensor == _quantize(values, 0.05, -4)
    assert after == db  # the floats the MSE reads are untouched


def test_a_float32_load_without_room_for_its_tensor_is_refused(check: Path) -> None:
    db = np.arange(10, dtype="<f4").tobytes()
    # 40 bytes of floats end at 48; 48 + 10 tensor bytes need 58.
    offset, tensor, after = _run(check, FLOAT32, 57, 10, 0.1, 0, db)
    assert (offset, tensor, after) == (-1, b"", db)
