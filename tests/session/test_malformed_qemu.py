"""Malformed traffic against the real firmware under QEMU (kws01, native engine).

Every case ends in `e-[...]` or a clean resync, and the next `name%` is answered:
the DUT never hangs and never needs a reset. One emulator serves all cases, so a
case that left the DUT in a bad state would also fail the ones after it.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from tinybench.build.firmware import FirmwareBuild
from tinybench.dut.emulator import QemuDut
from tinybench.project import Project

from .rawlink import RawLink


@pytest.fixture(scope="module")
def dut(project: Project, qemu_m4_kws01: FirmwareBuild) -> Iterator[RawLink]:
    with QemuDut(project.board("qemu-m4"), qemu_m4_kws01.image, time_limit_s=300) as qemu:
        raw = RawLink(qemu.transport)
        assert raw.until_ready() == ["m-init-done"]
        yield raw


def _name_is_answered(dut: RawLink) -> None:
    assert dut.send(b"name%") == ["m-name-dut-[tinybench]"]


def _single_error(lines: list[str], starts: str) -> None:
    assert len(lines) == 1 and lines[0].startswith(starts), lines


CASES = [
    # (what is sent, the start of the expected single error line)
    (b"db " + b"ab" * 40 + b"%", "e-[Command longer than 80"),
    (b"x" * 5000 + b"%", "e-[Command longer than 80"),
    (b"db load 0%", "e-[db load"),
    (b"db load 27649%", "e-[db load"),
    (b"db load -5%", "e-[db load"),
    (b"db load%", "e-[db load"),
    (b"infer 0 1%", "e-[infer"),
    (b"infer 1 -1%", "e-[infer"),
    (b"infer x%", "e-[infer"),
    (b"name\x01%", "e-[Non-printable byte 0x01"),
]


@pytest.mark.parametrize(("sent", "error"), CASES, ids=[repr(c[0][:20]) for c in CASES])
def test_a_bad_command_gets_one_error_and_the_dut_goes_on(
    dut: RawLink, sent: bytes, error: str
) -> None:
    _single_error(dut.send(sent), error)
    _name_is_answered(dut)


@pytest.mark.parametrize("payload", [b"db abc%", b"db zz%", b"db 0g%"])
def test_bad_hex_is_rejected_and_invalidates_the_load(dut: RawLink, payload: bytes) -> None:
    assert dut.send(b"db load 2%") == ["m-[Expecting 2 bytes]"]
    _single_error(dut.send(payload), "e-[db")
    _single_error(dut.send(b"infer 1 0%"), "e-[infer")
    _name_is_answered(dut)


def test_more_bytes_than_announced_is_rejected(dut: RawLink) -> None:
    assert dut.send(b"db load 2%") == ["m-[Expecting 2 bytes]"]
    _single_error(dut.send(b"db 010203%"), "e-[db")
    _single_error(dut.send(b"infer 1 0%"), "e-[infer")
    _name_is_answered(dut)


def test_infer_after_a_partial_load_is_rejected(dut: RawLink) -> None:
    assert dut.send(b"db load 490%") == ["m-[Expecting 490 bytes]"]
    assert dut.send(b"db " + b"00" * 30 + b"%") == []
    _single_error(dut.send(b"infer 1 0%"), "e-[infer")
    _name_is_answered(dut)


@pytest.mark.parametrize("seed", range(3))
def test_random_bytes_then_a_percent_resynchronize(dut: RawLink, seed: int) -> None:
    garbage = np.random.default_rng(seed).integers(0, 256, 3000, dtype=np.uint8).tobytes()
    dut.link.write(garbage.replace(b"%", b""))
    dut.link.write(b"%")
    lines = dut.until_ready()
    assert all(line.startswith("e-[") for line in lines), lines
    _name_is_answered(dut)


def test_a_line_cut_off_mid_command_ends_in_an_error_or_a_resync(dut: RawLink) -> None:
    dut.link.write(b"db lo")  # the host dies mid-command; a new one sends name%
    lines = dut.send(b"name%")
    assert lines == [] or all(line.startswith("e-[") for line in lines), lines
    _name_is_answered(dut)


def test_a_valid_inference_still_works_after_all_that(dut: RawLink) -> None:
    assert dut.send(b"db load 490%") == ["m-[Expecting 490 bytes]"]
    lines: list[str] = []
    for start in range(0, 980, 76):
        lines += dut.send(b"db " + (b"00" * 490)[start : start + 76] + b"%")
    assert lines == ["m-load-done"]
    reply = dut.send(b"infer 1 0%")
    assert reply[-1].startswith("m-results-[")
