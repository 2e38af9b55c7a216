"""Firmware energy mode (`build_firmware(..., timestamp_mode="energy")`): every real-board port
and qemu-m4 build in it with the manifest's hold time and the run rules' DUT baud; on qemu-m4
the DUT boots saying so, `timestamp` prints nothing on UART0, and each timestamp edge is told on
UART1 as `tb-mark <edge> <counter>` with the exact counter, whose deltas match the counter of a
performance-mode `infer`."""

from __future__ import annotations

import random
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from session.rawlink import RawLink
from tinybench.build.boardgen import board_header
from tinybench.build.firmware import build_firmware
from tinybench.dut.emulator import QemuDut
from tinybench.dut.transport.base import Transport
from tinybench.errors import TinybenchError
from tinybench.manifests.boards import parse_board_manifest
from tinybench.paths import locate
from tinybench.project import Project

REAL_BOARDS = (
    "nucleo-l4r5zi",
    "nucleo-f446re",
    "nucleo-h7a3zi",
    "nucleo-u575zi",
    "nucleo-g071rb",
    "nrf52840dk",
)
BANNER = b"m-timestamp-mode-energy"
MARKER = re.compile(r"^tb-mark (\d+) (\d+)$")
HEX_BYTES_PER_LINE = 38  # `db ` + 76 hex digits stays within the 80-character line


@pytest.fixture(scope="module")
def project() -> Project:
    return Project(locate())


def _header_defines(image: Path, board_id: str) -> dict[str, str]:
    """The generated board header the image was compiled with (build/boards/<board>/)."""
    root = image.parents[4]  # build/pio/<dir>/<env>/firmware.elf -> the project root
    header = (root / "build" / "boards" / board_id / "tb_board_config.h").read_text()
    return dict(re.findall(r"^#define (TB_BOARD_\w+) (.+)$", header, re.MULTILINE))


@pytest.mark.parametrize("board_id", (*REAL_BOARDS, "qemu-m4"))
def test_every_port_builds_in_energy_mode_with_the_manifest_constants(
    project: Project, board_id: str
) -> None:
    board = project.board(board_id)
    build = build_firmware(project, board_id, "native", "kws01", timestamp_mode="energy")
    assert build.image.name == "firmware.elf"
    assert build.image.parent.parent.name.endswith("-energy")  # a build directory of its own
    elf = build.image.read_bytes()
    assert BANNER in elf
    assert b"m-lap-us-" not in elf  # energy mode's timestamp prints nothing
    defines = _header_defines(build.image, board_id)
    hold_us = board.timestamp.hold_us if board.timestamp is not None else 50
    assert defines["TB_BOARD_TIMESTAMP_HOLD_US"] == f"{hold_us}u"
    assert defines["TB_BOARD_UART_ENERGY_BAUD"] == f"{project.rules().energy.dut_baud}u"
    assert project.rules().energy.dut_baud == 9600
    if board.timestamp is not None and board.timestamp.pin.startswith("P") and board.port != "nrf5":
        assert "TB_BOARD_TIMESTAMP_PIN" in defines  # the STM32 pin the pulse drives
    if board_id == "qemu-m4":
        assert b"tb-mark " in elf


def test_an_unknown_timestamp_mode_is_refused(project: Project) -> None:
    with pytest.raises(TinybenchError, match="unknown timestamp mode 'power'"):
        build_firmware(project, "qemu-m4", "native", "kws01", timestamp_mode="power")


def test_only_the_cmsdk_port_offers_markers(project: Project) -> None:
    image = Path("/nonexistent.elf")
    with pytest.raises(TinybenchError, match="writes no energy markers"):
        QemuDut(project.board("qemu-stm32f4"), image, energy_markers=True)


# --- qemu-m4 in energy mode -----------------------------------------------------------------


class MarkerReader:
    """The UART1 marker lines, parsed as they arrive."""

    def __init__(self, link: Transport) -> None:
        self.link = link
        self.buffer = b""

    def take(self, count: int, timeout_s: float = 10.0) -> list[tuple[int, int]]:
        """Exactly `count` markers (edge index, counter): fails when fewer come in time."""
        found: list[tuple[int, int]] = []
        deadline = time.monotonic() + timeout_s
        while len(found) < count and time.monotonic() < deadline:
            while b"\n" in self.buffer and len(found) < count:
                raw, self.buffer = self.buffer.split(b"\n", 1)
                match = MARKER.match(raw.decode())
                assert match is not None, f"not a marker line: {raw!r}"
                found.append((int(match.group(1)), int(match.group(2))))
            if len(found) < count:
                self.buffer += self.link.read(0.1)
        assert len(found) == count, f"{len(found)} markers of {count}: {found}"
        return found

    def quiet(self, wait_s: float = 0.5) -> bytes:
        """What arrives within wait_s (nothing, when no edge happened)."""
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            self.buffer += self.link.read(0.1)
        return self.buffer


def _input() -> bytes:
    return random.Random(13).randbytes(490)  # a kws01 input: 49 x 10 int8


def _load(raw: RawLink, data: bytes) -> None:
    assert raw.send(f"db load {len(data)}%".encode()) == [f"m-[Expecting {len(data)} bytes]"]
    for i in range(0, len(data), HEX_BYTES_PER_LINE):
        raw.send(f"db {data[i : i + HEX_BYTES_PER_LINE].hex()}%".encode())


def _counter(lines: list[str]) -> int:
    values = [int(line.rsplit("-", 1)[1]) for line in lines if line.startswith("m-infer-counter-")]
    assert len(values) == 1, lines
    return values[0]


@pytest.fixture(scope="module")
def energy_image(project: Project) -> Path:
    return build_firmware(project, "qemu-m4", "native", "kws01", timestamp_mode="energy").image


Marker = tuple[int, int]  # (edge index, counter ticks)


@dataclass(frozen=True)
class EnergyBoot:
    """What one boot of the energy image showed on UART0 and UART1."""

    banner: list[str]
    boot: list[Marker]
    timestamp_lines: list[str]
    timestamp: list[Marker]
    infer_lines: list[str]
    infer: list[Marker]


def _energy_session(project: Project, image: Path) -> EnergyBoot:
    """One boot: its banner and boot marker, `timestamp` and its marker, `infer 5 1` and its
    two markers; nothing else arrives on UART1."""
    with QemuDut(project.board("qemu-m4"), image, time_limit_s=300, energy_markers=True) as dut:
        assert dut.marker_transport is not None
        raw = RawLink(dut.transport)
        markers = MarkerReader(dut.marker_transport)
        banner = raw.until_ready()
        boot = markers.take(1)
        assert markers.quiet() == b""  # nothing more without an edge
        timestamp_lines = raw.send(b"timestamp%")
        after_timestamp = markers.take(1)
        _load(raw, _input())
        assert markers.quiet(0.1) == b""  # db commands make no edge
        infer_lines = raw.send(b"infer 5 1%")
        infer_markers = markers.take(2)
        assert markers.quiet() == b""
        return EnergyBoot(
            banner, boot, timestamp_lines, after_timestamp, infer_lines, infer_markers
        )


@pytest.fixture(scope="module")
def two_boots(project: Project, energy_image: Path) -> list[EnergyBoot]:
    return [_energy_session(project, energy_image) for _ in range(2)]


def test_the_energy_banner_and_a_silent_timestamp_with_a_marker(
    two_boots: list[EnergyBoot],
) -> None:
    boot = two_boots[0]
    assert boot.banner == ["m-timestamp-mode-energy", "m-init-done"]
    assert boot.timestamp_lines == []  # only m-ready on UART0
    ((edge0, count0),) = boot.boot
    ((edge1, count1),) = boot.timestamp
    assert (edge0, edge1) == (0, 1)
    assert count1 > count0
    assert "m-infer-start-5" in boot.infer_lines and "m-infer-done" in boot.infer_lines
    assert not any(line.startswith("m-lap-us") for line in boot.infer_lines)


def test_infer_gives_two_markers_whose_delta_is_the_performance_count(
    project: Project, two_boots: list[EnergyBoot]
) -> None:
    perf_image = build_firmware(project, "qemu-m4", "native", "kws01").image
    with QemuDut(project.board("qemu-m4"), perf_image, time_limit_s=300) as dut:
        raw = RawLink(dut.transport)
        banner = raw.until_ready()
        assert banner == ["m-init-done"]  # performance mode: the banner of before
        _load(raw, _input())
        per_inference = _counter(raw.send(b"infer 1 0%"))
    for boot in two_boots:
        (start_edge, start), (end_edge, end) = boot.infer
        assert (start_edge, end_edge) == (2, 3)
        delta = (end - start) / 5
        assert abs(delta - per_inference) / per_inference < 0.01, (delta, per_inference)
    # Deterministic: the boot edge and the window's delta are the same in both boots (the
    # counter's absolute value at later edges includes the idle time waiting for the host).
    first, second = two_boots
    assert first.boot == second.boot
    assert first.infer[1][1] - first.infer[0][1] == second.infer[1][1] - second.infer[0][1]


# --- the manifest's hold time ---------------------------------------------------------------


def _with_timestamp(tmp_path: Path, repo_root: Path, hold_line: str) -> Path:
    text = (repo_root / "boards" / "nucleo-l4r5zi.toml").read_text()
    text = re.sub(r"^hold_us = .*\n", hold_line, text, flags=re.MULTILINE)
    path = tmp_path / "nucleo-l4r5zi.toml"
    path.write_text(text)
    return path


def test_the_hold_time_reaches_the_header_and_defaults_to_50(
    tmp_path: Path, repo_root: Path
) -> None:
    board = parse_board_manifest(_with_timestamp(tmp_path, repo_root, "hold_us = 7\n"))
    assert board.timestamp is not None and board.timestamp.hold_us == 7
    assert "#define TB_BOARD_TIMESTAMP_HOLD_US 7u" in board_header(board, 9600)
    default = parse_board_manifest(_with_timestamp(tmp_path, repo_root, ""))
    assert default.timestamp is not None and default.timestamp.hold_us == 50


def test_a_hold_time_below_one_microsecond_is_refused(tmp_path: Path, repo_root: Path) -> None:
    with pytest.raises(TinybenchError, match=r"hold_us.*must be >= 1, got 0"):
        parse_board_manifest(_with_timestamp(tmp_path, repo_root, "hold_us = 0\n"))


def test_the_energy_baud_is_generated_only_for_energy_builds() -> None:
    board = Project(locate()).board("nucleo-f446re")
    header = board_header(board, 9600)
    energy = header.index("#ifdef TB_TIMESTAMP_MODE_ENERGY")
    assert "#define TB_BOARD_UART_ENERGY_BAUD 9600u" in header
    assert header.index("#define TB_BOARD_UART_BAUD 115200u") > energy  # the #else branch
    assert '#error "no energy-mode baud' in board_header(board)  # no rules: energy refused


def test_the_host_port_speaks_energy_mode_too(project: Project) -> None:
    """No pin and no marker UART on the host: the banner says the mode, timestamp is silent."""
    image = build_firmware(project, "host", "native", "kws01", timestamp_mode="energy").image
    done = subprocess.run(
        [str(image)], input=b"timestamp%exit%", capture_output=True, timeout=60, check=False
    )
    lines = done.stdout.decode().split("\r\n")
    assert lines == [
        "m-timestamp-mode-energy",
        "m-init-done",
        "m-ready",
        "m-ready",  # timestamp: nothing before its m-ready
        "m-exit-0",
        "",
    ]


@pytest.mark.parametrize("board_id", ("qemu-m7", "qemu-m33", "qemu-m55"))
def test_the_other_cmsdk_boards_write_the_boot_marker_on_the_next_uart(
    project: Project, board_id: str
) -> None:
    """UART1 is UART0's base + 0x1000 on every MPS2/MPS3 image the cmsdk port runs on."""
    image = build_firmware(project, board_id, "native", "kws01", timestamp_mode="energy").image
    with QemuDut(project.board(board_id), image, time_limit_s=120, energy_markers=True) as dut:
        assert dut.marker_transport is not None
        assert RawLink(dut.transport).until_ready() == ["m-timestamp-mode-energy", "m-init-done"]
        ((edge, ticks),) = MarkerReader(dut.marker_transport).take(1)
        assert edge == 0 and ticks > 0
