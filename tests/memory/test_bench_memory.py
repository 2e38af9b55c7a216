"""`tinybench bench` rows carry the memory breakdown and the stack's high-water mark."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from tinybench.cli import cli


def test_bench_rows_have_the_breakdown_and_the_stack(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    args = ["bench", "--models", "kws01", "--boards", "qemu-m4", "--engines", "native",
            "--inputs", "1", "--out", str(out)]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    (row,) = json.loads((out / "bench.json").read_text())["rows"]
    flash, ram = row["breakdown"]["flash"], row["breakdown"]["ram"]
    assert sum(flash.values()) == row["flash_bytes"] and sum(ram.values()) == row["ram_bytes"]
    assert ram["arena"] >= row["arena_bytes"] > 0
    assert flash["weights_and_constants"] > flash["engine_code"] > 0
    assert row["stack_bytes"] == 16384 and 0 < row["stack_used_bytes"] < row["stack_bytes"]
    header, _, line = (out / "bench.txt").read_text().splitlines()
    assert header.split()[-6:] == ["weights", "B", "code", "B", "stack", "B"]
    assert line.split()[-3:] == [
        str(flash["weights_and_constants"]),
        str(flash["engine_code"]),
        str(row["stack_used_bytes"]),
    ]
    assert line.split()[-4] == "1/1" and line.split()[-5] == str(row["ram_bytes"])
