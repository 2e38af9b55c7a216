"""The standard-only harness on an emulated Cortex-M4, driven as an external DUT through the
pyserial path (`socket://` to QEMU's UART), the way a vendor's board is driven."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from tinybench.build.firmware import build_firmware
from tinybench.cli import cli
from tinybench.dut.emulator import free_tcp_port
from tinybench.project import Project

from .conftest import sent_commands
from .test_external_run import STANDARD_WRITE


@pytest.fixture
def qemu_standard_only(project: Project, tmp_path: Path) -> Iterator[str]:
    """QEMU running the standard-only qemu-m4 image, its UART on a TCP port: the URL."""
    board = project.board("qemu-m4")
    assert board.emulator is not None
    image = build_firmware(project, "qemu-m4", "native", "kws01", standard_only=True).image
    port = free_tcp_port()
    emulator = board.emulator
    process = subprocess.Popen(
        [
            emulator.program, "-M", emulator.machine, "-cpu", emulator.cpu,
            *emulator.command_args, "-monitor", "none",
            "-serial", f"tcp:127.0.0.1:{port},server=on,wait=on,nodelay=on",
            "-kernel", str(image),
        ],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        cwd=tmp_path,
    )  # fmt: skip
    try:
        yield f"socket://127.0.0.1:{port}"
    finally:
        process.kill()
        process.wait()


def test_the_standard_only_cortex_m4_image_as_an_external_dut(
    qemu_standard_only: str, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    args = ["kws01", "--external", "--port", qemu_standard_only, "--limit", "20"]
    result = CliRunner().invoke(cli, ["run", *args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    document = json.loads((out / "results.json").read_text())
    reference = json.loads((out / "reference.json").read_text())
    assert document["accuracy"]["correct"] == reference["summary"]["correct"]
    check = document["reference_check"]
    assert check["compared"] == 20 == check["within_print_precision"]
    # m-lap-us under -icount shift=0: 16.19 M instructions of kws01 are 16.19 ms of guest time
    assert document["performance"]["median_latency_ms"] == pytest.approx(16.2, abs=0.1)
    sent = sent_commands(out / "transcript.txt")
    assert sent and all(STANDARD_WRITE.match(w) for w in sent)
