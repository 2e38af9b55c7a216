"""What a power monitor hands over: a regular series of energy bins and the timestamp edges.

Every driver (LPM01A, Joulescope, co-simulation, simulated) turns its own wire format into this,
so that windowing, µJ per inference and the compliance checks are written once (windows.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class EnergyTrace:
    """An acquisition from its first bin.

    energy_j holds the energy of each bin in joules. A bin the monitor sent but that could not be
    read (a garbled or NUL-only line) is NaN there and counted in garbled_bins: it is never summed
    as a number. Bins the monitor never delivered (a TimeStamp gap, a sample-id gap) are not in
    energy_j at all; they are counted in dropped_bins, and the bins after them are shifted by that
    many positions, so edges index into energy_j as delivered.
    """

    bin_s: float  # seconds per bin: 1e-3 for the LPM01A at `freq 1k`
    energy_j: npt.NDArray[np.float64]
    edges: tuple[int, ...]  # bin index of each timestamp edge in order, the boot edge included
    dropped_bins: int = 0
    garbled_bins: int = 0
    peak_buffer_load: float | None = None  # the monitor's TX buffer load in %, when it reports it
    source: str = ""  # "lpm01a", "joulescope-js220", "cosim", "simulated"
    modelled: str | None = None  # for a co-simulation: the power model, stated in results
    faults: tuple[str, ...] = field(default=())  # what the driver met and survived, one line each
    # Where the drops were, when the driver can tell: (b, n) = n bins lost just before bin b.
    # Their counts are part of dropped_bins; windows.py charges drops not placed here to the
    # windows as a whole (the drop rule), never fewer than dropped_bins.
    dropped_at: tuple[tuple[int, int], ...] = field(default=())
    # The monitor's TX buffer load (%) as it reported it: (b, load) = reported after bin b-1.
    buffer_load_at: tuple[tuple[int, float], ...] = field(default=())

    @property
    def bins(self) -> int:
        return int(self.energy_j.shape[0])

    @property
    def duration_s(self) -> float:
        return self.bins * self.bin_s
