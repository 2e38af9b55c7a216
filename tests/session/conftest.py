"""Fixtures for session and run tests: firmware images built once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tinybench.build.firmware import FirmwareBuild, build_firmware
from tinybench.paths import locate
from tinybench.project import Project


@pytest.fixture(scope="session")
def project() -> Project:
    return Project(locate())


@pytest.fixture(scope="session")
def host_kws01(project: Project) -> FirmwareBuild:
    return build_firmware(project, "host", "native", "kws01")


@pytest.fixture(scope="session")
def qemu_m4_kws01(project: Project) -> FirmwareBuild:
    return build_firmware(project, "qemu-m4", "native", "kws01")


@pytest.fixture(scope="session")
def kws01_samples(shared_dir: Path) -> list[bytes]:
    folder = shared_dir / "datasets" / "kws01"
    names = ["tst_000000_Stop_7.bin", "tst_000001_Left_2.bin", "tst_000002_Right_6.bin"]
    return [(folder / name).read_bytes() for name in names]


@pytest.fixture(scope="session")
def full_kws01_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The uninterrupted, single-job kws01 accuracy run on qemu-m4 that others compare with."""
    from click.testing import CliRunner

    from tinybench.cli import cli

    run_dir = tmp_path_factory.mktemp("full-kws01") / "run"
    result = CliRunner().invoke(cli, ["run", "kws01", "--board", "qemu-m4", "--out", str(run_dir)])
    assert result.exit_code == 0, result.output
    return run_dir
