"""`tinybench run`: a benchmark run on a board, checked against the host reference."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from tinybench.build.firmware import resolve_kernels
from tinybench.cli.options import (
    MODEL_HELP,
    board_option,
    custom_model_options,
    dataset_option,
    engine_option,
    kernels_option,
    limit_option,
    model_argument,
    model_options,
    rules_option,
)
from tinybench.dut.transport.faulty import SPEC_HELP, parse_fault_spec
from tinybench.energy.cosim import PowerModel
from tinybench.energy.instruments import (
    DEFAULT_SUPPLY_MV,
    Instruments,
    parse_io_manager,
    parse_monitor,
)
from tinybench.energyrun import DEFAULT_POWER_MODEL
from tinybench.errors import TinybenchError
from tinybench.farm.places import FarmRequest
from tinybench.flash import FlashRequest
from tinybench.modes.shards import DEFAULT_BATCH_SIZE
from tinybench.project import Project
from tinybench.results import checker_lines
from tinybench.runner import JOBS_AUTO, MODES, RunRequest, load_resume_request, run_benchmark


class JobsType(click.ParamType[int, Any]):
    """--jobs: 1..64, or `auto` (one emulator per core this process may use)."""

    name = "N|auto"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        if str(value).strip().lower() == "auto":
            return JOBS_AUTO
        try:
            jobs = int(str(value))
        except ValueError:
            self.fail(f"{value!r} is neither a number nor 'auto'", param, ctx)
        if not 1 <= jobs <= 64:
            self.fail(f"{jobs} is not in 1..64 (or 'auto')", param, ctx)
        return jobs


def _summary(document: dict[str, Any]) -> list[str]:
    where = f"{document['model']} on {document['board']} ({document['engine']})"
    lines = []
    acc, check, perf = document["accuracy"], document["reference_check"], document["performance"]
    if acc is not None and acc["metric"] == "top1":
        lines.append(
            f"{where}: top-1 {acc['correct']}/{acc['total']} ({100.0 * acc['top1']:.1f} %)"
        )
    elif acc is not None:
        auc = "n/a (needs clips of both labels)" if acc["auc"] is None else f"{acc['auc']:.4f}"
        lines.append(f"{where}: AUC {auc} over {acc['total']} clips")
    if document["mode"] == "performance":
        state = "compliant" if perf["compliant"] else "NOT compliant (windows below the rules)"
        lines.append(
            f"{where}: median throughput {perf['median_throughput_ips']:.3f} inf/s, median "
            f"latency {perf['median_latency_ms']:.3f} ms over {len(perf['windows'])} windows, "
            f"{state}"
        )
        if perf["instructions_per_inference"] is not None:
            lines.append(f"instructions per inference: {perf['instructions_per_inference']:,.0f}")
        dist = perf["latency_distribution"]
        if dist is not None:
            lines.append(
                f"latency p50 {dist['p50_ms']:.3f} ms, p90 {dist['p90_ms']:.3f} ms, "
                f"p99 {dist['p99_ms']:.3f} ms over {dist['count']} inferences"
            )
    if document["mode"] == "energy":
        energy = document["energy"]
        state = (
            "compliant" if energy["compliant"] else "NOT compliant: " + "; ".join(energy["reasons"])
        )
        lines.append(
            f"{where}: median energy {energy['median_uj_per_inference']:.4f} uJ per inference "
            f"over {len(energy['windows'])} windows, {state}"
        )
        if energy["modelled"]:
            lines.append(energy["modelled"])
        if energy["dut_resets"]:
            lines.append(f"the DUT reset {energy['dut_resets']} time(s); those windows ran again")
        if "dut" in document:
            dut = document["dut"]
            lines.append(f"external DUT: {dut['name']} ({'; '.join(dut['profile'])})")
        return lines
    if "within_print_precision" in check:  # an external DUT: its printed vectors
        largest = check["max_abs_difference"]
        lines.append(
            f"reference check: {check['within_print_precision']}/{check['compared']} printed "
            f"vectors within print precision (0.001), largest difference "
            f"{largest if isinstance(largest, str) or largest is None else f'{largest:.4f}'}"
        )
        dut = document["dut"]
        lines.append(f"external DUT: {dut['name']} ({'; '.join(dut['profile'])})")
        if dut["faults"]:
            lines.append(f"DUT faults (recovered): {dut['fault_counts']}")
        if check["mismatches"]:
            lines.append(
                f"WARNING: {check['mismatches']} printed vectors differ from the reference "
                "beyond print precision"
            )
        return lines
    lines.append(f"reference check: {check['compared']} compared, {check['mismatches']} mismatches")
    emulation = document.get("emulation")
    if emulation is not None:
        lines.append(
            f"emulation: {emulation['jobs']} DUT(s) ran {emulation['run_ips'] / 1e9:.3f} G "
            f"instructions/s; one emulator alone {emulation['single_emulator_ips'] / 1e9:.3f}; "
            f"efficiency {emulation['efficiency']:.2f} "
            f"({'batched' if emulation['batch'] else 'per sample'})"
        )
    lines.extend(_link_fault_lines(document.get("link_faults")))
    return lines


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{kind} {count}" for kind, count in counts.items() if count) or "none"


def _link_fault_lines(block: dict[str, Any] | None) -> list[str]:
    if block is None:
        return []
    return [
        f"link faults injected ({block['spec']}): {_counts(block['injected'])}",
        f"link faults detected: {_counts(block['detected'])}; recovered by "
        f"{_counts(block['recovered_by'])}",
    ]


def _power_model(text: str | None, mode: str) -> PowerModel:
    if text is None:
        return DEFAULT_POWER_MODEL
    if mode != "energy":
        raise TinybenchError(
            "--power-model is energy mode's co-simulation model; add --mode energy"
        )
    parts = text.split(",")
    try:
        static_mw, pj = (float(p) for p in parts)
    except ValueError:
        raise TinybenchError(
            f"--power-model {text!r}: expected STATIC_MW,PJ_PER_INSTRUCTION, e.g. 5,100"
        ) from None
    return PowerModel(static_mw, pj)


def _farm_request(
    place: str | None, places: str | None, coordinator: str, wait: bool
) -> FarmRequest | None:
    if place is not None and places is not None:
        raise TinybenchError("--place names one place, --places several: give one of them")
    if place is None and places is None:
        if wait:
            raise TinybenchError("--wait queues for labgrid places: add --place or --places")
        return None
    spec = place if place is not None else places
    assert spec is not None
    if place is not None and ("," in place or "=" in place):
        raise TinybenchError(f"--place {place!r}: one place name (several: --places)")
    return FarmRequest(coordinator, spec, wait)


@click.command("run", epilog=MODEL_HELP)
@model_argument
@board_option
@engine_option
@kernels_option
@click.option(
    "--mode",
    type=click.Choice(MODES),
    default="accuracy",
    show_default=True,
    help="accuracy: every sample with the rules' `infer N W` (MLPerf Tiny: 1 0); performance: "
    "the rules' distinct inputs, each timed over their minimum window of device time (MLPerf "
    "Tiny: 5 inputs, >= 10 s), median throughput; energy: the rules' windows (MLPerf Tiny: 5, "
    ">= 10 s) timed and measured by a power monitor (--monitor), median uJ per inference; on an "
    "emulated board co-simulated with --power-model (results say 'modelled').",
)
@dataset_option
@limit_option
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Run directory (default: runs/<model>-<board>-<engine>-<mode>-<time>).",
)
@click.option(
    "--resume",
    "resume_dir",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="Continue an interrupted run in this directory (its options are reused).",
)
@click.option(
    "--jobs",
    type=JobsType(),
    default="1",
    show_default=True,
    help="Shard an accuracy run over N emulator instances (one merged result and journal); "
    "auto: one per CPU core this process may use.",
)
@click.option(
    "--batch",
    "batch_size",
    type=click.IntRange(min=0),
    default=DEFAULT_BATCH_SIZE,
    show_default=True,
    help="Accuracy runs on emulated and host boards: samples per `batch` command (inputs and "
    "outputs through files, not the UART); 0 sends every sample on its own, as on real boards "
    "and external DUTs, which always do.",
)
@click.option(
    "--min-window",
    "min_window_s",
    type=click.FloatRange(min=0.001),
    help="Performance: seconds per window instead of the rules' minimum (shorter windows are "
    "marked non-compliant).",
)
@click.option(
    "--accuracy-run",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="Performance: an accuracy run of the same setup, for throughput x accuracy.",
)
@rules_option
@custom_model_options
@click.option(
    "--port",
    "serial_port",
    help="Serial port or pyserial URL of a physical board (an error with any other board); "
    "with --external also process:COMMAND (a local program speaking the protocol). "
    "Default for a physical board: the port with the board's USB ID that answers name%.",
)
@click.option(
    "--external",
    is_flag=True,
    help="Drive firmware tinybench did not build (a vendor's) on --port: no build, no flash, "
    "standard commands only, scored from the printed floats. --board is optional (a "
    "physical board's id gives the baud rate, else 115200); --engine and --kernels do not "
    "apply. With --mode energy: --monitor and --port or --io-manager.",
)
@click.option(
    "--baud",
    type=click.IntRange(min=1),
    help="With --external: the port's baud rate (default: the --board's, else 115200; the "
    "MLCommons runner uses 921600 for ad01).",
)
@click.option(
    "--flash",
    "flash",
    is_flag=True,
    help="Physical boards: flash the built image through pyOCD before the run (see tinybench "
    "flash).",
)
@click.option("--probe", "probe_id", help="With --flash: the debug probe's unique ID (or part).")
@click.option(
    "--pack",
    type=click.Path(path_type=Path, dir_okay=False),
    help="With --flash: a local CMSIS pack for the board's part.",
)
@click.option(
    "--power-model",
    "power_model_text",
    metavar="STATIC_MW,PJ_PER_INSTRUCTION",
    help="Energy mode on an emulated board: the co-simulation's stated power model, static "
    "power in mW and energy per executed instruction in pJ (default 5,100).",
)
@click.option(
    "--monitor",
    "monitor_text",
    metavar="lpm01a:PORT|joulescope|cosim|cosim-lpm01a",
    help="Energy mode: the power monitor. A physical board needs lpm01a:PORT (the LPM01A's "
    "serial port, its D7 on the DUT's timestamp pin) or joulescope (the one JS110/JS220 "
    "connected, GPI0 on the timestamp pin). An emulated board: cosim (default) or cosim-lpm01a "
    "(the co-simulation as an LPM01A stream, read by the real LPM01A driver).",
)
@click.option(
    "--io-manager",
    "io_manager_text",
    metavar="arduino:PORT|h573:PORT",
    help="Energy mode on a physical board: the IO manager the DUT talks through (the Arduino "
    "IO manager or the H573 interface board, on its USB serial port). Without it the DUT's "
    "UART is read directly on --port (or found by USB ID) at the rules' energy baud rate.",
)
@click.option(
    "--supply-mv",
    type=click.IntRange(min=1800, max=3300),
    default=DEFAULT_SUPPLY_MV,
    show_default=True,
    help="Energy mode with an LPM01A: the supply voltage it gives the DUT, in mV.",
)
@click.option("--inject", "inject_text", metavar="SPEC", help=SPEC_HELP)
@click.option(
    "--place",
    "place",
    help="Run on this labgrid place (its serial port and power port; flashed where the farm "
    "can flash it): see tinybench farm.",
)
@click.option(
    "--places",
    "places",
    metavar="P1,P2,...|TAG=VALUE",
    help="Shard an accuracy run over these labgrid places (names, or every place with the "
    "tags), or run --mode performance (and --mode energy on emulated places) on each of them "
    "at once; results.json gets per-unit figures and their spread (`farm`).",
)
@click.option(
    "--coordinator",
    envvar="LG_COORDINATOR",
    default="127.0.0.1:20408",
    show_default=True,
    help="With --place/--places: the labgrid coordinator (env LG_COORDINATOR).",
)
@click.option(
    "--wait",
    "wait_for_places",
    is_flag=True,
    help="With --place/--places: queue for held places through a labgrid reservation instead "
    "of failing.",
)
@click.pass_obj
def run_command(
    project: Project,
    model_id: str,
    board_id: str,
    engine: str,
    kernels: str | None,
    mode: str,
    dataset_dir: Path | None,
    limit: int | None,
    out_dir: Path | None,
    resume_dir: Path | None,
    jobs: int,
    batch_size: int,
    min_window_s: float | None,
    accuracy_run: Path | None,
    rules_file: Path | None,
    input_format: str | None,
    metric: str | None,
    classes: int | None,
    serial_port: str | None,
    external: bool,
    baud: int | None,
    flash: bool,
    probe_id: str | None,
    pack: Path | None,
    power_model_text: str | None,
    monitor_text: str | None,
    io_manager_text: str | None,
    supply_mv: int,
    inject_text: str | None,
    place: str | None,
    places: str | None,
    coordinator: str,
    wait_for_places: bool,
) -> None:
    """Build the firmware, run MODEL on the board and check every output against the reference.

    Writes results.json, results.txt (MLPerf checker lines), transcript.txt, reference.json,
    run.json and samples.jsonl (the journal that --resume continues) into the run directory.

    A physical board without --port is found by its USB ID and a name% check; --flash
    flashes the built image onto it first (pyOCD, as tinybench flash does).

    With --external: no build, the firmware on --port is driven with the standard commands
    only and scored from its printed floats; results.json records the DUT's name, profile
    lines and every fault.
    """
    if not flash and (probe_id is not None or pack is not None):
        raise TinybenchError("--probe and --pack choose how --flash flashes; add --flash")
    if flash and resume_dir is not None:
        raise TinybenchError(
            "--resume continues on the firmware the run started with; flash it with "
            "tinybench flash first if the board lost it, then --resume without --flash"
        )
    if flash and external:
        raise TinybenchError("--external drives firmware tinybench did not build: it never flashes")
    if external and resume_dir is not None:
        raise TinybenchError("--resume continues tinybench-built runs; an external run starts anew")
    energy_options = [
        name
        for name, given in (("--monitor", monitor_text), ("--io-manager", io_manager_text))
        if given is not None
    ]
    if energy_options and mode != "energy" and resume_dir is None:
        raise TinybenchError(f"{' and '.join(energy_options)} apply to --mode energy")
    if baud is not None and not external:
        raise TinybenchError("--baud applies to --external runs (a board's manifest has its rate)")
    if external:
        from tinybench.external.run import EXTERNAL

        source = click.get_current_context().get_parameter_source("board_id")
        if source is click.core.ParameterSource.DEFAULT:
            board_id = EXTERNAL
    if inject_text is not None and resume_dir is not None:
        raise TinybenchError("--inject starts a fresh run; a resumed run continues undamaged")
    farm = _farm_request(place, places, coordinator, wait_for_places)
    if farm is not None and resume_dir is not None:
        raise TinybenchError("--resume continues local runs; a farm run starts anew")
    if resume_dir is not None:
        request = load_resume_request(resume_dir, serial_port, jobs, batch_size)
        if request.model_id not in (model_id, str(Path(model_id).resolve())):
            raise TinybenchError(f"{resume_dir} is a run of {request.model_id}, not {model_id}")
    else:
        request = RunRequest(
            model_id, board_id, engine, mode, dataset_dir, limit, out_dir, serial_port,
            jobs=jobs, batch_size=batch_size, min_window_s=min_window_s,
            accuracy_run=accuracy_run,
            kernels=resolve_kernels(engine, kernels),
            rules_file=rules_file, model_options=model_options(input_format, metric, classes),
            external=external, baud=baud,
            flash=FlashRequest(probe_id, pack) if flash else None,
            power_model=_power_model(power_model_text, mode),
            monitor=parse_monitor(monitor_text) if monitor_text else None,
            io_manager=parse_io_manager(io_manager_text) if io_manager_text else None,
            faults=parse_fault_spec(inject_text) if inject_text is not None else None,
            farm=farm,
        )  # fmt: skip
    instruments = Instruments(supply_mv=supply_mv)
    if sys.stderr.isatty():
        label = f"{Path(model_id).stem} on {request.board_id}"
        with click.progressbar(length=1, label=label, file=sys.stderr, show_eta=True) as bar:

            def progress(done: int, total: int) -> None:
                bar.length = total
                bar.update(done - bar.pos)

            outcome = run_benchmark(project, request, progress, instruments=instruments)
    else:
        outcome = run_benchmark(project, request, instruments=instruments)
    for line in _summary(outcome.document):
        click.echo(line)
    for line in checker_lines(outcome.document):
        click.echo(line)
    click.echo(f"run directory: {outcome.run_dir}")
