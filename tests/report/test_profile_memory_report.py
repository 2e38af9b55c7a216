"""The report's per-op profile (a run's `profile` block, a `tinybench profile` directory) and its
memory section (the ELF breakdown, sections, largest symbols, stack high-water mark)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tinybench.cli import cli
from tinybench.report import RunDirectoryError, write_report
from tinybench.report.layout import CheckStatus, Section, Table
from tinybench.report.memory import memory_section
from tinybench.report.opprofile import read_profile

from .rundirs import (
    MEMORY_BLOCK,
    PROFILE_OPS,
    profile_block,
    write_json,
    write_performance_run,
    write_profile_dir,
)


def section(sections: tuple[Section, ...], section_id: str) -> Section:
    return next(s for s in sections if s.section_id == section_id)


def table(found: Section, table_id: str) -> Table:
    return next(t for t in found.tables if t.table_id == table_id)


def test_run_report_shows_the_per_op_table_and_its_sum(tmp_path: Path) -> None:
    files = write_report(write_performance_run(tmp_path / "run"))
    profile = section(files.report.sections, "op-profile")
    rows = table(profile, "op-profile").rows
    assert [row[1] for row in rows] == [op[0] for op in PROFILE_OPS]
    total = sum(op[3] for op in PROFILE_OPS)
    # CONV_2D: 180,000 ticks x 40 instructions = 7,200,000; per MAC 7.2e6 / 640,000 = 11.25
    share = f"{100 * 180_000 / total:.1f} %"
    assert rows[0] == ("0", "CONV_2D", "1x25x5x64", "640,000", "7,200,000", "11.25", share)
    assert rows[2][5] == "-"  # pooling has no MACs
    assert f"per-op sum {total:,} ticks against {total + 37:,}" in profile.paragraphs[1]
    assert f"({100 * -37 / (total + 37):+.2f} %)" in profile.paragraphs[1]
    assert [p.plot_id for p in profile.plots] == ["op-profile"]


def test_profile_directory_report_puts_engines_side_by_side(tmp_path: Path) -> None:
    profile_dir = write_profile_dir(tmp_path / "profile")
    result = CliRunner().invoke(cli, ["report", str(profile_dir)])
    assert result.exit_code == 0, result.output
    html = (profile_dir / "report.html").read_text(encoding="utf-8")
    assert "tinybench per-op profile: kws01 on qemu-m4" in html
    assert "native / tflm-cmsis-nn" in html
    files = write_report(profile_dir)
    assert files.report.reference_check.status is CheckStatus.ABSENT
    rows = table(section(files.report.sections, "op-profile"), "op-profile").rows
    # ratio column: native count / tflm count for each op, e.g. 180,000 / 80,000 for CONV_2D
    assert [row[-1] for row in rows] == [f"{n / t:.2f}x" for _, _, _, n, t in PROFILE_OPS]
    assert len(rows[0]) == 4 + 2 * 3 + 1
    markdown = files.markdown.read_text(encoding="utf-8")
    assert "| 0 | CONV_2D | 1x25x5x64 | 640,000 | 7,200,000 | 11.25 |" in markdown
    assert (profile_dir / "report-op-profile.png").is_file()


def test_profile_tables_with_different_op_lists_say_so(tmp_path: Path) -> None:
    profile_dir = write_profile_dir(tmp_path / "profile")
    document = json.loads((profile_dir / "profile.json").read_text())
    document["tables"][1]["ops"] = document["tables"][1]["ops"][:3]
    write_json(profile_dir / "profile.json", document)
    found = section(write_report(profile_dir).report.sections, "op-profile")
    assert any("op lists differ" in p for p in found.paragraphs)
    assert table(found, "op-profile").rows[4][-1] == "-"


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.update(format="something-else"),
        lambda d: d.update(tables=[]),
        lambda d: d["tables"][0]["ops"][0].update(ticks="many"),
    ],
)
def test_malformed_profile_file_is_a_clear_error(tmp_path: Path, change: object) -> None:
    profile_dir = write_profile_dir(tmp_path / "profile")
    document = json.loads((profile_dir / "profile.json").read_text())
    change(document)  # type: ignore[operator]
    write_json(profile_dir / "profile.json", document)
    result = CliRunner().invoke(cli, ["report", str(profile_dir)])
    assert result.exit_code != 0
    assert "profile" in result.output and "Traceback" not in result.output
    with pytest.raises(RunDirectoryError):
        write_report(profile_dir)


def test_a_malformed_profile_block_leaves_the_section_out(tmp_path: Path) -> None:
    run_dir = write_performance_run(tmp_path / "run")
    document = json.loads((run_dir / "results.json").read_text())
    document["profile"]["ops"][1]["count"] = None
    write_json(run_dir / "results.json", document)
    ids = [s.section_id for s in write_report(run_dir).report.sections]
    assert "op-profile" not in ids and "memory" in ids
    assert read_profile(profile_block("native", 3), "x") is not None


def test_memory_section_breaks_flash_and_ram_down() -> None:
    found = memory_section(MEMORY_BLOCK)
    assert found is not None
    rows = table(found, "memory-breakdown").rows
    assert ("flash", "weights", "40,000 B", "58.4 %") in rows  # 40,000 / 68,473
    assert ("RAM", "stack", "8,192 B", "15.8 %") in rows  # 8,192 / 51,728
    assert "stack high-water mark 1,304 B of 8,192 B reserved" in found.paragraphs[0]
    sections = table(found, "memory-sections").rows
    assert (".data", "0x20000000", "400", "both") in sections
    assert table(found, "top-symbols").rows[0] == ("s_db_buf", ".bss", "20,480")
    assert [p.plot_id for p in found.plots] == ["memory-breakdown"]


def test_memory_section_needs_a_breakdown() -> None:
    assert memory_section({"flash_bytes": 1, "ram_bytes": 2, "arena_bytes": 3}) is None
    assert memory_section({"breakdown": {"flash": {"code": "lots"}}}) is None


def test_summary_has_the_stack_high_water_mark(tmp_path: Path) -> None:
    files = write_report(write_performance_run(tmp_path / "run"))
    summary = table(section(files.report.sections, "summary"), "summary").rows
    assert ("stack high-water mark", "1,304 B of 8,192 B reserved") in summary
