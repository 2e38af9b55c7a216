"""`run --flash` on a physical board without --port: build, flash, find the port, run.

The board is a simulated USB board running the host firmware, so the build step hands back
that firmware (the image a real nucleo-l4r5zi would get is built by its own port), and the
probe is a fake that records what it programmed. Flash check, discovery and the run itself
go through the real code and pyserial.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tinybench import runner
from tinybench.build.firmware import FirmwareBuild
from tinybench.cli import cli
from tinybench.dut.discovery import PortAccess
from tinybench.flash import FlashRequest, PackMissingError
from tinybench.manifests.boards import BoardManifest
from tinybench.project import Project
from tinybench.runner import RunRequest, run_benchmark

from .simboard import SimulatedBus, SimulatedUsbBoard
from .test_flash import FakeBackend


def test_run_flash_finds_the_board_and_scores_it(
    project: Project,
    nucleo: BoardManifest,
    host_kws01: FirmwareBuild,
    bus: SimulatedBus,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    board = bus.add(SimulatedUsbBoard(host_kws01.image, reset_on="dtr"))
    real_board = Project.board

    def board_of(self: Project, board_id: str) -> BoardManifest:
        return nucleo if board_id == "nucleo-l4r5zi" else real_board(self, board_id)

    monkeypatch.setattr(Project, "board", board_of)
    built: list[tuple[Any, ...]] = []

    def build(*args: Any) -> FirmwareBuild:
        built.append(args[1:3])
        return host_kws01

    monkeypatch.setattr(runner, "build_firmware", build)
    backend = FakeBackend(installed=frozenset({"stm32l4r5zitx"}))
    request = RunRequest(
        "kws01", "nucleo-l4r5zi", "native", "accuracy", None, 5, tmp_path / "run", None,
        flash=FlashRequest(),
    )  # fmt: skip
    outcome = run_benchmark(project, request, access=PortAccess(bus.list_ports, bus.factory),
                            flasher=backend)  # fmt: skip
    assert built == [("nucleo-l4r5zi", "native")]
    assert backend.log == [("program", str(host_kws01.image)), ("reset", "")]
    document = outcome.document
    assert document["accuracy"]["total"] == 5
    assert document["reference_check"]["compared"] == 5
    assert document["reference_check"]["mismatches"] == 0
    assert board.resets == 0  # no open (check after flashing, discovery, run) reset it
    assert board.opens == 3
    assert "m-name-dut-[tinybench]" in (outcome.run_dir / "transcript.txt").read_text()


def test_flash_on_an_emulated_board_is_refused_before_building(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["run", "kws01", "--board", "qemu-m4", "--flash", "--out", str(tmp_path / "r")]
    )
    assert result.exit_code == 1
    assert "--flash programs a physical board; qemu-m4 is emulated" in result.output
    assert not (tmp_path / "r").exists()


def test_probe_without_flash_is_refused() -> None:
    result = CliRunner().invoke(cli, ["run", "kws01", "--board", "qemu-m4", "--probe", "066A"])
    assert result.exit_code == 1 and "add --flash" in result.output


def test_run_flash_without_the_pack_stops_before_the_build(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[object] = []
    monkeypatch.setattr(runner, "build_firmware", lambda *args: built.append(args))
    request = RunRequest(
        "kws01", "nucleo-l4r5zi", "native", "accuracy", None, 5, tmp_path / "run", None,
        flash=FlashRequest(),
    )  # fmt: skip
    with pytest.raises(PackMissingError, match="pyocd pack install stm32l4r5zitx"):
        run_benchmark(project, request, flasher=FakeBackend())
    assert built == []


def test_flash_with_resume_is_refused(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    result = CliRunner().invoke(
        cli,
        ["run", "kws01", "--board", "nucleo-l4r5zi", "--flash", "--resume", str(tmp_path / "run")],
    )
    assert result.exit_code == 1 and "then --resume without --flash" in result.output
