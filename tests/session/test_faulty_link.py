"""The fault-injecting link on its own: its SPEC syntax, what each fault does to the bytes, and
that a seed reproduces the same faults however the traffic is cut into pieces."""

from __future__ import annotations

import random
import time

import pytest

from tinybench.dut.transport.fake import FakeTransport
from tinybench.dut.transport.faulty import (
    FaultInjector,
    FaultyTransport,
    parse_fault_spec,
)
from tinybench.errors import TinybenchError, TransportError

TRAFFIC = bytes(random.Random(5).randrange(256) for _ in range(20000))


def test_spec_reads_every_key() -> None:
    spec = parse_fault_spec("drop=0.01,dup=0.02,flip=0.03,insert=0.04,stall=0.5s@0.1,close=0.2,"
                            "dir=rx,seed=7,silence=2s")  # fmt: skip
    assert spec.rates == {"drop": 0.01, "dup": 0.02, "flip": 0.03, "insert": 0.04}
    assert (spec.stall_s, spec.stall_rate, spec.close_rate) == (0.5, 0.1, 0.2)
    assert (spec.directions, spec.seed, spec.silence_s) == (("rx",), 7, 2.0)
    assert parse_fault_spec("seed=3").directions == ("tx", "rx")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("drop", "not KEY=VALUE"),
        ("drop=", "not KEY=VALUE"),
        ("drop=x", "not a number"),
        ("flip=1.5", "within 0..1"),
        ("drop=0.6,flip=0.6", "add up to over 1"),
        ("stall=0.5", "SECONDS@RATE"),
        ("stall=-1@0.1", "within 0..600 s"),
        ("seed=-1", "whole number"),
        ("dir=up", "tx, rx or both"),
        ("drop=0.1,drop=0.2", "given twice"),
        ("jitter=0.1", "unknown key 'jitter'"),
    ],
)
def test_bad_specs_are_clear_errors(text: str, message: str) -> None:
    with pytest.raises(TinybenchError, match=message):
        parse_fault_spec(text)


def _damage_in_pieces(spec: str, sizes: list[int]) -> tuple[bytes, dict[str, int]]:
    injector = FaultInjector(parse_fault_spec(spec))
    out, start = bytearray(), 0
    for size in sizes:
        out += injector.damage(TRAFFIC[start : start + size], "rx")
        start += size
    out += injector.damage(TRAFFIC[start:], "rx")
    return bytes(out), injector.injected


def test_a_seed_gives_the_same_faults_whatever_the_pieces() -> None:
    spec = "drop=0.01,dup=0.01,flip=0.01,insert=0.01,seed=11"
    whole, counts = _damage_in_pieces(spec, [])
    pieces, piece_counts = _damage_in_pieces(spec, [1, 7, 300, 2, 5000, 64])
    assert whole == pieces and counts == piece_counts
    assert all(counts[kind] > 100 for kind in ("drop", "dup", "flip", "insert"))
    other, _ = _damage_in_pieces(spec.replace("seed=11", "seed=12"), [])
    assert other != whole


def test_each_byte_fault_does_what_it_says() -> None:
    data = bytes(range(256))
    assert FaultInjector(parse_fault_spec("drop=1")).damage(data, "tx") == b""
    doubled = FaultInjector(parse_fault_spec("dup=1")).damage(data, "tx")
    assert doubled == bytes(b for byte in data for b in (byte, byte))
    flipped = FaultInjector(parse_fault_spec("flip=1")).damage(data, "tx")
    assert [bin(a ^ b).count("1") for a, b in zip(data, flipped, strict=True)] == [1] * 256
    inserted = FaultInjector(parse_fault_spec("insert=1")).damage(data, "tx")
    assert len(inserted) == 512 and inserted[1::2] == data


def test_rates_are_per_byte() -> None:
    injector = FaultInjector(parse_fault_spec("drop=0.05,seed=2"))
    out = injector.damage(TRAFFIC, "tx")
    assert injector.injected["drop"] == len(TRAFFIC) - len(out)
    assert 0.04 * len(TRAFFIC) < injector.injected["drop"] < 0.06 * len(TRAFFIC)


def test_dir_limits_the_damage_to_one_direction() -> None:
    injector = FaultInjector(parse_fault_spec("flip=1,dir=tx"))
    assert injector.damage(b"abc", "rx") == b"abc"
    assert injector.damage(b"abc", "tx") != b"abc"


def test_the_link_damages_writes_and_reads() -> None:
    inner = FakeTransport(lambda data: data)  # an echo
    link = FaultyTransport(inner, FaultInjector(parse_fault_spec("dup=1,dir=tx")))
    link.write(b"ab")
    assert inner.writes == [b"aabb"]
    assert link.read(0.1) == b"aabb"  # rx undamaged
    assert "faults injected: dup=1,dir=tx" in link.description


def test_close_ends_the_link_for_good() -> None:
    inner = FakeTransport(lambda data: data)
    injector = FaultInjector(parse_fault_spec("close=1"))
    link = FaultyTransport(inner, injector)
    with pytest.raises(TransportError, match="closed by fault injection"):
        link.write(b"name%")
    assert inner.closed and inner.writes == [] and injector.injected["close"] == 1
    with pytest.raises(TransportError):
        link.read(0.1)


def test_stall_holds_a_read_back() -> None:
    inner = FakeTransport(lambda data: data)
    injector = FaultInjector(parse_fault_spec("stall=0.05s@1"))
    link = FaultyTransport(inner, injector)
    link.write(b"x")
    start = time.monotonic()
    assert link.read(0.1) == b"x"
    assert time.monotonic() - start >= 0.05 and injector.injected["stall"] == 1
    assert link.read(0.0) == b"" and injector.injected["stall"] == 1  # nothing read: no stall
