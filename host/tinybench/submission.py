"""`tinybench submission`: run directories laid out as an MLPerf Tiny results tree.

The layout follows the MLCommons results repositories. mlcommons/tiny_results_v1.3
README.md ("MLPerf Tiny results directory structure") gives

    <division>/<submitting_organization>/
        systems/<system_desc_id>.json
        results/<system_desc_id>/<benchmark>/{performance,accuracy,energy}/

with "`<benchmark>` must be one of {vww, ic, kws, ad}". The README lists the files
as result.txt and log.txt, but every published tree in that repository (for example
closed/STMicroelectronics/results/NUCLEO_L4R5ZI-P/kws/performance/results.txt and
.../kws/accuracy/log.txt) names them results.txt and log.txt, so those names are
used here. The streaming wake word benchmark lives in an `sww` folder there
(closed/STMicroelectronics/results/NUCLEO_H7A3ZI_Q/sww/). System descriptions use
the keys of closed/STMicroelectronics/systems/NUCLEO_L4R5ZI-P.json.

ROOT plays the role of <division>/<submitting_organization>. Each mode folder gets
  results.txt   the run's MLPerf checker lines (regenerated from results.json if absent)
  log.txt       the run's transcript.txt: every byte exchanged with the DUT
  results.json  tinybench's full results (an extra file the upstream tree does not have)
"""

from __future__ import annotations

import json
import math
import re
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinybench.errors import TinybenchError
from tinybench.manifests.boards import BoardKind, BoardManifest
from tinybench.manifests.runrules import RuleSet, TimedRules
from tinybench.report.rundir import read_results
from tinybench.results import checker_lines, write_atomic

# tinybench model id (the DUT's `m-model-[...]`) -> MLPerf Tiny results folder name.
BENCHMARK_FOLDERS = {
    "kws01": "kws",
    "vww01": "vww",
    "ic01": "ic",
    "ad01": "ad",
    "sww01": "sww",
    "strww01": "sww",
}
MODE_FOLDERS = ("performance", "accuracy", "energy")
DIVISIONS = ("closed", "open")
RESULTS_FILE = "results.txt"
LOG_FILE = "log.txt"
_SYSTEM_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

BoardLookup = Callable[[str], BoardManifest | None]


class SubmissionError(TinybenchError):
    """The run directories cannot be laid out as one system's MLPerf Tiny results."""


@dataclass(frozen=True)
class PlacedRun:
    run_dir: Path
    results: dict[str, Any]
    benchmark: str
    mode: str

    @property
    def relative_dir(self) -> Path:
        return Path(self.benchmark) / self.mode


@dataclass(frozen=True)
class SubmissionPlan:
    system: str
    submitter: str | None
    division: str
    runs: tuple[PlacedRun, ...]
    system_description: dict[str, Any]


@dataclass(frozen=True)
class SubmissionFiles:
    results_dir: Path
    system_json: Path
    written: tuple[Path, ...]
    notes: tuple[str, ...]


def _check_rules_identity(run_dir: Path, results: dict[str, Any], rules: RuleSet) -> None:
    """The run was made under this rule set: same id and version, and (when results.json
    records it) the same rules file, so a run under an edited copy is not submitted."""
    provenance = _block(results, "provenance")
    ran = (provenance.get("runrules"), provenance.get("runrules_version"))
    if ran != (rules.rules_id, rules.version):
        raise SubmissionError(
            f"{run_dir}: the run followed run rules {ran[0]} {ran[1]}, not "
            f"{rules.rules_id} {rules.version} ({rules.path})"
        )
    digest = provenance.get("runrules_sha256")
    if digest is not None and digest != rules.sha256:
        used = provenance.get("runrules_file", "another rules file")
        raise SubmissionError(
            f"{run_dir}: the run followed {used} (sha256 {str(digest)[:12]}), not the rules "
            f"file {rules.path} (sha256 {rules.sha256[:12]}); submit with --rules that file, "
            "or run again under these rules"
        )


def _check_windows(run_dir: Path, mode: str, block: dict[str, Any], timed: TimedRules) -> None:
    """A timed run meets the rules' window count, minimum window and warm-ups, window by window."""
    if block.get("compliant") is not True:
        raise SubmissionError(
            f"{run_dir}: the {mode} run is not compliant with the run rules "
            "(results.json does not say compliant: true); it cannot be submitted"
        )
    windows = block.get("windows")
    windows = [w for w in windows if isinstance(w, dict)] if isinstance(windows, list) else []
    inputs = {str(w.get("input")) for w in windows}  # str: a hostile file may hold a list
    if len(inputs) < timed.windows:
        raise SubmissionError(
            f"{run_dir}: the {mode} run has {len(inputs)} distinct inputs; the run rules "
            f"require {timed.windows}"
        )
    length_key = "duration_s" if mode == "energy" else "elapsed_s"  # energy: the monitor's edges
    for window in windows:
        elapsed = window.get(length_key)
        if isinstance(elapsed, float) and not math.isfinite(elapsed):
            # NaN compares False with everything: it would pass the minimum below.
            raise SubmissionError(
                f"{run_dir}: the window of {window.get('input')} lasted {elapsed} s, not a "
                f"finite length; the run rules require at least {timed.min_window_s} s"
            )
        if not isinstance(elapsed, (int, float)) or elapsed < timed.min_window_s:
            raise SubmissionError(
                f"{run_dir}: the window of {window.get('input')} lasted {elapsed} s; the run "
                f"rules require at least {timed.min_window_s} s"
            )
        warmups = window.get("warmup_count")
        if not isinstance(warmups, int) or warmups < timed.warmup_count:
            raise SubmissionError(
                f"{run_dir}: the window of {window.get('input')} had {warmups} warm-up "
                f"inferences; the run rules require {timed.warmup_count}"
            )


def _placed(run_dir: Path, rules: RuleSet) -> PlacedRun:
    results = read_results(run_dir)
    model = results.get("model")
    mode = results.get("mode")
    if not isinstance(model, str) or model not in BENCHMARK_FOLDERS:
        known = ", ".join(sorted(BENCHMARK_FOLDERS))
        raise SubmissionError(
            f"{run_dir}: model {model!r} is not an MLPerf Tiny benchmark ({known})"
        )
    if not isinstance(mode, str) or mode not in MODE_FOLDERS:
        raise SubmissionError(f"{run_dir}: mode {mode!r} is not one of {', '.join(MODE_FOLDERS)}")
    _check_rules_identity(run_dir, results, rules)
    if mode != "accuracy":
        block = results.get("energy") if mode == "energy" and results.get("energy") else None
        block = block if isinstance(block, dict) else _block(results, "performance")
        timed = rules.energy if mode == "energy" else rules.performance
        _check_windows(run_dir, str(mode), block, timed)
    if mode == "accuracy" and rules.accuracy.every_sample and _limited(run_dir) is not None:
        raise SubmissionError(
            f"{run_dir}: the accuracy run covers only the first {_limited(run_dir)} samples "
            f"(--limit); run rules {rules.rules_id} {rules.version} require every sample"
        )
    return PlacedRun(run_dir, results, BENCHMARK_FOLDERS[str(model)], str(mode))


def _limited(run_dir: Path) -> int | None:
    """The --limit a run was started with (run.json), or None for a whole data set."""
    try:
        request = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    limit = request.get("limit") if isinstance(request, dict) else None
    return limit if isinstance(limit, int) else None


def _distinct(runs: Sequence[PlacedRun], key: Callable[[dict[str, Any]], Any], what: str) -> Any:
    values = {json.dumps(key(r.results), sort_keys=True): key(r.results) for r in runs}
    if len(values) > 1:
        listed = ", ".join(sorted(str(v) for v in values.values()))
        raise SubmissionError(
            f"one system has one {what}, but these runs use {listed}: "
            "submit them under different --system names"
        )
    return next(iter(values.values()))


def _block(document: dict[str, Any], key: str) -> dict[str, Any]:
    value = document.get(key)
    return value if isinstance(value, dict) else {}


def _memory_text(board: BoardManifest | None, kind: str) -> str:
    region = board.region(kind) if board is not None else None
    if region is None:
        return ""
    label = "RAM" if kind == "data" else "code memory"
    return f"{region.size // 1024} KiB {label} ({region.name} at 0x{region.origin:08x})"


def system_description(
    system: str,
    submitter: str | None,
    division: str,
    runs: Sequence[PlacedRun],
    board: BoardManifest | None,
) -> dict[str, Any]:
    """The systems/<system>.json document: upstream's keys, plus a `tinybench` block."""
    first = runs[0].results
    provenance = _block(first, "provenance")
    dut_info = _block(provenance, "dut_info")
    engine = str(first.get("engine", ""))
    engine_version = str(dut_info.get("engine_version", ""))
    toolchains = sorted(
        {str(_block(r.results, "provenance").get("toolchain", "")) for r in runs} - {""}
    )
    cpu_hz = board.cpu_hz if board is not None else None
    if cpu_hz is None and str(dut_info.get("cpu_hz", "")).isdigit() and int(dut_info["cpu_hz"]):
        cpu_hz = int(dut_info["cpu_hz"])
    core = board.core if board is not None else ""
    fpu = f" with FPU {board.fpu}" if board is not None and board.fpu != "none" else ""
    emulator = provenance.get("emulator")
    process = board is not None and board.kind is BoardKind.PROCESS
    return {
        "Submitter": submitter or "",
        "Division": division.capitalize(),
        "Status": "",
        "System Name": system,
        "Board Name": board.title if board is not None else str(first.get("board", "")),
        "SoC Name": "",
        "Processor(s) Name": f"{core}{fpu}",
        "Processor(s) Frequencies": f"{cpu_hz / 1e6:g} MHz" if cpu_hz else "",
        "Processor memory type and capacity": _memory_text(board, "data"),
        "Processor storage type and capacity": _memory_text(board, "code"),
        "Accelerator": "",
        "Hardware Notes": f"emulated: {emulator}" if emulator else "",
        "Inference Framework": f"tinybench {engine} engine {engine_version}".rstrip(),
        "Software Libraries": "",
        "Operating System": "Linux process" if process else "bare metal",
        "ML Model Compiler(s)": (
            f"tinybench ahead-of-time compiler {provenance.get('tinybench_version', '')}".rstrip()
            if engine == "native"
            else ""
        ),
        "General Compiler(s)": "; ".join(toolchains),
        "Quantization Method": "int8 TF Lite reference models of MLPerf Tiny",
        "Software Notes": (
            f"tinybench {provenance.get('tinybench_version', '')}, run rules "
            f"{provenance.get('runrules', '')} {provenance.get('runrules_version', '')}; "
            f"device outputs checked against {provenance.get('reference', 'the host reference')}"
        ),
        "tinybench": {
            "board": first.get("board"),
            "board_kind": board.kind.value if board is not None else None,
            "core": core or None,
            "fpu": board.fpu if board is not None else None,
            "cpu_hz": cpu_hz,
            "memory": [
                {"name": r.name, "kind": r.kind, "origin": r.origin, "size": r.size}
                for r in (board.memory if board is not None else ())
            ],
            "engine": engine,
            "engine_version": engine_version or None,
            "toolchains": toolchains,
            "emulator": emulator,
            "runs": [
                {
                    "benchmark": r.benchmark,
                    "mode": r.mode,
                    "model": r.results.get("model"),
                    "run_directory": str(r.run_dir.resolve()),
                    "firmware_sha256": _block(r.results, "provenance").get("firmware_sha256"),
                    "model_sha256": _block(r.results, "provenance").get("model_sha256"),
                }
                for r in runs
            ],
        },
    }


def plan_submission(
    run_dirs: Sequence[Path],
    system: str,
    submitter: str | None = None,
    division: str = "closed",
    board_lookup: BoardLookup | None = None,
    *,
    rules: RuleSet,
) -> SubmissionPlan:
    """Check everything before anything is written: a refused submission writes no file.
    Compliance is judged by `rules`, the rule set the runs claim to follow."""
    if not run_dirs:
        raise SubmissionError("no run directories given")
    if not _SYSTEM_NAME.match(system):
        raise SubmissionError(
            f"system name {system!r} must be letters, digits, '.', '_' or '-' (it names folders)"
        )
    if division not in DIVISIONS:
        raise SubmissionError(f"division {division!r} must be one of {', '.join(DIVISIONS)}")
    runs = [_placed(d, rules) for d in run_dirs]
    claimed: dict[Path, Path] = {}
    for run in runs:
        if run.relative_dir in claimed:
            raise SubmissionError(
                f"{claimed[run.relative_dir]} and {run.run_dir} both claim "
                f"{run.benchmark}/{run.mode}: keep one run per benchmark and mode"
            )
        claimed[run.relative_dir] = run.run_dir
    board_id = _distinct(runs, lambda r: r.get("board"), "board")
    _distinct(runs, lambda r: r.get("engine"), "engine")
    board = board_lookup(str(board_id)) if board_lookup is not None else None
    description = system_description(system, submitter, division, runs, board)
    return SubmissionPlan(system, submitter, division, tuple(runs), description)


def write_submission(plan: SubmissionPlan, root: Path) -> SubmissionFiles:
    results_dir = root / "results" / plan.system
    system_json = root / "systems" / f"{plan.system}.json"
    if results_dir.exists() and any(results_dir.iterdir()):
        raise SubmissionError(
            f"{results_dir} already holds results: lay out all of a system's runs in one call, "
            "into a fresh ROOT or after removing that folder"
        )
    if system_json.exists():
        raise SubmissionError(f"{system_json} already exists; choose another --system or ROOT")
    written: list[Path] = []
    notes: list[str] = []
    for run in plan.runs:
        target = results_dir / run.relative_dir
        target.mkdir(parents=True, exist_ok=True)
        source_txt = run.run_dir / "results.txt"
        if source_txt.is_file():
            shutil.copyfile(source_txt, target / RESULTS_FILE)
        else:
            write_atomic(target / RESULTS_FILE, "\n".join(checker_lines(run.results)) + "\n")
            notes.append(f"{run.run_dir}: no results.txt, regenerated from results.json")
        written.append(target / RESULTS_FILE)
        transcript = run.run_dir / "transcript.txt"
        if transcript.is_file():
            shutil.copyfile(transcript, target / LOG_FILE)
            written.append(target / LOG_FILE)
        else:
            notes.append(f"{run.run_dir}: no transcript.txt, so {target / LOG_FILE} is missing")
        shutil.copyfile(run.run_dir / "results.json", target / "results.json")
        written.append(target / "results.json")
    system_json.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(system_json, json.dumps(plan.system_description, indent=2) + "\n")
    written.append(system_json)
    return SubmissionFiles(results_dir, system_json, tuple(written), tuple(notes))
