"""The interface every power monitor driver implements, and its error."""

from __future__ import annotations

from typing import Protocol

from tinybench.energy.trace import EnergyTrace
from tinybench.errors import TinybenchError


class EnergyMonitorError(TinybenchError):
    """The power monitor failed: no ack within its timeout, port refused the baud rate, the
    acquisition stopped, the device is missing. The message says what to check."""


class EnergyMonitor(Protocol):
    """A power monitor from configuration to the last bin.

    start() configures the instrument (supply voltage, sampling rate, the timestamp input) and
    starts acquiring; wait_edges() blocks until the trace holds at least `count` timestamp edges
    and `settle_s` of bins after the last one (the closing samples of a window arrive after the
    DUT's `m-infer-done`), or raises EnergyMonitorError after timeout_s; snapshot() returns what
    was acquired so far without waiting; stop() ends the acquisition (supply off) and returns the
    whole trace; close() releases the port or device and is safe to call twice.
    """

    def description(self) -> str: ...

    def start(self) -> None: ...

    def wait_edges(self, count: int, timeout_s: float, settle_s: float = 0.05) -> EnergyTrace: ...

    def snapshot(self) -> EnergyTrace: ...

    def stop(self) -> EnergyTrace: ...

    def close(self) -> None: ...
