"""The tflm engine without its upstream sources: the build stops with the commands that fix it.

Always runs: it needs neither the dependency cache nor a toolchain.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from tinybench.build.tflm import TflmBuildError, check_cxx_runtime
from tinybench.cli import cli


def test_building_tflm_with_an_empty_cache_names_the_commands_that_fill_it(
    tmp_path: Path,
) -> None:
    empty_cache = tmp_path / "cache"
    empty_cache.mkdir()
    result = CliRunner().invoke(
        cli,
        ["build", "--engine", "tflm", "--model", "kws01"],
        env={"TINYBENCH_CACHE_DIR": str(empty_cache)},
    )
    assert result.exit_code != 0
    assert "tinybench deps fetch" in result.output
    assert "tinybench deps import" in result.output
    assert "Traceback" not in result.output
    # Nothing was fetched or built behind the user's back.
    assert list(empty_cache.iterdir()) in ([], [empty_cache / "deps"])


def test_an_unknown_kernel_set_is_refused_by_the_cli() -> None:
    result = CliRunner().invoke(
        cli, ["build", "--engine", "tflm", "--model", "kws01", "--kernels", "fast"]
    )
    assert result.exit_code == 1, result.output
    assert "Error: the tflm engine has no kernel set 'fast' (its sets: cmsis-nn, reference)" in (
        result.output
    )
    assert "Traceback" not in result.output


def test_a_toolchain_without_cxx_headers_names_the_debian_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "bin" / "arm-none-eabi-g++"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'fatal error: new: No such file or directory' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(TflmBuildError, match="libstdc\\+\\+-arm-none-eabi-newlib"):
        check_cxx_runtime()


@pytest.mark.parametrize(
    ("model_id", "input_format", "result_kind"),
    [
        ("kws01", "TB_INPUT_INT8", "TB_RESULT_SCORES"),
        ("vww01", "TB_INPUT_UINT8_OFFSET", "TB_RESULT_SCORES"),
        ("ad01", "TB_INPUT_FLOAT32", "TB_RESULT_MSE"),
    ],
)
def test_the_embedded_model_carries_its_manifests_input_format_and_result_kind(
    tmp_path: Path, shared_dir: Path, model_id: str, input_format: str, result_kind: str
) -> None:
    from tinybench.build.tflm import PLAN_HEADER, write_plan
    from tinybench.paths import locate
    from tinybench.project import Project

    manifest = Project(locate()).model(model_id)
    tflite = (shared_dir / "models" / manifest.source.file_name).read_bytes()
    write_plan(tflite, manifest, tmp_path)
    header = (tmp_path / PLAN_HEADER).read_text()
    assert f"#define TB_TFLM_INPUT_FORMAT {input_format}\n" in header
    assert f"#define TB_TFLM_RESULT_KIND {result_kind}\n" in header
    assert '#include "engine.h"' in header
