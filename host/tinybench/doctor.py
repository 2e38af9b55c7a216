"""What this machine has and lacks for tinybench, each with the fix."""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tinybench.deps import open_cache
from tinybench.dut.discovery import (
    PortAccess,
    PortInfo,
    Probe,
    describe_usb,
    escaped,
    matches,
    permission_fix,
    probe_port,
)
from tinybench.errors import ModelStoreError, TinybenchError
from tinybench.manifests.boards import BoardManifest
from tinybench.project import Project


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    required: bool = True


def _version(argv: Sequence[str]) -> str | None:
    if shutil.which(argv[0]) is None:
        return None
    try:
        result = subprocess.run(list(argv), capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = (result.stdout or result.stderr).splitlines()
    return lines[0].strip() if result.returncode == 0 and lines else None


def _tool(name: str, argv: Sequence[str], package: str, required: bool = True) -> Check:
    version = _version(argv)
    if version is None:
        return Check(name, False, f"missing: apt-get install --no-install-recommends {package}",
                     required)  # fmt: skip
    return Check(name, True, version, required)


def _newlib() -> Check:
    version = _version(["arm-none-eabi-gcc", "-print-file-name=libc.a"])
    if version is None or not Path(version).is_absolute() or not Path(version).is_file():
        return Check("newlib", False, "missing: apt-get install libnewlib-arm-none-eabi")
    return Check("newlib", True, version)


def _python_package(name: str) -> Check:
    try:
        return Check(name, True, importlib.metadata.version(name))
    except importlib.metadata.PackageNotFoundError:
        return Check(name, False, "missing: bash scripts/setup.sh installs it")


def _optional_package(name: str, fix: str) -> Check:
    try:
        return Check(name, True, importlib.metadata.version(name), required=False)
    except importlib.metadata.PackageNotFoundError:
        return Check(name, False, f"missing: {fix}", required=False)


def _models(project: Project) -> list[Check]:
    store = project.model_store(allow_download=False)
    checks = []
    for model in project.models().values():
        try:
            checks.append(Check(f"model {model.model_id}", True, str(store.path(model))))
        except ModelStoreError as exc:
            checks.append(Check(f"model {model.model_id}", False, str(exc)))
    return checks


def _kws01_dataset(project: Project) -> Check:
    folder = project.locations.dataset_dir("kws01")
    files = len(list(folder.glob("*.bin"))) if folder.is_dir() else 0
    if files == 0:
        return Check("dataset kws01", False,
                     f"not found in {folder}: put the reference data in ../shared or set "
                     "TINYBENCH_SHARED_DIR", required=False)  # fmt: skip
    return Check("dataset kws01", True, f"{files} samples in {folder}", required=False)


def _tflm_sources(project: Project) -> list[Check]:
    """The TF Lite Micro engine's upstream trees: optional, only that engine needs them."""
    fix = "tinybench deps fetch, or tinybench deps import DIR offline"
    try:
        statuses = open_cache(project.locations).status(deep=False)
    except TinybenchError as exc:
        return [Check("tflm sources", False, str(exc), required=False)]
    return [
        Check(f"tflm source {s.dependency.name}", s.verified,
              str(s.directory) if s.verified else f"{s.state.value}: {fix}", required=False)
        for s in statuses
    ]  # fmt: skip


def run_checks(project: Project) -> list[Check]:
    return [
        Check("python", sys.version_info >= (3, 11), sys.version.split()[0]),
        _tool("arm-none-eabi-gcc", ["arm-none-eabi-gcc", "--version"], "gcc-arm-none-eabi"),
        _newlib(),
        _tool("qemu-system-arm", ["qemu-system-arm", "--version"], "qemu-system-arm"),
        _tool("gcc (host port)", ["gcc", "--version"], "gcc libc6-dev"),
        _python_package("tflite-micro"),
        _python_package("platformio"),
        _python_package("scons"),
        _optional_package("pyocd", "pip install 'tinybench[boards]' (to flash real boards)"),
        *_models(project),
        _kws01_dataset(project),
        _tool("chromium (report tests)", ["chromium", "--version"], "chromium", required=False),
        _tool(
            "clang-format (C style test)",
            ["clang-format", "--version"],
            "clang-format",
            required=False,
        ),
        # `tinybench deps` applies TFLM's flatbuffers patch with `git apply`.
        _tool("git (deps patch)", ["git", "--version"], "git", required=False),
        _tool(
            "arm-none-eabi-g++ (tflm)",
            ["arm-none-eabi-g++", "--version"],
            "libstdc++-arm-none-eabi-newlib",
            required=False,
        ),
        *_tflm_sources(project),
    ]


# -- serial ports (`doctor --ports`) ------------------------------------------------------

SHOWN_NAME_CHARS = 64  # a DUT's name as doctor prints it: what a name% reply carried, capped


def _shown(name: str | None) -> str:
    """The DUT's name quoted, at most SHOWN_NAME_CHARS of it (a broken DUT may send kilobytes)."""
    if name is None:
        return "none"
    if len(name) <= SHOWN_NAME_CHARS:
        return repr(name)
    return f"{name[:SHOWN_NAME_CHARS]!r}... ({len(name)} characters)"


PORT_BAUDS = (115200, 9600, 921600)  # MLPerf Tiny accuracy/performance, energy, a fast link
LINE_VARIANTS = ((False, False), (True, True))  # (DTR, RTS): tinybench's open, pyserial's default


@dataclass(frozen=True)
class PortFinding:
    ok: bool
    summary: str
    fix: str


@dataclass(frozen=True)
class PortReport:
    port: PortInfo
    what: str  # the USB bridge and the boards whose manifests name its ID
    expected_baud: int  # the matching board's UART baud, else 115200
    probes: tuple[Probe, ...]
    findings: tuple[PortFinding, ...]


def _printable(data: bytes) -> bool:
    text = sum(1 for b in data if 0x20 <= b < 0x7F or b in (0x0A, 0x0D, 0x09))
    return bool(data) and text >= 0.9 * len(data)


def _settings(probes: Sequence[Probe]) -> str:
    return ", ".join(p.setting for p in probes)


def diagnose_port(
    probes: Sequence[Probe], expected_baud: int, is_usb: bool = True
) -> list[PortFinding]:
    """What the probes of one port say, each finding with its fix."""
    findings: list[PortFinding] = []
    opened = [p for p in probes if p.error is None]
    if not opened:
        first = probes[0]
        return [PortFinding(False, f"cannot be opened: {first.error}", permission_fix(first))]
    resets = [p for p in opened if p.banner]
    if resets and all(p.dtr or p.rts for p in resets):
        findings.append(PortFinding(
            True, f"resets when DTR/RTS are asserted (a boot banner at {_settings(resets)})",
            "none for tinybench, which opens with DTR and RTS off and waits for a boot banner "
            "if the board resets anyway; other tools (pyserial's defaults, serial monitors, "
            "the EnergyRunner) reset it at every open, so let it boot before the first command",
        ))  # fmt: skip
    elif resets:
        findings.append(PortFinding(
            True, f"resets on every open, whatever DTR/RTS (banner at {_settings(resets)})",
            "tinybench waits for the boot banner before the first command; for other "
            "runners, cut the bridge's reset wiring (a solder bridge or jumper) if it has one",
        ))  # fmt: skip
    named = [p for p in opened if p.dut_name is not None]
    at_expected = [p for p in named if p.baud == expected_baud]
    if at_expected:
        findings.append(PortFinding(
            True, f"a DUT named {_shown(at_expected[0].dut_name)} answers at {expected_baud} baud",
            "none: tinybench run finds it by its USB ID, or give --port",
        ))  # fmt: skip
    elif named:
        bauds = sorted({p.baud for p in named})
        findings.append(PortFinding(
            False,
            f"a DUT named {_shown(named[0].dut_name)} answers at "
            f"{', '.join(map(str, bauds))} baud, "
            f"not at the expected {expected_baud}",
            f"wrong baud rate: build the firmware's UART for {expected_baud} baud, or make the "
            "board manifest's [uart] baud say the rate the firmware uses (MLPerf Tiny energy "
            "mode runs at 9600 behind the IO manager, not on this port)",
        ))  # fmt: skip
    else:
        seen = b"".join(p.banner + p.reply for p in opened)
        if not seen and not is_usb:
            findings.append(PortFinding(
                False, "silent, and not a USB device (a motherboard or virtual UART)",
                "nothing to do unless a board is wired to it: a board's VCP is a USB device",
            ))  # fmt: skip
        elif not seen:
            findings.append(PortFinding(
                False, "silent: no bytes at any baud rate or DTR/RTS setting",
                "the firmware is not running or prints on another UART: press reset, flash it "
                "(tinybench flash), check the board's VCP wiring (NUCLEO: the ST-LINK VCP is "
                "LPUART1 on the L4R5, USART2 on most others) and that the ST-LINK is not in DFU",
            ))  # fmt: skip
        elif not any(_printable(p.banner + p.reply) for p in opened):
            findings.append(PortFinding(
                False, "only noise at every baud rate tried",
                "the UART runs at a rate not tried, or with other framing than 8N1: check the "
                "firmware's clock tree and baud register (a wrong core clock scales the rate)",
            ))  # fmt: skip
        else:
            findings.append(PortFinding(
                False, "answers with text, but not m-name-dut-[...]: not an EEMBC DUT",
                "flash benchmark firmware that speaks the EEMBC/MLPerf Tiny protocol, or this "
                "is another device (a GPS, a modem, a debug console)",
            ))  # fmt: skip
    return findings


def check_ports(
    boards: Iterable[BoardManifest],
    access: PortAccess,
    bauds: Sequence[int] = PORT_BAUDS,
    variants: Sequence[tuple[bool, bool]] = LINE_VARIANTS,
    answer_s: float = 1.0,
) -> list[PortReport]:
    """Every serial port: what it is by USB ID, and `name%` at each baud and DTR/RTS setting."""
    known = list(boards)
    reports = []
    for port in access.list_ports():
        matching = [b for b in known if matches(b, port)]
        expected = matching[0].uart.baud if matching and matching[0].uart else 115200
        probes = tuple(
            probe_port(port.device, baud, access, dtr=dtr, rts=rts, answer_s=answer_s)
            for baud in bauds
            for dtr, rts in variants
        )
        reports.append(PortReport(
            port, describe_usb(port, known), expected, probes,
            tuple(diagnose_port(probes, expected, is_usb=port.vid is not None)),
        ))  # fmt: skip
    return reports


def port_report_lines(report: PortReport) -> list[str]:
    port = report.port
    serial_number = f", serial number {port.serial_number}" if port.serial_number else ""
    lines = [f"{port.device}  {port.usb_id}  {report.what}{serial_number}"]
    for probe in report.probes:
        if probe.error is not None:
            lines.append(f"  {probe.setting:<27} cannot open: {probe.error}")
            continue
        name = f"name {_shown(probe.dut_name)}" if probe.dut_name is not None else "no name"
        banner = f", boot banner {escaped(probe.banner, 60)}" if probe.banner else ""
        lines.append(f"  {probe.setting:<27} {name}{banner}, saw {escaped(probe.reply, 60)}")
    for finding in report.findings:
        lines.append(f"  {'ok' if finding.ok else 'PROBLEM'}: {finding.summary}")
        lines.append(f"    fix: {finding.fix}")
    return lines
