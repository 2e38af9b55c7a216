"""The engine comparison: `tinybench bench` on the real firmware, and its report."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from tinybench.cli import cli
from tinybench.enginebench import model_macs


def test_macs_are_counted_from_the_model(shared_dir: Path) -> None:
    # docs/design.md: kws01 2.66 M, vww01 7.49 M, ic01 12.50 M, ad01 0.26 M
    macs = {m: model_macs((shared_dir / "models" / f"{m}.tflite").read_bytes())
            for m in ("kws01", "vww01", "ic01", "ad01")}  # fmt: skip
    assert macs == {"kws01": 2_656_768, "vww01": 7_489_664, "ic01": 12_501_632, "ad01": 264_192}


def test_bench_measures_the_native_engine_and_reports_it(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    args = ["bench", "--models", "kws01,ad01", "--boards", "qemu-m4", "--engines", "native",
            "--inputs", "2", "--out", str(out)]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    rows = json.loads((out / "bench.json").read_text())["rows"]
    assert [(r["model"], r["board"], r["engine"]) for r in rows] == [
        ("kws01", "qemu-m4", "native"), ("ad01", "qemu-m4", "native")
    ]  # fmt: skip
    for row in rows:
        assert row["reference_matches"] == row["inputs"] == 2
        assert 1.0 < row["instructions_per_mac"] < 20.0
        assert row["arena_bytes"] > 0 and row["flash_bytes"] > row["arena_bytes"]
        assert row["ratio_to_baseline"] is None  # no tflm in this run to compare with
    assert "kws01  qemu-m4   native" in (out / "bench.txt").read_text()
    report = CliRunner().invoke(cli, ["report", str(out)])
    assert report.exit_code == 0, report.output
    html = (out / "report.html").read_text()
    assert 'data-plot="engine-comparison"' in html
    kws = rows[0]
    weights = kws["breakdown"]["flash"]["weights_and_constants"]
    code = kws["breakdown"]["flash"]["engine_code"]
    assert 0 < weights + code < kws["flash_bytes"]
    assert f"<td>{kws['flash_bytes']:,}</td><td>{weights:,}</td><td>{code:,}</td>" in html
    assert f"<td>{kws['ram_bytes']:,}</td><td>{kws['stack_used_bytes']:,}</td>" in html
    assert "Reference check: 4 compared, 0 mismatches" in report.output
