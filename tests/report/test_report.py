"""`tinybench report`: what the HTML and Markdown reports contain."""

from __future__ import annotations

import base64
import json
import re
import struct
from pathlib import Path

from click.testing import CliRunner

from tinybench.cli import cli
from tinybench.report import report_paths, write_report
from tinybench.report.layout import CheckStatus
from tinybench.report.plots import latency_distribution_plot

from .rundirs import (
    write_auc_run,
    write_energy_run,
    write_minimal_run,
    write_performance_run,
    write_top1_run,
)

_IMG = re.compile(r"<img [^>]*data-plot=\"([a-z-]+)\"[^>]*src=\"data:image/png;base64,([^\"]+)\"")


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def embedded_plots(html: str) -> dict[str, bytes]:
    return {m.group(1): base64.b64decode(m.group(2)) for m in _IMG.finditer(html)}


def test_top1_report_has_confusion_and_per_class_plots(tmp_path: Path) -> None:
    files = write_report(write_top1_run(tmp_path / "run"))
    assert files.html == tmp_path / "run" / "report.html"
    assert files.markdown == tmp_path / "run" / "report.md"
    html = files.html.read_text(encoding="utf-8")
    plots = embedded_plots(html)
    assert set(plots) == {"confusion", "per-class-accuracy", "sample-latency"}
    for plot in files.report.plots:
        assert png_size(plots[plot.plot_id]) == (plot.width_px, plot.height_px)
        assert f'width="{plot.width_px}" height="{plot.height_px}"' in html
    assert 'id="plot-confusion"' in html
    # per-class table: class 1 "Go" has 2 samples, 1 correct
    assert "<tr><td>1 Go</td><td>2</td><td>1</td><td>50.00 %</td></tr>" in html
    assert "top-1 80.00 % (8/10)" in html


def test_report_html_is_self_contained(tmp_path: Path) -> None:
    html = write_report(write_top1_run(tmp_path / "run")).html.read_text(encoding="utf-8")
    assert "http://" not in html and "https://" not in html
    assert "<link" not in html
    assert re.search(r"<script[^>]+src=", html) is None
    assert re.search(r"src=\"(?!data:image/png;base64,)", html) is None


def test_reference_check_is_shown_first_and_prominently(tmp_path: Path) -> None:
    files = write_report(write_top1_run(tmp_path / "run"))
    html = files.html.read_text(encoding="utf-8")
    banner = html.index('id="reference-check"')
    assert banner < html.index("<section")
    assert 'data-status="pass"' in html
    assert "Reference check: 10 compared, 0 mismatches" in html
    markdown = files.markdown.read_text(encoding="utf-8")
    assert "> **PASS — Reference check: 10 compared, 0 mismatches**" in markdown


def test_mismatches_turn_the_reference_check_red_and_are_listed(tmp_path: Path) -> None:
    bad = ("tst_000002_Go_1.bin", "tst_000005_Go_1.bin")
    files = write_report(write_top1_run(tmp_path / "run", mismatched=bad))
    check = files.report.reference_check
    assert check.status is CheckStatus.FAIL
    assert check.headline == "Reference check: 10 compared, 2 MISMATCHES"
    assert "tst_000002_Go_1.bin, tst_000005_Go_1.bin" in check.detail
    assert 'data-status="fail"' in files.html.read_text(encoding="utf-8")
    assert "> **FAIL — " in files.markdown.read_text(encoding="utf-8")


def test_markdown_plots_are_png_files_beside_it(tmp_path: Path) -> None:
    files = write_report(write_top1_run(tmp_path / "run"))
    markdown = files.markdown.read_text(encoding="utf-8")
    linked = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown)
    assert linked == [
        "report-confusion.png",
        "report-per-class-accuracy.png",
        "report-sample-latency.png",
    ]
    for name in linked:
        png = files.markdown.parent / name
        assert png_size(png.read_bytes())[0] > 100
    assert "| firmware sha256 | " + "f" * 64 + " |" in markdown


def test_ad01_report_has_a_roc_curve_and_no_confusion_matrix(tmp_path: Path) -> None:
    files = write_report(write_auc_run(tmp_path / "run"))
    plots = embedded_plots(files.html.read_text(encoding="utf-8"))
    assert set(plots) == {"roc", "sample-latency"}
    assert "AUC from samples.jsonl: 0.8333." in files.markdown.read_text(encoding="utf-8")


def test_performance_report_plots_windows_and_distribution(tmp_path: Path) -> None:
    files = write_report(write_performance_run(tmp_path / "run"))
    html = files.html.read_text(encoding="utf-8")
    assert set(embedded_plots(html)) == {
        "latency-windows",
        "latency-distribution",
        "op-profile",
        "memory-breakdown",
    }
    assert "5 windows, compliant with the run rules (each window &gt;= 10 s)" in html
    # window 4: 700 inferences x 15.5 ms
    assert "<td>4</td><td>tst_000003.bin</td><td>700</td><td>10</td><td>10.850 s</td>" in html
    assert "<td>16,400,000</td>" in html


def test_report_without_optional_blocks_still_renders(tmp_path: Path) -> None:
    files = write_report(write_minimal_run(tmp_path / "run"))
    assert files.report.plots == ()
    assert files.report.reference_check.status is CheckStatus.ABSENT
    assert [s.section_id for s in files.report.sections] == ["summary", "provenance"]
    markdown = files.markdown.read_text(encoding="utf-8")
    assert "| median latency | - |" in markdown
    assert "| accuracy | - |" in markdown


def test_report_out_option_takes_an_html_path(tmp_path: Path) -> None:
    run_dir = write_top1_run(tmp_path / "run")
    out = tmp_path / "elsewhere" / "kws.html"
    result = CliRunner().invoke(cli, ["report", str(run_dir), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.is_file() and (tmp_path / "elsewhere" / "kws.md").is_file()
    assert (tmp_path / "elsewhere" / "kws-confusion.png").is_file()
    assert "Reference check: 10 compared, 0 mismatches" in result.output


def test_report_of_a_directory_without_results_is_refused_without_traceback(
    tmp_path: Path,
) -> None:
    (tmp_path / "half").mkdir()
    result = CliRunner().invoke(cli, ["report", str(tmp_path / "half")])
    assert result.exit_code == 1
    assert "no results.json" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "half" / "report.html").exists()


def test_latency_histogram_leaves_out_a_far_tail_and_says_so() -> None:
    latencies = [2.0] * 199 + [50.0]
    plot = latency_distribution_plot(latencies, {"p50": 2.0, "p99": 2.5})
    assert plot.plot_id == "latency-distribution"
    assert "1 slower than 5.000 ms (2 x p99, up to 50.000 ms) are not drawn." in plot.caption
    assert png_size(plot.png) == (plot.width_px, plot.height_px) == (800, 360)


def test_energy_report_has_windows_and_the_trace_plot(tmp_path: Path) -> None:
    files = write_report(write_energy_run(tmp_path / "run"))
    markdown = files.markdown.read_text(encoding="utf-8")
    assert "## Energy" in markdown
    assert "Median energy per inference 1200.0000 uJ, compliant with the run rules." in markdown
    assert "Modelled, not measured: P = 33 mW, a test trace." in markdown
    # window 2: 700 inferences at 1,200 uJ each in 11 s of 1 ms bins
    assert "| 2 | tst_000001.bin | 700 | 11.000 s | 840000.0 uJ | 1200.0000 uJ |" in markdown
    assert [p.plot_id for p in files.report.plots] == ["energy-trace"]


def test_energy_report_without_its_trace_says_so(tmp_path: Path) -> None:
    run_dir = write_energy_run(tmp_path / "run")
    (run_dir / "energy_trace.npz").unlink()
    files = write_report(run_dir)
    assert files.report.plots == ()
    assert "No trace plot: energy_trace.npz is not in the run directory." in (
        files.markdown.read_text(encoding="utf-8")
    )


def test_report_paths_default_to_the_run_directory() -> None:
    assert report_paths(Path("runs/a"), None) == (
        Path("runs/a/report.html"),
        Path("runs/a/report.md"),
    )
    assert report_paths(Path("runs/a"), Path("out/x.html")) == (
        Path("out/x.html"),
        Path("out/x.md"),
    )
    assert report_paths(Path("runs/a"), Path("out")) == (
        Path("out/report.html"),
        Path("out/report.md"),
    )


def test_percentiles_alone_are_drawn_when_latencies_json_is_missing(tmp_path: Path) -> None:
    run_dir = write_performance_run(tmp_path / "run")
    (run_dir / "latencies.json").unlink()
    files = write_report(run_dir)
    distribution = next(p for p in files.report.plots if p.plot_id == "latency-distribution")
    assert distribution.caption.startswith("Latency percentiles from results.json")


def test_values_from_results_json_are_escaped_in_html(tmp_path: Path) -> None:
    run_dir = write_minimal_run(tmp_path / "run")
    document = json.loads((run_dir / "results.json").read_text())
    document["board"] = "<script>alert(1)</script>"
    (run_dir / "results.json").write_text(json.dumps(document))
    html = write_report(run_dir).html.read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
