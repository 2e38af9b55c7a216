"""`tinybench compare`: run directories side by side."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from tinybench.cli import cli
from tinybench.compare import compare_runs, format_comparison

from .rundirs import write_auc_run, write_minimal_run, write_performance_run, write_top1_run


def test_compare_shows_each_runs_values_and_dashes_for_missing(tmp_path: Path) -> None:
    dirs = [
        write_top1_run(tmp_path / "top1"),
        write_auc_run(tmp_path / "ad01"),
        write_performance_run(tmp_path / "perf"),
        write_minimal_run(tmp_path / "bare"),
    ]
    comparison = compare_runs(dirs)
    assert comparison.run_names == ("top1", "ad01", "perf", "bare")
    expected = {
        "model": ("kws01", "ad01", "kws01", "vww01"),
        "engine": ("native", "native", "native", "tflm"),
        "mode": ("accuracy", "accuracy", "performance", "accuracy"),
        "accuracy": ("top-1 80.00 % (8/10)", "AUC 0.8333 (5 clips)", "-", "-"),
        "mismatches": ("0 of 10", "0 of 5", "0 of 5", "-"),
        "median latency": ("2.450 ms", "-", "16.200 ms", "-"),
        "throughput": ("408.163 inf./s", "-", "61.728 inf./s", "-"),
        "instructions/inference": ("-", "-", "16,400,000", "-"),
        "arena": ("16,496 B", "16,496 B", "16,496 B", "-"),
        "flash": ("68,473 B", "68,473 B", "68,473 B", "-"),
        "RAM": ("51,728 B", "51,728 B", "51,728 B", "-"),
    }
    for field, values in expected.items():
        assert tuple(comparison.value(field, i) for i in range(4)) == values, field


def test_compare_text_columns_are_aligned(tmp_path: Path) -> None:
    dirs = [write_top1_run(tmp_path / "a-long-run-name"), write_minimal_run(tmp_path / "b")]
    lines = format_comparison(compare_runs(dirs)).splitlines()
    assert len({len(line) for line in lines}) == 1  # every row as wide as the header
    rule = lines[1]
    spans = [m.span() for m in re.finditer(r"-+", rule)]
    cells = [[line[a:b] for a, b in spans] for line in lines]
    assert [c.strip() for c in cells[0]] == ["", "a-long-run-name", "b"]
    rows = {c[0].strip(): [v.strip() for v in c[1:]] for c in cells[2:]}
    assert rows["model"] == ["kws01", "vww01"]
    assert rows["accuracy"] == ["top-1 80.00 % (8/10)", "-"]
    assert rows["arena"] == ["16,496 B", "-"]
    for c in cells[2:]:
        assert c[0] == c[0].rstrip().ljust(len(c[0]))  # field names left-aligned
        assert all(v == v.strip().rjust(len(v)) for v in c[1:])  # values right-aligned
        assert all(v.strip() for v in c[1:])  # nothing spills out of its column


def test_compare_cli_prints_the_table_and_refuses_a_non_run(tmp_path: Path) -> None:
    run_dir = write_performance_run(tmp_path / "perf")
    ok = CliRunner().invoke(cli, ["compare", str(run_dir)])
    assert ok.exit_code == 0, ok.output
    assert "16.200 ms" in ok.output
    (tmp_path / "empty").mkdir()
    refused = CliRunner().invoke(cli, ["compare", str(run_dir), str(tmp_path / "empty")])
    assert refused.exit_code == 1
    assert "no results.json" in refused.output and "Traceback" not in refused.output
