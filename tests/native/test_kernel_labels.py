"""Engine labels with kernel sets: `tinybench bench --engines native-reference,native-dsp,...`
and `tinybench profile --engine native-dsp` (tinybench.engine_labels). No QEMU: the bench's
measurement and the profile's run are replaced by fakes that record what they were asked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tinybench import enginebench
from tinybench.cli import cli
from tinybench.engine_labels import known_labels, resolve_config, runs_on
from tinybench.enginebench import BenchRow, run_bench, table
from tinybench.errors import TinybenchError
from tinybench.project import Project


@pytest.fixture(scope="module")
def project() -> Project:
    from tinybench.paths import locate

    return Project(locate())


def test_native_labels_name_their_kernel_set() -> None:
    assert resolve_config("native-dsp") == ("native-dsp", "native", "dsp")
    assert resolve_config("native-mve") == ("native-mve", "native", "mve")
    assert resolve_config("native-reference") == ("native-reference", "native", "reference")
    assert resolve_config("native", "dsp") == ("native-dsp", "native", "dsp")
    assert resolve_config("native-dsp", "dsp") == ("native-dsp", "native", "dsp")


def test_bare_native_keeps_meaning_its_default_set() -> None:
    assert resolve_config("native") == ("native", "native", "reference")
    assert resolve_config("native", "reference") == ("native", "native", "reference")
    assert resolve_config("tflm") == ("tflm-cmsis-nn", "tflm", "cmsis-nn")


@pytest.mark.parametrize(
    ("name", "kernels", "message"),
    [
        ("native-sse", None, r"the native engine has no kernel set 'sse' \(its sets: dsp, mve, "),
        ("native-cmsis-nn", None, "cmsis-nn is a kernel set of --engine tflm"),
        ("tflm-dsp", None, "the tflm engine has no kernel set 'dsp'"),
        ("native-dsp", "mve", "--engine native-dsp names kernel set dsp, --kernels mve"),
        ("onnx-dsp", None, "unknown engine 'onnx-dsp'"),
    ],
)
def test_bad_labels_are_refused_naming_what_exists(
    name: str, kernels: str | None, message: str
) -> None:
    with pytest.raises(TinybenchError, match=message):
        resolve_config(name, kernels)


def test_bench_knows_every_kernel_set_of_both_engines() -> None:
    assert known_labels() == (
        "native", "native-dsp", "native-mve", "native-reference", "tflm-cmsis-nn",
        "tflm-reference",
    )  # fmt: skip


def test_specialised_sets_run_only_on_their_cores() -> None:
    for core in ("cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55"):
        assert runs_on("native", "dsp", core)
    assert not runs_on("native", "dsp", "cortex-m0")
    assert runs_on("native", "mve", "cortex-m55")
    assert not runs_on("native", "mve", "cortex-m4")
    assert runs_on("native", "reference", "cortex-m0")
    assert runs_on("tflm", "cmsis-nn", "cortex-m0")


def _fake_row(model: str, board: str, label: str, instructions: float) -> BenchRow:
    return BenchRow(model=model, board=board, engine=label, instructions=instructions,
                    instructions_spread=0.0, instructions_per_mac=instructions / 1000.0,
                    arena_bytes=100, flash_bytes=2000, ram_bytes=300, reference_matches=3,
                    inputs=3)  # fmt: skip


# Made-up instruction counts per configuration, so the ratios can be checked.
FAKE_COUNTS = {("native", "reference"): 2000.0, ("native", "dsp"): 900.0,
               ("native", "mve"): 500.0, ("tflm", "cmsis-nn"): 1000.0}  # fmt: skip


def test_bench_measures_each_label_on_its_cores_with_the_ratio_to_cmsis_nn(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[tuple[str, str, str, str, str]] = []

    def measure(project: Project, model: str, board: str, label: str, engine: str,
                kernels: str, inputs: int, seed: int) -> BenchRow:  # fmt: skip
        asked.append((model, board, label, engine, kernels))
        return _fake_row(model, board, label, FAKE_COUNTS[(engine, kernels)])

    monkeypatch.setattr(enginebench, "measure", measure)
    skipped: list[str] = []
    rows = run_bench(
        project, ["kws01"], ["qemu-m4", "qemu-m55"],
        ["native-reference", "native-dsp", "native-mve", "tflm-cmsis-nn"],
        progress=lambda text: skipped.append(text) if "skipped" in text else None,
    )  # fmt: skip
    assert asked == [
        ("kws01", "qemu-m4", "native-reference", "native", "reference"),
        ("kws01", "qemu-m4", "native-dsp", "native", "dsp"),
        ("kws01", "qemu-m4", "tflm-cmsis-nn", "tflm", "cmsis-nn"),
        ("kws01", "qemu-m55", "native-reference", "native", "reference"),
        ("kws01", "qemu-m55", "native-dsp", "native", "dsp"),
        ("kws01", "qemu-m55", "native-mve", "native", "mve"),
        ("kws01", "qemu-m55", "tflm-cmsis-nn", "tflm", "cmsis-nn"),
    ]
    assert skipped == ["kws01 on qemu-m4 with native-mve: skipped (mve is not for cortex-m4)"]
    ratios = {(r.board, r.engine): r.ratio_to_baseline for r in rows}
    assert ratios[("qemu-m4", "native-reference")] == pytest.approx(2.0)
    assert ratios[("qemu-m4", "native-dsp")] == pytest.approx(0.9)
    assert ratios[("qemu-m55", "native-mve")] == pytest.approx(0.5)
    assert ratios[("qemu-m55", "tflm-cmsis-nn")] == pytest.approx(1.0)
    # Each row of the table names its kernel set, and the widest label fits its column.
    lines = table(rows)
    assert [line.split()[2] for line in lines[2:]] == [r.engine for r in rows]
    assert all(len(line) == len(lines[0]) for line in lines[2:])


def test_bench_cli_refuses_an_unknown_label(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["bench", "--engines", "native-dsp,native-sse", "--out", str(tmp_path / "b")]
    )
    assert result.exit_code != 0
    assert "unknown engine native-sse (known: native, native-dsp, native-mve" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--engine", "native-dsp"], [("native-dsp", "native", "dsp")]),
        # --kernels belongs to the bare names; a label keeps its own set
        (
            ["--engine", "native", "--kernels", "dsp", "--engine", "tflm-cmsis-nn"],
            [("native-dsp", "native", "dsp"), ("tflm-cmsis-nn", "tflm", "cmsis-nn")],
        ),
        (
            ["--engine", "native-reference", "--engine", "native-dsp"],
            [("native-reference", "native", "reference"), ("native-dsp", "native", "dsp")],
        ),
        ([], [("native", "native", "reference"), ("tflm-cmsis-nn", "tflm", "cmsis-nn")]),
    ],
)
def test_profile_cli_resolves_labels_and_kernels(
    args: list[str], expected: list[tuple[str, str, str]], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from tinybench.cli import profile_cmd

    seen: list[Any] = []

    def run_profile(project: Project, model: str, board: str, configs: Any, *rest: Any) -> Any:
        seen.append(list(configs))
        raise TinybenchError("stopped by the test")

    monkeypatch.setattr(profile_cmd, "run_profile", run_profile)
    result = CliRunner().invoke(cli, ["profile", "kws01", *args, "--out", str(tmp_path / "p")])
    assert "stopped by the test" in result.output, result.output
    assert seen == [expected]


def test_profile_cli_refuses_the_same_configuration_twice(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["profile", "kws01", "--engine", "native", "--engine", "native", "--kernels", "dsp"]
    )
    assert result.exit_code != 0
    assert "--engine names a configuration twice" in result.output
