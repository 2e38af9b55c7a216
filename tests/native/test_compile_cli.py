"""`tinybench compile`: model ids and .tflite paths, and clean errors for bad files."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from tinybench.cli import cli


def test_compile_a_model_id_writes_the_plan(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["compile", "kws01", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "kws01: 13 ops" in result.output
    header = (tmp_path / "tb_native_model.h").read_text()
    assert "aeea436800704fce17b17292e4412630ad856e9d777c044c64ef748a880bd0ae" in header


def test_a_corrupt_file_is_refused_without_a_traceback(tmp_path: Path, shared_dir: Path) -> None:
    data = (shared_dir / "models" / "ic01.tflite").read_bytes()
    bad = tmp_path / "broken.tflite"
    bad.write_bytes(data[: len(data) // 3])
    result = CliRunner().invoke(cli, ["compile", str(bad), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert result.output.startswith("Error: ")
    assert "Traceback" not in result.output
    assert not (tmp_path / "out" / "tb_native_model.c").exists()


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["compile", str(tmp_path / "x.tflite"), "-o", str(tmp_path)])
    assert result.exit_code == 1 and "cannot read" in result.output and "x.tflite" in result.output
