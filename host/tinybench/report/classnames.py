"""Class names for plot axes, read from the sample file names where the dataset encodes them.

The official kws01 files are named like `tst_000000_Stop_7.bin`: the word before
the label number is the class name. A name is used only when every sample of a
label agrees on it; otherwise the class is shown by its number.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from tinybench.report.rundir import SampleRecord

_NAMED_LABEL = re.compile(r"_([A-Za-z][A-Za-z0-9-]*)_(\d+)\.[A-Za-z0-9]+$")


def class_names(samples: Sequence[SampleRecord], classes: int) -> list[str]:
    seen: dict[int, set[str]] = {}
    for sample in samples:
        match = _NAMED_LABEL.search(sample.name)
        if match is None or sample.label is None or int(match.group(2)) != sample.label:
            continue
        seen.setdefault(sample.label, set()).add(match.group(1))
    names = []
    for label in range(classes):
        words = seen.get(label, set())
        names.append(f"{label} {next(iter(words))}" if len(words) == 1 else str(label))
    return names
