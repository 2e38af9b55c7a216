"""A power monitor in virtual time, for unit tests and simulated DUTs.

Nothing runs by itself: advance() appends bins at the current power, edge() records a timestamp
edge. So wait_edges() cannot wait (no one would advance the time meanwhile): it returns at once
when the edges are there, and otherwise says how many it has.
"""

from __future__ import annotations

import math

import numpy as np

from tinybench.energy.monitor import EnergyMonitorError
from tinybench.energy.trace import EnergyTrace


class SimulatedMonitor:
    def __init__(self, power_w: float, bin_s: float = 1e-3) -> None:
        if not bin_s > 0:
            raise EnergyMonitorError(f"simulated monitor: bin_s {bin_s} must be > 0")
        self.power_w = power_w  # the power of the bins advance() appends; tests may change it
        self._bin_s = bin_s
        self._bins: list[float] = []
        self._edges: list[int] = []
        self._started = False
        self._stopped = False

    def description(self) -> str:
        return f"simulated monitor ({self.power_w * 1e3:g} mW, {self._bin_s * 1e3:g} ms bins)"

    @property
    def now_s(self) -> float:
        return len(self._bins) * self._bin_s

    def _check_running(self, what: str) -> None:
        if not self._started or self._stopped:
            raise EnergyMonitorError(f"simulated monitor: {what} while not acquiring")

    def advance(self, seconds: float, power_w: float | None = None) -> None:
        """Appends `seconds` of bins (rounded to whole bins) at power_w, else the current power."""
        self._check_running("advance()")
        if seconds < 0 or not math.isfinite(seconds):
            raise EnergyMonitorError(f"simulated monitor: cannot advance by {seconds} s")
        if power_w is not None:
            self.power_w = power_w
        count = round(seconds / self._bin_s)
        self._bins.extend([self.power_w * self._bin_s] * count)

    def edge(self, at_s: float | None = None) -> None:
        """A timestamp edge at at_s (the current time when None); a later time is reached first
        by advancing at the current power. Edges are in time order."""
        self._check_running("edge()")
        if at_s is not None:
            if at_s < 0 or not math.isfinite(at_s):
                raise EnergyMonitorError(f"simulated monitor: no edge at {at_s} s")
            if at_s > self.now_s:
                self.advance(at_s - self.now_s)
        index = len(self._bins) if at_s is None else round(at_s / self._bin_s)
        if self._edges and index < self._edges[-1]:
            raise EnergyMonitorError(
                f"simulated monitor: an edge at bin {index} before the last one at "
                f"{self._edges[-1]}"
            )
        self._edges.append(index)

    def start(self) -> None:
        if self._started:
            raise EnergyMonitorError("simulated monitor: started twice")
        self._started = True

    def wait_edges(self, count: int, timeout_s: float, settle_s: float = 0.05) -> EnergyTrace:
        settle_bins = round(settle_s / self._bin_s)
        if len(self._edges) < count:
            raise EnergyMonitorError(
                f"simulated monitor: {len(self._edges)} edge(s) of the {count} awaited; "
                "virtual time does not pass by waiting"
            )
        if count > 0 and len(self._bins) - self._edges[count - 1] < settle_bins:
            raise EnergyMonitorError(
                f"simulated monitor: {len(self._bins) - self._edges[count - 1]} bin(s) after "
                f"edge {count - 1}, {settle_bins} awaited; advance() the time first"
            )
        return self.snapshot()

    def snapshot(self) -> EnergyTrace:
        return EnergyTrace(
            bin_s=self._bin_s,
            energy_j=np.array(self._bins, dtype=np.float64),
            edges=tuple(self._edges),
            source="simulated",
        )

    def stop(self) -> EnergyTrace:
        self._check_running("stop()")
        self._stopped = True
        return self.snapshot()

    def close(self) -> None:
        self._stopped = True
