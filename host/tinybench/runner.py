"""One benchmark run from start to finish: build, reference, DUT session, scoring, results.

The CLI only parses options; this module owns the order of the steps and the
run directory: results.json, results.txt, transcript.txt (every byte on the
link), reference.json (the host reference used) and samples.jsonl (one line per
finished sample, written as it finishes).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tinybench import __version__
from tinybench.boards import BoardKind
from tinybench.build.firmware import build_firmware, toolchain_version
from tinybench.datasets import open_dataset
from tinybench.dut import DutSession
from tinybench.dutlink import open_dut
from tinybench.elfsize import image_size
from tinybench.errors import TinybenchError
from tinybench.modes.accuracy import SampleInput, SampleOutcome, run_accuracy, summarize
from tinybench.project import Project
from tinybench.reference import (
    ReferenceInterpreter,
    interpreter_version,
    iterate_dataset,
    run_reference,
    write_reference,
)
from tinybench.results import (
    Provenance,
    results_document,
    single_inference_latency,
    write_results,
)
from tinybench.transport.recording import RecordingTransport

MODES = ("accuracy", "performance", "energy")


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


def _outcome_record(outcome: SampleOutcome) -> dict[str, Any]:
    record = asdict(outcome)
    record["raw_outputs"] = [r.hex() for r in outcome.raw_outputs]
    return record


def run_benchmark(
    project: Project, request: RunRequest, progress: Progress | None = None
) -> RunOutcome:
    if request.mode != "accuracy":
        raise TinybenchError(
            f"--mode {request.mode} is not available yet: only accuracy mode runs today"
        )
    started = time.monotonic()
    model = project.model(request.model_id)
    board = project.board(request.board_id)
    rules = project.rules()
    rules.check_model(model)
    root = request.dataset_dir or project.locations.dataset_dir(model.dataset.dataset_id)
    dataset = open_dataset(model.dataset, root).limited(request.limit)
    run_dir = request.out_dir or default_run_dir(request)
    if (run_dir / "results.json").exists():
        raise TinybenchError(f"{run_dir} already holds a finished run; choose another --out")
    run_dir.mkdir(parents=True, exist_ok=True)

    timings: dict[str, float] = {}
    mark = time.monotonic()
    build = build_firmware(project, board.board_id, request.engine, model.model_id)
    timings["build"] = time.monotonic() - mark

    mark = time.monotonic()
    model_path = project.model_store().path(model)
    interpreter = ReferenceInterpreter(model, model_path)
    reference = run_reference(interpreter, model, iterate_dataset(dataset), len(dataset.samples))
    write_reference(
        run_dir / "reference.json",
        model,
        _sha256(model_path),
        {"kind": "dataset", "path": str(root.resolve()), "samples": len(dataset.samples)},
        reference,
    )
    references = {s.name: s for s in reference.samples}
    timings["reference"] = time.monotonic() - mark

    def samples() -> Iterator[SampleInput]:
        for s in dataset.samples:
            yield SampleInput(s.index, s.file_name, s.label, tuple(dataset.inferences(s)))

    total = len(dataset.samples)
    mark = time.monotonic()
    with (
        open_dut(board, build.image, request.serial_port) as link,
        (run_dir / "transcript.txt").open("w", encoding="utf-8") as transcript,
        (run_dir / "samples.jsonl").open("w", encoding="utf-8") as journal,
    ):
        session = DutSession(RecordingTransport(link.transport, transcript), None, link.shared_dir)
        session.synchronize()
        _, dut_model = session.profile()
        if dut_model != model.model_id:
            raise TinybenchError(f"the DUT runs model {dut_model}, not {model.model_id}")
        info = session.info().fields if "info" in session.extensions else {}
        if info and info.get("model_sha256") != model.source.sha256:
            raise TinybenchError(
                f"the DUT's model has sha256 {info.get('model_sha256')}, expected "
                f"{model.source.sha256}: rebuild and flash the firmware"
            )
        timings["connect"] = time.monotonic() - mark

        def record(outcome: SampleOutcome) -> None:
            journal.write(json.dumps(_outcome_record(outcome)) + "\n")
            journal.flush()
            if progress is not None:
                progress(outcome.index + 1, total)

        outcomes = run_accuracy(session, model, samples(), references, record)
        timings["upload"] = session.stats.upload_s
        timings["inference"] = session.stats.infer_s
        timings["upload_wire_bytes"] = session.stats.upload_wire_bytes
    timings["dut_session"] = time.monotonic() - mark
    timings["total"] = time.monotonic() - started

    summary = summarize(model, outcomes)
    size = image_size(build.image)
    counter_hz = int(info["counter_hz"]) if info.get("counter_hz", "").isdigit() else None
    arena = int(info["arena_used"]) if info.get("arena_used", "").isdigit() else build.arena_bytes
    provenance = Provenance(
        firmware_sha256=_sha256(build.image),
        model_sha256=model.source.sha256,
        toolchain=toolchain_version(board.core),
        runrules_id=rules.rules_id,
        runrules_version=rules.version,
        tinybench_version=__version__,
        reference=interpreter_version(),
        emulator=(
            _emulator_version(board.emulator.program)
            if board.kind is BoardKind.EMULATED and board.emulator is not None
            else None
        ),
        dut_info=info,
    )
    document = results_document(
        model=model.model_id,
        board=board.board_id,
        engine=request.engine,
        mode=request.mode,
        accuracy=summary,
        performance=single_inference_latency(outcomes, counter_hz),
        memory={"flash_bytes": size.flash_bytes, "ram_bytes": size.ram_bytes, "arena_bytes": arena},
        provenance=provenance,
        quality_target=model.quality_target,
        wall_time_s=timings,
    )
    missing = rules.missing_result_keys(document)
    if missing:
        raise TinybenchError(f"internal: results lack required keys {missing}")
    write_results(run_dir, document)
    shutil.copy(build.image, run_dir / build.image.name)
    return RunOutcome(run_dir=run_dir, document=document)
