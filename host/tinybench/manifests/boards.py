"""Board manifests: core, clock, memory map, UART, counter, and how to reach the board."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from tinybench.manifests.manifest import (
    FieldReader,
    check_file_stem,
    load_all,
    load_toml,
    manifest_path,
    raise_if_problems,
)


class BoardKind(Enum):
    EMULATED = "emulated"  # QEMU; UART on a local TCP port
    PHYSICAL = "physical"  # a real board on a serial port
    PROCESS = "process"  # the firmware as a native process (host port)


class CounterKind(Enum):
    DWT = "dwt"  # DWT CYCCNT: core cycles
    SYSTICK = "systick"  # SysTick with wrap counting (no DWT, e.g. under QEMU)
    HOST_MONOTONIC = "host-monotonic"  # CLOCK_MONOTONIC nanoseconds


CORES = ("cortex-m4", "cortex-m7", "cortex-m55", "host")


@dataclass(frozen=True)
class MemoryRegion:
    name: str
    kind: str  # "code" or "data"
    origin: int
    size: int


@dataclass(frozen=True)
class Uart:
    name: str
    base: int | None  # register block address; None where the board has no memory-mapped UART
    baud: int


@dataclass(frozen=True)
class Emulator:
    program: str
    machine: str
    cpu: str
    args: tuple[str, ...]


@dataclass(frozen=True)
class BoardManifest:
    board_id: str
    title: str
    kind: BoardKind
    core: str
    fpu: str  # "none" or the -mfpu name
    cpu_hz: int
    port: str  # firmware/ports/<port>
    counter: CounterKind
    counter_hz: int
    memory: tuple[MemoryRegion, ...]
    uart: Uart | None
    emulator: Emulator | None
    manifest_path: Path

    def region(self, kind: str) -> MemoryRegion | None:
        return next((r for r in self.memory if r.kind == kind), None)


def _memory(top: FieldReader, kind: BoardKind) -> tuple[MemoryRegion, ...]:
    if kind is BoardKind.PROCESS:
        return ()
    regions = []
    for name, reader in top.tables("memory").items():
        regions.append(
            MemoryRegion(
                name=name,
                kind=reader.choice("kind", ("code", "data")),
                origin=reader.integer("origin", minimum=0),
                size=reader.integer("size", minimum=1),
            )
        )
        reader.finish()
    kinds = {r.kind for r in regions}
    for needed in ("code", "data"):
        if needed not in kinds:
            top.problem("memory", f"needs a region of kind {needed!r}")
    ordered = sorted(regions, key=lambda r: r.origin)
    for a, b in itertools.pairwise(ordered):
        if a.origin + a.size > b.origin:
            top.problem("memory", f"regions {a.name} and {b.name} overlap")
    return tuple(regions)


def parse_board_manifest(path: Path) -> BoardManifest:
    problems: list[str] = []
    top = FieldReader(load_toml(path), "", problems)
    board_id = top.string("id")
    check_file_stem(path, top, board_id)
    kind_name = top.choice("kind", [k.value for k in BoardKind])
    kind = BoardKind(kind_name) if kind_name in {k.value for k in BoardKind} else BoardKind.PROCESS
    title = top.string("title")
    core = top.choice("core", CORES)
    fpu = top.string("fpu")
    cpu_hz = top.integer("cpu_hz", minimum=1)
    port = top.string("port")

    counter_reader = top.table("counter")
    counter_name = counter_reader.choice("kind", [c.value for c in CounterKind])
    counter_hz = counter_reader.integer("hz", minimum=1)
    counter_reader.finish()
    counter = (
        CounterKind(counter_name)
        if counter_name in {c.value for c in CounterKind}
        else CounterKind.HOST_MONOTONIC
    )

    memory = _memory(top, kind)

    uart: Uart | None = None
    uart_reader = top.optional_table("uart")
    if uart_reader is not None:
        uart = Uart(
            name=uart_reader.string("name"),
            base=uart_reader.integer("base", minimum=0) if uart_reader.has("base") else None,
            baud=uart_reader.integer("baud", minimum=1),
        )
        uart_reader.finish()
    elif kind is not BoardKind.PROCESS:
        top.problem("uart", "missing (every emulated or physical board talks over a UART)")

    emulator: Emulator | None = None
    emu_reader = top.optional_table("emulator")
    if emu_reader is not None:
        emulator = Emulator(
            program=emu_reader.string("program"),
            machine=emu_reader.string("machine"),
            cpu=emu_reader.string("cpu"),
            args=emu_reader.string_list("args", default=()),
        )
        emu_reader.finish()
    if kind is BoardKind.EMULATED and emulator is None:
        top.problem("emulator", "missing (an emulated board needs one)")
    if kind is not BoardKind.EMULATED and emulator is not None:
        top.problem("emulator", f"only emulated boards have one; this board is {kind.value}")
    if (core == "host") != (kind is BoardKind.PROCESS):
        top.problem("core", "is 'host' exactly when kind is 'process'")
    top.finish()

    raise_if_problems(path, problems)
    return BoardManifest(
        board_id=board_id,
        title=title,
        kind=kind,
        core=core,
        fpu=fpu,
        cpu_hz=cpu_hz,
        port=port,
        counter=counter,
        counter_hz=counter_hz,
        memory=memory,
        uart=uart,
        emulator=emulator,
        manifest_path=path,
    )


def load_board_manifests(directory: Path) -> dict[str, BoardManifest]:
    return load_all(directory, "board", parse_board_manifest)


def load_board_manifest(directory: Path, board_id: str) -> BoardManifest:
    return parse_board_manifest(manifest_path(directory, "board", board_id))
