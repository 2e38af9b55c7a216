"""Shared pytest fixtures (where ../shared lives) and the suite's markers, applied here.

Markers (registered in pyproject.toml, which sets --strict-markers):
    qemu  boots qemu-system-arm
    tflm  needs the TF Lite Micro sources in the cache and the library built from them
    slow  takes more than about 20 s on a 2-core machine

They are applied centrally, so test files need not carry them: by module (the tables below),
by the fixtures a test uses, by a `skipif` that names qemu-system-arm, and by a `tflm`
parameter. `pytest -m "not qemu"` runs the quick host-only part. A test that took longer than
SLOW_S without the `slow` marker is named at the end of the run, so the tables stay true.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
TESTS_DIR = Path(__file__).resolve().parent
SLOW_S = 20.0

# Modules whose tests boot QEMU (or, for mixed modules, most of them do).
_MODULE_MARKERS: dict[str, frozenset[str]] = {
    "firmware/test_fw_qemu.py": frozenset({"qemu"}),
    "firmware/test_input_binding_qemu.py": frozenset({"qemu"}),  # the input hand-off
    "firmware/test_mve_qemu.py": frozenset({"qemu"}),  # the mve kernel set on qemu-m55
    "session/test_conformance.py": frozenset({"qemu"}),
    "session/test_malformed_qemu.py": frozenset({"qemu"}),
    "session/test_run.py": frozenset({"qemu"}),
    "session/test_resume.py": frozenset({"qemu", "slow"}),
    "session/test_performance.py": frozenset({"qemu", "slow"}),
    "report/test_bench_report.py": frozenset({"qemu", "slow"}),
    "tflm/test_tflm_engine.py": frozenset({"qemu", "tflm", "slow"}),
    "external/test_external_qemu.py": frozenset({"qemu"}),
    "ports/test_board_ports.py": frozenset({"slow"}),  # PlatformIO builds of four boards
    "ports/test_qemu_nrf51.py": frozenset({"qemu"}),
    "memory/test_memory_qemu.py": frozenset({"qemu"}),
    "memory/test_bench_memory.py": frozenset({"qemu"}),
    "firmware/test_kernel_sets_qemu.py": frozenset({"qemu"}),  # 16 images (dsp x 3, mve x 1)
    "profile/test_profile_qemu.py": frozenset({"qemu", "slow"}),  # builds 8 images when cold
    "energy/test_fw_energy.py": frozenset({"qemu", "slow"}),  # builds 7 energy-mode images
    "energy/test_energy_qemu.py": frozenset({"qemu"}),
    "energy/test_energy_bench.py": frozenset({"qemu", "slow"}),  # QEMU runs of 20-30 s each
    "batch/test_batch_qemu.py": frozenset({"qemu"}),  # 30-sample runs batched and per sample
    "session/test_fault_runs.py": frozenset({"qemu"}),  # `run --inject`, 4 short runs
    "session/test_no_orphans.py": frozenset({"qemu"}),  # SIGKILL of tinybench mid-run
    "session/test_soak_smoke.py": frozenset({"qemu"}),  # bench/soak.py on a tiny budget
    "farm/test_loopback_farm.py": frozenset({"qemu"}),  # a labgrid farm of 4 QEMUs (.venv-farm)
}

# Session fixtures that boot QEMU for whoever uses them.
_FIXTURE_MARKERS: dict[str, frozenset[str]] = {
    "full_kws01_run": frozenset({"qemu", "slow"}),  # the full 1000-sample kws01 run
}


def _relative(item: pytest.Item) -> str:
    try:
        return Path(str(item.path)).resolve().relative_to(TESTS_DIR).as_posix()
    except ValueError:
        return ""


def markers_for(item: pytest.Item) -> set[str]:
    """The markers tests/conftest.py gives a collected test."""
    names = set(_MODULE_MARKERS.get(_relative(item), frozenset()))
    for fixture in getattr(item, "fixturenames", ()):
        names |= _FIXTURE_MARKERS.get(fixture, frozenset())
    for mark in item.iter_markers("skipif"):
        if "qemu-system-arm" in str(mark.kwargs.get("reason", "")):
            names.add("qemu")
    callspec = getattr(item, "callspec", None)
    if callspec is not None and "tflm" in callspec.params.values():
        names.add("tflm")
    return names


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for name in sorted(markers_for(item)):
            item.add_marker(name)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    unmarked = []
    for reports in terminalreporter.stats.values():
        for report in reports:
            if not isinstance(report, pytest.TestReport) or report.when != "call":
                continue
            if report.duration > SLOW_S and "slow" not in report.keywords:
                unmarked.append(f"{report.nodeid} ({report.duration:.0f} s)")
    if unmarked:
        terminalreporter.write_sep("-", f"longer than {SLOW_S:.0f} s without the slow marker")
        for line in unmarked:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The reference data folder beside the repo (models, datasets); required by the suite."""
    path = Path(os.environ.get("TINYBENCH_SHARED_DIR", REPO_ROOT.parent / "shared"))
    if not (path / "models").is_dir():
        pytest.fail(
            f"reference data not found at {path}: put ../shared beside the repo "
            "or set TINYBENCH_SHARED_DIR"
        )
    return path
