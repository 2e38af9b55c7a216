"""Fixtures for the simulated USB boards: the host firmware they run, a bus to plug them into."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from tinybench.build.firmware import FirmwareBuild, build_firmware
from tinybench.manifests.boards import BoardManifest, CounterKind
from tinybench.paths import locate
from tinybench.project import Project

from .simboard import SimulatedBus


@pytest.fixture(scope="session")
def project() -> Project:
    return Project(locate())


@pytest.fixture(scope="session")
def host_kws01(project: Project) -> FirmwareBuild:
    return build_firmware(project, "host", "native", "kws01")


@pytest.fixture
def bus() -> Iterator[SimulatedBus]:
    sim = SimulatedBus()
    yield sim
    sim.close()


@pytest.fixture
def nucleo(project: Project) -> BoardManifest:
    """nucleo-l4r5zi's manifest ([usb], [uart]) with the clocks of the firmware it runs here:
    the simulated board runs the host firmware, which reports the host counter."""
    return replace(
        project.board("nucleo-l4r5zi"),
        counter=CounterKind.HOST_MONOTONIC,
        counter_hz=1_000_000_000,
    )
