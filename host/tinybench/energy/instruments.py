"""Which power monitor and which DUT link an energy run uses, from the command line to open
drivers.

`--monitor` names the instrument: `lpm01a:PORT` (the ST LPM01A on its USB serial port),
`joulescope` (the one JS110 or JS220 connected), or on an emulated board `cosim` (the
co-simulation reads QEMU's markers, the default) and `cosim-lpm01a` (the same markers turned
into the LPM01A's wire stream and read by the real LPM01A driver). `--io-manager` names the
relay: `arduino:PORT` or `h573:PORT`. Without it the DUT's UART is read directly (a USB-UART
adapter, or the board's own VCP) at the rules' energy baud rate: the "direct" setup.

`Instruments` holds how ports and devices are opened: pyserial and a Joulescope scan by default;
tests hand it simulated peers (a socket:// URL needs nothing but pyserial; a Joulescope double
comes as a factory), so the drivers above them run their real code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import serial

from tinybench.dut.iomanager import KINDS, IoManagerKind, IoManagerTransport
from tinybench.dut.transport.base import Transport
from tinybench.dut.transport.serial_link import SerialFactory, SerialTransport
from tinybench.energy.joulescope import JoulescopeMonitor
from tinybench.energy.lpm01a import Lpm01a
from tinybench.energy.monitor import EnergyMonitor
from tinybench.errors import TinybenchError, TransportError

MonitorKind = Literal["cosim", "cosim-lpm01a", "lpm01a", "joulescope"]
MONITOR_KINDS: tuple[MonitorKind, ...] = ("cosim", "cosim-lpm01a", "lpm01a", "joulescope")
EMULATED_MONITORS: tuple[MonitorKind, ...] = ("cosim", "cosim-lpm01a")
IO_MANAGER_BAUD = 115_200  # the host side of both IO managers (ENERGY.md)
DEFAULT_SUPPLY_MV = 1800  # what the MLCommons runner's LPM01A sequence sets (`volt 1800m`)


class InstrumentSpecError(TinybenchError):
    """A --monitor or --io-manager value that names no instrument this build drives."""


@dataclass(frozen=True)
class MonitorSpec:
    kind: MonitorKind
    port: str | None = None  # lpm01a: its serial port (a device path or a pyserial URL)

    def __str__(self) -> str:
        return f"{self.kind}:{self.port}" if self.port else self.kind


@dataclass(frozen=True)
class IoManagerSpec:
    kind: IoManagerKind
    port: str


def parse_monitor(text: str) -> MonitorSpec:
    """`lpm01a:PORT`, `joulescope`, `cosim` or `cosim-lpm01a`."""
    kind, _, port = text.partition(":")
    if kind not in MONITOR_KINDS:
        raise InstrumentSpecError(
            f"--monitor {text!r}: expected lpm01a:PORT, joulescope, cosim or cosim-lpm01a"
        )
    if kind == "lpm01a" and not port:
        raise InstrumentSpecError(
            "--monitor lpm01a needs its serial port, e.g. lpm01a:/dev/ttyACM1 (the LPM01A's ST "
            "VCP; `tinybench doctor --ports` lists the ports)"
        )
    if kind != "lpm01a" and port:
        raise InstrumentSpecError(
            f"--monitor {text!r}: {kind} takes no port"
            + (" (the one Joulescope connected is used)" if kind == "joulescope" else "")
        )
    return MonitorSpec(kind, port or None)


def parse_io_manager(text: str) -> IoManagerSpec:
    """`arduino:PORT` or `h573:PORT`."""
    kind, _, port = text.partition(":")
    if kind not in KINDS or not port:
        raise InstrumentSpecError(
            f"--io-manager {text!r}: expected arduino:PORT or h573:PORT, e.g. arduino:/dev/ttyACM0"
        )
    return IoManagerSpec(kind, port)


def _scan_joulescope() -> EnergyMonitor:
    return JoulescopeMonitor()


@dataclass(frozen=True)
class Instruments:
    """How an energy run opens its serial ports and its Joulescope."""

    serial_factory: SerialFactory = serial.serial_for_url
    joulescope: Callable[[], EnergyMonitor] = field(default=_scan_joulescope)
    supply_mv: int = DEFAULT_SUPPLY_MV  # the LPM01A's output voltage, the DUT's supply
    connect_timeout_s: float = 2.0  # how long a port may take to open (a USB re-enumeration)

    def open_monitor(self, spec: MonitorSpec) -> EnergyMonitor:
        """A physical monitor's driver, not yet started; the co-simulations are opened by the
        emulated run, which owns QEMU's markers."""
        if spec.kind == "lpm01a":
            assert spec.port is not None  # parse_monitor requires it
            return Lpm01a(spec.port, voltage_mv=self.supply_mv, serial_factory=self.serial_factory)
        if spec.kind == "joulescope":
            return self.joulescope()
        raise InstrumentSpecError(
            f"--monitor {spec}: a co-simulated monitor needs an emulated board (its QEMU markers)"
        )

    def open_serial(self, port: str, baud: int) -> Transport:
        return SerialTransport.open(
            port, baud, connect_timeout_s=self.connect_timeout_s, factory=self.serial_factory
        )

    def open_io_manager(self, spec: IoManagerSpec, dut_baud: int) -> IoManagerTransport:
        """The relay to the DUT; on the H573 its DUT baud rate is checked and set to dut_baud
        (the board stores it and resets; the Arduino's is fixed at 9,600)."""
        inner = self.open_serial(spec.port, IO_MANAGER_BAUD)
        relay = IoManagerTransport(inner, spec.kind)
        try:
            if spec.kind == "h573" and relay.check_baud() != dut_baud:
                relay.set_baud(dut_baud)
            elif spec.kind == "arduino" and dut_baud != 9600:
                raise InstrumentSpecError(
                    f"the Arduino IO manager talks to the DUT at 9,600 baud only; the run rules "
                    f"ask {dut_baud} (use the H573 interface board, or rules with dut_baud = 9600)"
                )
        except (TransportError, TinybenchError):
            relay.close()
            raise
        return relay
