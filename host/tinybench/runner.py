"""One benchmark run from start to finish: build, reference, DUT sessions, scoring, results.

The CLI only parses options; this module owns the order of the steps and the run
directory:
- run.json: what was asked (model, board, engine, mode, dataset, limit) and the firmware's
  sha256, so that `--resume DIR` continues exactly that run;
- samples.jsonl: the journal, one line per finished sample (accuracy mode);
- transcript.txt (or transcript-<k>.txt per DUT with --jobs): every byte on the links;
- reference.json: the host reference outputs; results.json and results.txt at the end.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tinybench import __version__
from tinybench.build.firmware import FirmwareBuild, build_firmware, toolchain_version
from tinybench.datasets import Dataset, open_dataset
from tinybench.dut.session import DutSession, Timeouts
from tinybench.dut.worker import DutWorker, WorkerConfig
from tinybench.elfsize import image_size
from tinybench.errors import RuleViolation, TinybenchError
from tinybench.journal import Journal
from tinybench.manifests.boards import BoardKind, BoardManifest, instructions_per_tick
from tinybench.manifests.models import ModelManifest
from tinybench.manifests.runrules import RuleSet
from tinybench.modes.accuracy import SampleInput, SampleOutcome, run_sample, summarize
from tinybench.modes.performance import PerformanceInput, PerformanceOutcome, run_performance
from tinybench.project import Project
from tinybench.reference import (
    ReferenceInterpreter,
    ReferenceSample,
    interpreter_version,
    iterate_dataset,
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


@dataclass(frozen=True)
class RunRequest:
    model_id: str
    board_id: str
    engine: str
    mode: str
    dataset_dir: Path | None
    limit: int | None
    out_dir: Path | None
    serial_port: str | None
    jobs: int = 1
    min_window_s: float | None = None  # performance: below the rules' minimum = non-compliant
    accuracy_run: Path | None = None  # performance: an accuracy run for the weighted throughput
    kernels: str = "cmsis-nn"  # tflm engine: cmsis-nn or reference (native ignores it)
    timeouts: Timeouts = field(default_factory=Timeouts)


@dataclass(frozen=True)
class RunOutcome:
    run_dir: Path
    document: dict[str, Any]


Progress = Callable[[int, int], None]


def default_run_dir(request: RunRequest) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    name = f"{request.model_id}-{request.board_id}-{request.engine}-{request.mode}-{stamp}"
    return Path("runs") / name


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _emulator_version(program: str) -> str:
    try:
        out = subprocess.run([program, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return program
    return out.stdout.splitlines()[0] if out.stdout else program


def load_resume_request(run_dir: Path, serial_port: str | None, jobs: int) -> RunRequest:
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
        min_window_s=saved.get("min_window_s"),
        kernels=saved.get("kernels", "cmsis-nn"),
    )


def _record_request(
    run_dir: Path, request: RunRequest, dataset_root: Path, build: FirmwareBuild
) -> None:
    """Writes run.json, or checks that a resumed run is still the same run."""
    firmware = _sha256(build.image)
    wanted = {
        "model": request.model_id,
        "board": request.board_id,
        "engine": request.engine,
        "mode": request.mode,
        "dataset": str(dataset_root.resolve()),
        "limit": request.limit,
        "min_window_s": request.min_window_s,
        "kernels": request.kernels,
        "firmware_sha256": firmware,
        "tinybench_version": __version__,
    }
    path = run_dir / RUN_FILE
    if path.exists():
        saved = json.loads(path.read_text(encoding="utf-8"))
        if saved.get("firmware_sha256") != firmware:
            raise TinybenchError(
                f"cannot resume {run_dir}: the firmware changed since the run started "
                f"({saved.get('firmware_sha256', '?')[:12]} -> {firmware[:12]}); start a new run"
            )
        return
    write_atomic(path, json.dumps(wanted, indent=2) + "\n")


class _Workers:
    """The DUTs of one run (one, or one per job), closed together."""

    def __init__(self, config: WorkerConfig, jobs: int, run_dir: Path) -> None:
        names = ["transcript.txt"] if jobs == 1 else [f"transcript-{k}.txt" for k in range(jobs)]
        self.workers = [DutWorker(replace(config, transcript=run_dir / n)) for n in names]

    def close(self) -> None:
        for worker in self.workers:
            worker.close()

    @property
    def restarts(self) -> int:
        return sum(w.restarts for w in self.workers)


def _accuracy(
    workers: _Workers,
    model: ModelManifest,
    dataset: Dataset,
    references: dict[str, ReferenceSample],
    journal: Journal,
    progress: Progress | None,
) -> None:
    done = journal.done()
    by_index = {s.index: s for s in dataset.samples}
    for outcome in journal.outcomes():
        sample = by_index.get(outcome.index)
        if sample is None or sample.file_name != outcome.name:
            raise TinybenchError(
                f"{journal.path}: sample {outcome.index} is {outcome.name}, but the dataset "
                "has another file there: the dataset changed; start a new run"
            )
    pending = deque(s for s in dataset.samples if s.index not in done)
    total = len(dataset.samples)
    lock = threading.Lock()
    failures: list[BaseException] = []

    def work(worker: DutWorker) -> None:
        try:
            while True:
                with lock:
                    if not pending or failures:
                        return
                    sample = pending.popleft()
                item = SampleInput(
                    sample.index, sample.file_name, sample.label, tuple(dataset.inferences(sample))
                )
                reference = references.get(sample.file_name)

                def step(
                    session: DutSession,
                    item: SampleInput = item,
                    reference: ReferenceSample | None = reference,
                ) -> SampleOutcome:
                    return run_sample(session, model, item, reference)

                journal.append(worker.call(step))
                if progress is not None:
                    progress(len(journal.done()), total)
        except BaseException as exc:  # reported by the caller, after the other workers stop
            with lock:
                failures.append(exc)

    if len(workers.workers) == 1:
        work(workers.workers[0])
    else:
        threads = [threading.Thread(target=work, args=(w,)) for w in workers.workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    if failures:
        raise failures[0]


def _performance_inputs(
    model: ModelManifest, dataset: Dataset, count: int
) -> list[PerformanceInput]:
    inputs: list[PerformanceInput] = []
    for sample in dataset.samples:
        wire = dataset.inferences(sample)[0]
        if all(wire != i.wire for i in inputs):
            inputs.append(PerformanceInput(sample.file_name, wire))
        if len(inputs) == count:
            break
    return inputs


def _window_reference_check(
    project: Project, model: ModelManifest, performance: PerformanceOutcome
) -> dict[str, Any]:
    """Each window's last output against the reference for that window's input."""
    interpreter = ReferenceInterpreter(model, project.model_store().path(model))
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


def run_benchmark(
    project: Project, request: RunRequest, progress: Progress | None = None
) -> RunOutcome:
    if request.mode == "energy":
        raise TinybenchError(
            "--mode energy needs a power monitor and the IO manager; it is not available yet"
        )
    started = time.monotonic()
    model = project.model(request.model_id)
    board = project.board(request.board_id)
    rules = project.rules()
    rules.check_model(model)
    if request.jobs > 1 and board.kind is BoardKind.PHYSICAL:
        raise TinybenchError("--jobs needs emulated or host boards (one board has one port)")
    if request.jobs > 1 and request.mode != "accuracy":
        raise TinybenchError("--jobs shards accuracy runs only")
    root = request.dataset_dir or project.locations.dataset_dir(model.dataset.dataset_id)
    dataset = open_dataset(model.dataset, root).limited(request.limit)
    run_dir = request.out_dir or default_run_dir(request)
    if (run_dir / "results.json").exists():
        raise TinybenchError(f"{run_dir} already holds a finished run; choose another --out")
    resuming = (run_dir / RUN_FILE).exists()
    if not resuming and run_dir.exists() and any(run_dir.iterdir()):
        raise TinybenchError(
            f"{run_dir} is not empty; choose another --out, or --resume an interrupted run"
        )
    run_dir.mkdir(parents=True, exist_ok=True)

    timings: dict[str, float] = {}
    mark = time.monotonic()
    build = build_firmware(project, board.board_id, request.engine, model.model_id, request.kernels)
    timings["build"] = time.monotonic() - mark
    _record_request(run_dir, request, root, build)

    config = WorkerConfig(
        board=board,
        image=build.image,
        model=model,
        serial_port=request.serial_port,
        transcript=run_dir / "transcript.txt",
        timeouts=request.timeouts,
    )
    if request.mode == "accuracy":
        mark = time.monotonic()
        model_path = project.model_store().path(model)
        interpreter = ReferenceInterpreter(model, model_path)
        reference = run_reference(
            interpreter, model, iterate_dataset(dataset), len(dataset.samples)
        )
        write_reference(
            run_dir / "reference.json",
            model,
            _sha256(model_path),
            {"kind": "dataset", "path": str(root.resolve()), "samples": len(dataset.samples)},
            reference,
        )
        references = {s.name: s for s in reference.samples}
        timings["reference"] = time.monotonic() - mark

    workers = _Workers(config, request.jobs, run_dir)
    mark = time.monotonic()
    journal: Journal | None = None
    performance: PerformanceOutcome | None = None
    try:
        if request.mode == "accuracy":
            journal = Journal(run_dir / "samples.jsonl")
            _accuracy(workers, model, dataset, references, journal, progress)
        else:
            worker = workers.workers[0]
            worker.session  # noqa: B018 - starts the DUT, which reads its info line
            hz_text = worker.info.get("counter_hz", "")
            counter_hz = int(hz_text) if hz_text.isdigit() else None
            min_window = request.min_window_s or rules.performance.min_window_s
            inputs = _performance_inputs(model, dataset, rules.performance.windows)
            if len(inputs) < rules.performance.windows:
                raise RuleViolation(
                    f"performance mode needs {rules.performance.windows} distinct inputs; "
                    f"{root} offers {len(inputs)}"
                )
            done_windows = [0]

            def on_window(_: object) -> None:
                done_windows[0] += 1
                if progress is not None:
                    progress(done_windows[0], len(inputs))

            performance = run_performance(
                worker.call,
                inputs,
                rules.performance.windows,
                rules.performance.warmup_count,
                min_window,
                counter_hz,
                rules.performance.min_window_s,
                on_window,
            )
        info = workers.workers[0].info
        timings["upload"] = sum(w.stats.upload_s for w in workers.workers)
        timings["inference"] = sum(w.stats.infer_s for w in workers.workers)
        timings["dut_restarts"] = workers.restarts
    finally:
        workers.close()
        if journal is not None:
            journal.close()
    timings["dut_sessions"] = time.monotonic() - mark
    timings["total"] = time.monotonic() - started

    document = _document(
        project, request, model, board, build, info, journal, performance, timings, rules
    )
    missing = rules.missing_result_keys(document)
    if missing:
        raise TinybenchError(f"internal: results lack required keys {missing}")
    write_results(run_dir, document)
    if performance is not None:
        write_atomic(run_dir / "latencies.json", json.dumps(latencies_document(performance)) + "\n")
    shutil.copy(build.image, run_dir / build.image.name)
    return RunOutcome(run_dir=run_dir, document=document)


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
) -> dict[str, Any]:
    size = image_size(build.image)
    counter_hz = int(info["counter_hz"]) if info.get("counter_hz", "").isdigit() else None
    arena = int(info["arena_used"]) if info.get("arena_used", "").isdigit() else build.arena_bytes
    emulated = board.kind is BoardKind.EMULATED and board.emulator is not None
    provenance = Provenance(
        firmware_sha256=_sha256(build.image),
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
        perf_block = single_inference_latency(outcomes, counter_hz)
        accuracy = summarize(model, outcomes)
        check = reference_check_block(accuracy)
    return results_document(
        model=model.model_id,
        board=board.board_id,
        engine=request.engine,
        mode=request.mode,
        accuracy=accuracy,
        reference_check=check,
        performance=perf_block,
        memory={"flash_bytes": size.flash_bytes, "ram_bytes": size.ram_bytes, "arena_bytes": arena},
        provenance=provenance,
        quality_target=model.quality_target,
        wall_time_s=timings,
    )
