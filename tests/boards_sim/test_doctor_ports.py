"""`tinybench doctor --ports`: each finding, seen through pyserial on simulated USB boards."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from click.testing import CliRunner

from tinybench.build.firmware import FirmwareBuild
from tinybench.cli import cli
from tinybench.doctor import PortReport, check_ports, diagnose_port, port_report_lines
from tinybench.dut.discovery import PortAccess, PortInfo, Probe, system_ports
from tinybench.project import Project

from .simboard import SimulatedBus, SimulatedUsbBoard


def _reports(bus: SimulatedBus, project: Project) -> dict[str, PortReport]:
    access = PortAccess(bus.list_ports, bus.factory)
    return {r.port.device: r for r in check_ports(project.boards().values(), access, answer_s=0.3)}


def _summaries(report: PortReport) -> list[str]:
    return [("ok: " if f.ok else "PROBLEM: ") + f.summary for f in report.findings]


def test_a_healthy_board_that_resets_on_dtr(
    bus: SimulatedBus, host_kws01: FirmwareBuild, project: Project
) -> None:
    board = bus.add(SimulatedUsbBoard(host_kws01.image, reset_on="dtr"))
    report = _reports(bus, project)[board.device]
    # Every board manifest that lists the ST-LINK/V2-1's ID, and only those.
    named = sorted(
        b.board_id
        for b in project.boards().values()
        if b.usb is not None and b.usb.vid == board.vid and board.pid in b.usb.pids
    )
    assert "nucleo-l4r5zi" in named
    assert report.what == f"ST-LINK/V2-1 VCP (boards: {', '.join(named)})"
    assert len(report.probes) == 6  # 3 baud rates x DTR/RTS off and on
    assert _summaries(report) == [
        "ok: resets when DTR/RTS are asserted (a boot banner at 115200 baud dtr=on rts=on, "
        "9600 baud dtr=on rts=on, 921600 baud dtr=on rts=on)",
        "ok: a DUT named 'tinybench' answers at 115200 baud",
    ]
    lines = "\n".join(port_report_lines(report))
    assert "0483:374B" in lines and "serial number SIM0001" in lines
    assert "115200 baud dtr=off rts=off name 'tinybench', saw b'm-ready\\r\\nm-name-dut-[" in lines
    assert "boot banner b'm-init-done\\r\\nm-ready\\r\\n'" in lines


def test_a_board_at_9600_baud_is_a_wrong_baud_finding(
    bus: SimulatedBus, host_kws01: FirmwareBuild, project: Project
) -> None:
    board = bus.add(SimulatedUsbBoard(host_kws01.image, baud=9600, reset_on="open"))
    report = _reports(bus, project)[board.device]
    summaries = _summaries(report)
    assert summaries[0].startswith("ok: resets on every open, whatever DTR/RTS")
    assert summaries[1] == (
        "PROBLEM: a DUT named 'tinybench' answers at 9600 baud, not at the expected 115200"
    )
    assert "wrong baud rate" in report.findings[1].fix
    noise = [p for p in report.probes if p.baud != 9600]
    assert noise and all(p.dut_name is None and set(p.banner) <= {0x00, 0x80, 0xF8, 0xFF}
                         and p.banner for p in noise)  # fmt: skip
    assert "\\xf8" in "\n".join(port_report_lines(report))


def test_silent_text_and_missing_ports(
    bus: SimulatedBus, host_kws01: FirmwareBuild, project: Project, tmp_path: Path
) -> None:
    silent = bus.add(SimulatedUsbBoard(host_kws01.image, serial_number="A"))
    silent.hang()
    script = tmp_path / "modem.sh"
    script.write_text("#!/bin/sh\necho 'MODEM READY'\nexec cat\n")  # echoes what it is sent
    script.chmod(0o755)
    modem = bus.add(SimulatedUsbBoard(script, vid=0x10C4, pid=0xEA60, serial_number="B",
                                      description="CP2102 USB to UART"))  # fmt: skip
    bus.other_ports.append(PortInfo("/sim/gone", 0x0403, 0x6001, None, "FT232R"))
    reports = _reports(bus, project)
    assert _summaries(reports[silent.device]) == [
        "PROBLEM: silent: no bytes at any baud rate or DTR/RTS setting"
    ]
    assert reports[modem.device].what == "Silicon Labs CP210x USB-UART"
    assert _summaries(reports[modem.device]) == [
        "PROBLEM: answers with text, but not m-name-dut-[...]: not an EEMBC DUT"
    ]
    assert reports[modem.device].probes[0].reply == b"%name%"
    gone = reports["/sim/gone"]
    assert gone.what == "FTDI USB-UART" and _summaries(gone)[0].startswith(
        "PROBLEM: cannot be opened: [Errno 2]"
    )


def test_permission_denied_gives_the_dialout_fix() -> None:
    denied = Probe("/dev/ttyACM0", 115200, False, False, error="[Errno 13] Permission denied",
                   errno=errno.EACCES)  # fmt: skip
    (finding,) = diagnose_port([denied], 115200)
    assert not finding.ok and "Permission denied" in finding.summary
    assert "usermod -aG dialout" in finding.fix


@pytest.mark.slow  # about 10 s for each port this machine has
def test_doctor_ports_lists_this_machines_ports() -> None:
    """The real list_ports: whatever this machine has is listed (here /dev/ttyS0, silent)."""
    result = CliRunner().invoke(cli, ["doctor", "--ports"])
    assert result.exit_code == 0, result.output
    ports = system_ports()
    if not ports:
        assert result.output.startswith("no serial ports found")
    for port in ports:
        assert f"{port.device}  {port.usb_id}" in result.output


def test_a_silent_port_without_usb_id_is_not_a_board() -> None:
    quiet = [
        Probe("/dev/ttyS0", baud, dtr, dtr) for baud in (115200, 9600) for dtr in (False, True)
    ]
    (finding,) = diagnose_port(quiet, 115200, is_usb=False)
    assert finding.summary == "silent, and not a USB device (a motherboard or virtual UART)"
    (usb_finding,) = diagnose_port(quiet, 115200, is_usb=True)
    assert usb_finding.summary.startswith("silent: no bytes")
