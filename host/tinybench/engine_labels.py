"""Engine labels as `tinybench bench` and `tinybench profile` name configurations.

A label is `<engine>-<kernel set>` (`native-reference`, `native-dsp`, `native-mve`,
`tflm-cmsis-nn`, `tflm-reference`) or a bare engine: `native` is the native engine with its
default set (reference), `tflm` TF Lite Micro with its default (cmsis-nn, labelled
`tflm-cmsis-nn`). A native kernel set written for particular cores is measured only on a board
with such a core: elsewhere `dsp` would compile to its portable C fallback and `mve` has no
Helium to use.
"""

from __future__ import annotations

from tinybench.build.firmware import (
    DEFAULT_KERNELS,
    ENGINES,
    NATIVE_SET_CORES,  # the cores each specialised native set is written for
    kernel_sets,
    resolve_kernels,
)
from tinybench.errors import TinybenchError


def resolve_config(name: str, kernels: str | None = None) -> tuple[str, str, str]:
    """(label, engine, kernel set) for an --engine value: a bare engine (`native`, `tflm`, with
    `kernels` or the engine's default set) or a label `<engine>-<kernel set>`. Bare `native`
    with its default set keeps the label `native`; a label that names its set keeps it
    (`native-reference`)."""
    engine, _, named = name.partition("-")
    if engine not in ENGINES:
        raise TinybenchError(f"unknown engine {name!r} (engines: {', '.join(ENGINES)})")
    if named and kernels and named != kernels:
        raise TinybenchError(f"--engine {name} names kernel set {named}, --kernels {kernels}")
    chosen = resolve_kernels(engine, named or kernels)
    if engine == "native" and not named and chosen == DEFAULT_KERNELS["native"]:
        return "native", engine, chosen
    return f"{engine}-{chosen}", engine, chosen


def known_labels() -> tuple[str, ...]:
    """Every label bench accepts: bare `native`, then `<engine>-<set>` for each engine's sets."""
    labels = ["native"]
    for engine in ENGINES:
        labels.extend(f"{engine}-{kernels}" for kernels in kernel_sets(engine))
    return tuple(labels)


def runs_on(engine: str, kernels: str, core: str) -> bool:
    """Whether the configuration is meant for the core (bench skips the pairs that are not)."""
    if engine != "native" or kernels not in NATIVE_SET_CORES:
        return True
    return core in NATIVE_SET_CORES[kernels]
