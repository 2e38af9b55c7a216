"""An energy bench in software: a QEMU DUT in energy mode standing in for a physical board, its
timestamp edges driving simulated instruments that speak the real protocols.

What is real:
- the DUT: the qemu-m4 energy-mode firmware (the harness, the engine, the `timestamp` that
  drives the pin; on qemu-m4 the pin's edges are the `tb-mark` markers on UART1);
- the host side: `tinybench run --mode energy` with its real drivers (the LPM01A driver, the
  Joulescope driver over the real joulescope StreamBuffer, the IO-manager relay, pyserial), each
  opening its instrument's `socket://` URL as it opens /dev/ttyACM0.

What is simulated, and how:
- the power: the co-simulation's stated model (energy/cosim.py) turns the instructions between
  two markers into energy, so every window has an exactly known configured energy;
- the LPM01A: the co-simulation as the LPM01A's ascii_dec stream (energy/cosim_lpm01a.py),
  served on a local socket;
- the Joulescope: a JoulescopeDouble whose GPI0 goes low for the board's hold time at each
  marker and whose power is the model's, in the markers' virtual time;
- the IO manager: tests/energy/sim_iomanager.py relaying to QEMU's UART0;
- the USB-UART adapter of the direct setup: QEMU's UART0 served on a local socket.

A simulated instrument can only stream what the markers have placed. After the last marker it
waits `quiet_s` of wall time without a new one before it streams `settle_s` of modelled samples
past it (which the drivers wait for): the two edges of a short probe are a few ms apart.
"""

from __future__ import annotations

import contextlib
import math
import select
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from tinybench.dut.emulator import QemuDut
from tinybench.dut.transport.base import Transport
from tinybench.energy.cosim import CosimMonitor, PowerModel
from tinybench.energy.cosim_lpm01a import SAMPLES_PER_TIMESTAMP, Lpm01aCosimTransport
from tinybench.errors import TransportError
from tinybench.manifests.boards import BoardManifest, instructions_per_tick

from .joulescope_double import JoulescopeDouble, SyntheticSignal
from .sim_iomanager import SimulatedIoManager, TransportDut

QUIET_S = 0.2
SETTLE_S = 0.1


class TransportServer:
    """A Transport served on 127.0.0.1: pyserial opens it as socket://127.0.0.1:PORT, as it
    opens an instrument's USB serial port. Bytes the transport gives before a client connects
    are kept for it, as a tty keeps them; a client that disconnects may connect again."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport  # what is served (a FaultyStream shows what it injected)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"socket://127.0.0.1:{self._listener.getsockname()[1]}"
        self._early = bytearray()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._closed.is_set():
            client = self._accept()
            if client is None:
                return
            with client:
                self._pump(client)

    def _accept(self) -> socket.socket | None:
        while not self._closed.is_set():
            ready, _, _ = select.select([self._listener], [], [], 0.01)
            if ready:
                client, _ = self._listener.accept()
                return client
            self._read_early()
        return None

    def _read_early(self) -> None:
        with contextlib.suppress(TransportError):
            self._early += self.transport.read(0.0)

    def _pump(self, client: socket.socket) -> None:
        with contextlib.suppress(OSError):
            if self._early:
                client.sendall(bytes(self._early))
                self._early.clear()
            while not self._closed.is_set():
                ready, _, _ = select.select([client], [], [], 0.0)
                if ready:
                    data = client.recv(4096)
                    if not data:
                        return  # the client closed the port
                    self.transport.write(data)
                try:
                    out = self.transport.read(0.005)
                except TransportError:
                    return
                if out:
                    client.sendall(out)

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=5.0)
        self._listener.close()


@dataclass(frozen=True)
class StreamFaults:
    """Faults injected into an LPM01A stream, at fixed value lines (counted from `start`):
    each the kind a real PowerShield link shows (ENERGY.md)."""

    garbled_at: tuple[int, ...] = ()  # these value lines arrive as line noise
    nul_at: tuple[int, ...] = ()  # these value lines arrive as NUL bytes only
    drop_before_timestamp: tuple[int, ...] = ()  # the last N values before the Nth TimeStamp
    drop_count: int = 20
    rising_buffer_load: int | None = None  # the Nth TimeStamp reports N x this TX buffer load
    extra_event_at: tuple[int, ...] = ()  # a glitch: an event line before these value lines
    lost_ack: str | None = None  # the ack of this command never arrives


class FaultyStream:
    """A Transport between an LPM01A driver and a simulated LPM01A that injects StreamFaults
    line by line into what the monitor sends."""

    def __init__(self, inner: Transport, faults: StreamFaults) -> None:
        self._inner = inner
        self._faults = faults
        self._pending = bytearray()
        self._values = 0  # value lines passed on (or replaced)
        self._timestamps = 0
        self.injected: list[str] = []  # what was done, in order

    @property
    def description(self) -> str:
        return f"{self._inner.description} (with injected faults)"

    def write(self, data: bytes) -> None:
        self._inner.write(data)

    def close(self) -> None:
        self._inner.close()

    def read(self, timeout_s: float) -> bytes:
        self._pending += self._inner.read(timeout_s)
        out = bytearray()
        while (end := self._pending.find(b"\n")) >= 0:
            line = bytes(self._pending[: end + 1])
            del self._pending[: end + 1]
            out += self._line(line)
        return bytes(out)

    def _line(self, line: bytes) -> bytes:
        text = line.decode("ascii", errors="replace").strip()
        faults = self._faults
        if faults.lost_ack is not None and text == f"ack {faults.lost_ack}":
            self.injected.append(f"lost `{text}`")
            return b""
        if text.startswith("TimeStamp:") and faults.rising_buffer_load is not None:
            self._timestamps += 1
            load = min(99, self._timestamps * faults.rising_buffer_load)
            text = text.rsplit("buff", 1)[0] + f"buff {load:02d}%"
            return text.encode("ascii") + b"\r\n"
        if not (text[:4].isdigit() and text[4:5] in "+-"):
            return line
        self._values += 1
        # A TimeStamp line follows every 1000th value: values just before it are lost in a
        # gap that TimeStamp reveals, so the driver knows exactly where they went missing.
        timestamp, offset = divmod(self._values - 1, SAMPLES_PER_TIMESTAMP)
        if timestamp + 1 in faults.drop_before_timestamp and (
            offset >= SAMPLES_PER_TIMESTAMP - faults.drop_count
        ):
            if offset == SAMPLES_PER_TIMESTAMP - 1:
                self.injected.append(f"dropped {faults.drop_count} values before a TimeStamp")
            return b""
        prefix = b""
        if self._values in faults.extra_event_at:
            prefix = b"event 99 ris\r\n"
            self.injected.append(f"extra event before value {self._values}")
        if self._values in faults.garbled_at:
            line = b"7#1-?\r\n"
            self.injected.append(f"garbled value {self._values}")
        elif self._values in faults.nul_at:
            line = b"\x00\x00\x00\x00\x00\x00\x00\r\n"
            self.injected.append(f"NUL value {self._values}")
        return prefix + line


class CosimJoulescope(JoulescopeDouble):
    """A Joulescope on the co-simulated DUT: constant model power (the DUT always busy), GPI0
    low for `hold_s` from each marker's virtual time. A feeder thread plays the USB thread:
    it sends the samples up to the latest marker's pulse, and after QUIET_S without a new marker
    SETTLE_S more, never beyond what the markers have placed."""

    def __init__(self, cosim: CosimMonitor, hold_s: float, counter_hz: int) -> None:
        power_w = cosim.model.power_w(cosim.instructions_per_s)
        super().__init__(SyntheticSignal(idle_w=power_w, pulse_s=hold_s))
        self._cosim = cosim
        self._counter_hz = counter_hz
        self._hold_s = hold_s
        self._feeder: threading.Thread | None = None
        self._horizon_s = 0.0

    def start(self, stop_fn: object = None) -> None:  # type: ignore[override]
        super().start(stop_fn)  # type: ignore[arg-type]
        self._cosim.start()
        self._feeder = threading.Thread(target=self._feed, name="cosim-joulescope", daemon=True)
        self._feeder.start()

    def _feed(self) -> None:
        seen, changed_at = 0, time.monotonic()
        while self.streaming:
            markers = self._cosim.poll()
            if len(markers) > seen:
                seen, changed_at = len(markers), time.monotonic()
            if markers:
                first = markers[0].counter_ticks
                times = tuple((m.counter_ticks - first) / self._counter_hz for m in markers)
                self.signal = replace(self.signal, pulses_s=times)
                horizon = times[-1] + self._hold_s + 16 / self.sampling_hz
                if time.monotonic() - changed_at >= QUIET_S:
                    horizon = times[-1] + self._hold_s + SETTLE_S
                self._horizon_s = max(self._horizon_s, horizon)
                self.send_until(math.floor(self._horizon_s * self.sampling_hz) // 8 * 8)
            time.sleep(0.005)

    def close(self) -> None:
        super().close()
        if self._feeder is not None:
            self._feeder.join(timeout=2.0)


@dataclass
class EnergyBench:
    """One QEMU DUT in energy mode and its co-simulation, for one run."""

    qemu: QemuDut
    cosim: CosimMonitor
    counter_hz: int
    hold_s: float

    def lpm01a(self, faults: StreamFaults | None = None) -> TransportServer:
        """A simulated LPM01A on a socket: the co-simulation in the LPM01A's wire format, with
        `faults` injected into its stream (the server's transport is then a FaultyStream)."""
        bridge: Transport = Lpm01aCosimTransport(self.cosim, settle_s=SETTLE_S)
        if faults is not None:
            bridge = FaultyStream(bridge, faults)
        return TransportServer(bridge)

    def uart(self) -> TransportServer:
        """The DUT's UART on a socket: the USB-UART adapter of the direct setup."""
        return TransportServer(self.qemu.transport)

    def io_manager(self, kind: str) -> SimulatedIoManager:
        """A simulated IO manager of `kind` relaying to the DUT's UART."""
        reset = self.qemu.reset if self.qemu.monitor_port is not None else None
        return SimulatedIoManager(TransportDut(self.qemu.transport, reset), kind)

    def joulescope(self) -> CosimJoulescope:
        return CosimJoulescope(self.cosim, self.hold_s, self.counter_hz)

    def window_energy_j(self, edge_index: int) -> float:
        """The configured (modelled) energy between edge `edge_index` and the next one."""
        markers = self.cosim.markers
        return self.cosim.energy_for_ticks(
            markers[edge_index + 1].counter_ticks - markers[edge_index].counter_ticks
        )


@contextlib.contextmanager
def energy_bench(
    board: BoardManifest,
    image: Path,
    model: PowerModel,
    hold_us: int = 50,
    resettable: bool = False,
) -> Iterator[EnergyBench]:
    """QEMU on `board` (an emulated board with energy markers) running `image`."""
    with QemuDut(board, image, energy_markers=True, resettable=resettable) as qemu:
        assert qemu.marker_transport is not None
        per_tick = instructions_per_tick(board, board.counter_hz)
        assert per_tick is not None
        cosim = CosimMonitor(qemu.marker_transport, board.counter_hz, per_tick, model)
        yield EnergyBench(qemu, cosim, board.counter_hz, hold_us * 1e-6)
        cosim.close()
