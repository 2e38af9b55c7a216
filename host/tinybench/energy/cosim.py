"""A co-simulated power monitor: energy from the instruction counts of a QEMU DUT.

Under `-icount shift=N,align=off,sleep=off` QEMU's virtual time is a fixed number of instructions
per nanosecond, so the DUT's counter is an exact instruction count. In energy mode the qemu-m4
firmware writes one line `tb-mark <edge_index> <counter_ticks>\\n` to UART1 (the second `-serial`)
at each timestamp edge, edge 0 at boot. CosimMonitor reads those lines and applies a stated power
model to the instructions between them, producing the same EnergyTrace a real monitor produces:
the windowing code downstream cannot tell it from an LPM01A, and the trace says "modelled".

The model takes the DUT as always busy: it executes counter_hz x instructions_per_tick
instructions per second of virtual time, so the modelled power is constant and the energy between
two edges is the model applied to their counter delta. Inside a window that is exact (the timed
loop never sleeps). Between windows the firmware may wait for the host in WFI; unless QEMU runs
with sleep=off its clock then advances without instructions, and the model charges that idle time
as busy: it only affects the spans outside the windows. Determinism needs sleep=off too: with
QEMU's default (sleep=on) the idle time is real time, which moves the phase of the 40-instruction
tick, and a kws01 window on qemu-m4 measured 8198476 or 8198477 ticks from run to run (8198480
in every run with `-icount shift=0,align=off,sleep=off`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import numpy.typing as npt

from tinybench.dut.transport import Transport
from tinybench.energy.monitor import EnergyMonitorError
from tinybench.energy.trace import EnergyTrace
from tinybench.errors import TransportError
from tinybench.manifests.boards import BoardManifest, instructions_per_tick

MARKER_PREFIX = "tb-mark"
_READ_SLICE_S = 0.05  # how long one read of the marker port waits, so timeouts are kept


@dataclass(frozen=True)
class PowerModel:
    """P = static power + energy per instruction x instructions per second.

    static_mw is what the DUT draws whatever it executes; pj_per_instruction the energy each
    executed instruction adds. Both are stated with every result computed from them."""

    static_mw: float
    pj_per_instruction: float

    def __post_init__(self) -> None:
        for name, value in (
            ("static_mw", self.static_mw),
            ("pj_per_instruction", self.pj_per_instruction),
        ):
            if not math.isfinite(value) or value < 0:
                raise EnergyMonitorError(
                    f"power model: {name} must be a finite number >= 0, not {value!r}"
                )

    def energy_j(self, duration_s: float, instructions: float) -> float:
        """The modelled energy of `instructions` executed over `duration_s`."""
        return self.static_mw * 1e-3 * duration_s + self.pj_per_instruction * 1e-12 * instructions

    def power_w(self, instructions_per_s: float) -> float:
        """The modelled power of a DUT executing instructions_per_s without pause."""
        return self.energy_j(1.0, instructions_per_s)

    def uj_per_inference(
        self, instructions_per_inference: float, instructions_per_s: float
    ) -> float:
        """What a window must score: the model applied to one inference's instructions, run at
        instructions_per_s (the figure a co-simulated run's median is checked against)."""
        seconds = instructions_per_inference / instructions_per_s
        return self.energy_j(seconds, instructions_per_inference) * 1e6

    def parameters(self) -> dict[str, float]:
        """The model's parameters, as results.json records them."""
        return {"static_mw": self.static_mw, "pj_per_instruction": self.pj_per_instruction}

    def describe(self, instructions_per_s: float | None = None) -> str:
        """The model in one line; with the DUT's instruction rate, also the power it gives."""
        text = (
            f"modelled: P = {self.static_mw:g} mW static + {self.pj_per_instruction:g} pJ per"
            " instruction"
        )
        if instructions_per_s is not None:
            text += (
                f", {instructions_per_s:g} instructions per second of QEMU -icount virtual time"
                f" (DUT always busy) = {self.power_w(instructions_per_s) * 1e3:g} mW"
            )
        return text


@dataclass(frozen=True)
class Marker:
    """One timestamp edge as the firmware reported it on UART1."""

    edge_index: int
    counter_ticks: int


def parse_marker(line: str) -> Marker:
    """A `tb-mark <edge_index> <counter_ticks>` line; EnergyMonitorError when it is not one."""
    fields = line.split()
    if (
        len(fields) != 3
        or fields[0] != MARKER_PREFIX
        or not fields[1].isdigit()
        or not fields[2].isdigit()
    ):
        raise EnergyMonitorError(
            f"malformed marker line {line!r}: expected `{MARKER_PREFIX} <edge_index>"
            " <counter_ticks>` in decimal"
        )
    ticks = int(fields[2])
    if ticks >= 2**64:
        raise EnergyMonitorError(f"marker line {line!r}: the counter exceeds 64 bits")
    return Marker(int(fields[1]), ticks)


class CosimMonitor:
    """An EnergyMonitor over the marker lines of a QEMU DUT in energy mode.

    The trace starts at the first marker (edge 0, the boot edge) and has bins of bin_s seconds of
    virtual time. Edge bins: each edge sits one rounded span after the previous one (the span's
    counter delta in bins, rounded half up, in exact rational arithmetic), so a window's bin
    count, and the duration the windowing code derives from it, is its delta rounded to a bin
    (off by at most half a bin, 5e-5 of a 10 s window at 1 ms bins) and the same in every run.
    Its energy is not off at all: each span between two consecutive edges gets the model applied
    to its exact counter delta, spread evenly over exactly the bins of that span, so the sum of
    the bins between any two edges is the model applied to their counter delta (to float
    rounding, ~1e-12). The cost is a per-bin power that differs from the model's constant power
    by at most bin_s / (2 x span).
    Two edges in the same bin leave no bin for their span: its energy is carried into the next
    span (the sum over both stays exact) and the trace's faults say so.

    After the last edge the trace extends `settle_s` (that of the latest wait_edges; 0.05 s
    before any) at the model's constant power: the DUT keeps running, but without a marker its
    virtual time past the last edge is not observed, only modelled.

    The marker transport belongs to whoever created it (QemuDut); close() closes it only when
    close_transport is set.
    """

    def __init__(
        self,
        markers: Transport,
        counter_hz: int,
        instructions_per_tick: float,
        model: PowerModel,
        bin_s: float = 1e-3,
        *,
        close_transport: bool = False,
    ) -> None:
        if counter_hz <= 0:
            raise EnergyMonitorError(f"co-simulation: counter_hz must be > 0, not {counter_hz}")
        if not math.isfinite(instructions_per_tick) or instructions_per_tick <= 0:
            raise EnergyMonitorError(
                "co-simulation: instructions_per_tick must be > 0 (an emulated board with"
                f" -icount), not {instructions_per_tick!r}"
            )
        if not math.isfinite(bin_s) or bin_s <= 0:
            raise EnergyMonitorError(f"co-simulation: bin_s must be > 0, not {bin_s!r}")
        self._transport = markers
        self._counter_hz = counter_hz
        self._instructions_per_tick = instructions_per_tick
        self._model = model
        self._bin_s = bin_s
        self._ticks_per_bin = Fraction(counter_hz) * Fraction(bin_s).limit_denominator(10**12)
        self._close_transport = close_transport
        self._pending = bytearray()
        self._markers: list[Marker] = []
        # After a DUT restart its edges count from 0 and its counter from its reset again: the
        # markers continue from the last one before it (edge index and counter offsets).
        self._index_offset = 0
        self._tick_offset = 0
        self._faults: list[str] = []
        self._tail_bins = self._bins_for(0.05)
        self._started = False
        self._stopped = False
        self._closed = False

    # --- what the monitor states about itself -------------------------------------------------

    @property
    def model(self) -> PowerModel:
        return self._model

    @property
    def bin_s(self) -> float:
        return self._bin_s

    @property
    def instructions_per_s(self) -> float:
        return self._counter_hz * self._instructions_per_tick

    @property
    def markers(self) -> tuple[Marker, ...]:
        """The markers read so far, edge 0 first."""
        return tuple(self._markers)

    @property
    def faults(self) -> tuple[str, ...]:
        """What the markers showed so far that a window must not hide (a DUT restart)."""
        return tuple(self._faults)

    def modelled(self) -> str:
        """What the trace's `modelled` field says: the model and the rate it was applied at."""
        return self._model.describe(self.instructions_per_s)

    def parameters(self) -> dict[str, float]:
        """Everything the modelled figures depend on, for results.json."""
        return {
            **self._model.parameters(),
            "counter_hz": float(self._counter_hz),
            "instructions_per_tick": self._instructions_per_tick,
            "instructions_per_s": self.instructions_per_s,
            "bin_s": self._bin_s,
        }

    def energy_for_ticks(self, ticks: int) -> float:
        """The modelled energy of a counter delta: what a window between two edges must hold."""
        return self._model.energy_j(ticks / self._counter_hz, ticks * self._instructions_per_tick)

    def description(self) -> str:
        return f"co-simulated power monitor on {self._transport.description} ({self.modelled()})"

    # --- EnergyMonitor ------------------------------------------------------------------------

    def start(self) -> None:
        """Nothing to configure: the markers already flow; reading starts with wait_edges."""
        if self._closed:
            raise EnergyMonitorError(f"{self.description()}: closed")
        self._started = True
        self._stopped = False

    def wait_edges(self, count: int, timeout_s: float, settle_s: float = 0.05) -> EnergyTrace:
        """Reads markers until `count` edges (the boot edge included) have arrived.

        settle_s costs no waiting here: the bins after the last edge are modelled, not read."""
        self._require_running()
        self._tail_bins = self._bins_for(settle_s)
        deadline = time.monotonic() + timeout_s
        while len(self._markers) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise EnergyMonitorError(
                    f"{self._transport.description}: {len(self._markers)} of {count} timestamp"
                    f" markers within {timeout_s:g} s (is the firmware built with"
                    " timestamp_mode='energy', and UART1 connected before boot?)"
                )
            self._read(min(remaining, _READ_SLICE_S))
        return self._trace()

    def poll(self) -> tuple[Marker, ...]:
        """Reads what has arrived on the marker port, without waiting: the markers so far.

        Cheaper than snapshot() for a caller that needs the edges only (no trace is built)."""
        self._require_running()
        self._read(0.0)
        return self.markers

    def edge_bin(self, edge_index: int) -> int:
        """The bin of edge `edge_index` (read already) in the trace: the nearest bin boundary."""
        return self._edge_bins()[edge_index]

    def snapshot(self) -> EnergyTrace:
        self._require_running()
        self._read(0.0)
        return self._trace()

    def stop(self) -> EnergyTrace:
        self._require_running()
        self._read(0.0)
        self._stopped = True
        return self._trace()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._close_transport:
            self._transport.close()

    # --- reading and modelling ----------------------------------------------------------------

    def _require_running(self) -> None:
        if self._closed:
            raise EnergyMonitorError(f"{self._transport.description}: co-simulation closed")
        if not self._started or self._stopped:
            raise EnergyMonitorError(
                f"{self._transport.description}: co-simulation not started (call start() first)"
            )

    def _bins_for(self, seconds: float) -> int:
        return max(0, math.ceil(seconds / self._bin_s - 1e-9))

    def _read(self, timeout_s: float) -> None:
        try:
            data = self._transport.read(timeout_s)
        except TransportError as error:
            raise EnergyMonitorError(
                f"{self._transport.description}: the marker port failed after"
                f" {len(self._markers)} markers: {error}"
            ) from error
        self._pending += data
        while (end := self._pending.find(b"\n")) >= 0:
            raw = bytes(self._pending[:end])
            del self._pending[: end + 1]
            self._take_line(raw)

    def _take_line(self, raw: bytes) -> None:
        try:
            line = raw.decode("ascii").strip()
        except UnicodeDecodeError:
            raise EnergyMonitorError(
                f"{self._transport.description}: a non-ASCII line on the marker port: {raw!r}"
            ) from None
        if not line:
            return
        if not line.startswith(MARKER_PREFIX):
            self._faults.append(f"ignored a line on the marker port that is no marker: {line!r}")
            return
        marker = parse_marker(line)
        expected = len(self._markers)
        if marker.edge_index == 0 and expected > 0:
            # The DUT restarted (a reset, a watchdog): a real monitor sees one more edge, its
            # boot pulse. What the DUT did between the last edge and the reset is not observed
            # (no marker says when it reset), so the span is counted from the restart.
            self._index_offset = expected
            self._tick_offset = self._markers[-1].counter_ticks
            self._faults.append(
                f"the DUT restarted after edge {expected - 1} (its boot edge 0 again): the "
                "time between that edge and the reset is not observed, the span up to the "
                "boot edge is modelled from the reset"
            )
        marker = Marker(
            marker.edge_index + self._index_offset, marker.counter_ticks + self._tick_offset
        )
        if marker.edge_index != expected:
            if expected == 0:
                problem = (
                    f"the first marker is edge {marker.edge_index}, not the boot edge 0 (UART1"
                    " connected after boot loses what QEMU sent before)"
                )
            elif marker.edge_index < expected:
                problem = (
                    f"edge {marker.edge_index} again or out of order after edge {expected - 1}"
                )
            else:
                problem = (
                    f"edges {expected}..{marker.edge_index - 1} are missing before edge"
                    f" {marker.edge_index}"
                )
            raise EnergyMonitorError(f"{self._transport.description}: {problem}")
        if self._markers and marker.counter_ticks < self._markers[-1].counter_ticks:
            raise EnergyMonitorError(
                f"{self._transport.description}: the counter went backwards at edge"
                f" {marker.edge_index} ({self._markers[-1].counter_ticks} ->"
                f" {marker.counter_ticks})"
            )
        self._markers.append(marker)

    def _edge_bins(self) -> tuple[int, ...]:
        """Each edge's bin: the previous edge's plus its own counter delta in bins, rounded half
        up. A span's bin count thus depends on that span's delta alone, not on where it starts:
        the time the DUT spends polling for the host's next command varies from run to run under
        -icount, and rounding absolute times would let a window's length flip by a bin."""
        bins = [0]
        for previous, marker in zip(self._markers, self._markers[1:], strict=False):
            delta = Fraction(marker.counter_ticks - previous.counter_ticks)
            bins.append(bins[-1] + math.floor(delta / self._ticks_per_bin + Fraction(1, 2)))
        return tuple(bins)

    def _trace(self) -> EnergyTrace:
        """The trace of the markers so far: a pure function of them, the model and the tail."""
        faults = list(self._faults)
        if not self._markers:
            energy = np.zeros(0, dtype=np.float64)
            return self._make_trace(energy, (), faults)
        edges = self._edge_bins()
        energy = np.zeros(edges[-1] + self._tail_bins, dtype=np.float64)
        carried = 0.0
        for k in range(len(edges) - 1):
            span_energy = carried + self.energy_for_ticks(
                self._markers[k + 1].counter_ticks - self._markers[k].counter_ticks
            )
            first, last = edges[k], edges[k + 1]
            if last > first:
                energy[first:last] = span_energy / (last - first)
                carried = 0.0
            else:
                carried = span_energy
                faults.append(
                    f"edges {k} and {k + 1} fall in the same {self._bin_s:g} s bin: the energy"
                    " between them is carried into the next span"
                )
        tail = energy[edges[-1] :]
        if tail.size:
            tail[:] = self._model.power_w(self.instructions_per_s) * self._bin_s
            tail[0] += carried
        elif carried:
            faults.append(
                f"{carried:.6g} J after the last edge has no bin to go to (no settle time)"
            )
        return self._make_trace(energy, edges, faults)

    def _make_trace(
        self, energy: npt.NDArray[np.float64], edges: tuple[int, ...], faults: list[str]
    ) -> EnergyTrace:
        return EnergyTrace(
            bin_s=self._bin_s,
            energy_j=energy,
            edges=edges,
            source="cosim",
            modelled=self.modelled(),
            faults=tuple(faults),
        )


def cosim_monitor_for_board(
    markers: Transport, board: BoardManifest, model: PowerModel, bin_s: float = 1e-3
) -> CosimMonitor:
    """A CosimMonitor with the manifest's counter and -icount facts; emulated boards only."""
    per_tick = instructions_per_tick(board, board.counter_hz)
    if per_tick is None:
        raise EnergyMonitorError(
            f"board {board.board_id} is not emulated: co-simulated energy needs QEMU's -icount"
            " (use a power monitor on real hardware)"
        )
    return CosimMonitor(markers, board.counter_hz, per_tick, model, bin_s)
