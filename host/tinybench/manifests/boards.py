"""Board manifests: core, clock, memory map, UART, counter, and how to reach the board.

`boards/<id>.toml` is the one source of a board's facts. The firmware build generates the
PlatformIO board, its environments, the linker MEMORY regions and the C board constants from
it (tinybench.build.boardgen); the DUT's own report of its clocks is checked against it at
connect (check_dut_clocks).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from tinybench.errors import TinybenchError
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


class VerificationStatus(Enum):
    """How far tinybench has checked a board: `tinybench boards` and the README say it."""

    QEMU = "qemu"  # its firmware boots and runs the protocol under QEMU in the tests
    HOST = "host"  # the firmware as a native process, run by the tests
    BUILD_ONLY = "build-only"  # its firmware builds and links; never run here (no hardware)
    HARDWARE = "hardware"  # run on the real board


class CounterKind(Enum):
    DWT = "dwt"  # DWT CYCCNT: core cycles
    SYSTICK = "systick"  # SysTick with wrap counting (no DWT, e.g. under QEMU)
    HOST_MONOTONIC = "host-monotonic"  # CLOCK_MONOTONIC nanoseconds


CORES = ("cortex-m0", "cortex-m0plus", "cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55", "host")
ARMV6M_CORES = ("cortex-m0", "cortex-m0plus")  # Thumb-1 only, no FPU, no DWT cycle counter
DEFAULT_STACK_BYTES = 16 * 1024
MIN_STACK_BYTES = 2 * 1024
MAX_ICOUNT_SHIFT = 10  # QEMU accepts 0..10: one instruction every 2**shift ns of virtual time
TIMESTAMP_ACTIVE = ("low", "high")
DEFAULT_TIMESTAMP_HOLD_US = 50  # EEMBC's default hold time of the timestamp pulse
DB_BUFFERS = ("largest", "model")
DEFAULT_LATENCY_ENTRIES = 1024  # the harness default (TB_LATENCY_CAPACITY)


class BoardMismatchError(TinybenchError):
    """The DUT reports clocks or a counter that its board manifest does not describe."""


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
    irqs: tuple[int, ...]  # NVIC lines the port enables (RX, TX), only to wake from WFI


@dataclass(frozen=True)
class TimestampPin:
    """The GPIO the energy mode's timestamp pulse drives (physical boards only)."""

    pin: str  # the vendor's name, e.g. "PC6"
    active: str  # "low" or "high": the level of the pulse
    hold_us: int = (
        DEFAULT_TIMESTAMP_HOLD_US  # how long the pulse lasts (EEMBC's default setting; >= 1)
    )


@dataclass(frozen=True)
class Emulator:
    program: str
    machine: str
    cpu: str
    icount_shift: int  # -icount shift=N: one instruction per 2**N ns of virtual time
    args: tuple[str, ...]  # further arguments; never -icount (that is icount_shift)
    serial_index: int = 0  # which -serial is the board's console UART (netduinoplus2: USART2 = 1)
    # The emulated UART drops what arrives before the firmware enables its receiver (QEMU's
    # STM32 USART does; the CMSDK UART holds it): the launcher then waits for the guest's
    # first output before anything is sent.
    rx_drops_until_enabled: bool = False

    @property
    def command_args(self) -> tuple[str, ...]:
        return (*self.args, "-icount", f"shift={self.icount_shift}")

    def serial_args(self, chardev: str, next_chardev: str | None = None) -> tuple[str, ...]:
        """`-serial` options that put `chardev` on the console UART: the machine's earlier
        UARTs get `null`, since QEMU maps the n-th -serial to its n-th UART. next_chardev goes
        on the UART after the console (the energy-mode marker UART of the cmsdk port)."""
        after = ("-serial", next_chardev) if next_chardev is not None else ()
        return (*("-serial", "null") * self.serial_index, "-serial", chardev, *after)


@dataclass(frozen=True)
class UsbIds:
    """The USB IDs the board's serial bridge reports, for port discovery (physical boards)."""

    vid: int
    pids: tuple[int, ...]  # every product ID the bridge may report (e.g. ST-LINK V2-1 and V3)
    bridge: str  # what the bridge is, for messages ("ST-LINK/V2-1 VCP")


@dataclass(frozen=True)
class FlashTarget:
    """How pyOCD programs the board (physical boards)."""

    pyocd_target: str  # pyOCD's target name: a built-in or a CMSIS-pack part name
    needs_pack: bool  # True when pyOCD has no built-in target and needs the part's DFP


@dataclass(frozen=True)
class FirmwareBudget:
    """How the firmware spends a board's RAM beyond its stack (the top-level stack_bytes): the
    defaults suit every board with 128 KB or more; a small board (nucleo-g071rb, 32 KB)
    shrinks them in its [firmware] table."""

    db_buffer: str = "largest"  # "largest": the largest standard input (vww01); "model": the
    # model's own input size, so that a small board pays only for what it runs
    latency_entries: int = DEFAULT_LATENCY_ENTRIES  # per-inference latency record (4 B each)


@dataclass(frozen=True)
class PlatformIOBoard:
    """What the generated PlatformIO board JSON says beyond the facts above."""

    mcu: str
    vendor: str
    url: str


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
    platformio: PlatformIOBoard
    timestamp: TimestampPin | None
    manifest_path: Path
    usb: UsbIds | None = None
    flash: FlashTarget | None = None
    stack_bytes: int = DEFAULT_STACK_BYTES  # the main stack of a Cortex-M image, in the data region
    verification: VerificationStatus = VerificationStatus.BUILD_ONLY
    verification_note: str = ""  # what exactly was checked, e.g. which emulated board runs the port
    budget: FirmwareBudget = FirmwareBudget()

    def region(self, kind: str) -> MemoryRegion | None:
        return next((r for r in self.memory if r.kind == kind), None)

    @property
    def firmware_envs(self) -> tuple[str, ...]:
        """The `<board>-<engine>` PlatformIO environments: tflm needs a Cortex-M core."""
        engines = ("native",) if self.core == "host" else ("native", "tflm")
        return tuple(f"{self.board_id}-{engine}" for engine in engines)


def instructions_per_tick(board: BoardManifest, counter_hz: int | None) -> float | None:
    """Exact instructions per counter tick on an emulated board, from the typed icount shift:
    QEMU runs one instruction per 2**shift ns of virtual time. None on real hardware."""
    if board.kind is not BoardKind.EMULATED or board.emulator is None or not counter_hz:
        return None
    return 1e9 / counter_hz / float(2**board.emulator.icount_shift)


def check_dut_clocks(board: BoardManifest, info: Mapping[str, str]) -> None:
    """The DUT's info line against the manifest: a firmware built for another board, or a
    manifest that lies, would make every time figure wrong. A cpu_hz of 0 means "unknown"
    (the host port) and is not compared."""
    where = board.manifest_path
    reported_counter = info.get("counter", "")
    if reported_counter and reported_counter != board.counter.value:
        raise BoardMismatchError(
            f"the DUT reports counter {reported_counter}, but {where} says {board.counter.value}"
        )
    checks = (("counter_hz", board.counter_hz, False), ("cpu_hz", board.cpu_hz, True))
    for key, expected, zero_is_unknown in checks:
        text = info.get(key, "")
        if not text.isdigit():
            raise BoardMismatchError(f"the DUT's info line has no numeric {key} (got {text!r})")
        reported = int(text)
        if reported == 0 and zero_is_unknown:
            continue
        if reported != expected:
            raise BoardMismatchError(
                f"the DUT reports {key}={reported}, but {where} says {expected}: "
                "the firmware was built for another board, or the manifest is wrong"
            )


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


def _usb(top: FieldReader, kind: BoardKind) -> UsbIds | None:
    reader = top.optional_table("usb")
    if reader is None:
        return None
    usb = UsbIds(
        vid=reader.integer("vid", minimum=0),
        pids=reader.int_list("pid", minimum=0),
        bridge=reader.string("bridge"),
    )
    reader.finish()
    if usb.vid > 0xFFFF or any(pid > 0xFFFF for pid in usb.pids):
        top.problem("usb", "USB vendor and product IDs are 16-bit numbers")
    if not usb.pids:
        top.problem("usb.pid", "needs at least one product ID")
    if kind is not BoardKind.PHYSICAL:
        top.problem("usb", f"only physical boards have one; this board is {kind.value}")
    return usb


def _flash(top: FieldReader, kind: BoardKind) -> FlashTarget | None:
    reader = top.optional_table("flash")
    if reader is None:
        return None
    flash = FlashTarget(
        pyocd_target=reader.string("pyocd_target"),
        needs_pack=reader.boolean("needs_pack", default=True),
    )
    reader.finish()
    if kind is not BoardKind.PHYSICAL:
        top.problem("flash", f"only physical boards have one; this board is {kind.value}")
    return flash


_DEFAULT_VERIFICATION = {
    BoardKind.EMULATED: VerificationStatus.QEMU,
    BoardKind.PROCESS: VerificationStatus.HOST,
    BoardKind.PHYSICAL: VerificationStatus.BUILD_ONLY,
}
_VERIFICATION_BY_KIND = {
    BoardKind.EMULATED: (VerificationStatus.QEMU, VerificationStatus.BUILD_ONLY),
    BoardKind.PROCESS: (VerificationStatus.HOST,),
    BoardKind.PHYSICAL: (VerificationStatus.BUILD_ONLY, VerificationStatus.HARDWARE),
}


def _verification(top: FieldReader, kind: BoardKind) -> tuple[VerificationStatus, str]:
    """[verification] status (and note); without the table, what the board's kind implies.
    A physical board is never "qemu": its emulated twin, if any, is a board of its own."""
    reader = top.optional_table("verification")
    if reader is None:
        return _DEFAULT_VERIFICATION[kind], ""
    allowed = _VERIFICATION_BY_KIND[kind]
    name = reader.choice("status", [s.value for s in VerificationStatus])
    note = reader.string("note", default="")
    reader.finish()
    status = next((s for s in VerificationStatus if s.value == name), _DEFAULT_VERIFICATION[kind])
    if status not in allowed:
        reader.problem(
            "status",
            f"a {kind.value} board can be {' or '.join(repr(s.value) for s in allowed)}, "
            f"not {name!r}",
        )
    return status, note


def _budget(top: FieldReader) -> FirmwareBudget:
    reader = top.optional_table("firmware")
    if reader is None:
        return FirmwareBudget()
    budget = FirmwareBudget(
        db_buffer=reader.choice("db_buffer", DB_BUFFERS) if reader.has("db_buffer") else "largest",
        latency_entries=reader.integer(
            "latency_entries", minimum=1, default=DEFAULT_LATENCY_ENTRIES
        ),
    )
    reader.finish()
    return budget


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
    # Measured high-water marks under QEMU: ~0.5 KB (native vww01), ~1 KB (tflm vww01).
    stack_bytes = top.integer("stack_bytes", minimum=MIN_STACK_BYTES, default=DEFAULT_STACK_BYTES)
    if stack_bytes % 8:
        top.problem(
            "stack_bytes", f"must be a multiple of 8 (the AAPCS stack alignment), got {stack_bytes}"
        )

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
            irqs=uart_reader.int_list("irqs", minimum=0) if uart_reader.has("irqs") else (),
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
            icount_shift=emu_reader.integer("icount_shift", minimum=0),
            args=emu_reader.string_list("args", default=()),
            serial_index=emu_reader.integer("serial_index", minimum=0, default=0),
            rx_drops_until_enabled=emu_reader.boolean("rx_drops_until_enabled", default=False),
        )
        if emulator.icount_shift > MAX_ICOUNT_SHIFT:
            emu_reader.problem("icount_shift", f"must be <= {MAX_ICOUNT_SHIFT}")
        if any(arg.startswith("-icount") for arg in emulator.args):
            emu_reader.problem("args", "must not set -icount; icount_shift does")
        if "-serial" in emulator.args:
            emu_reader.problem("args", "must not set -serial; serial_index does")
        emu_reader.finish()
    if kind is BoardKind.EMULATED and emulator is None:
        top.problem("emulator", "missing (an emulated board needs one)")
    if kind is not BoardKind.EMULATED and emulator is not None:
        top.problem("emulator", f"only emulated boards have one; this board is {kind.value}")
    if (core == "host") != (kind is BoardKind.PROCESS):
        top.problem("core", "is 'host' exactly when kind is 'process'")
    if core in ARMV6M_CORES and (fpu != "none" or counter is CounterKind.DWT):
        # ARMv6-M has neither: an FPU build would not run, and its DWT has no CYCCNT.
        top.problem("core", f"{core} has no FPU and no DWT cycle counter (fpu 'none', systick)")
    if counter in (CounterKind.SYSTICK, CounterKind.DWT) and counter_hz != cpu_hz:
        # The Cortex-M ports run SysTick on the core clock (CLKSOURCE = 1); DWT counts cycles.
        top.problem("counter.hz", f"a {counter.value} counter counts the core clock ({cpu_hz})")

    pio_reader = top.table("platformio")
    platformio = PlatformIOBoard(
        mcu=pio_reader.string("mcu"),
        vendor=pio_reader.string("vendor"),
        url=pio_reader.string("url"),
    )
    pio_reader.finish()

    timestamp: TimestampPin | None = None
    pin_reader = top.optional_table("timestamp")
    if pin_reader is not None:
        timestamp = TimestampPin(
            pin=pin_reader.string("pin"),
            active=pin_reader.choice("active", TIMESTAMP_ACTIVE),
            hold_us=pin_reader.integer("hold_us", minimum=1, default=DEFAULT_TIMESTAMP_HOLD_US),
        )
        pin_reader.finish()
        if kind is not BoardKind.PHYSICAL:
            top.problem("timestamp", f"only physical boards have one; this board is {kind.value}")
    usb = _usb(top, kind)
    flash = _flash(top, kind)
    verification, verification_note = _verification(top, kind)
    budget = _budget(top)
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
        platformio=platformio,
        timestamp=timestamp,
        manifest_path=path,
        usb=usb,
        flash=flash,
        stack_bytes=stack_bytes,
        verification=verification,
        verification_note=verification_note,
        budget=budget,
    )


def load_board_manifests(directory: Path) -> dict[str, BoardManifest]:
    return load_all(directory, "board", parse_board_manifest)


def load_board_manifest(directory: Path, board_id: str) -> BoardManifest:
    return parse_board_manifest(manifest_path(directory, "board", board_id))
