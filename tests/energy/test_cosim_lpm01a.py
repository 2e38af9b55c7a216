"""The co-simulated LPM01A: a CosimMonitor's bins and edges in the LPM01A's ascii_dec stream.

The stream is read back here by a small parser of this test's own (DDDD±EE values, event and
TimeStamp lines), so that the bridge is checked against the wire format, not against a driver.
"""

from __future__ import annotations

import re
import threading
import time

import pytest

from tinybench.energy.cosim import CosimMonitor
from tinybench.energy.cosim_lpm01a import (
    AsciiDecEncoder,
    Lpm01aCosimTransport,
    format_ascii_dec,
    quantize_ascii_dec,
)
from tinybench.errors import TransportError

from .test_cosim import (
    BOOT_TICKS,
    COUNTER_HZ,
    MODEL,
    PER_TICK,
    WINDOWS,
    ScriptedMarkers,
    five_window_ticks,
    marker_lines,
    model_energy_j,
)

# The MLCommons runner's sequence up to `start` (ENERGY.md).
SETUP = (
    "htc",
    'lcd 1 "MLPerf Tiny"',
    'lcd 2 "     monitor    "',
    "pwr off",
    "acqtime inf",
    "trigdelay 0",
    "trigsrc sw",
    "eventsrc d7 fal",
    "output energy",
    "format ascii_dec",
    "freq 1k",
    "volt 1800m",
    'lcd 2 "           1.8V "',
    "pwr on nostatus",
    "start",
)
VALUE = re.compile(r"^(\d{4})([+-]\d{2})$")


def bridge_over(
    chunks: list[bytes], settle_s: float = 0.1, quiet_s: float = 0.0
) -> Lpm01aCosimTransport:
    """A bridge over scripted markers; quiet_s 0 streams the settle bins at the first read."""
    monitor = CosimMonitor(ScriptedMarkers(chunks), COUNTER_HZ, PER_TICK, MODEL)
    return Lpm01aCosimTransport(monitor, settle_s=settle_s, quiet_s=quiet_s)


def command(bridge: Lpm01aCosimTransport, line: str) -> list[str]:
    bridge.write(line.encode("ascii") + b"\r\n")
    return bridge.read(0.0).decode("ascii").splitlines()


class StreamReading:
    """What a reader of the stream sees: values, events at sample positions, TimeStamp lines."""

    def __init__(self) -> None:
        self.values: list[float] = []
        self.events: list[tuple[str, int]] = []  # (NN, samples before it)
        self.timestamps: list[tuple[str, int]] = []
        self.other: list[str] = []

    def feed(self, text: str) -> None:
        for line in text.splitlines():
            if match := VALUE.match(line):
                self.values.append(int(match[1]) * 10.0 ** int(match[2]))
            elif line.startswith("event "):
                self.events.append((line, len(self.values)))
            elif line.startswith("TimeStamp: "):
                self.timestamps.append((line, len(self.values)))
            elif line:
                self.other.append(line)

    def between(self, first_event: int, second_event: int) -> float:
        start, end = self.events[first_event][1], self.events[second_event][1]
        return sum(self.values[start:end])


def read_stream(bridge: Lpm01aCosimTransport, reads: int) -> StreamReading:
    reading = StreamReading()
    for _ in range(reads):
        reading.feed(bridge.read(0.0).decode("ascii"))
    return reading


def test_values_are_printed_as_the_lpm01a_prints_them() -> None:
    assert format_ascii_dec(*quantize_ascii_dec(640.9e-6)) == "6409-07"
    assert format_ascii_dec(*quantize_ascii_dec(3.278e-5)) == "3278-08"
    assert format_ascii_dec(*quantize_ascii_dec(1.05e-4)) == "1050-07"
    assert format_ascii_dec(*quantize_ascii_dec(9.99996e-4)) == "1000-06"
    assert format_ascii_dec(*quantize_ascii_dec(1.0)) == "1000-03"
    assert format_ascii_dec(*quantize_ascii_dec(12.5)) == "1250-02"
    assert format_ascii_dec(*quantize_ascii_dec(0.0)) == "0000+00"


def test_the_encoder_carries_rounding_so_sums_stay_exact() -> None:
    value = 1.07345e-4  # four digits alone print 1073-07: 3.8e-4 low on every bin
    assert quantize_ascii_dec(value) == (1073, -7)
    encoder = AsciiDecEncoder()
    printed = [encoder.line(value) for _ in range(10_000)]
    total = sum(int(p[:4]) * 10.0 ** int(p[4:]) for p in printed)
    assert total == pytest.approx(value * 10_000, rel=1e-7)
    assert set(printed) == {"1073-07", "1074-07"}


def test_the_runner_sequence_is_acknowledged_command_by_command() -> None:
    bridge = bridge_over([])
    for line in SETUP:
        assert command(bridge, line) == [f"ack {line}"]


@pytest.mark.parametrize(
    ("line", "detail"),
    [
        ("format bin_hexa", "streams ascii_dec only"),
        ("output current", "streams energy only"),
        ("freq 5k", "bins are 1000 Hz"),
    ],
)
def test_settings_the_cosimulation_cannot_follow_are_refused(line: str, detail: str) -> None:
    replies = command(bridge_over([]), line)
    assert len(replies) == 2
    assert replies[0] == f"error {line}"
    assert replies[1].startswith("Error detail: the co-simulat")
    assert detail in replies[1]


def test_five_windows_stream_with_their_model_energy_between_events() -> None:
    bridge = bridge_over([marker_lines(five_window_ticks())])
    for line in SETUP[:-1]:
        command(bridge, line)
    bridge.write(b"start\r\n")
    reading = read_stream(bridge, 3)
    assert reading.other == ["ack start"]
    assert [e[0] for e in reading.events] == [f"event {k:02d} ris" for k in range(11)]
    assert reading.events[0][1] == 0
    for i, window in enumerate(WINDOWS):
        assert reading.between(1 + 2 * i, 2 + 2 * i) == pytest.approx(
            model_energy_j(window), rel=1e-7
        )
    # the settle bins after the last edge, then the stream waits for the next marker
    assert len(reading.values) == reading.events[-1][1] + 100
    # a TimeStamp line after every 1000 samples, with the time of the samples before it
    assert len(reading.timestamps) == len(reading.values) // 1000
    assert reading.timestamps[0] == ("TimeStamp: 001s 000ms, buff 00%", 1000)
    assert reading.timestamps[11] == ("TimeStamp: 012s 000ms, buff 00%", 12_000)
    replies = command(bridge, "stop")
    assert replies == ["ack stop", "Acquisition completed"]


def test_markers_arriving_one_by_one_stream_the_same_window_energies() -> None:
    # gaps between windows longer than the 100 ms of settle bins streamed after each edge
    ticks = [BOOT_TICKS]
    gaps = (50_000_017, 3_333_333, 7_777_777, 2_600_001, 40_000_001)
    for gap, window in zip(gaps, WINDOWS, strict=True):
        ticks += [ticks[-1] + gap, ticks[-1] + gap + window]
    chunks = [f"tb-mark {i} {t}\n".encode() for i, t in enumerate(ticks)]
    bridge = bridge_over(chunks)
    bridge.write(b"start\r\n")
    reading = read_stream(bridge, len(chunks) + 2)
    assert len(reading.events) == 11
    for i, window in enumerate(WINDOWS):
        assert reading.between(1 + 2 * i, 2 + 2 * i) == pytest.approx(
            model_energy_j(window), rel=1e-7
        )
    assert bridge.faults == []


def test_an_edge_inside_the_streamed_settle_bins_is_late_and_said_so() -> None:
    # the gap before window 1 is 20 ms, shorter than the 100 ms already streamed after edge 0
    ticks = [0, 500_000, 500_000 + 262_500_000]
    chunks = [f"tb-mark {i} {t}\n".encode() for i, t in enumerate(ticks)]
    bridge = bridge_over(chunks)
    bridge.write(b"start\r\n")
    reading = read_stream(bridge, 4)
    assert [position for _, position in reading.events] == [0, 100, 10_520]
    assert reading.between(1, 2) == pytest.approx(1.1025, rel=1e-7)  # 10.5 s at 105 mW
    assert len(bridge.faults) == 1
    assert bridge.faults[0].startswith("edge 1 came 80 bin(s) after its place was streamed")


def test_after_a_late_last_edge_the_settle_bins_follow_where_its_event_went_out() -> None:
    # edge 1 belongs at bin 20, inside the 100 settle bins already streamed after edge 0: a
    # reader waiting for 100 bins after that event must get them
    chunks = [b"tb-mark 0 0\n", b"tb-mark 1 500000\n"]
    bridge = bridge_over(chunks)
    bridge.write(b"start\r\n")
    reading = read_stream(bridge, 4)
    assert [position for _, position in reading.events] == [0, 100]
    assert len(reading.values) == 200
    assert len(bridge.faults) == 1


def test_settle_bins_wait_for_quiet_so_the_edges_of_a_short_infer_are_in_place() -> None:
    # one kws01 inference: 16.4 ms of virtual time between the edges, which arrive a few ms
    # apart in wall time; with quiet_s the first edge's settle bins wait, so none is late
    ticks = [0, 50_000_000, 50_000_000 + 410_000]
    chunks = [f"tb-mark {i} {t}\n".encode() for i, t in enumerate(ticks)]
    bridge = bridge_over(chunks, quiet_s=0.2)
    bridge.write(b"start\r\n")
    reading = read_stream(bridge, 4)  # the markers arrive, no quiet yet: no settle bins
    assert [position for _, position in reading.events] == [0, 2000, 2016]
    assert len(reading.values) == 2016
    time.sleep(0.25)
    reading.feed(bridge.read(0.0).decode("ascii"))
    assert len(reading.values) == 2016 + 100
    assert reading.between(1, 2) == pytest.approx(
        MODEL.energy_j(410_000 / COUNTER_HZ, 410_000 * PER_TICK), rel=1e-6
    )
    assert bridge.faults == []


def test_the_same_markers_give_the_same_bytes() -> None:
    streams = []
    for _ in range(2):
        bridge = bridge_over([marker_lines(five_window_ticks())])
        bridge.write(b"start\r\n")
        streams.append(bridge.read(0.0) + bridge.read(0.0))
    assert streams[0] == streams[1]
    assert len(streams[0]) > 300_000


def test_nothing_streams_before_start_and_a_read_waits_its_timeout() -> None:
    bridge = bridge_over([marker_lines([0, 25_000_000])])
    assert bridge.read(0.02) == b""
    bridge.write(b"start\r\n")
    reading = read_stream(bridge, 2)
    assert reading.other == ["ack start"]
    assert len(reading.values) == 1000 + 100


def test_a_closed_bridge_refuses_reads_and_writes() -> None:
    bridge = bridge_over([])
    bridge.close()
    with pytest.raises(TransportError, match="closed"):
        bridge.read(0.0)
    with pytest.raises(TransportError, match="closed"):
        bridge.write(b"start\r\n")


@pytest.mark.parametrize("value", [1.07345e-4, 1.05e-4, 9.9996e-4, 3.2781e-5, 0.25])
def test_a_long_run_prints_what_line_by_line_carrying_prints_in_sum(value: float) -> None:
    # after an odd first value, so the run starts with a residual
    one_by_one, vectorised = AsciiDecEncoder(), AsciiDecEncoder()
    first = [one_by_one.line(1.2345678e-4)]
    assert vectorised.lines(1.2345678e-4, 1) == first
    slow = first + [one_by_one.line(value) for _ in range(5000)]
    fast = first + vectorised.lines(value, 5000)
    assert len(fast) == len(slow) == 5001

    def printed(lines: list[str]) -> float:
        return sum(int(p[:4]) * 10.0 ** int(p[4:]) for p in lines)

    assert printed(fast) == pytest.approx(
        printed(slow), abs=2 * 10.0 ** quantize_ascii_dec(value)[1]
    )
    assert printed(fast) == pytest.approx(1.2345678e-4 + 5000 * value, rel=1e-7)
    assert all(VALUE.match(line) for line in fast)


def test_a_reader_thread_and_a_writer_thread_lose_nothing() -> None:
    # e1's LPM01A driver reads from a thread of its own while it sends commands
    stream = marker_lines(five_window_ticks())
    bridge = bridge_over([stream[i : i + 40] for i in range(0, len(stream), 40)])
    received: list[bytes] = []
    done = threading.Event()

    def reader() -> None:
        while not done.is_set():
            received.append(bridge.read(0.001))

    thread = threading.Thread(target=reader)
    thread.start()
    bridge.write(b"start\r\n")
    for i in range(200):
        bridge.write(f'lcd 1 "{i}"\r\n'.encode())
    time.sleep(0.05)
    done.set()
    thread.join()
    reading = StreamReading()
    reading.feed(b"".join(received).decode("ascii"))
    assert reading.other == ["ack start", *(f'ack lcd 1 "{i}"' for i in range(200))]
    assert len(reading.events) == 11
    assert len(reading.values) == reading.events[-1][1] + 100
    assert reading.between(3, 4) == pytest.approx(model_energy_j(WINDOWS[1]), rel=1e-7)
