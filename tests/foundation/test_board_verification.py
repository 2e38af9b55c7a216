"""How far each board is verified ([verification] status), and which -serial is its console
(the emulator's serial_index): both typed in boards/*.toml and shown by `tinybench boards`."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tinybench.cli import cli
from tinybench.errors import ManifestError
from tinybench.manifests.boards import (
    BoardKind,
    VerificationStatus,
    load_board_manifest,
    load_board_manifests,
)

from .helpers import copy_project_data, edit


def test_every_board_s_verification_matches_its_kind(repo_root: Path) -> None:
    boards = load_board_manifests(repo_root / "boards")
    for board in boards.values():
        if board.kind is BoardKind.EMULATED:
            assert board.verification is VerificationStatus.QEMU, board.board_id
        elif board.kind is BoardKind.PHYSICAL:
            # Nothing here has run on silicon: no physical board may claim more than a build.
            assert board.verification is VerificationStatus.BUILD_ONLY, board.board_id
        else:
            assert board.verification is VerificationStatus.HOST
    assert boards["host"].verification_note == ""


def test_a_physical_board_cannot_claim_qemu_verification(tmp_path: Path, repo_root: Path) -> None:
    root = copy_project_data(repo_root, tmp_path)
    edit(root / "boards" / "nucleo-l4r5zi.toml", 'status = "build-only"', 'status = "qemu"')
    with pytest.raises(ManifestError, match=r"verification.status: a physical board can be"):
        load_board_manifest(root / "boards", "nucleo-l4r5zi")


def test_an_unknown_verification_status_is_refused(tmp_path: Path, repo_root: Path) -> None:
    root = copy_project_data(repo_root, tmp_path)
    path = root / "boards" / "qemu-m4.toml"
    path.write_text(path.read_text() + '\n[verification]\nstatus = "tested"\n')
    with pytest.raises(ManifestError, match=r"verification.status: must be one of qemu"):
        load_board_manifest(root / "boards", "qemu-m4")


def test_the_console_uart_gets_the_serial_index_th_serial_option(
    tmp_path: Path, repo_root: Path
) -> None:
    m4 = load_board_manifest(repo_root / "boards", "qemu-m4").emulator
    assert m4 is not None and m4.serial_index == 0 and not m4.rx_drops_until_enabled
    stm32f4 = load_board_manifest(repo_root / "boards", "qemu-stm32f4").emulator
    assert stm32f4 is not None and stm32f4.serial_index == 1 and stm32f4.rx_drops_until_enabled
    assert stm32f4.serial_args("tcp:x") == ("-serial", "null", "-serial", "tcp:x")
    assert m4.serial_args("tcp:x") == ("-serial", "tcp:x")
    root = copy_project_data(repo_root, tmp_path)
    edit(root / "boards" / "qemu-m4.toml", "icount_shift = 0", "icount_shift = 0\nserial_index = 2")
    emulator = load_board_manifest(root / "boards", "qemu-m4").emulator
    assert emulator is not None
    assert emulator.serial_args("tcp:x") == (
        "-serial",
        "null",
        "-serial",
        "null",
        "-serial",
        "tcp:x",
    )


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("icount_shift = 0", "icount_shift = 0\nserial_index = -1", "must be >= 0"),
        ('"-semihosting"]', '"-semihosting", "-serial", "stdio"]', "must not set -serial"),
    ],
)
def test_a_wrong_serial_setting_is_refused(
    tmp_path: Path, repo_root: Path, old: str, new: str, message: str
) -> None:
    root = copy_project_data(repo_root, tmp_path)
    edit(root / "boards" / "qemu-m4.toml", old, new)
    with pytest.raises(ManifestError, match=message):
        load_board_manifest(root / "boards", "qemu-m4")


def test_the_boards_listing_says_how_each_board_is_verified(repo_root: Path) -> None:
    result = CliRunner().invoke(cli, ["boards"])
    assert result.exit_code == 0, result.output
    blocks = {b.split("  ", 1)[0]: b for b in result.output.split("\n") if b and b[0] != " "}
    assert set(blocks) == set(load_board_manifests(repo_root / "boards"))
    lines = result.output.splitlines()
    for board_id, board in load_board_manifests(repo_root / "boards").items():
        start = next(i for i, line in enumerate(lines) if line.startswith(board_id + "  "))
        assert lines[start + 2].startswith(f"  verified: {board.verification.value}"), board_id
    l4 = next(i for i, line in enumerate(lines) if line.startswith("nucleo-l4r5zi  "))
    assert "  timestamp pin PF13, active low" in lines[l4 : l4 + 10]
