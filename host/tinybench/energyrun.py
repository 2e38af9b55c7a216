"""`tinybench run --mode energy`: build the energy-mode firmware, connect the DUT and the power
monitor, run the rules' windows (modes/energy.py), write results.json, results.txt and the trace.

Three setups:
- emulated: QEMU's second UART carries a marker with the exact counter at every timestamp edge,
  and a stated power model turns instruction counts into a 1 kHz energy stream
  (energy/cosim.py), read directly or through the real LPM01A driver (`--monitor cosim-lpm01a`).
  Its results say "modelled" with the model's parameters;
- io-manager: a physical DUT behind the Arduino IO manager or the H573 interface board, its
  timestamp pin on the monitor (LPM01A D7 or Joulescope GPI0);
- direct: the DUT's UART on the host (a USB-UART adapter or its VCP) at the rules' energy baud
  rate, the timestamp pin on the monitor, no IO manager.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tinybench import __version__
from tinybench.build.firmware import FirmwareBuild, build_firmware, toolchain_version
from tinybench.datasets import open_dataset
from tinybench.dut.discovery import PortAccess, find_board_port
from tinybench.dut.emulator import QemuDut
from tinybench.dut.iomanager import IoManagerTransport
from tinybench.dut.session import DutSession, StackUsage
from tinybench.dut.transport.base import Transport
from tinybench.energy.cosim import CosimMonitor, PowerModel
from tinybench.energy.cosim_lpm01a import Lpm01aCosimTransport
from tinybench.energy.instruments import (
    EMULATED_MONITORS,
    Instruments,
    IoManagerSpec,
    MonitorSpec,
)
from tinybench.energy.lpm01a import Lpm01a
from tinybench.energy.monitor import EnergyMonitor
from tinybench.energy.tracefile import TRACE_FILE, save_trace
from tinybench.errors import RuleViolation, TinybenchError
from tinybench.external.run import EXTERNAL
from tinybench.external.worker import Identity
from tinybench.flash import FlashBackend, FlashRequest, PyocdBackend, check_ready, flash_board
from tinybench.footprint import footprint
from tinybench.hashing import sha256_file
from tinybench.manifests.boards import BoardKind, BoardManifest, instructions_per_tick
from tinybench.manifests.runrules import DEFAULT_ENERGY_DUT_BAUD, RuleSet
from tinybench.modes.energy import EnergyOutcome, EnergyRules, energy_block, run_energy
from tinybench.modes.performance import PerformanceInput, select_inputs
from tinybench.project import Project
from tinybench.results import Provenance, results_document, write_results

if TYPE_CHECKING:
    from tinybench.farm.places import FarmRequest, PlaceDut

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
    # None: `cosim` on an emulated board; a physical board needs lpm01a:PORT or joulescope.
    monitor: MonitorSpec | None = None
    io_manager: IoManagerSpec | None = None  # physical boards; None: the direct setup
    serial_port: str | None = None  # direct setup: the DUT's UART (None: found by USB ID)
    flash: FlashRequest | None = None  # physical boards: flash the energy image first
    # A vendor's energy-mode firmware: no build, standard commands only (board_id may be
    # EXTERNAL, a board tinybench knows nothing about).
    external: bool = False
    # labgrid places of emulated boards (the loopback farm) instead of a local QEMU: each place
    # measured by the co-simulation of its own marker UART.
    farm: FarmRequest | None = None


@dataclass(frozen=True)
class _Measured:
    """What a DUT session in energy mode produced, whichever the setup."""

    outcome: EnergyOutcome
    info: dict[str, str]
    stack: StackUsage | None
    setup: dict[str, Any]
    modelled: str | None  # the co-simulation's statement; None for a real instrument
    identity: Identity | None = None  # an external DUT's `name` and `profile`


def check_energy_setup(board: BoardManifest | None, request: EnergyRequest) -> MonitorSpec:
    """The monitor the run uses, or the error that the setup cannot measure: before any build.
    board None: an external DUT tinybench knows nothing about."""
    if request.external:
        return _check_external_setup(board, request)
    if board is None:
        raise TinybenchError("energy mode needs --board, or --external for a vendor's firmware")
    if board.kind is BoardKind.PROCESS:
        raise TinybenchError(
            f"--mode energy on {board.board_id}: the host port has no timestamp pin and no power "
            "to measure; use a physical board with a power monitor, or qemu-m4 (co-simulated)"
        )
    if board.kind is BoardKind.EMULATED:
        spec = request.monitor or MonitorSpec("cosim")
        if spec.kind not in EMULATED_MONITORS:
            raise TinybenchError(
                f"--monitor {spec} on {board.board_id}: an emulated board is measured by the "
                "co-simulation of its QEMU markers (--monitor cosim or cosim-lpm01a)"
            )
        if request.io_manager or request.serial_port or request.flash:
            raise TinybenchError(
                f"{board.board_id} is emulated: QEMU is its UART and power, so --io-manager, "
                "--port and --flash do not apply"
            )
        return spec
    if request.monitor is None or request.monitor.kind in EMULATED_MONITORS:
        raise TinybenchError(
            f"--mode energy on {board.board_id} needs a power monitor: --monitor lpm01a:PORT "
            "or --monitor joulescope (README, 'Energy mode', shows the wiring)"
        )
    if board.timestamp is None:
        raise TinybenchError(
            f"board {board.board_id}: its manifest names no [timestamp] pin, so the monitor "
            "cannot see where a window starts and ends"
        )
    if request.io_manager is not None and request.serial_port is not None:
        raise TinybenchError(
            "--io-manager and --port both name the DUT's link: with an IO manager the DUT "
            "talks only to it; without one (direct), --port is the DUT's UART"
        )
    return request.monitor


def _check_external_setup(board: BoardManifest | None, request: EnergyRequest) -> MonitorSpec:
    if board is not None and board.kind is not BoardKind.PHYSICAL:
        raise TinybenchError(
            f"--external --mode energy measures a vendor's firmware on a physical board; "
            f"{board.board_id} is {board.kind.value}"
        )
    if request.monitor is None or request.monitor.kind in EMULATED_MONITORS:
        raise TinybenchError(
            "--external --mode energy needs a power monitor on the DUT: --monitor lpm01a:PORT "
            "or --monitor joulescope, its timestamp input on the DUT's timestamp pin"
        )
    if (request.io_manager is None) == (request.serial_port is None):
        raise TinybenchError(
            "--external --mode energy needs the DUT's link: --io-manager KIND:PORT, or --port "
            "(the DUT's UART, direct) — one of them"
        )
    if request.flash is not None:
        raise TinybenchError("--external drives firmware tinybench did not build: it never flashes")
    return request.monitor


def run_energy_benchmark(
    project: Project,
    request: EnergyRequest,
    instruments: Instruments | None = None,
    access: PortAccess | None = None,
    flasher: FlashBackend | None = None,
) -> dict[str, Any]:
    """The whole energy run; returns the results document it wrote to request.run_dir.

    instruments, access, flasher: how monitors, serial ports and probes are opened (the real
    ones by default; simulated peers in tests)."""
    started = time.monotonic()
    known = not (request.external and request.board_id == EXTERNAL)
    board = project.board(request.board_id) if known else None
    monitor_spec = check_energy_setup(board, request)
    instruments = instruments or Instruments()
    if request.flash is not None and board is not None:  # a missing pack or probe: before the build
        flasher = flasher or PyocdBackend()
        check_ready(board, flasher, request.flash.probe_id, request.flash.pack)
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
    build = None
    if board is not None and not request.external:
        build = build_firmware(
            project, board.board_id, request.engine, model, request.kernels,
            timestamp_mode="energy",
        )  # fmt: skip
        timings["build"] = time.monotonic() - mark
    timed = rules.energy
    energy_rules = EnergyRules(
        windows=timed.windows,
        min_window_s=request.min_window_s or timed.min_window_s,
        rules_min_window_s=timed.min_window_s,
        warmup_count=timed.warmup_count,
    )
    mark = time.monotonic()
    fleet: dict[str, Any] | None = None
    if request.farm is not None and board is not None and build is not None:
        measured, fleet = _farm_places(board, build.image, monitor_spec, request, instruments,
                                       inputs, energy_rules)  # fmt: skip
    elif board is not None and build is not None and board.kind is BoardKind.EMULATED:
        measured = _emulated(board, build.image, monitor_spec, request, instruments, inputs,
                             energy_rules)  # fmt: skip
    else:
        if request.flash is not None and flasher is not None and build and board:
            timings["flash"] = _flash(board, build.image, flasher, request.flash)
        dut_baud = timed.dut_baud or DEFAULT_ENERGY_DUT_BAUD
        measured = _physical(board, monitor_spec, request, instruments, access or PortAccess(),
                             inputs, energy_rules, dut_baud, model.model_id)  # fmt: skip
    timings["dut_session"] = time.monotonic() - mark
    trace_sha = save_trace(measured.outcome.trace, run_dir / TRACE_FILE)
    timings["total"] = time.monotonic() - started
    document = _document(project, request, build, measured, rules, timings)
    document["provenance"]["energy_trace_sha256"] = trace_sha
    if fleet is not None:
        document["farm"] = fleet
    write_results(run_dir, document)
    return document


def _farm_places(
    board: BoardManifest,
    image: Path,
    spec: MonitorSpec,
    request: EnergyRequest,
    instruments: Instruments,
    inputs: Sequence[PerformanceInput],
    rules: EnergyRules,
) -> tuple[_Measured, dict[str, Any]]:
    """Energy mode on labgrid places of emulated boards, all at once: each place is flashed
    (which boots it afresh), its marker UART connected before its console so that the boot
    edge is seen, and its windows measured by the co-simulation of its own markers. The run's
    figures (and trace) are the first place's; the fleet document has every unit's and their
    spread. A real place would need its power monitor at the place, which labgrid has no
    resource for: refused, naming the places without a `markers` UART."""
    from tinybench.farm.places import open_places  # labgrid: the farm extra

    assert request.farm is not None
    baud = board.uart.baud if board.uart is not None else 115200
    farm = open_places(request.farm, baud, image, lambda message: None)
    try:
        missing = [d.name for d in farm.duts if d.endpoint.marker_url is None]
        if missing:
            raise TinybenchError(
                f"place {', '.join(missing)}: no energy marker UART (a NetworkSerialPort named "
                "'markers'): energy mode on a farm runs on the loopback farm's emulated boards; "
                "a real place's power monitor is not reachable through labgrid"
            )
        measured: dict[str, _Measured] = {}
        failures: list[BaseException] = []

        def one(dut: PlaceDut) -> None:
            try:
                measured[dut.name] = _measure_place(
                    board, dut, spec, request, instruments, inputs, rules
                )
            except BaseException as exc:  # re-raised once every place stopped
                failures.append(exc)

        threads = [threading.Thread(target=one, args=(d,), daemon=True) for d in farm.duts]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if failures:
            raise failures[0]
        fleet = farm.energy_fleet_document({n: m.outcome for n, m in measured.items()})
        return measured[farm.duts[0].name], fleet
    finally:
        farm.close()


def _measure_place(
    board: BoardManifest,
    dut: PlaceDut,
    spec: MonitorSpec,
    request: EnergyRequest,
    instruments: Instruments,
    inputs: Sequence[PerformanceInput],
    rules: EnergyRules,
) -> _Measured:
    """One place's energy windows, co-simulated from the marker UART its link connects."""
    with dut.open() as link:
        if dut.marker_transport is None:
            raise TinybenchError(f"place {dut.name}: its marker UART is not connected")
        session = DutSession(link.transport, timestamp_mode="energy")
        measured = _cosimulate(board, session, dut.marker_transport, spec, request,
                               instruments, inputs, rules)  # fmt: skip
        link_description = link.transport.description
    measured.setup.update(
        setup="farm-emulated", dut_link=link_description, markers=dut.endpoint.marker_url,
        place=dut.name,
    )  # fmt: skip
    return measured


def _emulated(
    board: BoardManifest,
    image: Path,
    spec: MonitorSpec,
    request: EnergyRequest,
    instruments: Instruments,
    inputs: Sequence[PerformanceInput],
    rules: EnergyRules,
) -> _Measured:
    """QEMU in energy mode, measured by the co-simulation of its markers."""
    assert board.emulator is not None
    with QemuDut(board, image, energy_markers=True) as qemu:
        if qemu.marker_transport is None:
            raise TinybenchError(f"{board.board_id}: QEMU did not open the marker UART")
        session = DutSession(qemu.transport, shared_dir=qemu.workdir, timestamp_mode="energy")
        measured = _cosimulate(board, session, qemu.marker_transport, spec, request,
                               instruments, inputs, rules)  # fmt: skip
        measured.setup.update(setup="emulated", dut_link=qemu.transport.description)
    return measured


def _cosimulate(
    board: BoardManifest,
    session: DutSession,
    markers: Transport,
    spec: MonitorSpec,
    request: EnergyRequest,
    instruments: Instruments,
    inputs: Sequence[PerformanceInput],
    rules: EnergyRules,
) -> _Measured:
    """The energy windows of an emulated DUT, measured by the co-simulation of the markers its
    QEMU writes: read directly (`cosim`), or as the LPM01A's wire stream through the real
    LPM01A driver (`cosim-lpm01a`). The caller adds where the DUT was to the setup."""
    session.synchronize()
    info = session.info()
    counter_hz = info.integer("counter_hz")
    per_tick = instructions_per_tick(board, counter_hz)
    if per_tick is None:
        raise TinybenchError(f"{board.board_id}: no exact instruction count to co-simulate")
    cosim = CosimMonitor(markers, counter_hz, per_tick, request.power_model)
    monitor: EnergyMonitor = cosim
    if spec.kind == "cosim-lpm01a":
        monitor = Lpm01a(Lpm01aCosimTransport(cosim), voltage_mv=instruments.supply_mv)
    try:
        monitor.start()
        outcome = run_energy(session, monitor, inputs, rules, counter_hz)
    finally:
        monitor.close()
    stack = session.info().stack()
    setup = {
        "monitor": monitor.description(),
        "monitor_kind": spec.kind,
        "power_model": request.power_model.parameters(),
    }
    return _Measured(outcome, info.fields, stack, setup, cosim.modelled())


def _flash(board: BoardManifest, image: Path, flasher: FlashBackend, flash: FlashRequest) -> float:
    """Programs the energy image. The usual check that the board answers `name` on its VCP
    does not apply: in energy mode the DUT's UART runs at the energy baud rate and, with an IO
    manager, reaches the host only through it; the session's own `name` checks the DUT next."""
    mark = time.monotonic()

    def unchecked() -> str:
        return "not asked on the VCP (energy mode: the session's `name` checks the DUT)"

    flash_board(board, image, flasher, unchecked, flash.probe_id, flash.pack)
    return time.monotonic() - mark


def _physical(
    board: BoardManifest | None,
    spec: MonitorSpec,
    request: EnergyRequest,
    instruments: Instruments,
    access: PortAccess,
    inputs: Sequence[PerformanceInput],
    rules: EnergyRules,
    dut_baud: int,
    model_id: str,
) -> _Measured:
    """A real DUT and a real monitor: the monitor starts first (the LPM01A powers the DUT, which
    boots and makes its boot edge), then the DUT's link, through the IO manager or direct.
    An external DUT gets the standard commands only: `name` and `profile` identify it (another
    model is refused), and its windows are timed by the monitor's edges alone."""
    monitor = instruments.open_monitor(spec)
    link: Transport | None = None
    try:
        monitor.start()
        if request.io_manager is not None:
            relay = instruments.open_io_manager(request.io_manager, dut_baud)
            link = relay
        elif request.serial_port is not None:
            link = instruments.open_serial(request.serial_port, dut_baud)
        elif board is not None:
            link = instruments.open_serial(find_board_port(board, access), dut_baud)
        else:  # check_energy_setup refuses an external DUT without --port or --io-manager
            raise TinybenchError("energy mode: no link to the DUT (--port or --io-manager)")
        session = DutSession(link, timestamp_mode="energy", standard_only=request.external)
        session.synchronize()
        identity = _identify(session, model_id) if request.external else None
        fields = session.info().fields if not request.external else {}
        hz = fields.get("counter_hz", "")
        counter_hz = int(hz) if hz.isdigit() else None
        outcome = run_energy(session, monitor, inputs, rules, counter_hz)
        stack = session.info().stack() if not request.external else None
        setup: dict[str, Any] = {
            "setup": "io-manager" if request.io_manager is not None else "direct",
            "monitor": monitor.description(),
            "monitor_kind": spec.kind,
            "dut_link": link.description,
            "dut_baud": dut_baud,
        }
        if isinstance(link, IoManagerTransport):
            setup["io_manager"] = link.kind
            setup["unsolicited_dut_lines"] = link.unsolicited_count
        return _Measured(outcome, fields, stack, setup, None, identity)
    finally:
        if link is not None:
            link.close()
        monitor.close()


def _identify(session: DutSession, model_id: str) -> Identity:
    """An external DUT's `name` and `profile`; a DUT running another model is refused."""
    name = session.name()
    reply = session.command("profile")
    identity = Identity(name, reply.lines, reply.need("model"))
    if identity.model != model_id:
        raise TinybenchError(
            f"the DUT answers m-model-[{identity.model}], but this run is for {model_id}: flash "
            f"the {model_id} energy-mode firmware, or run `tinybench run {identity.model} "
            "--external --mode energy`"
        )
    return identity


def _document(
    project: Project,
    request: EnergyRequest,
    build: FirmwareBuild | None,
    measured: _Measured,
    rules: RuleSet,
    timings: dict[str, float],
) -> dict[str, Any]:
    model = project.resolve_model(request.model_id)
    info = measured.info
    if build is None:  # an external DUT: tinybench knows nothing of its image
        board_id, engine, kernels = request.board_id, EXTERNAL, None
        firmware_sha, toolchain, emulator = None, None, None
        memory: dict[str, Any] = {"flash_bytes": None, "ram_bytes": None, "arena_bytes": None}
    else:
        board = project.board(request.board_id)
        board_id, engine, kernels = board.board_id, request.engine, build.kernels
        firmware_sha, toolchain = sha256_file(build.image), toolchain_version(board.core)
        emulator = board.emulator.program if board.emulator else None
        found = footprint(build.image)
        used = info.get("arena_used", "")
        stack = measured.stack
        memory = {
            "flash_bytes": found.flash_bytes,
            "ram_bytes": found.ram_bytes,
            "arena_bytes": int(used) if used.isdigit() else build.arena_bytes,
            **found.document(),
            **({"stack_bytes": stack.bytes, "stack_used_bytes": stack.used_bytes} if stack else {}),
        }
    provenance = Provenance(
        firmware_sha256=firmware_sha,
        model_sha256=model.source.sha256,
        toolchain=toolchain,
        runrules_id=rules.rules_id,
        runrules_version=rules.version,
        tinybench_version=__version__,
        reference="none (energy mode compares no outputs)",
        emulator=emulator,
        dut_info=info,
    )
    document: dict[str, Any] = results_document(
        model=model.model_id,
        board=board_id,
        engine=engine,
        kernels=kernels,
        mode="energy",
        accuracy=None,
        reference_check={"compared": 0, "mismatches": 0, "mismatched_samples": []},
        performance={},
        memory=memory,
        provenance=provenance,
        quality_target=model.quality_target,
        wall_time_s=timings,
    )
    block = energy_block(measured.outcome)
    if measured.modelled is not None:
        block["modelled"] = measured.modelled
    document["energy"] = {
        **block,
        "power_model": request.power_model.parameters() if measured.modelled else None,
        "setup": measured.setup,
    }
    if measured.identity is not None:
        document["dut"] = {
            "kind": EXTERNAL,
            "name": measured.identity.name,
            "profile": list(measured.identity.profile_lines),
        }
    return document
