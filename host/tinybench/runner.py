"""One benchmark run from start to finish: build, reference, DUT sessions, scoring, results.

The CLI only parses options; this module owns the order of the steps and the run
directory:
- run.json: what was asked (model id or file, board, engine, mode, dataset, limit, rules
  file, custom-model options) and the firmware's and rules' sha256, so that `--resume DIR`
  continues exactly that run;
- samples.jsonl: the journal, one line per finished sample (accuracy mode);
- transcript.txt (or transcript-<k>.txt per DUT with --jobs): every byte on the links;
- reference.json: the host reference outputs; results.json and results.txt at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tinybench import __version__
from tinybench.build.firmware import (
    FirmwareBuild,
    build_firmware,
    resolve_kernels,
    toolchain_version,
)
from tinybench.datasets import Dataset, open_dataset
from tinybench.dut.discovery import PortAccess, find_board_port
from tinybench.dut.session import DutSession, StackUsage, Timeouts
from tinybench.dut.transport.faulty import FaultSpec
from tinybench.dut.worker import DutWorker, PlaceDead, WorkerConfig
from tinybench.energy.cosim import PowerModel
from tinybench.energy.instruments import Instruments, IoManagerSpec, MonitorSpec
from tinybench.energyrun import DEFAULT_POWER_MODEL
from tinybench.errors import DutError, TinybenchError
from tinybench.farm.places import FarmRequest, FarmSession, check_places_free, open_places
from tinybench.flash import (
    FlashBackend,
    FlashRequest,
    PyocdBackend,
    check_ready,
    confirm_by_name,
    flash_board,
)
from tinybench.footprint import footprint
from tinybench.hashing import sha256_file
from tinybench.journal import Journal
from tinybench.manifests.boards import BoardKind, BoardManifest, instructions_per_tick
from tinybench.manifests.custom_model import CustomModelOptions, is_model_path
from tinybench.manifests.models import ModelManifest
from tinybench.manifests.runrules import RuleSet
from tinybench.modes.accuracy import summarize
from tinybench.modes.performance import PerformanceOutcome, rules_inputs, run_performance
from tinybench.modes.shards import DEFAULT_BATCH_SIZE, Workers, run_accuracy_shards
from tinybench.profile import ProfileTable, model_ops, profile_session, profile_unit, resolve_config
from tinybench.project import Project
from tinybench.reference import (
    ReferenceFeed,
    ReferenceInterpreter,
    ReferenceSample,
    ReferenceSummary,
    cached_reference,
    interpreter_version,
    iterate_dataset,
    reference_cache_key,
    run_reference,
    write_reference,
)
from tinybench.results import (
    Provenance,
    latencies_document,
    performance_block,
    reference_check_block,
    results_document,
    single_inference_latency,
    write_atomic,
    write_results,
)

MODES = ("accuracy", "performance", "energy")
RUN_FILE = "run.json"
JOBS_AUTO = 0  # RunRequest.jobs: as many DUTs as cores (--jobs auto)
CALIBRATION_INFERENCES = 10  # the single-emulator speed: one `infer 10 0` after the run


def resolve_jobs(jobs: int, board: BoardManifest, mode: str) -> int:
    """--jobs auto: one DUT per core this process may run on (os.sched_getaffinity) for an
    accuracy run on an emulated or host board; one DUT anywhere else."""
    if jobs != JOBS_AUTO:
        return jobs
    if board.kind is BoardKind.PHYSICAL or mode != "accuracy":
        return 1
    return max(1, min(64, len(os.sched_getaffinity(0))))


@dataclass(frozen=True)
class RunRequest:
    model_id: str  # a catalogue id, or the path of the user's own .tflite file
    board_id: str
    engine: str
    mode: str
    dataset_dir: Path | None
    limit: int | None
    out_dir: Path | None
    serial_port: str | None
    jobs: int = 1  # JOBS_AUTO: one DUT per core this process may use (emulated accuracy runs)
    batch_size: int = DEFAULT_BATCH_SIZE  # samples per `batch` command; 0: one per command
    min_window_s: float | None = None  # performance: below the rules' minimum = non-compliant
    accuracy_run: Path | None = None  # performance: an accuracy run for the weighted throughput
    kernels: str | None = None  # kernel set; None: the engine's default (native: reference)
    timeouts: Timeouts = field(default_factory=Timeouts)
    rules_file: Path | None = None  # a rules file instead of runrules/mlperf-tiny.toml
    model_options: CustomModelOptions = field(default_factory=CustomModelOptions)
    # An external DUT: firmware tinybench did not build, on serial_port (tinybench.external).
    external: bool = False
    reconnect_wait_s: float = 60.0  # external: how long a DUT that stopped answering may take
    baud: int | None = None  # external: the port's baud rate (None: the board's, else 115200)
    flash: FlashRequest | None = None  # physical boards: flash the built image first
    # energy mode on an emulated board: the co-simulation's power model
    power_model: PowerModel = DEFAULT_POWER_MODEL
    monitor: MonitorSpec | None = None  # energy mode: the power monitor (None: cosim, emulated)
    io_manager: IoManagerSpec | None = None  # energy mode, physical: None is the direct setup
    faults: FaultSpec | None = None  # `--inject`: damage the link on purpose (tests, benches)
    farm: FarmRequest | None = None  # labgrid places instead of a local board (tinybench.farm)


@dataclass(frozen=True)
class RunOutcome:
    run_dir: Path
    document: dict[str, Any]


Progress = Callable[[int, int], None]


def default_run_dir(request: RunRequest, model_id: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    name = f"{model_id}-{request.board_id}-{request.engine}-{request.mode}-{stamp}"
    return Path("runs") / name


def _emulator_version(program: str) -> str:
    try:
        out = subprocess.run([program, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return program
    return out.stdout.splitlines()[0] if out.stdout else program


def _saved_kernels(saved: dict[str, Any]) -> str | None:
    """The kernel set of a saved run; tinybench before 0.2 wrote the tflm default ("cmsis-nn")
    for native runs too, which meant the native engine's only (reference) set."""
    kernels = saved.get("kernels") or None
    if saved.get("engine") == "native" and kernels == "cmsis-nn":
        return None
    return str(kernels) if kernels is not None else None


def load_resume_request(
    run_dir: Path, serial_port: str | None, jobs: int, batch_size: int = DEFAULT_BATCH_SIZE
) -> RunRequest:
    """The request of an interrupted run, from its run.json."""
    path = run_dir / RUN_FILE
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TinybenchError(f"cannot resume {run_dir}: {path} is missing or unreadable") from exc
    if (run_dir / "results.json").exists():
        raise TinybenchError(f"{run_dir} is a finished run: there is nothing to resume")
    return RunRequest(
        model_id=saved["model"],
        board_id=saved["board"],
        engine=saved["engine"],
        mode=saved["mode"],
        dataset_dir=Path(saved["dataset"]) if saved.get("dataset") else None,
        limit=saved.get("limit"),
        out_dir=run_dir,
        serial_port=serial_port,
        jobs=jobs,
        batch_size=batch_size,
        min_window_s=saved.get("min_window_s"),
        kernels=_saved_kernels(saved),
        rules_file=Path(saved["rules_file"]) if saved.get("rules_file") else None,
        model_options=CustomModelOptions(**saved.get("model_options", {})),
    )


def _request_record(
    request: RunRequest, dataset_root: Path, rules: RuleSet, kernels: str | None
) -> dict[str, Any]:
    model = request.model_id
    return {
        "model": str(Path(model).resolve()) if is_model_path(model) else model,
        "board": request.board_id,
        "engine": request.engine,
        "mode": request.mode,
        "dataset": str(dataset_root.resolve()),
        "limit": request.limit,
        "min_window_s": request.min_window_s,
        "kernels": kernels,  # the set the firmware was built with
        "rules_file": str(request.rules_file.resolve()) if request.rules_file else None,
        "model_options": asdict(request.model_options),
        "rules_sha256": rules.sha256,
        "firmware_sha256": None,  # filled in once the firmware is built
        "tinybench_version": __version__,
    }


def _start_record(run_dir: Path, request: RunRequest, dataset_root: Path, rules: RuleSet) -> None:
    """Writes run.json before anything else happens (atomically), so that a run killed at any
    point, even during its build, can be resumed: the firmware's hash comes after the build."""
    kernels = resolve_kernels(request.engine, request.kernels)
    record = _request_record(request, dataset_root, rules, kernels)
    write_atomic(run_dir / RUN_FILE, json.dumps(record, indent=2) + "\n")


def _record_request(
    run_dir: Path, request: RunRequest, dataset_root: Path, build: FirmwareBuild, rules: RuleSet
) -> None:
    """Completes run.json with the firmware's hash, or checks that a resumed run is still the
    same run."""
    firmware = sha256_file(build.image)
    path = run_dir / RUN_FILE
    saved = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    if saved.get("firmware_sha256") not in (None, firmware):
        raise TinybenchError(
            f"cannot resume {run_dir}: the firmware changed since the run started "
            f"({saved['firmware_sha256'][:12]} -> {firmware[:12]}); start a new run"
        )
    if saved.get("rules_sha256", rules.sha256) != rules.sha256:
        raise TinybenchError(
            f"cannot resume {run_dir}: the run rules {rules.path} changed since the run "
            "started; start a new run"
        )
    if saved.get("firmware_sha256") == firmware:
        return
    record = {**_request_record(request, dataset_root, rules, build.kernels), **saved}
    record["firmware_sha256"] = firmware
    record["kernels"] = build.kernels
    write_atomic(path, json.dumps(record, indent=2) + "\n")


def _window_reference_check(
    project: Project, model: ModelManifest, performance: PerformanceOutcome
) -> dict[str, Any]:
    """Each window's last output against the reference for that window's input."""
    interpreter = ReferenceInterpreter(model, project.model_path(model))
    compared, mismatched = 0, []
    for window, wire in zip(performance.windows, performance.inputs, strict=True):
        if window.raw_output is None:
            continue
        compared += 1
        expected = interpreter.run_sample(window.input, None, [wire]).raw_outputs[0]
        if window.raw_output != expected:
            mismatched.append(window.input)
    return {"compared": compared, "mismatches": len(mismatched), "mismatched_samples": mismatched}


def _accuracy_of(run_dir: Path | None) -> float | None:
    if run_dir is None:
        return None
    try:
        document = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TinybenchError(f"--accuracy-run {run_dir}: no readable results.json") from exc
    accuracy = document.get("accuracy") or {}
    value = accuracy.get("top1", accuracy.get("auc"))
    if document.get("mode") != "accuracy" or value is None:
        raise TinybenchError(f"--accuracy-run {run_dir}: not a finished accuracy run")
    return float(value)


def reference_step(
    project: Project,
    model: ModelManifest,
    samples: Iterable[tuple[str, int | None, list[bytes]]],
    total: int,
    source: dict[str, object],
    out_file: Path | None,
    progress: Progress | None = None,
    on_sample: Callable[[ReferenceSample], None] | None = None,
) -> ReferenceSummary:
    """The host reference over the samples, written to out_file (reference.json of a run)."""
    model_path = project.model_path(model)
    interpreter = ReferenceInterpreter(model, model_path)
    summary = run_reference(interpreter, model, samples, total, progress, on_sample)
    if out_file is not None:
        write_reference(out_file, model, sha256_file(model_path), source, summary)
    return summary


def check_port(board: BoardManifest, serial_port: str | None) -> None:
    """`--port` is a physical board's serial port; any other board refuses it, never ignores it."""
    if serial_port is None or board.kind is BoardKind.PHYSICAL:
        return
    how = "an emulator tinybench starts" if board.kind is BoardKind.EMULATED else "a host process"
    raise TinybenchError(
        f"--port {serial_port}: --port names the serial port (or pyserial URL) of a physical "
        f"board; {board.board_id} is {board.kind.value} ({how}), so it has no port to give"
    )


def _performance(
    worker: DutWorker,
    dataset: Dataset,
    rules: RuleSet,
    request: RunRequest,
    progress: Progress | None,
) -> PerformanceOutcome:
    timed = rules.performance
    worker.call(lambda session: None)  # starts the DUT (which reads its info line), recovering
    hz_text = worker.info.get("counter_hz", "")
    counter_hz = int(hz_text) if hz_text.isdigit() else None
    min_window = request.min_window_s or timed.min_window_s
    inputs = rules_inputs(dataset, rules)
    done_windows = [0]

    def on_window(_: object) -> None:
        done_windows[0] += 1
        if progress is not None:
            progress(done_windows[0], len(inputs))

    return run_performance(
        worker.call,
        inputs,
        timed.windows,
        timed.warmup_count,
        min_window,
        counter_hz,
        timed.min_window_s,
        on_window,
    )


def _fleet_performance(
    workers: Workers,
    dataset: Dataset,
    rules: RuleSet,
    request: RunRequest,
    progress: Progress | None,
) -> tuple[PerformanceOutcome, dict[str, PerformanceOutcome]]:
    """Performance mode on every farm place at once, each place its own board and its own
    windows: the per-unit outcomes, and the run's own figures, which are the first place's
    (in the order the places were given) that finished. A place given up on (PlaceDead) has no
    figures and is marked dead; the run fails only when every place died or any other error
    occurred (raised once all places stopped)."""
    outcomes: dict[str, PerformanceOutcome] = {}
    failures: list[BaseException] = []
    deaths: list[PlaceDead] = []
    lock = threading.Lock()
    first = workers.names[0]

    def one(worker: DutWorker, name: str) -> None:
        try:
            outcome = _performance(
                worker, dataset, rules, request, progress if name == first else None
            )
        except PlaceDead as exc:
            with lock:
                workers.dead.append(name)
                deaths.append(exc)
            return
        except BaseException as exc:  # re-raised below, once the other places stopped
            with lock:
                failures.append(exc)
            return
        with lock:
            outcomes[name] = outcome

    workers.run_each(one)
    workers.retire_dead()
    if failures:
        raise failures[0]
    if not outcomes:
        raise deaths[0]
    ran = next(n for n in workers.names if n in outcomes)
    return outcomes[ran], outcomes


def _physical_port(
    board: BoardManifest,
    request: RunRequest,
    image: Path,
    access: PortAccess,
    flasher: FlashBackend | None,
) -> str | None:
    """Flashes image when asked, then the board's port: --port, or found by its USB ID."""
    if board.kind is not BoardKind.PHYSICAL:
        return request.serial_port
    if request.flash is not None and flasher is not None:
        confirm = confirm_by_name(board, request.serial_port, access)
        flash_board(
            board, image, flasher, confirm, request.flash.probe_id, request.flash.pack
        )  # fmt: skip
    return request.serial_port or find_board_port(board, access)


def _profile_block(
    project: Project,
    model: ModelManifest,
    board: BoardManifest,
    build: FirmwareBuild,
    workers: Workers,
    wire: bytes | None,
) -> dict[str, Any] | None:
    """The per-op table of one inference on an input the run used, on the worker that ran the
    mode (results.json `profile`), when the firmware has the `opprofile` extension. It runs
    after everything the mode measured, so no other figure sees it."""
    worker = workers.workers[0]
    if wire is None or "opprofile" not in worker.session.extensions:
        return None
    counter_hz = worker.info.get("counter_hz", "")
    unit = profile_unit(board, int(counter_hz) if counter_hz.isdigit() else None)
    label, engine, kernels = resolve_config(build.engine, build.kernels)
    ops = model_ops(project.model_path(model).read_bytes())

    def step(session: DutSession) -> ProfileTable:
        return profile_session(session, label, engine, kernels, unit, ops, wire, False)

    try:
        return worker.call(step).block()
    except DutError as exc:  # the DUT refused (e.g. more ops than it can hold): keep the run
        print(f"warning: no per-op profile in results.json: {exc}", file=sys.stderr)
        return None


def run_benchmark(
    project: Project,
    request: RunRequest,
    progress: Progress | None = None,
    access: PortAccess | None = None,
    flasher: FlashBackend | None = None,
    instruments: Instruments | None = None,
) -> RunOutcome:
    """access and flasher: how serial ports are found and opened and how boards are flashed
    (the system's and pyOCD by default; simulated boards and fake probes in tests);
    instruments: how energy mode opens its power monitor and DUT link."""
    if request.faults is not None and (request.mode == "energy" or request.external):
        raise TinybenchError(
            "--inject needs the reply-crc extension of tinybench's firmware and a link it "
            "drives itself: accuracy and performance runs, not --external or --mode energy"
        )
    if request.farm is not None:
        _check_farm_request(request)
        check_places_free(request.farm)
    if request.mode == "energy":
        from tinybench.energyrun import EnergyRequest, run_energy_benchmark

        if request.jobs > 1 or request.limit is not None or request.baud is not None:
            raise TinybenchError(
                "--mode energy takes neither --jobs nor --limit (the rules fix its windows) "
                "nor --baud (the DUT's UART runs at the rules' energy baud rate)"
            )
        model = project.resolve_model(request.model_id, request.model_options)
        run_dir = request.out_dir or default_run_dir(request, model.model_id)
        energy = EnergyRequest(
            request.model_id, request.board_id, request.engine, request.kernels,
            request.dataset_dir, run_dir, request.min_window_s, request.power_model,
            request.rules_file, request.monitor, request.io_manager, request.serial_port,
            request.flash, request.external, request.farm,
        )  # fmt: skip
        document = run_energy_benchmark(project, energy, instruments, access, flasher)
        return RunOutcome(run_dir, document)
    if request.external:
        from tinybench.external.run import run_external

        return run_external(project, request, progress)
    started = time.monotonic()
    board = project.board(request.board_id)
    check_port(board, request.serial_port)
    if request.flash is not None and board.kind is not BoardKind.PHYSICAL:
        raise TinybenchError(
            f"--flash programs a physical board; {board.board_id} is {board.kind.value}"
        )
    if request.flash is not None:  # a missing pack or probe stops the run before the build
        flasher = flasher or PyocdBackend()
        check_ready(board, flasher, request.flash.probe_id, request.flash.pack)
    model = project.resolve_model(request.model_id, request.model_options)
    rules = project.rules(request.rules_file) if request.rules_file else project.rules()
    project.check_model_rules(model, rules)
    jobs = resolve_jobs(request.jobs, board, request.mode)
    if jobs > 1 and board.kind is BoardKind.PHYSICAL:
        raise TinybenchError("--jobs needs emulated or host boards (one board has one port)")
    if jobs > 1 and request.mode != "accuracy":
        raise TinybenchError("--jobs shards accuracy runs only")
    root = project.dataset_root(model, request.dataset_dir)
    dataset = open_dataset(model.dataset, root).limited(request.limit)
    run_dir = request.out_dir or default_run_dir(request, model.model_id)
    if (run_dir / "results.json").exists():
        raise TinybenchError(f"{run_dir} already holds a finished run; choose another --out")
    resuming = (run_dir / RUN_FILE).exists()
    if not resuming and run_dir.exists() and any(run_dir.iterdir()):
        raise TinybenchError(
            f"{run_dir} is not empty; choose another --out, or --resume an interrupted run"
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    if not resuming:
        _start_record(run_dir, request, root, rules)

    timings: dict[str, float] = {}
    mark = time.monotonic()
    build = build_firmware(project, board.board_id, request.engine, model, request.kernels)
    timings["build"] = time.monotonic() - mark
    _record_request(run_dir, request, root, build, rules)
    access = access or PortAccess()
    # A farm place brings its own serial port: no local port is looked for.
    serial_port = (
        _physical_port(board, request, build.image, access, flasher)
        if request.farm is None
        else None
    )

    config = WorkerConfig(
        board=board,
        image=build.image,
        model=model,
        serial_port=serial_port,
        transcript=run_dir / "transcript.txt",
        timeouts=_fault_timeouts(request),
        port_access=access,
        faults=request.faults,
    )
    references: ReferenceFeed | None = None
    if request.mode == "accuracy":
        source: dict[str, object] = {
            "kind": "dataset",
            "path": str(root.resolve()),
            "samples": len(dataset.samples),
        }

        def compute_reference(on_sample: Callable[[ReferenceSample], None]) -> None:
            # In a thread beside the DUTs: they need a sample's reference only once they
            # have run it, and the host interpreter is several times faster than an
            # emulator. Cached by model, interpreter and inputs (a CI run that changed the
            # firmware only reuses it and costs the emulator no CPU).
            mark = time.monotonic()
            model_sha256 = sha256_file(project.model_path(model))
            key = reference_cache_key(model_sha256, iterate_dataset(dataset))
            cache_file = project.locations.cache_dir / "reference" / f"{model.model_id}-{key}.json"
            summary = cached_reference(cache_file, model, iterate_dataset(dataset))
            cached = summary is not None
            if summary is None:
                summary = reference_step(
                    project, model, iterate_dataset(dataset), len(dataset.samples), source,
                    None, on_sample=on_sample,
                )  # fmt: skip
                # Under a name of this process's own first: runs in parallel may race here.
                # A cache that cannot be written costs the next run a recomputation only.
                own = cache_file.with_name(f"{cache_file.name}.{os.getpid()}-{id(summary)}")
                with contextlib.suppress(OSError):
                    write_reference(own, model, model_sha256, source, summary)
                    own.replace(cache_file)
            else:
                for sample in summary.samples:
                    on_sample(sample)
            write_reference(run_dir / "reference.json", model, model_sha256, source, summary)
            timings["reference"] = time.monotonic() - mark
            timings["reference_cached"] = cached

        references = ReferenceFeed(compute_reference)

    farm: FarmSession | None = None
    if request.farm is not None:
        baud = board.uart.baud if board.uart is not None else 115200
        farm = open_places(request.farm, baud, build.image, _warn)
    try:
        workers = Workers(config, jobs, run_dir, farm.duts if farm is not None else ())
    except BaseException:
        if farm is not None:
            farm.close()
        raise
    mark = time.monotonic()
    journal: Journal | None = None
    performance: PerformanceOutcome | None = None
    unit_performance: dict[str, PerformanceOutcome] = {}  # per farm place, fleet performance
    emulation: dict[str, Any] | None = None
    shards_s = 0.0
    try:
        if request.mode == "accuracy":
            assert references is not None
            journal = Journal(run_dir / "samples.jsonl")
            run_accuracy_shards(
                workers, model, dataset, references, journal, rules.accuracy, progress,
                request.batch_size,
            )  # fmt: skip
            shards_s = time.monotonic() - mark
            references.join()
        elif farm is not None:
            performance, unit_performance = _fleet_performance(
                workers, dataset, rules, request, progress
            )
        else:
            performance = _performance(workers.workers[0], dataset, rules, request, progress)
        info = workers.workers[0].info
        stack = _stack_high_water(workers)
        timings["upload"] = sum(w.stats.upload_s for w in workers.workers)
        timings["inference"] = sum(w.stats.infer_s for w in workers.workers)
        timings["dut_restarts"] = workers.restarts
        if journal is not None:
            batched = request.batch_size > 0 and workers.workers[0].call(
                lambda session: session.can_batch
            )
            emulation = _emulation_block(board, workers, journal, rules, shards_s, dataset, batched)
        link_faults = workers.link_faults()
        first_input = performance.inputs[0] if performance is not None else None
        if first_input is None and dataset.samples:
            first_input = dataset.inferences(dataset.samples[0])[0]
        profile = _profile_block(project, model, board, build, workers, first_input)
    finally:
        workers.close()
        if journal is not None:
            journal.close()
        if farm is not None:
            farm.close()  # every place released, whatever happened (a crash, Ctrl-C)
    timings["dut_sessions"] = time.monotonic() - mark
    timings["total"] = time.monotonic() - started

    document = _document(
        project, request, model, board, build, info, journal, performance, timings, rules,
        profile, stack,
    )  # fmt: skip
    if emulation is not None:
        document["emulation"] = emulation
    if link_faults is not None:
        document["link_faults"] = link_faults
    if farm is not None:
        restarts = {n: w.restarts for n, w in workers.by_name.items()}
        outcomes = journal.outcomes() if journal is not None else []
        document["farm"] = farm.fleet_document(
            outcomes, workers.samples_by_worker, restarts, workers.dead, unit_performance
        )
    missing = rules.missing_result_keys(document)
    if missing:
        raise TinybenchError(f"internal: results lack required keys {missing}")
    write_results(run_dir, document)
    if performance is not None:
        write_atomic(run_dir / "latencies.json", json.dumps(latencies_document(performance)) + "\n")
    shutil.copy(build.image, run_dir / build.image.name)
    return RunOutcome(run_dir=run_dir, document=document)


def _emulation_block(
    board: BoardManifest,
    workers: Workers,
    journal: Journal,
    rules: RuleSet,
    shards_s: float,
    dataset: Dataset,
    batched: bool,
) -> dict[str, Any] | None:
    """How fast the accuracy run's DUTs emulated, against one emulator's measured speed:
    results.json `emulation` (emulated boards with an exact counter only).

    The single-emulator speed is one `infer 10 0` on worker 0, timed on the host, after every
    sample ran (so no figure of the run sees it). The run's own speed is every timed
    inference's instructions (journal counter deltas) over the sample phase's wall time;
    efficiency is that over jobs x the single speed (1.0: each DUT ran at one emulator's
    speed, the link and the host cost nothing)."""
    worker = workers.workers[0]
    hz_text = worker.info.get("counter_hz", "")
    per_tick = instructions_per_tick(board, int(hz_text) if hz_text.isdigit() else None)
    outcomes = journal.outcomes()
    if per_tick is None or not outcomes or not dataset.samples or shards_s <= 0:
        return None
    ticks = sum(t for o in outcomes for t in o.counter_ticks) * rules.accuracy.infer_count
    wire = dataset.inferences(dataset.samples[0])[0]

    def calibrate(session: DutSession) -> tuple[float, int]:
        session.load(wire)
        start = time.monotonic()
        result = session.infer(CALIBRATION_INFERENCES, 0)
        return time.monotonic() - start, result.counter_ticks or 0

    wall_s, calibration_ticks = worker.call(calibrate)
    if calibration_ticks <= 0 or wall_s <= 0:
        return None
    single_ips = calibration_ticks * per_tick / wall_s
    run_ips = ticks * per_tick / shards_s
    jobs = len(workers.workers)
    return {
        "jobs": jobs,
        "cores": len(os.sched_getaffinity(0)),
        "batch": batched,
        "instructions": round(ticks * per_tick),
        "samples_wall_s": round(shards_s, 3),
        "pure_emulation_s": round(ticks * per_tick / single_ips, 3),
        "single_emulator_ips": round(single_ips),
        "run_ips": round(run_ips),
        "efficiency": round(run_ips / (jobs * single_ips), 3),
    }


def _fault_timeouts(request: RunRequest) -> Timeouts:
    """The session's timeouts; with --inject ...,silence=S, S of silence per command and, in
    accuracy mode, per infer (a dropped `%` then costs S, not the minute an `infer` may take;
    a performance window's infer runs for its whole window)."""
    if request.faults is None or request.faults.silence_s is None:
        return request.timeouts
    silence = request.faults.silence_s
    if request.mode != "accuracy":
        return replace(request.timeouts, command_s=silence)
    return replace(request.timeouts, command_s=silence, infer_s=silence)


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def _check_farm_request(request: RunRequest) -> None:
    """What a run on farm places covers: accuracy (sharded over the places), performance (on
    each place, at once) and, on places of emulated boards, energy (each place co-simulated
    from its own marker UART); tinybench's own firmware, flashed through the farm."""
    if request.external or request.jobs > 1 or request.flash:
        raise TinybenchError(
            "--place/--places run tinybench's firmware, flashed through the farm where it can "
            "be: not with --external, --jobs or --flash"
        )
    if request.mode == "energy" and (request.io_manager is not None or request.serial_port):
        raise TinybenchError(
            "--mode energy on farm places co-simulates each place's emulated board from its "
            "marker UART: --io-manager and --port do not apply"
        )


def _stack_high_water(workers: Workers) -> StackUsage | None:
    """The deepest stack use any DUT of the run reports in an `info` after its inferences; None
    when none reports it (the host port, firmware without the keys) or none ran an inference in
    its current session (a DUT restarted after its last sample has forgotten its high-water mark).
    """

    def ask(session: DutSession) -> StackUsage | None:
        return session.info().stack() if session.stats.inferences > 0 else None

    found = [
        worker.call(ask)
        for worker in workers.workers
        if worker.stats.inferences > 0 and "stack_used" in worker.info
    ]
    known = [usage for usage in found if usage is not None]
    return max(known, key=lambda usage: usage.used_bytes, default=None)


def _stack_figures(stack: StackUsage | None) -> dict[str, int]:
    """memory.stack_bytes (the DUT's own figure) and memory.stack_used_bytes, when reported."""
    if stack is None:
        return {}
    return {"stack_bytes": stack.bytes, "stack_used_bytes": stack.used_bytes}


def _document(
    project: Project,
    request: RunRequest,
    model: ModelManifest,
    board: BoardManifest,
    build: FirmwareBuild,
    info: dict[str, str],
    journal: Journal | None,
    performance: PerformanceOutcome | None,
    timings: dict[str, float],
    rules: RuleSet,
    profile: dict[str, Any] | None = None,
    stack: StackUsage | None = None,
) -> dict[str, Any]:
    # The section totals: on a Cortex-M image they equal the program headers' (elfsize); on the
    # host port's executable they leave out the ELF and program headers the loader maps, so
    # that the breakdown adds up to them there too.
    size = footprint(build.image)
    counter_hz = int(info["counter_hz"]) if info.get("counter_hz", "").isdigit() else None
    arena = int(info["arena_used"]) if info.get("arena_used", "").isdigit() else build.arena_bytes
    emulated = board.kind is BoardKind.EMULATED and board.emulator is not None
    provenance = Provenance(
        firmware_sha256=sha256_file(build.image),
        model_sha256=model.source.sha256,
        toolchain=toolchain_version(board.core),
        runrules_id=rules.rules_id,
        runrules_version=rules.version,
        tinybench_version=__version__,
        reference=interpreter_version(),
        emulator=_emulator_version(board.emulator.program) if board.emulator and emulated else None,
        dut_info=info,
    )
    outcomes = journal.outcomes() if journal is not None else []
    if performance is not None:
        perf_block = performance_block(
            performance,
            instructions_per_tick=instructions_per_tick(board, counter_hz),
            accuracy=_accuracy_of(request.accuracy_run),
        )
        accuracy = None
        check = _window_reference_check(project, model, performance)
    else:
        perf_block = single_inference_latency(outcomes, counter_hz, rules.accuracy)
        accuracy = summarize(model, outcomes)
        check = reference_check_block(accuracy)
    document = results_document(
        model=model.model_id,
        board=board.board_id,
        engine=request.engine,
        kernels=build.kernels,
        mode=request.mode,
        accuracy=accuracy,
        reference_check=check,
        performance=perf_block,
        memory={
            "flash_bytes": size.flash_bytes,
            "ram_bytes": size.ram_bytes,
            "arena_bytes": arena,
            **size.document(),
            **_stack_figures(stack),
        },
        provenance=provenance,
        quality_target=model.quality_target,
        wall_time_s=timings,
        profile=profile,
    )
    # Which rules file drove the run: `submission` accepts only the rule set's own file.
    document["provenance"]["runrules_sha256"] = rules.sha256
    if request.rules_file is not None:
        document["provenance"]["runrules_file"] = str(request.rules_file.resolve())
    return document
