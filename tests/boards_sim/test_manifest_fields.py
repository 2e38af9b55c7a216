"""The board manifest's [usb] and [flash] tables: read typed, refused where they do not belong."""

from __future__ import annotations

from pathlib import Path

import pytest

from foundation.helpers import copy_project_data, edit
from tinybench.errors import ManifestError
from tinybench.manifests.boards import load_board_manifest


def test_the_nucleo_names_its_stlink_ids_and_pyocd_target(repo_root: Path) -> None:
    board = load_board_manifest(repo_root / "boards", "nucleo-l4r5zi")
    assert board.usb is not None and board.flash is not None
    assert board.usb.vid == 0x0483 and board.usb.pids[0] == 0x374B  # V2-1, the MLPerf runner's
    assert 0x374E in board.usb.pids  # a V3 bridge on newer boards
    assert (board.flash.pyocd_target, board.flash.needs_pack) == ("stm32l4r5zitx", True)
    assert load_board_manifest(repo_root / "boards", "qemu-m4").usb is None


@pytest.mark.parametrize(
    ("board", "old", "new", "message"),
    [
        ("nucleo-l4r5zi", "vid = 0x0483", "vid = 0x10483", "16-bit numbers"),
        ("nucleo-l4r5zi", "pid = [0x374B,", "pid = [0x1374B,", "16-bit numbers"),
        ("nucleo-l4r5zi", 'pyocd_target = "stm32l4r5zitx"', "pyocd_target = 3", "pyocd_target"),
        ("nucleo-l4r5zi", 'bridge = "ST-LINK VCP"', 'bridge = "ST-LINK VCP"\nspeed = 1', "speed"),
    ],
)
def test_broken_usb_and_flash_tables_are_refused(
    tmp_path: Path, repo_root: Path, board: str, old: str, new: str, message: str
) -> None:
    root = copy_project_data(repo_root, tmp_path)
    edit(root / "boards" / f"{board}.toml", old, new)
    with pytest.raises(ManifestError, match=message):
        load_board_manifest(root / "boards", board)


def test_usb_and_flash_only_on_physical_boards(tmp_path: Path, repo_root: Path) -> None:
    root = copy_project_data(repo_root, tmp_path)
    path = root / "boards" / "qemu-m4.toml"
    path.write_text(
        path.read_text()
        + '\n[usb]\nvid = 1\npid = [2]\nbridge = "x"\n[flash]\npyocd_target = "mps2_an386"\n'
    )
    with pytest.raises(ManifestError) as err:
        load_board_manifest(root / "boards", "qemu-m4")
    assert "usb: only physical boards have one" in str(err.value)
    assert "flash: only physical boards have one" in str(err.value)
