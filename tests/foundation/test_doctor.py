"""`tinybench doctor`: every check reported, required gaps fail the command."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from tinybench.cli import cli


def test_doctor_lists_toolchain_emulator_packages_and_models() -> None:
    result = CliRunner().invoke(cli, ["doctor"])
    assert result.exit_code == 0, result.output
    for name in ("arm-none-eabi-gcc", "newlib", "qemu-system-arm", "tflite-micro", "platformio",
                 "model kws01", "model ad01", "dataset kws01", "git (deps patch)"):  # fmt: skip
        assert any(
            line.startswith(name) and "  ok  " in line for line in result.output.splitlines()
        )


def test_missing_models_are_named_with_the_fix_and_fail(tmp_path: Path) -> None:
    env = {"TINYBENCH_SHARED_DIR": str(tmp_path / "none"), "TINYBENCH_CACHE_DIR": str(tmp_path)}
    result = CliRunner().invoke(cli, ["doctor"], env=env)
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.startswith("model kws01")]
    assert len(lines) == 1 and "MISSING" in lines[0] and "put kws01.tflite" in lines[0]
    assert "optional, missing" in result.output  # the tflm sources and the dataset


def test_a_dut_name_is_shown_capped() -> None:
    """A broken DUT may answer name% with kilobytes: doctor shows the first 64 characters."""
    from tinybench.doctor import SHOWN_NAME_CHARS, _shown

    assert _shown("tinybench") == "'tinybench'"
    shown = _shown("x" * 5000)
    assert shown == repr("x" * SHOWN_NAME_CHARS) + "... (5000 characters)"
    assert _shown(None) == "none"
