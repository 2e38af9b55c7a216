"""A hostile external DUT on socket:// (the real protocol): markup in its name, `../` paths,
control characters and a 1 MB line in its profile, NaN/Inf results. The run ends cleanly and
unscored, results.json stays strict JSON of bounded size, and its reports are harmless text,
checked in headless Chromium (a script that ran would mark the page).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tinybench.dut.protocol import parse_floats
from tinybench.dut.session import Timeouts
from tinybench.errors import ProtocolError
from tinybench.external.worker import ExternalDutFailure
from tinybench.project import Project
from tinybench.report import write_report
from tinybench.runner import RunRequest, run_benchmark
from tinybench.untrusted import MESSAGE_CHARS, PROFILE_LINE_CHARS, printable

from .faulty_dut import Faults, FaultyDut

QUICK = Timeouts(boot_s=1.5, command_s=2.0, infer_s=2.0)

# Each would mark the page (data-pwned on <body>) if a browser ran it.
SCRIPT_NAME = "<script>document.body.dataset.pwned='script'</script>"
IMG_LINE = "m-logo-[<img src=x onerror=\"document.body.dataset.pwned='img'\">]"
LINK_LINE = "m-help-[[click](javascript:document.body.dataset.pwned='link')]"
PATH_LINE = "m-file-[../../../../tmp/tinybench-hostile-pwned]"
CONTROL_LINE = "m-colour-[\x1b[31mred\x1b[0m\x07 caf\u00e9]"
LONG_LINE = "m-junk-[" + "A" * 60_000 + "]"  # under the link's 64 KiB line bound
MEGABYTE_LINE = "m-junk-[" + "A" * 1_000_000 + "]"  # over it
NAN_RESULTS = "nan,inf,-inf,0.000,0.000,0.000,0.000,0.000,0.000,0.000,0.000,0.000"
HOSTILE = Faults(
    name=SCRIPT_NAME,
    profile_extra=(IMG_LINE, LINK_LINE, PATH_LINE, CONTROL_LINE, LONG_LINE),
    results_text=NAN_RESULTS,
)
RUN_FILES = {"run.json", "reference.json", "results.json", "results.txt", "samples.jsonl"}


def _strict_json(path: Path) -> Any:
    def refuse(constant: str) -> None:
        raise AssertionError(f"{path.name} holds {constant}: not JSON")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


def _run(project: Project, faults: Faults, root: Path) -> tuple[Path, Path, str]:
    model = project.model("kws01")
    dut = FaultyDut(model, project.model_path(model), faults)
    out = root / "run"
    request = RunRequest(
        "kws01", "external", "native", "accuracy", None, 4, out, dut.url,
        timeouts=QUICK, external=True, reconnect_wait_s=2.0,
    )  # fmt: skip
    try:
        with pytest.raises(ExternalDutFailure) as failure:
            run_benchmark(project, request)
    finally:
        dut.close()
    return root, out, str(failure.value)


@pytest.fixture(scope="module")
def hostile_run(
    project: Project, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path, str]:
    """(the folder it ran in, the run directory, the error tinybench stopped with)."""
    return _run(project, HOSTILE, tmp_path_factory.mktemp("hostile"))


def test_nan_and_inf_results_are_refused_by_the_parser() -> None:
    for text in ("nan", "0.5,inf", "-inf,0.1", "1e999", "NaN,0"):
        with pytest.raises(ProtocolError, match="not finite"):
            parse_floats(text, "results")
    assert parse_floats("0.125,-1e3", "results") == [0.125, -1000.0]


def test_dut_text_is_made_printable_and_bounded() -> None:
    assert printable("plain <b>", 80) == "plain <b>"  # markup is the renderers' to escape
    assert printable("\x1b[2J\x00\u00e9\\", 80) == "\\x1b[2J\\x00\\xe9\\\\"
    cut = printable("x" * 1_000_000, 80)
    assert cut == "x" * 80 + "... [cut: 1000000 characters]"


def test_a_hostile_dut_ends_in_a_clean_unscored_run(hostile_run: tuple[Path, Path, str]) -> None:
    root, out, error = hostile_run
    assert "garbled" in error and "not finite" in error and len(error) < 2 * MESSAGE_CHARS + 300
    # Nothing landed outside the run directory, and nothing was named after the DUT.
    assert [p.name for p in root.iterdir()] == ["run"]
    assert {p.name for p in out.iterdir()} - {"transcript.txt"} <= RUN_FILES
    assert not Path("/tmp/tinybench-hostile-pwned").exists()
    results_json = out / "results.json"
    assert results_json.stat().st_size < 100_000  # the 1 MB line is not in it
    document = _strict_json(results_json)
    assert document["accuracy"] is None  # scored as invalid: no accuracy at all
    dut = document["dut"]
    assert dut["status"] == "failed" and dut["samples_done"] == 0
    assert dut["name"] == SCRIPT_NAME  # kept as text; the reports escape it
    profile = dut["profile"]
    assert IMG_LINE in profile and PATH_LINE in profile
    assert "m-colour-[\\x1b[31mred\\x1b[0m\\x07 caf\\ufffd\\ufffd]" in profile  # not UTF-8 text
    long = [line for line in profile if line.startswith("m-junk-[")]
    assert long == [printable(LONG_LINE, PROFILE_LINE_CHARS)]
    assert long[0].endswith("... [cut: 60009 characters]")
    assert dut["fault_counts"]["garbled"] == 3 and dut["fault_counts"]["untrusted-text"] == 1
    assert all(len(f["message"]) <= MESSAGE_CHARS + 40 for f in dut["faults"])
    assert len(dut["failure"]) <= MESSAGE_CHARS + 40
    run_json = _strict_json(out / "run.json")
    assert run_json["dut_name"] == SCRIPT_NAME and len(json.dumps(run_json)) < 20_000


def test_a_megabyte_line_ends_the_run_at_once_with_a_bounded_error(
    project: Project, tmp_path: Path
) -> None:
    faults = Faults(profile_extra=(MEGABYTE_LINE,))
    _root, out, error = _run(project, faults, tmp_path)
    assert "did not come up" in error and "without a line end" in error
    assert len(error) < 2 * MESSAGE_CHARS + 300
    document = _strict_json(out / "results.json")
    assert document["accuracy"] is None and document["dut"]["status"] == "failed"
    assert document["dut"]["fault_counts"] == {"garbled": 1}  # a protocol error, bounded
    assert (out / "results.json").stat().st_size < 20_000
    report = write_report(out)
    assert report.html.stat().st_size < 200_000


def test_the_hostile_dut_s_report_is_escaped_text(hostile_run: tuple[Path, Path, str]) -> None:
    _root, out, _error = hostile_run
    files = write_report(out)
    html = files.html.read_text(encoding="utf-8")
    assert "&lt;script&gt;document.body.dataset.pwned" in html
    assert "<script>document" not in html and "<img src=x" not in html
    assert html.count("<script>") == 1  # the report's own render probe
    assert "m-colour-[\\x1b[31mred" in html  # escaped once (in results.json), not twice
    markdown = files.markdown.read_text(encoding="utf-8")
    assert "&lt;script&gt;" in markdown and "<script" not in markdown and "<img" not in markdown
    assert "\\[click\\](javascript:" in markdown  # no link
    assert "The run stopped and is not scored" in markdown


def test_no_dut_script_runs_in_headless_chromium(
    hostile_run: tuple[Path, Path, str], tmp_path: Path
) -> None:
    browser = shutil.which("chromium")
    if browser is None:
        pytest.fail(
            "chromium is not installed (apt-get install -y --no-install-recommends chromium)"
        )
    _root, out, _error = hostile_run
    files = write_report(out, tmp_path / "report.html")
    dom = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", f"--user-data-dir={tmp_path / 'profile'}",
         "--dump-dom", files.html.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    body = re.search(r"<body[^>]*>", dom)
    assert body is not None
    assert 'data-loaded="yes"' in body.group(0)  # the page's own script ran ...
    assert "pwned" not in body.group(0)  # ... and none of the DUT's
    assert "&lt;script&gt;document.body.dataset.pwned" in dom  # shown as text
