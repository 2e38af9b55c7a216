"""At connect the worker compares the clocks the DUT reports with the board manifest: firmware
built for another board (or a manifest that lies) is refused before any sample runs."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tinybench.build.firmware import FirmwareBuild
from tinybench.dut.session import Timeouts
from tinybench.dut.worker import DutWorker, WorkerConfig
from tinybench.errors import TinybenchError
from tinybench.manifests.boards import BoardMismatchError, CounterKind
from tinybench.manifests.models import InputFormat
from tinybench.project import Project


def _worker(project: Project, build: FirmwareBuild, tmp_path: Path, **board: object) -> DutWorker:
    config = WorkerConfig(
        board=replace(project.board("host"), **board),
        image=build.image,
        model=project.model("kws01"),
        serial_port=None,
        transcript=tmp_path / "transcript.txt",
        timeouts=Timeouts(boot_s=5.0, command_s=2.0, infer_s=5.0),
    )
    return DutWorker(config)


def test_the_host_firmware_matches_the_host_manifest(
    project: Project, host_kws01: FirmwareBuild, tmp_path: Path
) -> None:
    worker = _worker(project, host_kws01, tmp_path)
    try:
        worker.start()
        assert worker.info["counter_hz"] == "1000000000"
    finally:
        worker.close()


@pytest.mark.parametrize(
    ("board", "message"),
    [
        (
            {"counter_hz": 25_000_000},
            "reports counter_hz=1000000000, but .*host.toml says 25000000",
        ),
        ({"counter": CounterKind.SYSTICK}, "reports counter host-monotonic, but .* says systick"),
    ],
)
def test_a_dut_whose_clocks_disagree_with_its_manifest_is_refused(
    project: Project,
    host_kws01: FirmwareBuild,
    tmp_path: Path,
    board: dict[str, object],
    message: str,
) -> None:
    worker = _worker(project, host_kws01, tmp_path, **board)
    try:
        with pytest.raises(BoardMismatchError, match=message):
            worker.start()
    finally:
        worker.close()


def test_firmware_built_for_another_input_format_is_refused(
    project: Project, host_kws01: FirmwareBuild, tmp_path: Path
) -> None:
    """kws01's plan says int8 input; a manifest asking uint8-offset128 of the same model file
    (as a custom model's --input-format would) must not run on that image."""
    config = WorkerConfig(
        board=project.board("host"),
        image=host_kws01.image,
        model=replace(project.model("kws01"), input_format=InputFormat.UINT8_OFFSET),
        serial_port=None,
        transcript=tmp_path / "transcript.txt",
        timeouts=Timeouts(boot_s=5.0, command_s=2.0, infer_s=5.0),
    )
    worker = DutWorker(config)
    try:
        with pytest.raises(TinybenchError, match="input_format=int8, but the model kws01 needs"):
            worker.start()
    finally:
        worker.close()
