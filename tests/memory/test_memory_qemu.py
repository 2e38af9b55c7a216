"""The memory block of real kws01 runs on qemu-m4, both engines: the ELF breakdown adds up to
the section totals and its figures are the ones the firmware owns."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from tflm_sources import missing_tflm_sources
from tinybench.cli import cli
from tinybench.elfsize import image_size
from tinybench.manifests.boards import DEFAULT_LATENCY_ENTRIES
from tinybench.paths import locate
from tinybench.project import Project

_TFLM = pytest.param(
    "tflm", marks=pytest.mark.skipif(missing_tflm_sources() is not None, reason="no TFLM sources")
)
_PLAN_CONSTANT = re.compile(r"^(op\d+_\w+|ops|tb_native_plan)$")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict[str, Any], Path]]:
    """engine -> (results.json, run directory) of `tinybench run kws01 --limit 1`, run once."""
    return {}


def _run(runs: dict[str, tuple[dict[str, Any], Path]], engine: str, root: Path) -> dict[str, Any]:
    if engine not in runs:
        run_dir = root / f"kws01-{engine}"
        args = ["run", "kws01", "--board", "qemu-m4", "--engine", engine, "--limit", "1"]
        result = CliRunner().invoke(cli, [*args, "--out", str(run_dir)])
        assert result.exit_code == 0, result.output
        runs[engine] = (json.loads((run_dir / "results.json").read_text()), run_dir)
    return runs[engine][0]["memory"]


def _symbol_sizes(image: Path, pattern: re.Pattern[str]) -> int:
    with image.open("rb") as handle:
        table = ELFFile(handle).get_section_by_name(".symtab")
        assert isinstance(table, SymbolTableSection)
        return sum(int(s["st_size"]) for s in table.iter_symbols() if pattern.match(s.name))


@pytest.mark.parametrize("engine", ["native", _TFLM])
def test_breakdown_adds_up_and_names_the_firmware_buffers(
    engine: str,
    runs: dict[str, tuple[dict[str, Any], Path]],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    memory = _run(runs, engine, tmp_path_factory.mktemp("runs"))
    document, run_dir = runs[engine]
    flash, ram = memory["breakdown"]["flash"], memory["breakdown"]["ram"]
    assert sum(flash.values()) == memory["flash_bytes"]
    assert sum(ram.values()) == memory["ram_bytes"]
    assert sum(s["size"] for s in memory["sections"] if s["placement"] != "ram") == sum(
        flash.values()
    )
    # The section totals are the program headers' on a Cortex-M image.
    size = image_size(run_dir / "firmware.elf")
    assert (memory["flash_bytes"], memory["ram_bytes"]) == (size.flash_bytes, size.ram_bytes)
    info = document["provenance"]["dut_info"]
    assert ram["arena"] == int(info["arena_bytes"])
    assert ram["db_buffer"] == int(info["db_capacity"])
    assert ram["latency_record"] == 4 * DEFAULT_LATENCY_ENTRIES
    assert ram["stack"] == memory["stack_bytes"] == 16384
    assert all(flash[k] > 0 for k in ("engine_code", "libraries", "harness_and_port"))
    assert ram["engine_state"] > 0 and ram["harness_and_port"] > 0
    if engine == "native":
        # The plan's constants and their 16-byte alignment.
        constants = _symbol_sizes(run_dir / "firmware.elf", _PLAN_CONSTANT)
        assert constants <= flash["weights_and_constants"] < constants + 16 * 64
    else:
        model = Project(locate()).model_bytes(Project(locate()).model("kws01"))
        assert len(model) <= flash["weights_and_constants"] < len(model) + 256
        assert ram["libraries"] > 0  # newlib's reentrancy state, pulled in by libstdc++


@pytest.mark.skipif(missing_tflm_sources() is not None, reason="no TFLM sources")
def test_tflm_code_outweighs_the_native_engine(
    runs: dict[str, tuple[dict[str, Any], Path]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    root = tmp_path_factory.mktemp("runs")
    native, tflm = _run(runs, "native", root), _run(runs, "tflm", root)
    native_code = native["breakdown"]["flash"]["engine_code"]
    assert tflm["breakdown"]["flash"]["engine_code"] > 4 * native_code
    # The harness and port are the same objects in both images.
    assert (
        native["breakdown"]["flash"]["harness_and_port"]
        == tflm["breakdown"]["flash"]["harness_and_port"]
    )


@pytest.mark.parametrize("engine", ["native", _TFLM])
def test_stack_high_water_mark_after_an_inference(
    engine: str,
    runs: dict[str, tuple[dict[str, Any], Path]],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    memory = _run(runs, engine, tmp_path_factory.mktemp("runs"))
    document, run_dir = runs[engine]
    assert 0 < memory["stack_used_bytes"] < memory["stack_bytes"] == 16384
    # Read after the inference (a `batch` of `infer 1 0`): deeper than at boot.
    boot = int(document["provenance"]["dut_info"]["stack_used"])
    assert 0 < boot < memory["stack_used_bytes"]
    transcript = (run_dir / "transcript.txt").read_text()
    infos = [line for line in transcript.splitlines() if "m-info-[" in line]
    assert len(infos) == 2 and f"stack_used={memory['stack_used_bytes']}]" in infos[-1]
    # The inference ran in a `batch` command (emulated boards batch their samples).
    assert transcript.index("> batch ") < transcript.rindex("m-info-[")


@pytest.mark.skipif(missing_tflm_sources() is not None, reason="no TFLM sources")
def test_the_engines_use_different_stack_depths(
    runs: dict[str, tuple[dict[str, Any], Path]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    root = tmp_path_factory.mktemp("runs")
    native, tflm = _run(runs, "native", root), _run(runs, "tflm", root)
    assert native["stack_used_bytes"] != tflm["stack_used_bytes"]
    # The interpreter's call chain runs deeper than the plan's loop over kernels.
    assert tflm["stack_used_bytes"] > native["stack_used_bytes"]


def test_the_host_port_gets_the_unmarked_breakdown_and_no_stack(tmp_path: Path) -> None:
    run_dir = tmp_path / "host"
    args = ["run", "kws01", "--board", "host", "--limit", "1", "--out", str(run_dir)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    memory = json.loads((run_dir / "results.json").read_text())["memory"]
    flash, ram = memory["breakdown"]["flash"], memory["breakdown"]["ram"]
    assert sum(flash.values()) == memory["flash_bytes"] and sum(ram.values()) == memory["ram_bytes"]
    assert set(flash) == {"weights_and_constants", "data_init", "other"}
    # The plan's weight arrays (opN_*) are found by name; the OS owns the stack.
    assert flash["weights_and_constants"] > 30_000 and ram["stack"] == 0
    assert ram["arena"] == memory["arena_bytes"] and ram["db_buffer"] > 0
    assert "stack_used_bytes" not in memory and "stack_bytes" not in memory
    transcript = (run_dir / "transcript.txt").read_text()
    assert "m-info-[" in transcript and "stack_used=" not in transcript
