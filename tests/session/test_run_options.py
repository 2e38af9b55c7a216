"""Options `tinybench run` must never ignore."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tinybench.cli import cli


@pytest.mark.parametrize(("board", "kind"), [("qemu-m4", "emulated"), ("host", "process")])
def test_port_with_a_board_that_has_no_port_is_an_error(
    tmp_path: Path, board: str, kind: str
) -> None:
    out = tmp_path / "run"
    result = CliRunner().invoke(
        cli, ["run", "kws01", "--board", board, "--port", "/dev/nonexistent", "--out", str(out)]
    )
    assert result.exit_code == 1
    assert "--port names the serial port (or pyserial URL) of a physical board" in result.output
    assert f"{board} is {kind}" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()  # refused before any build or run
