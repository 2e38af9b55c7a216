"""Fixtures for the external-DUT tests: the standard-only host port, a faulty simulated DUT."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tinybench.build.firmware import FirmwareBuild, build_firmware
from tinybench.paths import locate
from tinybench.project import Project

from .faulty_dut import Faults, FaultyDut


@pytest.fixture(scope="session")
def project() -> Project:
    return Project(locate())


@pytest.fixture(scope="session")
def standard_only_kws01(project: Project) -> FirmwareBuild:
    """The host port without extensions: the stand-in for a vendor's firmware."""
    return build_firmware(project, "host", "native", "kws01", standard_only=True)


@pytest.fixture
def faulty_dut(project: Project) -> Iterator[Callable[[Faults], FaultyDut]]:
    started: list[FaultyDut] = []

    def start(faults: Faults) -> FaultyDut:
        model = project.model("kws01")
        dut = FaultyDut(model, project.model_path(model), faults)
        started.append(dut)
        return dut

    yield start
    for dut in started:
        dut.close()


def sent_commands(transcript: Path) -> list[str]:
    """What the host wrote, one entry per write (a transcript line `<seconds> > <bytes>`)."""
    sent = []
    for line in transcript.read_text(encoding="utf-8").splitlines():
        fields = line.strip().split(" ", 2)
        if len(fields) == 3 and fields[1] == ">":
            sent.append(fields[2])
    return sent
