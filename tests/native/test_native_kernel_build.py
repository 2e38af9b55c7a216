"""Choosing the native kernel set in the firmware build: the default per engine, a build key per
set, and clear errors for a set the engine does not have (from the CLI and from the builder)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from native_modelgen import residual_block

from tinybench.build.firmware import DEFAULT_KERNELS, build_firmware, resolve_kernels
from tinybench.build.pio import BuildError, Pio
from tinybench.cli import cli
from tinybench.compiler import compile_model
from tinybench.errors import TinybenchError
from tinybench.paths import locate
from tinybench.project import Project


def test_the_default_kernel_set_depends_on_the_engine() -> None:
    assert DEFAULT_KERNELS == {"native": "reference", "tflm": "cmsis-nn"}
    assert resolve_kernels("native", None) == "reference"
    assert resolve_kernels("native", "") == "reference"
    assert resolve_kernels("tflm", None) == "cmsis-nn"
    assert resolve_kernels("tflm", "reference") == "reference"


def test_a_tflm_kernel_set_with_the_native_engine_is_refused_naming_both() -> None:
    with pytest.raises(TinybenchError) as info:
        resolve_kernels("native", "cmsis-nn")
    assert str(info.value) == (
        "the native engine has no kernel set 'cmsis-nn' (its sets: dsp, mve, reference); "
        "cmsis-nn is a kernel set of --engine tflm"
    )
    with pytest.raises(TinybenchError, match=r"the tflm engine has no kernel set 'dsp'"):
        resolve_kernels("tflm", "dsp")


@pytest.mark.parametrize(
    "args",
    [
        ["build", "--model", "kws01", "--kernels", "cmsis-nn"],
        ["run", "kws01", "--kernels", "cmsis-nn", "--limit", "1"],
    ],
)
def test_the_cli_refuses_cmsis_nn_for_native_before_building(args: list[str]) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert "Error: the native engine has no kernel set 'cmsis-nn'" in result.output
    assert "Traceback" not in result.output


def test_a_native_build_is_keyed_by_its_kernel_set() -> None:
    project = Project(locate())
    build = build_firmware(project, "host", "native", "kws01", "reference")
    assert build.kernels == "reference"
    assert build.image.parent.parent.name == "kws01-native-reference"
    assert build.plan_dir.name == "kws01-reference"
    assert "TB_INPUT_INT8" in (build.plan_dir / "tb_native_model.c").read_text()
    assert build_firmware(project, "host", "native", "kws01").image == build.image


def test_the_builder_refuses_an_unknown_kernel_set_naming_the_directories(tmp_path: Path) -> None:
    root = locate().project_root
    plan = tmp_path / "plan"
    compile_model(residual_block(0), "m", plan)
    extra = {"TINYBENCH_PLAN_DIR": str(plan), "TINYBENCH_KERNELS": "sse"}
    with pytest.raises(BuildError) as info:
        Pio.for_project(root).run("host-native", tmp_path / "pio", extra)
    assert "unknown native kernel set 'sse' (TINYBENCH_KERNELS); known: dsp, mve, reference" in str(
        info.value
    )


@pytest.mark.parametrize(
    ("engine", "saved", "resumed"),
    [
        ("native", "cmsis-nn", None),  # written by tinybench < 0.2 for every native run
        ("native", "reference", "reference"),
        ("tflm", "cmsis-nn", "cmsis-nn"),
        ("tflm", None, None),
    ],
)
def test_a_resumed_run_keeps_its_kernel_set(
    tmp_path: Path, engine: str, saved: str | None, resumed: str | None
) -> None:
    import json

    from tinybench.runner import RUN_FILE, load_resume_request

    record = {"model": "kws01", "board": "qemu-m4", "engine": engine, "mode": "accuracy"}
    if saved is not None:
        record["kernels"] = saved
    (tmp_path / RUN_FILE).write_text(json.dumps(record))
    assert load_resume_request(tmp_path, None, 1).kernels == resumed


@pytest.mark.parametrize(
    ("board", "kernels", "message"),
    [
        ("qemu-nrf51", "dsp", "the native kernel set 'dsp' needs a cortex-m4 / "),
        ("qemu-m4", "mve", "the native kernel set 'mve' needs a cortex-m55 core; qemu-m4 is a"),
        ("host", "mve", "host is a host (use --kernels reference)"),
    ],
)
def test_a_kernel_set_on_a_core_without_its_instructions_is_refused_before_building(
    board: str, kernels: str, message: str
) -> None:
    with pytest.raises(TinybenchError, match=re.escape(message)):
        build_firmware(Project(locate()), board, "native", "kws01", kernels)
