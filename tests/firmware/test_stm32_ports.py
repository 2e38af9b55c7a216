"""The STM32F4 and STM32L4+ ports where no emulator shows them: their register arithmetic
(PLLCFGR, BRR, flash wait states) compiled for the host and checked against the numbers of
../shared/BOARDS.md, the real PlatformIO images of the NUCLEO boards read back from their
ELFs, and, under QEMU's netduinoplus2, the receive ring holding a burst of commands."""

from __future__ import annotations

import ctypes
import shutil
import struct
import subprocess
import time
from pathlib import Path

import pytest
from dutio import qemu_dut
from elftools.elf.elffile import ELFFile
from fwbuild import BOARDS, COMMON, FIRMWARE, TARGETS

from tflm_sources import missing_tflm_sources
from tinybench.build.firmware import FirmwareBuild, build_firmware
from tinybench.manifests.boards import BoardKind
from tinybench.paths import locate
from tinybench.project import Project

PORTS = FIRMWARE / "ports"
STM32_BOARDS = sorted(b for b, m in BOARDS.items() if m.port in ("stm32f4", "stm32l4"))
PHYSICAL_STM32 = [b for b in STM32_BOARDS if BOARDS[b].kind is BoardKind.PHYSICAL]


@pytest.fixture(scope="module")
def calc(tmp_path_factory: pytest.TempPathFactory) -> ctypes.CDLL:
    """Both families' calc files as one host library, built with the project's warnings."""
    out = tmp_path_factory.mktemp("stm32calc") / "libtb_stm32_calc.so"
    sources = [PORTS / "stm32f4" / "tb_stm32f4_calc.c", PORTS / "stm32l4" / "tb_stm32l4_calc.c"]
    includes = [f"-I{PORTS / 'stm32f4'}", f"-I{PORTS / 'stm32l4'}"]
    cmd = ["gcc", *COMMON, "-shared", "-fPIC", *includes, *map(str, sources), "-o", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    lib = ctypes.CDLL(str(out))
    u32 = ctypes.c_uint32
    for name, argc in (
        ("tb_stm32f4_pllcfgr", 3),
        ("tb_stm32f4_usart_brr", 2),
        ("tb_stm32f4_flash_latency", 1),
        ("tb_stm32l4_pllcfgr", 4),
        ("tb_stm32l4_lpuart_brr", 2),
        ("tb_stm32l4_flash_latency", 1),
        ("tb_stm32f4_pllcfgr_from_hsi", 1),
        ("tb_stm32l4_pllcfgr_from_hsi16", 1),
    ):
        function = getattr(lib, name)
        function.argtypes = [u32] * argc
        function.restype = u32
    return lib


def test_the_l4_pllcfgr_values_are_the_reference_firmware_s(calc: ctypes.CDLL) -> None:
    hsi16, msi = 2, 1
    # HSI16 / M2 x N30 / R2 = 120 MHz, the MLPerf Tiny reference set-up; the MSI alternative.
    assert calc.tb_stm32l4_pllcfgr(hsi16, 2, 30, 2) == 0x01001E12
    assert calc.tb_stm32l4_pllcfgr(msi, 1, 60, 2) == 0x01003C01
    # R is encoded R/2 - 1 in bits 26:25: R = 8 sets both.
    assert calc.tb_stm32l4_pllcfgr(hsi16, 2, 30, 8) == 0x07001E12
    # What the port writes for the manifest's 120 MHz, and refuses to compute.
    assert calc.tb_stm32l4_pllcfgr_from_hsi16(120_000_000) == 0x01001E12
    assert calc.tb_stm32l4_pllcfgr_from_hsi16(80_000_000) == 0x01001412  # N = 20
    for impossible in (124_000_000, 121_000_000, 28_000_000):
        assert calc.tb_stm32l4_pllcfgr_from_hsi16(impossible) == 0


@pytest.mark.parametrize(
    ("clock_hz", "baud", "brr"),
    [
        (16_000_000, 115200, 0x8AE4),  # HSI16, the port's choice
        (16_000_000, 9600, 0x682AB),  # ... where the MLPerf energy mode's 9600 baud works too
        (60_000_000, 115200, 0x208D5),  # PCLK1 of the reference firmware
        (120_000_000, 115200, 0x411AB),
        (30_000_000, 9600, 0xC3500),  # 60 MHz with PRESC /2
        (60_000_000, 9600, 0),  # impossible: 256 * 60e6 / 9600 > 0xFFFFF
        (120_000_000, 9600, 0),  # impossible: 120 MHz > 4096 * 9600
        (16_000_000, 8_000_000, 0),  # impossible: the clock must be at least 3 x baud
    ],
)
def test_the_lpuart_brr_is_reachable_exactly_where_boards_md_says(
    calc: ctypes.CDLL, clock_hz: int, baud: int, brr: int
) -> None:
    assert calc.tb_stm32l4_lpuart_brr(clock_hz, baud) == brr


def test_the_f4_values_are_the_reference_manual_s(calc: ctypes.CDLL) -> None:
    # HSI / M8 x N180 / P2 = 180 MHz (VCO 360 MHz), Q = 4 and R = 2 kept: BOARDS.md's value.
    assert calc.tb_stm32f4_pllcfgr(8, 180, 2) == 0x24002D08
    # What the port writes for nucleo-f446re (180 MHz) and qemu-stm32f4 (168 MHz).
    assert calc.tb_stm32f4_pllcfgr_from_hsi(180_000_000) == 0x24002D08
    assert calc.tb_stm32f4_pllcfgr_from_hsi(168_000_000) == 0x24002A08
    for impossible in (200_000_000, 180_500_000, 40_000_000):
        assert calc.tb_stm32f4_pllcfgr_from_hsi(impossible) == 0
    assert calc.tb_stm32f4_pllcfgr(8, 336, 4) == 0x24015408  # P = 4 is field value 1
    assert calc.tb_stm32f4_usart_brr(45_000_000, 115200) == 0x187  # PCLK1 at 180 MHz
    assert calc.tb_stm32f4_usart_brr(45_000_000, 9600) == 0x1250
    assert calc.tb_stm32f4_usart_brr(42_000_000, 115200) == 365  # PCLK1 at 168 MHz
    assert calc.tb_stm32f4_usart_brr(1_000_000, 115200) == 0  # below 16: no valid divider
    assert calc.tb_stm32f4_usart_brr(16_000_000, 0) == 0


@pytest.mark.parametrize(
    ("family", "hclk_hz", "wait_states"),
    [
        ("f4", 180_000_000, 5),
        ("f4", 168_000_000, 5),
        ("f4", 30_000_000, 0),
        ("f4", 30_000_001, 1),
        ("f4", 16_000_000, 0),
        ("l4", 120_000_000, 5),
        ("l4", 100_000_000, 4),
        ("l4", 80_000_000, 3),
        ("l4", 4_000_000, 0),
    ],
)
def test_the_flash_wait_states_follow_the_reference_manual_tables(
    calc: ctypes.CDLL, family: str, hclk_hz: int, wait_states: int
) -> None:
    assert getattr(calc, f"tb_stm32{family}_flash_latency")(hclk_hz) == wait_states


@pytest.fixture(scope="module")
def project() -> Project:
    return Project(locate())


def _vector(elf: ELFFile, index: int) -> int:
    text = elf.get_section_by_name(".text")
    assert text is not None
    (entry,) = struct.unpack_from("<I", text.data(), 4 * index)
    return int(entry)


def _symbol(elf: ELFFile, name: str) -> int:
    symbols = elf.get_section_by_name(".symtab")
    assert symbols is not None
    (symbol,) = symbols.get_symbol_by_name(name)
    return int(symbol["st_value"])


_TFLM_MISSING = missing_tflm_sources()
# Without the upstream trees the tflm case is one counted skip naming the commands that fill
# the cache, as in tests/tflm.
_TFLM = pytest.param(
    "tflm",
    marks=pytest.mark.skipif(
        _TFLM_MISSING is not None, reason=f"the tflm engine needs its sources: {_TFLM_MISSING}"
    ),
)


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="needs arm-none-eabi-gcc")
@pytest.mark.parametrize("engine", ["native", _TFLM])
@pytest.mark.parametrize("board", PHYSICAL_STM32)
def test_the_nucleo_image_built_by_platformio_fits_its_board(
    project: Project, board: str, engine: str
) -> None:
    """The real build (PlatformIO, -Werror) of kws01 for a board no emulator runs, with each
    engine: vectors at the start of flash, the stack in SRAM, the UART's interrupt line wired
    to the handler, and flash and RAM within the manifest's sizes."""
    manifest = BOARDS[board]
    built: FirmwareBuild = build_firmware(project, board, engine, "kws01")
    code, data = manifest.region("code"), manifest.region("data")
    assert code is not None and data is not None and manifest.uart is not None
    with built.image.open("rb") as handle:
        elf = ELFFile(handle)
        text = elf.get_section_by_name(".text")
        assert text is not None and text["sh_addr"] == code.origin == 0x08000000
        stack_top, reset = _vector(elf, 0), _vector(elf, 1)
        assert data.origin < stack_top <= data.origin + data.size
        assert stack_top == _symbol(elf, "_estack")
        assert reset == _symbol(elf, "tb_reset_handler") | 1
        (irq,) = manifest.uart.irqs
        assert _vector(elf, 16 + irq) == _symbol(elf, "tb_cm_irq_handler") | 1
        assert _vector(elf, 15) == _symbol(elf, "tb_cm_systick_handler") | 1  # DWT wrap reads
        flash = sum(s["sh_size"] for s in elf.iter_sections() if s.name in (".text", ".data"))
        ram = sum(s["sh_size"] for s in elf.iter_sections() if s.name in (".data", ".bss"))
        ram += _symbol(elf, "_estack") - _symbol(elf, "_ebss")
    assert 40_000 < flash < code.size  # at least the model's weights
    assert built.arena_bytes + 27_648 < ram < data.size
    print(f"\n{board}: kws01 {engine} flash {flash} B of {code.size}, RAM {ram} B of {data.size}")


@pytest.mark.skipif(
    shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
    reason="needs qemu-system-arm and arm-none-eabi-gcc",
)
def test_a_burst_longer_than_the_receive_ring_loses_nothing(tmp_path: Path) -> None:
    """40 commands in one write (over 256 bytes, the ring's size) while the DUT is busy
    answering: the USART2 interrupt fills the ring, then holds the byte in DR with its
    interrupt masked, and QEMU's chardev waits, so every command is answered in order."""
    from fwbuild import build_test_double

    target = TARGETS["qemu-stm32f4"]
    assert target.qemu_machine and target.qemu_cpu and target.serial_index == 1
    elf = build_test_double("qemu-stm32f4", "kws01", tmp_path)
    commands = [f"db load {n}%" for n in range(100, 140)]
    assert sum(map(len, commands)) > 256
    with qemu_dut(
        elf, target.qemu_machine, target.qemu_cpu, serial_index=target.serial_index
    ) as dut:
        assert dut.read_until_ready(timeout=10) == ["m-init-done"]
        dut.write("".join(commands))
        for n in range(100, 140):
            assert dut.read_until_ready(timeout=10) == [f"m-[Expecting {n} bytes]"]
        assert dut.command("name") == ["m-name-dut-[tinybench]"]


@pytest.mark.skipif(
    shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
    reason="needs qemu-system-arm and arm-none-eabi-gcc",
)
def test_a_command_sent_at_once_reaches_a_uart_that_drops_early_input(tmp_path: Path) -> None:
    """QEMU's STM32 USART drops what arrives before the firmware sets UE and RE, and QEMU starts
    the guest only when the link connects: the launcher (rx_drops_until_enabled) waits for the
    boot banner, then hands it on, so a `name` written at once is answered and nothing is lost."""
    from fwbuild import build_test_double

    from tinybench.dut.emulator import QemuDut

    board = BOARDS["qemu-stm32f4"]
    assert board.emulator is not None and board.emulator.rx_drops_until_enabled
    elf = build_test_double("qemu-stm32f4", "kws01", tmp_path)
    with QemuDut(board, elf, time_limit_s=60) as qemu:
        qemu.transport.write(b"name%")
        seen = b""
        deadline = time.monotonic() + 10
        while b"m-name-dut-[tinybench]\r\n" not in seen and time.monotonic() < deadline:
            seen += qemu.transport.read(0.5)
    assert seen.startswith(b"m-init-done\r\nm-ready\r\n"), seen
    assert b"m-name-dut-[tinybench]\r\n" in seen
