"""Per-op profiling on qemu-m4, end to end: for the four models and both engines, the per-op sum
of one inference is within 1 % of the whole-inference count (of the same invoke and of a plain
`infer 1 0`), the op lists of the engines line up op by op with the model's, `tinybench profile`
writes profile.json, and a `tinybench run` records the `profile` block. One profiled inference per
model and engine; every image is built once for the module."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tflm_sources import missing_tflm_sources
from tinybench.cli import cli
from tinybench.enginebench import model_macs
from tinybench.paths import locate
from tinybench.profile import ProfileTable, model_ops, resolve_config, run_profile
from tinybench.project import Project

MODELS = ("kws01", "vww01", "ic01", "ad01")
_TFLM_MISSING = missing_tflm_sources()
ENGINES = [
    "native",
    pytest.param(
        "tflm",
        marks=pytest.mark.skipif(_TFLM_MISSING is not None, reason=str(_TFLM_MISSING)),
    ),
]


@pytest.fixture(scope="module")
def project() -> Project:
    return Project(locate())


@pytest.fixture(scope="module")
def tables(project: Project) -> dict[tuple[str, str], ProfileTable]:
    """(model, engine) -> its table, measured on first use."""
    return {}


def _table(
    project: Project, tables: dict[tuple[str, str], ProfileTable], model: str, engine: str
) -> ProfileTable:
    if (model, engine) not in tables:
        (table,) = run_profile(project, model, "qemu-m4", [resolve_config(engine)], seed=3)
        tables[(model, engine)] = table
    return tables[(model, engine)]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("model", MODELS)
def test_per_op_sum_is_within_1_percent_of_the_whole_inference(
    project: Project, tables: dict[tuple[str, str], ProfileTable], model: str, engine: str
) -> None:
    table = _table(project, tables, model, engine)
    assert table.unit == "instructions" and table.per_tick == 40.0
    assert table.sum_ticks == sum(op.ticks for op in table.ops)
    assert table.infer_ticks is not None
    for whole in (table.whole_ticks, table.infer_ticks):
        assert abs(table.sum_ticks - whole) <= 0.01 * whole, (table.sum_ticks, whole)
    # The counter reads around each op fall inside the whole invoke's two reads.
    assert table.sum_ticks <= table.whole_ticks
    tflite = project.model_path(project.model(model)).read_bytes()
    assert sum(op.macs for op in table.ops) == model_macs(tflite)
    assert all(op.ticks > 0 for op in table.ops if op.macs > 0)
    assert sum(op.share for op in table.ops) == pytest.approx(1.0)


@pytest.mark.tflm
@pytest.mark.skipif(_TFLM_MISSING is not None, reason=str(_TFLM_MISSING))
@pytest.mark.parametrize("model", MODELS)
def test_op_names_line_up_between_the_engines(
    project: Project, tables: dict[tuple[str, str], ProfileTable], model: str
) -> None:
    native = _table(project, tables, model, "native")
    tflm = _table(project, tables, model, "tflm")
    expected = [op.op for op in model_ops(project.model_path(project.model(model)).read_bytes())]
    assert [op.op for op in native.ops] == expected
    assert [op.op for op in tflm.ops] == expected
    assert [op.shape for op in native.ops] == [op.shape for op in tflm.ops]


@pytest.mark.tflm  # with the sources, native beside tflm-cmsis-nn; else native alone
def test_cli_writes_profile_json(tmp_path: Path) -> None:
    engines = ["--engine", "native"]
    if _TFLM_MISSING is None:
        engines += ["--engine", "tflm-cmsis-nn"]
    out = tmp_path / "prof"
    result = CliRunner().invoke(cli, ["profile", "ad01", *engines, "--out", str(out)])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "native: per-op sum" in result.output
    document = json.loads((out / "profile.json").read_text())
    assert (document["format"], document["version"]) == ("tinybench-profile", 1)
    assert (document["model"], document["board"]) == ("ad01", "qemu-m4")
    labels = [t["label"] for t in document["tables"]]
    assert labels == (["native"] if _TFLM_MISSING else ["native", "tflm-cmsis-nn"])
    for table in document["tables"]:
        assert {"label", "engine", "kernels", "unit", "per_tick", "whole_ticks", "sum_ticks",
                "ops"} <= set(table)  # fmt: skip
        assert table["unit"] == "instructions"
        assert [op["op"] for op in table["ops"]] == ["FULLY_CONNECTED"] * 10
        assert table["sum_ticks"] == sum(op["ticks"] for op in table["ops"])
        for op in table["ops"]:
            assert op["count"] == op["ticks"] * table["per_tick"]
            assert op["per_mac"] == pytest.approx(op["count"] / op["macs"])
    assert (out / "profile.txt").read_text().startswith("unit: instructions")
    if len(labels) == 2:
        assert "native/tflm-cmsis-nn" in result.output


def test_run_records_the_profile_block(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    args = ["run", "kws01", "--board", "qemu-m4", "--limit", "2", "--out", str(run_dir)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output + repr(result.exception)
    document = json.loads((run_dir / "results.json").read_text())
    profile = document["profile"]
    assert (profile["engine"], profile["kernels"], profile["unit"]) == (
        "native", "reference", "instructions"
    )  # fmt: skip
    assert len(profile["ops"]) == 13 and profile["ops"][0]["op"] == "CONV_2D"
    assert profile["sum_ticks"] == sum(op["ticks"] for op in profile["ops"])
    # Profiled on the run's first sample: its whole invoke is that sample's inference count.
    first = json.loads((run_dir / "samples.jsonl").read_text().splitlines()[0])
    assert abs(profile["whole_ticks"] - first["counter_ticks"][0]) <= 0.01 * profile["whole_ticks"]
    assert abs(profile["sum_ticks"] - profile["whole_ticks"]) <= 0.01 * profile["whole_ticks"]


def test_the_standard_only_build_has_no_opprofile(project: Project) -> None:
    """The vendor-firmware stand-in answers only the MLPerf Tiny commands: the command's name
    and its reply prefix are not in its image, while the extension build has both."""
    from tinybench.build.firmware import build_firmware

    images = {
        standard: build_firmware(project, "qemu-m4", "native", "kws01", standard_only=standard)
        for standard in (True, False)
    }
    standard_only = images[True].image.read_bytes()
    extended = images[False].image.read_bytes()
    assert b"opprofile" in extended and b"m-op-total-[" in extended
    assert b"opprofile" not in standard_only and b"m-op-" not in standard_only


@pytest.mark.parametrize("engine", ENGINES)
def test_profiling_leaves_the_timed_loop_unchanged(project: Project, engine: str) -> None:
    """With the hook cleared after `opprofile`, the timed loop counts what it counted before, to
    the tick: exact instruction counts under QEMU -icount, the same input before and after."""
    from tinybench.build.firmware import build_firmware
    from tinybench.dut.emulator import QemuDut
    from tinybench.dut.session import DutSession
    from tinybench.inputs import random_wire_inputs

    manifest = project.model("kws01")
    build = build_firmware(project, "qemu-m4", engine, manifest)
    wire = random_wire_inputs(manifest, 1, 5)[0]
    with QemuDut(project.board("qemu-m4"), build.image, time_limit_s=300) as qemu:
        session = DutSession(qemu.transport, shared_dir=qemu.workdir)
        session.synchronize()
        session.load(wire)
        before = [session.infer(1, 0).counter_ticks for _ in range(2)]
        timed_before = session.infer(3, 1).counter_ticks
        profile = session.opprofile()
        after = [session.infer(1, 0).counter_ticks for _ in range(2)]
        timed_after = session.infer(3, 1).counter_ticks
    assert len(profile.ops) == 13
    assert before[0] is not None and timed_before is not None
    assert before == after and timed_before == timed_after, (before, after, timed_before)
