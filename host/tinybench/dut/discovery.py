"""Finding a physical board's serial port: USB VID:PID from its manifest, then a `name%` check.

Port names come only from pyserial's `list_ports` (COM3 on Windows, /dev/cu.usbmodem* on
macOS, /dev/ttyACM* on Linux); nothing here assumes a platform's device paths. The port
lister and the pyserial port factory are injected (`PortAccess`), so tests drive the real
pyserial code against a simulated board on a pty.
"""

from __future__ import annotations

import contextlib
import errno as errno_codes
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import serial
from serial.tools import list_ports

from tinybench.dut.transport.serial_link import (
    BANNER_FIRST_BYTE_S,
    SerialFactory,
    open_port,
    read_boot_banner,
)
from tinybench.errors import TinybenchError
from tinybench.manifests.boards import BoardManifest


class PortDiscoveryError(TinybenchError):
    """No port, several ports, or a port that does not answer like the board."""


@dataclass(frozen=True)
class PortInfo:
    """One serial port as the operating system lists it."""

    device: str  # what pyserial opens: COM3, /dev/cu.usbmodem1103, /dev/ttyACM0
    vid: int | None  # None for ports that are not USB (a motherboard UART, a pty)
    pid: int | None
    serial_number: str | None
    description: str

    @property
    def usb_id(self) -> str:
        return (
            "no USB ID"
            if self.vid is None or self.pid is None
            else f"{self.vid:04X}:{self.pid:04X}"
        )


PortLister = Callable[[], Sequence[PortInfo]]


def system_ports() -> list[PortInfo]:
    """The serial ports pyserial sees on this machine, on any operating system."""
    return [
        PortInfo(p.device, p.vid, p.pid, p.serial_number, p.description or "")
        for p in sorted(list_ports.comports(), key=lambda p: p.device)
    ]


@dataclass(frozen=True)
class PortAccess:
    """How to list and open serial ports: the system's, or a simulated board's in tests."""

    list_ports: PortLister = system_ports
    factory: SerialFactory = serial.serial_for_url


# USB bridges seen on MCU boards, by VID:PID (pid None: any product of that vendor).
# ST-LINK product IDs from BOARDS.md section 7; the others are the common USB-UART chips.
KNOWN_BRIDGES: tuple[tuple[int, int | None, str], ...] = (
    (0x0483, 0x3748, "ST-LINK/V2 (no VCP)"),
    (0x0483, 0x374A, "ST-LINK/V2-1 VCP"),
    (0x0483, 0x374B, "ST-LINK/V2-1 VCP"),
    (0x0483, 0x3752, "ST-LINK/V2-1 VCP (no mass storage)"),
    (0x0483, 0x374E, "ST-LINK/V3 VCP"),
    (0x0483, 0x374F, "ST-LINK/V3 VCP (bridge)"),
    (0x0483, 0x3753, "ST-LINK/V3 VCP (2 VCPs, no mass storage)"),
    (0x0483, 0x3754, "ST-LINK/V3 VCP (no mass storage)"),
    (0x0483, 0x3755, "ST-LINK/V3 VCP"),
    (0x0483, 0x3757, "ST-LINK/V3 or V4 VCP"),
    (0x0483, 0x374D, "ST-LINK/V3 in DFU mode (no VCP: update or replug it)"),
    (0x1366, None, "SEGGER J-Link VCOM (e.g. J-Link OB on the nRF52840-DK)"),
    (0x0D28, 0x0204, "Arm DAPLink CMSIS-DAP VCP"),
    (0x0403, None, "FTDI USB-UART"),
    (0x10C4, 0xEA60, "Silicon Labs CP210x USB-UART"),
    (0x1A86, 0x7523, "WCH CH340 USB-UART"),
)


def describe_usb(port: PortInfo, boards: Iterable[BoardManifest] = ()) -> str:
    """What a port is: the bridge it belongs to and the boards whose manifests name its ID."""
    if port.vid is None or port.pid is None:
        return "not a USB device"
    what = next(
        (name for vid, pid, name in KNOWN_BRIDGES if vid == port.vid and pid in (None, port.pid)),
        "unknown USB device",
    )
    matching = [b.board_id for b in boards if matches(b, port)]
    return what + (f" (boards: {', '.join(matching)})" if matching else "")


def matches(board: BoardManifest, port: PortInfo) -> bool:
    return board.usb is not None and port.vid == board.usb.vid and port.pid in board.usb.pids


@dataclass(frozen=True)
class Probe:
    """What one `name%` attempt on one port at one setting saw."""

    device: str
    baud: int
    dtr: bool
    rts: bool
    banner: bytes = b""  # unprompted bytes right after the open: the board reset
    reply: bytes = b""  # what came after `name%`
    error: str | None = None  # the port could not be opened or read
    errno: int | None = None

    @property
    def dut_name(self) -> str | None:
        """The DUT's name if it answered `m-name-dut-[...]`, else None."""
        text = self.reply.decode("ascii", errors="replace")
        for line in text.splitlines():
            line = line.strip()
            if line.startswith("m-name-dut-[") and line.endswith("]"):
                return line[len("m-name-dut-[") : -1]
        return None

    @property
    def setting(self) -> str:
        flags = f"dtr={'on' if self.dtr else 'off'} rts={'on' if self.rts else 'off'}"
        return f"{self.baud} baud {flags}"


def escaped(data: bytes, limit: int = 120) -> str:
    """Raw bytes as a printable Python-style literal (for messages), cut at limit bytes."""
    text = repr(data[:limit])
    return text + (f" ... ({len(data)} bytes)" if len(data) > limit else "")


NAME_RESEND_S = 1.0


def probe_port(
    device: str,
    baud: int,
    access: PortAccess,
    dtr: bool = False,
    rts: bool = False,
    answer_s: float = 1.0,
    boot_s: float = 5.0,
    banner_first_byte_s: float = BANNER_FIRST_BYTE_S,
) -> Probe:
    """Opens device with DTR/RTS as given, reads a boot banner if one comes, sends `%name%`
    (the lone `%` ends any half-received line) and reads the reply up to m-ready or answer_s.
    While the board is silent or at a prompt without having answered, `name%` is sent again
    every NAME_RESEND_S: a board that was still booting when the first one arrived lost it."""
    try:
        port = open_port(device, baud, dtr=dtr, rts=rts, factory=access.factory)
    except (serial.SerialException, OSError, ValueError) as exc:
        code = getattr(exc, "errno", None)
        return Probe(device, baud, dtr, rts, error=str(exc), errno=code)
    try:
        banner = read_boot_banner(port, banner_first_byte_s, boot_s)
        port.write(b"%name%")
        port.flush()
        reply = b""
        deadline = time.monotonic() + answer_s
        resend_at = time.monotonic() + NAME_RESEND_S
        while time.monotonic() < deadline:
            idle = not reply or reply.rstrip().endswith(b"m-ready")
            if idle and b"m-name-dut-" not in reply and time.monotonic() >= resend_at:
                port.write(b"name%")
                port.flush()
                resend_at += NAME_RESEND_S
            port.timeout = min(0.1, max(0.0, deadline - time.monotonic()))
            chunk: bytes = port.read(max(1, port.in_waiting))
            reply += chunk
            if b"m-name-dut-" in reply and reply.rstrip().endswith(b"m-ready"):
                break
        return Probe(device, baud, dtr, rts, banner=banner, reply=reply)
    except (serial.SerialException, OSError) as exc:
        return Probe(device, baud, dtr, rts, error=str(exc), errno=getattr(exc, "errno", None))
    finally:
        with contextlib.suppress(serial.SerialException, OSError):
            port.close()


def _listing(ports: Sequence[PortInfo]) -> str:
    if not ports:
        return "no serial ports at all"
    return "; ".join(f"{p.device} ({p.usb_id}, {p.description or 'no description'})" for p in ports)


def _candidate(board: BoardManifest, access: PortAccess) -> str:
    """The one port whose USB ID the board's manifest names."""
    usb = board.usb
    if usb is None:
        raise PortDiscoveryError(
            f"{board.manifest_path} has no [usb] table, so {board.board_id} cannot be found by "
            "its USB ID: pass its serial port with --port"
        )
    ports = list(access.list_ports())
    candidates = [p for p in ports if matches(board, p)]
    ids = "/".join(f"{usb.vid:04X}:{pid:04X}" for pid in usb.pids)
    if not candidates:
        raise PortDiscoveryError(
            f"no serial port with the USB ID of {board.board_id}'s {usb.bridge} ({ids}); "
            f"found: {_listing(ports)}. Connect the board (a data USB cable, the ST-LINK "
            "connector), or pass --port; `tinybench doctor --ports` says what each port is."
        )
    if len(candidates) > 1:
        listed = ", ".join(
            f"{p.device} (serial number {p.serial_number or 'unknown'})" for p in candidates
        )
        raise PortDiscoveryError(
            f"{len(candidates)} ports look like {board.board_id} ({usb.bridge}): {listed}. "
            "Choose one with --port."
        )
    return candidates[0].device


def confirm_board(
    board: BoardManifest,
    device: str,
    access: PortAccess,
    answer_s: float = 2.0,
    boot_s: float = 5.0,
) -> str:
    """The DUT's name from `name%` on device at the board's baud rate; an actionable error
    (what was tried, what came back, what to do) when it does not answer so."""
    known = {p.device: p for p in access.list_ports()}
    where = f"{device} ({known[device].usb_id})" if device in known else device
    baud = board.uart.baud if board.uart is not None else 115200
    probe = probe_port(device, baud, access, answer_s=answer_s, boot_s=boot_s)
    if probe.error is not None:
        raise PortDiscoveryError(
            f"{where} cannot be opened: {probe.error}. {permission_fix(probe)}"
        )
    name = probe.dut_name
    if name is not None:
        return name
    seen = probe.banner + probe.reply
    if not seen:
        detail = (
            f"it was silent at {baud} baud for {answer_s:g} s (DTR and RTS off). Is the "
            "firmware flashed and running? Press the board's reset button and try again"
        )
    else:
        detail = (
            f"at {baud} baud it sent {escaped(seen)}, not m-name-dut-[...]: a baud rate "
            "mismatch garbles bytes like this, and other firmware answers differently"
        )
    raise PortDiscoveryError(
        f"{where} should be {board.board_id}, but {detail}. `tinybench doctor --ports` "
        "tries 115200, 9600 and 921600 baud with DTR/RTS on and off and prints what it saw."
    )


def locate_board(
    board: BoardManifest, access: PortAccess, answer_s: float = 2.0, boot_s: float = 5.0
) -> tuple[str, str]:
    """(device, DUT name): the one port whose USB ID the board's manifest names, and what it
    answered to `name%`."""
    device = _candidate(board, access)
    return device, confirm_board(board, device, access, answer_s, boot_s)


def find_board_port(
    board: BoardManifest, access: PortAccess, answer_s: float = 2.0, boot_s: float = 5.0
) -> str:
    """The one port whose USB ID the board's manifest names, confirmed by its `name%`."""
    return locate_board(board, access, answer_s, boot_s)[0]


def permission_fix(probe: Probe) -> str:
    """The fix for a port that would not open, by the OS error number."""
    if probe.errno == errno_codes.EACCES:
        return (
            "Permission denied: on Linux add yourself to the group that owns the port "
            "(`sudo usermod -aG dialout $USER`, uucp on Arch), then log in again; on Windows "
            "and macOS close the program that holds it."
        )
    if probe.errno == errno_codes.EBUSY:
        return "The port is busy: close the serial monitor or IDE that holds it."
    return "Check the cable and that no other program holds the port."
