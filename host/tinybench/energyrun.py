"""`tinybench run --mode energy`: build the energy-mode firmware, connect the DUT and the power
monitor, run the rules' windows (modes/energy.py), write results.json, results.txt and the trace.

Emulated boards are co-simulated: QEMU's second UART carries a marker with the exact counter at
every timestamp edge, and a stated power model turns instruction counts into a 1 kHz energy
stream (energy/cosim.py). Its results say "modelled" with the model's parameters.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinybench import __version__
from tinybench.build.firmware import build_firmware, toolchain_version
from tinybench.datasets import open_dataset
from tinybench.dut.emulator import QemuDut
from tinybench.dut.session import DutSession
from tinybench.energy.cosim import CosimMonitor, PowerModel
from tinybench.energy.tracefile import TRACE_FILE, save_trace
from tinybench.errors import RuleViolation, TinybenchError
from tinybench.footprint import footprint
from tinybench.hashing import sha256_file
from tinybench.manifests.boards import BoardKind, instructions_per_tick
from tinybench.manifests.runrules import RuleSet
from tinybench.modes.energy import EnergyOutcome, EnergyRules, energy_block, run_energy
from tinybench.modes.performance import select_inputs
from tinybench.project import Project
from tinybench.results import Provenance, results_document, write_results

# A stated, round model (not a measurement of any part): 5 mW static, 100 pJ per instruction.
DEFAULT_POWER_MODEL = PowerModel(static_mw=5.0, pj_per_instruction=100.0)


@dataclass(frozen=True)
class EnergyRequest:
    model_id: str
    board_id: str
    engine: str
    kernels: str | None
    dataset_dir: Path | None
    run_dir: Path
    min_window_s: float | None = None  # below the rules' minimum: the run is not compliant
    power_model: PowerModel = DEFAULT_POWER_MODEL  # emulated boards only
    rules_file: Path | None = None


def run_energy_benchmark(project: Project, request: EnergyRequest) -> dict[str, Any]:
    """The whole energy run; returns the results document it wrote to request.run_dir."""
    started = time.monotonic()
    board = project.board(request.board_id)
    if board.kind is not BoardKind.EMULATED or board.emulator is None:
        raise TinybenchError(
            f"--mode energy on {board.board_id}: this build measures energy on emulated boards "
            "(co-simulated, modelled) only; a physical board needs a power monitor driver and "
            "its link, which `tinybench run` does not wire yet"
        )
    model = project.resolve_model(request.model_id)
    rules = project.rules(request.rules_file) if request.rules_file else project.rules()
    project.check_model_rules(model, rules)
    dataset = open_dataset(model.dataset, project.dataset_root(model, request.dataset_dir))
    firsts = ((s.file_name, dataset.inferences(s)[0]) for s in dataset.samples)
    inputs = select_inputs(firsts, rules.energy.windows)
    if len(inputs) < rules.energy.windows:
        raise RuleViolation(
            f"energy mode needs {rules.energy.windows} distinct inputs (run rules "
            f"{rules.rules_id} {rules.version}); {dataset.root} offers {len(inputs)}"
        )
    run_dir = request.run_dir
    if run_dir.exists() and any(run_dir.iterdir()):
        raise TinybenchError(f"{run_dir} is not empty; choose another --out")
    run_dir.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    mark = time.monotonic()
    build = build_firmware(
        project, board.board_id, request.engine, model, request.kernels, timestamp_mode="energy"
    )
    timings["build"] = time.monotonic() - mark
    timed = rules.energy
    energy_rules = EnergyRules(
        windows=timed.windows,
        min_window_s=request.min_window_s or timed.min_window_s,
        rules_min_window_s=timed.min_window_s,
        warmup_count=timed.warmup_count,
    )
    mark = time.monotonic()
    with QemuDut(board, build.image, energy_markers=True) as qemu:
        session = DutSession(qemu.transport, shared_dir=qemu.workdir, timestamp_mode="energy")
        session.synchronize()
        info = session.info()
        counter_hz = info.integer("counter_hz")
        per_tick = instructions_per_tick(board, counter_hz)
        if per_tick is None:
            raise TinybenchError(f"{board.board_id}: no exact instruction count to co-simulate")
        if qemu.marker_transport is None:
            raise TinybenchError(f"{board.board_id}: QEMU did not open the marker UART")
        monitor = CosimMonitor(qemu.marker_transport, counter_hz, per_tick, request.power_model)
        try:
            monitor.start()
            outcome = run_energy(session, monitor, inputs, energy_rules, counter_hz)
        finally:
            monitor.close()
    timings["dut_session"] = time.monotonic() - mark
    trace_sha = save_trace(outcome.trace, run_dir / TRACE_FILE)
    timings["total"] = time.monotonic() - started
    document = _document(project, request, build.image, info.fields, outcome, rules, timings)
    document["provenance"]["energy_trace_sha256"] = trace_sha
    write_results(run_dir, document)
    return document


def _document(
    project: Project,
    request: EnergyRequest,
    image: Path,
    info: dict[str, str],
    outcome: EnergyOutcome,
    rules: RuleSet,
    timings: dict[str, float],
) -> dict[str, Any]:
    board = project.board(request.board_id)
    model = project.resolve_model(request.model_id)
    found = footprint(image)
    provenance = Provenance(
        firmware_sha256=sha256_file(image),
        model_sha256=model.source.sha256,
        toolchain=toolchain_version(board.core),
        runrules_id=rules.rules_id,
        runrules_version=rules.version,
        tinybench_version=__version__,
        reference="none (energy mode compares no outputs)",
        emulator=board.emulator.program if board.emulator else None,
        dut_info=info,
    )
    document: dict[str, Any] = results_document(
        model=model.model_id,
        board=board.board_id,
        engine=request.engine,
        kernels=request.kernels,
        mode="energy",
        accuracy=None,
        reference_check={"compared": 0, "mismatches": 0, "mismatched_samples": []},
        performance={},
        memory={
            "flash_bytes": found.flash_bytes,
            "ram_bytes": found.ram_bytes,
            **found.document(),
        },
        provenance=provenance,
        quality_target=model.quality_target,
        wall_time_s=timings,
    )
    document["energy"] = {
        **energy_block(outcome),
        "power_model": request.power_model.parameters() if outcome.trace.modelled else None,
    }
    return document
