"""`tinybench flash`: a fake probe session records what is programmed and fails in each way;
pyOCD's own code answers the probe, target and pack questions it can answer without hardware."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from tinybench.build.firmware import FirmwareBuild
from tinybench.cli import cli
from tinybench.dut.discovery import PortAccess, find_board_port
from tinybench.flash import (
    BoardSilentError,
    FlashError,
    NoProbeError,
    PackMissingError,
    ProbeInfo,
    ProbeSession,
    PyocdBackend,
    flash_board,
)
from tinybench.manifests.boards import BoardManifest
from tinybench.project import Project

from .simboard import SimulatedBus, SimulatedUsbBoard

STLINK = ProbeInfo("066AFF505057717867183541", "STM32 STLink")


@dataclass
class FakeProbeSession:
    log: list[tuple[str, str]]
    fail_program: str | None = None

    def program(self, image: Path) -> None:
        if self.fail_program is not None:
            raise RuntimeError(self.fail_program)  # pyOCD raises its own errors, not ours
        self.log.append(("program", str(image)))

    def reset(self) -> None:
        self.log.append(("reset", ""))


@dataclass
class FakeBackend:
    connected: Sequence[ProbeInfo] = (STLINK,)
    installed: frozenset[str] = frozenset()
    parts: dict[str, list[str]] = field(default_factory=dict)
    fail_program: str | None = None
    log: list[tuple[str, str]] = field(default_factory=list)
    sessions: list[tuple[str, str, Path | None]] = field(default_factory=list)

    def probes(self) -> Sequence[ProbeInfo]:
        return self.connected

    def has_target(self, target: str) -> bool:
        return target in self.installed

    def pack_parts(self, pack: Path) -> Sequence[str]:
        return self.parts[pack.name]

    @contextmanager
    def session(self, probe_id: str, target: str, pack: Path | None) -> Iterator[ProbeSession]:
        self.sessions.append((probe_id, target, pack))
        yield FakeProbeSession(self.log, self.fail_program)


@pytest.fixture
def image(tmp_path: Path) -> Path:
    path = tmp_path / "firmware.elf"
    path.write_bytes(b"\x7fELF" + bytes(60))
    return path


def test_an_installed_target_is_programmed_reset_and_confirmed(
    nucleo: BoardManifest, image: Path
) -> None:
    backend = FakeBackend(installed=frozenset({"stm32l4r5zitx"}))
    report = flash_board(nucleo, image, backend, confirm=lambda: "tinybench")
    assert backend.sessions == [(STLINK.unique_id, "stm32l4r5zitx", None)]
    assert backend.log == [("program", str(image)), ("reset", "")]
    assert (report.target, report.dut_name, report.probe) == ("stm32l4r5zitx", "tinybench", STLINK)
    assert len(report.image_sha256) == 64


def test_a_missing_pack_names_the_part_and_both_ways_to_get_it(
    nucleo: BoardManifest, image: Path
) -> None:
    backend = FakeBackend()
    with pytest.raises(PackMissingError) as err:
        flash_board(nucleo, image, backend, confirm=lambda: "x")
    message = str(err.value)
    assert "stm32l4r5zitx" in message and "pyocd pack install stm32l4r5zitx" in message
    assert "--pack FILE" in message and "Device Family Pack" in message
    assert backend.log == []  # nothing was touched


def test_a_local_pack_is_passed_to_the_session(
    nucleo: BoardManifest, image: Path, tmp_path: Path
) -> None:
    pack = tmp_path / "Keil.STM32L4xx_DFP.2.6.2.pack"
    pack.write_bytes(b"zip")
    backend = FakeBackend(parts={pack.name: ["STM32L4R5ZITx", "STM32L4R9AIIx"]})
    flash_board(nucleo, image, backend, confirm=lambda: "tinybench", pack=pack)
    assert backend.sessions == [(STLINK.unique_id, "stm32l4r5zitx", pack)]


def test_a_pack_of_another_family_is_refused_with_its_parts(
    nucleo: BoardManifest, image: Path, tmp_path: Path
) -> None:
    pack = tmp_path / "Keil.STM32F4xx_DFP.pack"
    pack.write_bytes(b"zip")
    backend = FakeBackend(parts={pack.name: ["STM32F446RETx", "STM32F401RETx"]})
    with pytest.raises(PackMissingError, match=r"describes 2 parts .*STM32F446RETx.*stm32l4r5zitx"):
        flash_board(nucleo, image, backend, confirm=lambda: "x", pack=pack)
    with pytest.raises(PackMissingError, match="no such file"):
        flash_board(nucleo, image, backend, confirm=lambda: "x", pack=tmp_path / "none.pack")


def test_probe_problems_list_what_was_found(nucleo: BoardManifest, image: Path) -> None:
    ready = frozenset({"stm32l4r5zitx"})
    with pytest.raises(NoProbeError, match="no debug probe found"):
        flash_board(nucleo, image, FakeBackend(connected=(), installed=ready), lambda: "x")
    other = ProbeInfo("000440112138", "J-Link OB-SAM3U128")
    two = FakeBackend(connected=(STLINK, other), installed=ready)
    with pytest.raises(NoProbeError, match=r"2 debug probes connected .*000440112138.*--probe"):
        flash_board(nucleo, image, two, lambda: "x")
    with pytest.raises(NoProbeError, match="--probe 999: no probe matches; connected probes: 066"):
        flash_board(nucleo, image, two, lambda: "x", probe_id="999")
    flash_board(nucleo, image, two, lambda: "x", probe_id="0004401")
    assert two.sessions == [(other.unique_id, "stm32l4r5zitx", None)]


def test_a_failed_programming_is_a_flash_error(nucleo: BoardManifest, image: Path) -> None:
    backend = FakeBackend(
        installed=frozenset({"stm32l4r5zitx"}), fail_program="flash erase timeout"
    )
    with pytest.raises(FlashError, match=r"through probe 066AFF.*failed: flash erase timeout"):
        flash_board(nucleo, image, backend, lambda: "x")


def test_a_board_that_stays_silent_after_flashing_is_reported(
    nucleo: BoardManifest,
    image: Path,
    bus: SimulatedBus,
    host_kws01: FirmwareBuild,
) -> None:
    """The confirmation is the real discovery against a simulated board that hangs."""
    board = bus.add(SimulatedUsbBoard(host_kws01.image))
    board.hang()
    access = PortAccess(bus.list_ports, bus.factory)
    backend = FakeBackend(installed=frozenset({"stm32l4r5zitx"}))
    with pytest.raises(BoardSilentError) as err:
        flash_board(nucleo, image, backend, lambda: find_board_port(nucleo, access, answer_s=0.3))
    message = str(err.value)
    assert "was programmed onto nucleo-l4r5zi" in message and "silent at 115200" in message
    assert backend.log == [("program", str(image)), ("reset", "")]


def test_emulated_boards_and_boards_without_flash_table_are_refused(
    project: Project, nucleo: BoardManifest, image: Path
) -> None:
    from dataclasses import replace

    with pytest.raises(FlashError, match="qemu-m4 is emulated"):
        flash_board(project.board("qemu-m4"), image, FakeBackend(), lambda: "x")
    with pytest.raises(FlashError, match="has no \\[flash\\] table"):
        flash_board(replace(nucleo, flash=None), image, FakeBackend(), lambda: "x")


# -- pyOCD's own code, where it needs no hardware ------------------------------------------


def _pack(path: Path, parts: Sequence[str]) -> Path:
    devices = "".join(
        f'<device Dname="{p}"><memory name="IROM1" start="0x08000000" size="0x200000" '
        'access="rx" startup="1" default="1"/></device>'
        for p in parts
    )
    pdsc = (
        '<?xml version="1.0" encoding="UTF-8"?><package schemaVersion="1.7">'
        "<vendor>Test</vendor><name>Test_DFP</name><description>generated</description>"
        '<releases><release version="1.0.0">first</release></releases>'
        '<devices><family Dfamily="Test Series" Dvendor="Test:1">'
        '<processor Dcore="Cortex-M4" DcoreVersion="r0p1" Dfpu="SP_FPU" Dendian="Little-endian"/>'
        f"{devices}</family></devices></package>"
    )
    with zipfile.ZipFile(path, "w") as pack:
        pack.writestr("Test.Test_DFP.pdsc", pdsc)
    return path


def test_pyocd_reads_the_part_names_of_a_pack_file(tmp_path: Path) -> None:
    backend = PyocdBackend()
    pack = _pack(tmp_path / "Test.Test_DFP.1.0.0.pack", ["STM32L4R5ZITx", "STM32L4R7ZITx"])
    assert sorted(backend.pack_parts(pack)) == ["STM32L4R5ZITx", "STM32L4R7ZITx"]
    broken = tmp_path / "broken.pack"
    broken.write_bytes(b"not a zip")
    with pytest.raises(PackMissingError, match="is not a readable CMSIS pack"):
        backend.pack_parts(broken)


def test_pyocd_knows_builtin_targets_but_not_the_l4r5_without_its_pack() -> None:
    backend = PyocdBackend()
    assert backend.has_target("nrf52840")  # built into pyOCD
    assert not backend.has_target("stm32l4r5zitx")  # needs the STM32L4xx DFP (BOARDS.md 7)


def test_the_flash_command_reports_the_missing_pack_through_pyocd(image: Path) -> None:
    """With no pack installed here, pyOCD's real answer stops the command before any probe."""
    result = CliRunner().invoke(cli, ["flash", "--board", "nucleo-l4r5zi", "--image", str(image)])
    assert result.exit_code == 1, result.output
    assert "pyocd pack install stm32l4r5zitx" in result.output
    assert "Traceback" not in result.output


def test_the_flash_command_with_a_pack_and_no_probe_says_so(image: Path, tmp_path: Path) -> None:
    pack = _pack(tmp_path / "Keil.STM32L4xx_DFP.pack", ["STM32L4R5ZITx"])
    result = CliRunner().invoke(
        cli, ["flash", "--board", "nucleo-l4r5zi", "--image", str(image), "--pack", str(pack)]
    )
    assert result.exit_code == 1, result.output
    assert "no debug probe found" in result.output


def test_a_pyocd_session_with_an_absent_probe_is_a_no_probe_error() -> None:
    """ConnectHelper.session_with_chosen_probe itself finds no such probe here."""
    with (
        pytest.raises(NoProbeError, match="probe 066AFF went away"),
        PyocdBackend().session("066AFF", "nrf52840", None),
    ):
        pass
