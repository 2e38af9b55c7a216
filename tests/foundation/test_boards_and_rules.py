"""Board manifests and run rules: the real ones load; each validation error is reported."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tinybench.errors import ManifestError, RuleViolation
from tinybench.manifests.boards import (
    BoardKind,
    CounterKind,
    load_board_manifest,
    load_board_manifests,
)
from tinybench.manifests.models import load_model_manifest, load_model_manifests
from tinybench.manifests.runrules import AccuracyRules, load_rule_set, parse_rule_set
from tinybench.paths import locate
from tinybench.project import Project

from .helpers import copy_project_data, edit


def test_the_boards_load_with_their_memory_maps(repo_root: Path) -> None:
    boards = load_board_manifests(repo_root / "boards")
    assert {
        "host", "nucleo-f446re", "nucleo-l4r5zi", "qemu-m33", "qemu-m4", "qemu-m55", "qemu-m7",
        "qemu-stm32f4", "nucleo-g071rb", "nucleo-h7a3zi", "nucleo-u575zi", "nrf52840dk",
        "qemu-nrf51",
    } <= set(boards)  # fmt: skip
    g071 = boards["nucleo-g071rb"]
    g071_flash, g071_sram = g071.region("code"), g071.region("data")
    assert g071_flash is not None and (g071_flash.origin, g071_flash.size) == (0x08000000, 0x20000)
    assert g071_sram is not None and g071_sram.size == 32 * 1024
    assert g071.counter is CounterKind.SYSTICK and g071.core == "cortex-m0plus"
    h7 = boards["nucleo-h7a3zi"]
    assert (h7.core, h7.cpu_hz, h7.counter) == ("cortex-m7", 280_000_000, CounterKind.DWT)
    assert h7.uart is not None and (h7.uart.base, h7.uart.irqs) == (0x40004800, (39,))
    m4 = boards["qemu-m4"]
    assert m4.kind is BoardKind.EMULATED and m4.emulator is not None
    assert m4.emulator.machine == "mps2-an386"
    assert m4.uart is not None and m4.uart.base == 0x40004000
    assert m4.counter is CounterKind.SYSTICK and m4.counter_hz == 25_000_000
    m55 = boards["qemu-m55"]
    assert m55.uart is not None and m55.uart.base == 0x49303000
    assert m55.counter_hz == 32_000_000
    data = m55.region("data")
    assert data is not None and data.origin == 0x20000000
    nucleo = boards["nucleo-l4r5zi"]
    assert nucleo.kind is BoardKind.PHYSICAL and nucleo.cpu_hz == 120_000_000
    assert nucleo.counter is CounterKind.DWT
    flash, sram = nucleo.region("code"), nucleo.region("data")
    assert flash is not None and (flash.origin, flash.size) == (0x08000000, 2 * 1024 * 1024)
    assert sram is not None and sram.size == 640 * 1024
    assert nucleo.uart is not None and nucleo.uart.baud == 115200
    assert boards["host"].kind is BoardKind.PROCESS and boards["host"].memory == ()
    m33 = boards["qemu-m33"]
    assert m33.emulator is not None and m33.emulator.machine == "mps2-an505"
    assert (m33.emulator.cpu, m33.emulator.icount_shift) == ("cortex-m33", 0)
    code, data = m33.region("code"), m33.region("data")
    assert code is not None and code.origin == 0x10000000  # Secure-only image
    assert data is not None and data.origin == 0x38000000
    assert m33.uart is not None and (m33.uart.base, m33.uart.irqs) == (0x50200000, (32, 33))
    assert m33.counter is CounterKind.SYSTICK and m33.counter_hz == m33.cpu_hz == 20_000_000


BROKEN_BOARDS = [
    ("qemu-m4", "[uart]", "[serial]", "uart: missing"),
    ("qemu-m4", "[emulator]", "[emulation]", "emulator: missing (an emulated board needs one)"),
    ("qemu-m4", 'kind = "systick"', 'kind = "rtc"', "counter.kind: must be one of"),
    ("qemu-m4", 'core = "cortex-m4"', 'core = "cortex-a53"', "core: must be one of"),
    ("qemu-m4", "origin = 0x20000000", "origin = 0x00100000", "regions ssram1 and ssram23 overlap"),
    ("qemu-m4", 'kind = "data"', 'kind = "code"', "memory: needs a region of kind 'data'"),
    ("qemu-m4", "cpu_hz = 25000000", "cpu_hz = 0", "cpu_hz: must be >= 1"),
    ("nucleo-l4r5zi", 'kind = "physical"', 'kind = "process"', "core: is 'host' exactly when"),
    ("host", 'kind = "process"', 'kind = "physical"', "uart: missing"),
]


@pytest.mark.parametrize(("board", "old", "new", "message"), BROKEN_BOARDS)
def test_broken_board_manifest_is_refused_with_the_key_named(
    tmp_path: Path, repo_root: Path, board: str, old: str, new: str, message: str
) -> None:
    root = copy_project_data(repo_root, tmp_path)
    edit(root / "boards" / f"{board}.toml", old, new)
    with pytest.raises(ManifestError) as err:
        load_board_manifest(root / "boards", board)
    assert message in str(err.value)


def test_emulator_on_a_physical_board_is_refused(tmp_path: Path, repo_root: Path) -> None:
    root = copy_project_data(repo_root, tmp_path)
    path = root / "boards" / "nucleo-l4r5zi.toml"
    path.write_text(
        path.read_text()
        + '\n[emulator]\nprogram = "qemu-system-arm"\nmachine = "x"\ncpu = "cortex-m4"\n'
    )
    with pytest.raises(ManifestError, match="only emulated boards have one"):
        load_board_manifest(root / "boards", "nucleo-l4r5zi")


def test_mlperf_tiny_rules_hold_the_published_values(repo_root: Path) -> None:
    """The runner and `submission` take these counts from the file (tests/session/
    test_run_rules.py shows an edited copy changing the run), so the file must keep the
    MLPerf Tiny values: infer 1 0 on every sample, 5 inputs x >= 10 s, 10 warm-ups."""
    rules = load_rule_set(repo_root / "runrules")
    assert (rules.rules_id, rules.version) == ("mlperf-tiny", "1.0")
    assert rules.accuracy == AccuracyRules(infer_count=1, warmup_count=0, every_sample=True)
    assert (rules.performance.windows, rules.performance.min_window_s) == (5, 10.0)
    assert rules.performance.warmup_count == 10
    assert rules.energy.windows == 5 and rules.energy.min_window_s == 10.0
    assert rules.target("kws01").target == 0.90
    assert rules.target("ad01").metric.value == "auc"


def test_an_edited_rules_file_is_told_apart_by_its_digest(tmp_path: Path, repo_root: Path) -> None:
    root = copy_project_data(repo_root, tmp_path)
    original = load_rule_set(root / "runrules")
    edit(root / "runrules" / "mlperf-tiny.toml", "infer_count = 1 ", "infer_count = 3 ")
    edited = Project(replace(locate(), project_root=root)).rules(
        root / "runrules" / "mlperf-tiny.toml"
    )
    assert edited.accuracy.infer_count == 3 and edited.version == original.version
    assert edited.sha256 != original.sha256


def test_a_rules_file_must_be_named_after_its_id(tmp_path: Path, repo_root: Path) -> None:
    copy = tmp_path / "my-rules.toml"
    copy.write_text((repo_root / "runrules" / "mlperf-tiny.toml").read_text())
    with pytest.raises(ManifestError, match="id: is 'mlperf-tiny' but the file is named my-rules"):
        parse_rule_set(copy)


def test_every_model_agrees_with_the_rules(repo_root: Path) -> None:
    rules = load_rule_set(repo_root / "runrules")
    for model in load_model_manifests(repo_root / "models").values():
        rules.check_model(model)


def test_model_and_rules_disagreeing_on_the_target_is_an_error(
    tmp_path: Path, repo_root: Path
) -> None:
    root = copy_project_data(repo_root, tmp_path)
    edit(root / "models" / "kws01.toml", "target = 0.90", "target = 0.85")
    rules = load_rule_set(root / "runrules")
    model = load_model_manifest(root / "models", "kws01")
    with pytest.raises(
        ManifestError, match=r"top1 >= 0.85 disagrees with run rules mlperf-tiny 1.0"
    ):
        rules.check_model(model)


def test_model_without_a_target_in_the_rules_is_a_rule_violation(
    tmp_path: Path, repo_root: Path
) -> None:
    root = copy_project_data(repo_root, tmp_path)
    edit(root / "runrules" / "mlperf-tiny.toml", "[targets.ic01]", "[targets.ic02]")
    rules = load_rule_set(root / "runrules")
    with pytest.raises(RuleViolation, match="no quality target for ic01"):
        rules.target("ic01")


BROKEN_RULES = [
    ("min_window_s = 10.0", "min_window_s = 0", "performance.min_window_s: must be > 0"),
    ("distinct_inputs = 5", "distinct_inputs = 0", "performance.distinct_inputs: must be >= 1"),
    ("every_sample = true", "every_sample = 1", "accuracy.every_sample: expected true or false"),
    ('version = "1.0"', "version = 1", "version: expected a string"),
    ("target = 0.90", "target = 90.0", "targets.kws01.target: is a fraction"),
    ("[results]", "[result]", "results: missing"),
]


@pytest.mark.parametrize(("old", "new", "message"), BROKEN_RULES)
def test_broken_rules_are_refused(
    tmp_path: Path, repo_root: Path, old: str, new: str, message: str
) -> None:
    root = copy_project_data(repo_root, tmp_path)
    edit(root / "runrules" / "mlperf-tiny.toml", old, new)
    with pytest.raises(ManifestError) as err:
        load_rule_set(root / "runrules")
    assert message in str(err.value)


def test_required_result_keys_are_checked_by_dotted_path(repo_root: Path) -> None:
    rules = load_rule_set(repo_root / "runrules")
    complete = {
        "model": "kws01",
        "board": "qemu-m4",
        "engine": "native",
        "mode": "accuracy",
        "accuracy": {},
        "reference_check": {"compared": 1, "mismatches": 0},
        "performance": {},
        "memory": {"flash_bytes": 1, "ram_bytes": 1, "arena_bytes": 1},
        "provenance": {
            "firmware_sha256": "",
            "model_sha256": "",
            "toolchain": "",
            "runrules_version": "1.0",
            "tinybench_version": "0.1.0",
        },
    }
    assert rules.missing_result_keys(complete) == []
    del complete["memory"]["arena_bytes"]  # type: ignore[attr-defined]
    complete["provenance"] = "not a table"
    assert rules.missing_result_keys(complete) == [
        "memory.arena_bytes",
        "provenance.firmware_sha256",
        "provenance.model_sha256",
        "provenance.toolchain",
        "provenance.runrules_version",
        "provenance.tinybench_version",
    ]
