"""`tinybench run MODEL --external --port P`: a run on firmware tinybench did not build.

No build, no flash. The DUT is identified (`name`, `profile`; another model is refused
before anything runs), the host reference runs, then every sample goes out with the
standard commands only and is scored from the printed floats. The run directory says
`external` and records the DUT's name and profile lines; every fault (a reset, silence,
an e- reply, a garbled line) is in results.json, and a DUT that keeps failing ends the
run with results.json saying so (what was measured stays in the journal).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tinybench import __version__
from tinybench.datasets import Dataset, open_dataset
from tinybench.dut.session import DutSession
from tinybench.errors import ProtocolError, TinybenchError
from tinybench.external.check import (
    check_samples,
    difference,
    expected_vector,
    result_count,
    within_print_precision,
)
from tinybench.external.link import DEFAULT_BAUD
from tinybench.external.worker import (
    FAULTS,
    ExternalConfig,
    ExternalDutFailure,
    ExternalWorker,
    Fault,
    Identity,
    fault_kind,
)
from tinybench.journal import Journal
from tinybench.manifests.boards import BoardKind
from tinybench.manifests.models import Metric, ModelManifest
from tinybench.manifests.runrules import AccuracyRules, RuleSet
from tinybench.modes.accuracy import SampleInput, SampleOutcome, summarize
from tinybench.modes.performance import (
    PerformanceOutcome,
    Window,
    rules_inputs,
    run_performance,
)
from tinybench.project import Project
from tinybench.reference import (
    ReferenceInterpreter,
    ReferenceSample,
    interpreter_version,
    iterate_dataset,
)
from tinybench.results import (
    Provenance,
    latencies_document,
    performance_block,
    printed_check_block,
    results_document,
    single_inference_latency,
    write_atomic,
    write_results,
)
from tinybench.scoring import top1
from tinybench.untrusted import message

if TYPE_CHECKING:
    from tinybench.runner import Progress, RunOutcome, RunRequest

EXTERNAL = "external"  # the board id (when none is given), engine and DUT kind of such runs
RUN_FILE = "run.json"


def _board_and_baud(project: Project, board_id: str) -> tuple[str, int]:
    """No board: a generic external one at 115200 baud; a board: a physical one, at its baud."""
    if board_id == EXTERNAL:
        return EXTERNAL, DEFAULT_BAUD
    board = project.board(board_id)
    if board.kind is not BoardKind.PHYSICAL:
        raise TinybenchError(
            f"--external drives a physical board's firmware over its port; {board_id} is "
            f"{board.kind.value} (tinybench builds and starts its firmware): drop --external, "
            "or drop --board for a DUT tinybench knows nothing about"
        )
    return board.board_id, board.uart.baud if board.uart is not None else DEFAULT_BAUD


def _sample_step(
    model: ModelManifest,
    item: SampleInput,
    reference: ReferenceSample | None,
    counts: AccuracyRules,
) -> Callable[[DutSession], SampleOutcome]:
    """One sample with the rules' `infer N W`, scored from the printed floats."""

    def step(session: DutSession) -> SampleOutcome:
        floats: list[tuple[float, ...]] = []
        elapsed: list[int] = []
        for wire in item.inferences:
            session.load(wire)
            result = session.infer(counts.infer_count, counts.warmup_count)
            if len(result.results) != result_count(model):
                raise ProtocolError(
                    f"`infer` printed {len(result.results)} result values, but {model.model_id} "
                    f"has {result_count(model)}"
                )
            floats.append(result.results)
            elapsed.append(round(result.elapsed_us / counts.infer_count))
        if model.metric is Metric.TOP1:
            prediction, score = top1(np.asarray(floats[0])), None
        else:  # the clip's score: the mean of the printed window MSEs
            prediction = None
            score = float(np.mean(np.asarray([f[0] for f in floats], dtype=np.float64)))
        match: bool | None = None
        if reference is not None:
            match = all(
                within_print_precision(difference(vector, expected_vector(model, raw, wire)))
                for vector, raw, wire in zip(
                    floats, reference.raw_outputs, item.inferences, strict=True
                )
            )
        return SampleOutcome(
            index=item.index,
            name=item.name,
            label=item.label,
            raw_outputs=(),
            device_results=tuple(floats),
            elapsed_us=tuple(elapsed),
            counter_ticks=(),
            prediction=prediction,
            score=score,
            reference_match=match,
        )

    return step


def _run_accuracy(
    worker: ExternalWorker,
    model: ModelManifest,
    dataset: Dataset,
    references: dict[str, ReferenceSample],
    journal: Journal,
    rules: RuleSet,
    progress: Progress | None,
) -> None:
    total = len(dataset.samples)
    for sample in dataset.samples:
        item = SampleInput(
            sample.index, sample.file_name, sample.label, tuple(dataset.inferences(sample))
        )
        step = _sample_step(model, item, references.get(sample.file_name), rules.accuracy)
        journal.append(worker.call(sample.file_name, step))
        if progress is not None:
            progress(len(journal.done()), total)


def _run_performance(
    worker: ExternalWorker,
    dataset: Dataset,
    rules: RuleSet,
    request: RunRequest,
    progress: Progress | None,
) -> PerformanceOutcome:
    """Windows timed by the DUT's own m-lap-us microseconds (it has no counter extension)."""
    timed = rules.performance
    inputs = rules_inputs(dataset, rules)
    done = [0]

    def on_window(_: object) -> None:
        done[0] += 1
        if progress is not None:
            progress(done[0], len(inputs))

    def session_step(step: Callable[[DutSession], Window]) -> Window:
        return worker.call(f"performance window {done[0] + 1}", step)

    return run_performance(
        session_step,
        inputs,
        timed.windows,
        timed.warmup_count,
        request.min_window_s or timed.min_window_s,
        None,
        timed.min_window_s,
        on_window,
    )


def _window_check(
    project: Project, model: ModelManifest, performance: PerformanceOutcome
) -> dict[str, Any]:
    interpreter = ReferenceInterpreter(model, project.model_path(model))
    printed = []
    references = {}
    for window, wire in zip(performance.windows, performance.inputs, strict=True):
        references[window.input] = interpreter.run_sample(window.input, None, [wire])
        printed.append((window.input, [window.results], [wire]))
    check = check_samples(model, printed, references)
    return printed_check_block(
        check.compared,
        check.within_print_precision,
        check.max_abs_difference,
        list(check.mismatched_samples),
    )


def _accuracy_check(
    model: ModelManifest,
    dataset: Dataset,
    outcomes: list[SampleOutcome],
    references: dict[str, ReferenceSample],
) -> dict[str, Any]:
    by_index = {s.index: s for s in dataset.samples}
    printed = [(o.name, o.device_results, dataset.inferences(by_index[o.index])) for o in outcomes]
    check = check_samples(model, printed, references)
    return printed_check_block(
        check.compared,
        check.within_print_precision,
        check.max_abs_difference,
        list(check.mismatched_samples),
    )


def _record_request(
    run_dir: Path,
    request: RunRequest,
    board_id: str,
    baud: int,
    dataset_root: Path,
    rules: RuleSet,
    identity: Identity | None,
) -> None:
    document = {
        "model": request.model_id,
        "board": board_id,
        "engine": EXTERNAL,
        "dut": EXTERNAL,
        "mode": request.mode,
        "dataset": str(dataset_root.resolve()),
        "limit": request.limit,
        "min_window_s": request.min_window_s,
        "rules_file": str(request.rules_file.resolve()) if request.rules_file else None,
        "model_options": asdict(request.model_options),
        "rules_sha256": rules.sha256,
        "port": request.serial_port,
        "baud": baud,
        "dut_name": identity.name if identity is not None else None,
        "dut_profile": list(identity.profile_lines) if identity is not None else [],
        "firmware_sha256": None,
        "tinybench_version": __version__,
    }
    write_atomic(run_dir / RUN_FILE, json.dumps(document, indent=2) + "\n")


def run_external(
    project: Project, request: RunRequest, progress: Progress | None = None
) -> RunOutcome:
    from tinybench.runner import RunOutcome, default_run_dir

    if request.serial_port is None:
        raise TinybenchError(
            "--external needs --port: the DUT's serial port (e.g. /dev/ttyACM0, COM5), a "
            "pyserial URL (socket://host:port) or process:COMMAND"
        )
    if request.jobs > 1:
        raise TinybenchError("--jobs needs emulated or host boards (one external DUT, one port)")
    started = time.monotonic()
    board_id, baud = _board_and_baud(project, request.board_id)
    baud = request.baud or baud
    model = project.resolve_model(request.model_id, request.model_options)
    rules = project.rules(request.rules_file) if request.rules_file else project.rules()
    project.check_model_rules(model, rules)
    root = project.dataset_root(model, request.dataset_dir)
    dataset = open_dataset(model.dataset, root).limited(request.limit)
    run_dir = request.out_dir or default_run_dir(replace(request, engine=EXTERNAL), model.model_id)
    if run_dir.exists() and any(run_dir.iterdir()):
        raise TinybenchError(f"{run_dir} is not empty; choose another --out")
    run_dir.mkdir(parents=True, exist_ok=True)

    worker = ExternalWorker(
        ExternalConfig(
            port=request.serial_port,
            baud=baud,
            model_id=model.model_id,
            transcript=run_dir / "transcript.txt",
            timeouts=request.timeouts,
            reconnect_wait_s=request.reconnect_wait_s,
        )
    )
    timings: dict[str, float] = {}
    failure: TinybenchError | None = None
    journal: Journal | None = None
    performance: PerformanceOutcome | None = None
    references: dict[str, ReferenceSample] = {}
    identity: Identity | None = None
    try:
        try:
            identity = worker.connect()  # another model is refused here, before anything runs
        except FAULTS as exc:  # silence, a dead link, e- replies: reported, not raised bare
            worker.faults.append(Fault(None, fault_kind(exc), message(exc)))
            failure = ExternalDutFailure(f"the external DUT did not come up: {message(exc)}")
        _record_request(run_dir, request, board_id, baud, root, rules, identity)
        if identity is not None:
            mark = time.monotonic()
            if request.mode == "accuracy":
                from tinybench.runner import reference_step

                source: dict[str, object] = {
                    "kind": "dataset",
                    "path": str(root.resolve()),
                    "samples": len(dataset.samples),
                }
                reference = reference_step(
                    project, model, iterate_dataset(dataset), len(dataset.samples), source,
                    run_dir / "reference.json",
                )  # fmt: skip
                references = {s.name: s for s in reference.samples}
                timings["reference"] = time.monotonic() - mark
            mark = time.monotonic()
            try:
                if request.mode == "accuracy":
                    journal = Journal(run_dir / "samples.jsonl")
                    _run_accuracy(worker, model, dataset, references, journal, rules, progress)
                else:
                    performance = _run_performance(worker, dataset, rules, request, progress)
            except ExternalDutFailure as exc:
                failure = exc
            timings["dut_session"] = time.monotonic() - mark
    finally:
        stats = worker.stats
        worker.close()
        if journal is not None:
            journal.close()
    timings["upload"] = stats.upload_s
    timings["inference"] = stats.infer_s
    timings["total"] = time.monotonic() - started

    outcomes = journal.outcomes() if journal is not None else []
    document = _document(
        project, request, model, board_id, baud, dataset, rules, identity, worker.faults,
        failure, outcomes, references, performance, timings,
    )  # fmt: skip
    write_results(run_dir, document)
    if performance is not None and failure is None:
        write_atomic(run_dir / "latencies.json", json.dumps(latencies_document(performance)) + "\n")
    if failure is not None:
        raise ExternalDutFailure(
            f"{message(failure)} -- the run stopped; {run_dir / 'results.json'} lists the faults "
            f"and {run_dir / 'transcript.txt'} holds every byte"
        ) from failure
    return RunOutcome(run_dir=run_dir, document=document)


def _document(
    project: Project,
    request: RunRequest,
    model: ModelManifest,
    board_id: str,
    baud: int,
    dataset: Dataset,
    rules: RuleSet,
    identity: Identity | None,
    faults: list[Fault],
    failure: TinybenchError | None,
    outcomes: list[SampleOutcome],
    references: dict[str, ReferenceSample],
    performance: PerformanceOutcome | None,
    timings: dict[str, float],
) -> dict[str, Any]:
    complete = failure is None
    accuracy = None
    perf_block: dict[str, Any] = {"compliant": False, "windows": []}
    if performance is not None and complete:
        perf_block = performance_block(performance, instructions_per_tick=None, accuracy=None)
        perf_block["timed_by"] = "the DUT's m-lap-us microseconds"
        check = _window_check(project, model, performance)
    else:
        if outcomes:
            perf_block = single_inference_latency(outcomes, None, rules.accuracy)
            perf_block["timed_by"] = "the DUT's m-lap-us microseconds"
        if complete and request.mode == "accuracy":
            accuracy = summarize(model, outcomes)
        check = _accuracy_check(model, dataset, outcomes, references)
    provenance = Provenance(
        firmware_sha256=None,
        model_sha256=model.source.sha256,
        toolchain=None,
        runrules_id=rules.rules_id,
        runrules_version=rules.version,
        tinybench_version=__version__,
        reference=interpreter_version(),
        emulator=None,
        dut_info={},
    )
    document = results_document(
        model=model.model_id,
        board=board_id,
        engine=EXTERNAL,
        kernels=None,
        mode=request.mode,
        accuracy=accuracy,
        reference_check=check,
        performance=perf_block,
        memory={"flash_bytes": None, "ram_bytes": None, "arena_bytes": None},
        provenance=provenance,
        quality_target=model.quality_target,
        wall_time_s=timings,
    )
    document["provenance"]["runrules_sha256"] = rules.sha256
    if request.rules_file is not None:
        document["provenance"]["runrules_file"] = str(request.rules_file.resolve())
    document["dut"] = {
        "kind": EXTERNAL,
        "port": request.serial_port,
        "baud": baud,
        "name": identity.name if identity is not None else None,
        "profile": list(identity.profile_lines) if identity is not None else [],
        "status": "complete" if complete else "failed",
        "failure": message(failure) if failure is not None else None,
        "faults": [f.record() for f in faults],
        "fault_counts": dict(Counter(f.kind for f in faults)),
        "samples_done": len(outcomes),
        "samples_total": len(dataset.samples),
    }
    return document
