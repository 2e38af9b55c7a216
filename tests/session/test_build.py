"""`tinybench build`: offline PlatformIO, cached model plans, no-op rebuilds, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tinybench.build.firmware import FirmwareBuild, build_firmware
from tinybench.build.pio import TOOL_SCONS_VERSION, Pio
from tinybench.cli import cli
from tinybench.elfsize import image_size
from tinybench.errors import TinybenchError
from tinybench.project import Project


def test_a_rebuild_with_nothing_changed_touches_nothing(
    project: Project, host_kws01: FirmwareBuild
) -> None:
    watched = [host_kws01.image, *sorted(host_kws01.plan_dir.iterdir())]
    before = {p: p.stat().st_mtime_ns for p in watched}
    again = build_firmware(project, "host", "native", "kws01")
    assert again.image == host_kws01.image
    assert {p: p.stat().st_mtime_ns for p in watched} == before


def test_the_cli_prints_the_image_path(host_kws01: FirmwareBuild) -> None:
    result = CliRunner().invoke(cli, ["build", "--board", "host", "--model", "kws01"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(host_kws01.image)


def test_the_local_tool_scons_package_keeps_platformio_off_its_registry(repo_root: Path) -> None:
    pio = Pio.for_project(repo_root)
    pio.ensure_core()
    package = pio.core_dir / "packages" / "tool-scons"
    meta = json.loads((package / ".piopm").read_text())
    assert meta["spec"]["owner"] == "platformio" and meta["version"] == TOOL_SCONS_VERSION
    assert json.loads((package / "package.json").read_text())["version"] == "4.41101.0"
    assert "SCons.Script.main()" in (package / "scons.py").read_text()
    env = pio.environ({})
    assert env["PLATFORMIO_SETTING_ENABLE_TELEMETRY"] == "No"
    assert env["PLATFORMIO_DISABLE_UPGRADE_CHECK"] == "true"
    assert env["PLATFORMIO_CORE_DIR"] == str(repo_root / ".pio-core")


def test_the_arm_image_sizes_come_from_its_program_headers(qemu_m4_kws01: FirmwareBuild) -> None:
    size = image_size(qemu_m4_kws01.image)
    # Flash holds at least the model's weights; RAM at least the arena and the 27,648-byte buffer.
    assert size.flash_bytes > 40_000
    assert size.ram_bytes >= qemu_m4_kws01.arena_bytes + 27_648


@pytest.mark.parametrize(
    ("board", "engine", "model", "message"),
    [
        ("host", "tflm", "kws01", "no firmware environment host-tflm"),
        ("qemu-m4", "cmsis", "kws01", "unknown engine 'cmsis'"),
        ("qemu-m9", "native", "kws01", "unknown board 'qemu-m9'"),
        ("qemu-m4", "native", "kws02", "unknown model 'kws02'"),
    ],
)
def test_impossible_builds_are_refused_clearly(
    project: Project, board: str, engine: str, model: str, message: str
) -> None:
    with pytest.raises(TinybenchError, match=message):
        build_firmware(project, board, engine, model)
