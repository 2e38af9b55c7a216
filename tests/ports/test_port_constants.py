"""The clock and baud constants of the STM32 ports, decoded with each family's documented field
encoding (BOARDS.md sections 0, 5, 6; the U5 from RM0456 as the port cites it), give the clock
the board manifest states; the shared USART divider, compiled on the host, gives the BRR values
BOARDS.md computed."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tinybench.manifests.boards import load_board_manifests

REPO = Path(__file__).resolve().parents[2]
PORTS = REPO / "firmware" / "ports"
BOARDS = load_board_manifests(REPO / "boards")
_MACRO = re.compile(r"^#define (TB_\w+) (.+?)(?:\s*/\*.*)?$", re.MULTILINE)
_SAFE = re.compile(r"^[0-9a-fx()|<\s]+$")


def _macros(port: str) -> dict[str, int]:
    """The port's integer constants: literals, shifts and ors only (evaluated without names)."""
    text = (PORTS / port / f"tb_port_{port}.c").read_text()
    values: dict[str, int] = {}
    for name, body in _MACRO.findall(text):
        expression = re.sub(r"\b(0x[0-9a-fA-F]+|[0-9]+)u\b", r"\1", body.strip())
        if _SAFE.match(expression):
            values[name] = int(eval(expression, {"__builtins__": {}}))  # digits, <<, | only
    return values


def _field(value: int, low: int, width: int) -> int:
    return (value >> low) & ((1 << width) - 1)


def test_the_g0_pll_gives_the_manifest_clock() -> None:
    pllcfgr = _macros("stm32g0")["TB_G0_PLLCFGR_64MHZ"]
    assert pllcfgr == 0x30000802  # BOARDS.md section 6, computed for M1/N8/R2
    assert _field(pllcfgr, 0, 2) == 2  # HSI16
    m, n, r = _field(pllcfgr, 4, 3) + 1, _field(pllcfgr, 8, 7), _field(pllcfgr, 29, 3) + 1
    assert _field(pllcfgr, 28, 1) == 1  # PLLREN
    assert 16_000_000 // m * n // r == BOARDS["nucleo-g071rb"].cpu_hz


def test_the_h7_pll1_gives_the_manifest_clock() -> None:
    macros = _macros("stm32h7")
    cksel, divr = macros["TB_H7_PLLCKSELR"], macros["TB_H7_PLL1DIVR"]
    assert _field(cksel, 0, 2) == 2  # HSE (the ST-LINK's 8 MHz, bypass)
    m = _field(cksel, 4, 6)  # DIVM1 is the direct value
    n, p = _field(divr, 0, 9) + 1, _field(divr, 9, 7) + 1
    assert (m, n, p) == (4, 280, 2)  # ST's NUCLEO-H7A3ZI-Q template (BOARDS.md section 5)
    assert 8_000_000 // m * n // p == BOARDS["nucleo-h7a3zi"].cpu_hz
    assert _field(macros["TB_H7_PLLCFGR"], 2, 2) == 1  # 2 MHz input: range 2-4 MHz
    assert macros["TB_H7_FLASH_ACR_280MHZ"] & 0xF == 6  # FLASH_LATENCY_6


def test_the_u5_pll1_gives_the_manifest_clock() -> None:
    macros = _macros("stm32u5")
    cfgr, divr = macros["TB_U5_PLL1CFGR"], macros["TB_U5_PLL1DIVR"]
    assert _field(cfgr, 0, 2) == 2  # HSI16
    m = _field(cfgr, 8, 4) + 1
    n, r = _field(divr, 0, 9) + 1, _field(divr, 24, 7) + 1
    vco = 16_000_000 // m * n
    assert _field(cfgr, 2, 2) == 3 and 8_000_000 <= 16_000_000 // m <= 16_000_000  # input range
    assert _field(cfgr, 18, 1) == 1  # the R output, the system clock, is on
    assert vco // r == BOARDS["nucleo-u575zi"].cpu_hz


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_the_shared_usart_divider_gives_the_boards_md_brr_values(tmp_path: Path) -> None:
    program = tmp_path / "brr.c"
    program.write_text(
        '#include <stdio.h>\n#include "../stm32_common/tb_stm32_usart.h"\n'
        "int main(void)\n{\n"
        '    printf("%u %u %u %u\\n", (unsigned)tb_stm32_usart_brr(64000000u, 115200u),\n'
        "           (unsigned)tb_stm32_usart_brr(64000000u, 9600u),\n"
        "           (unsigned)tb_stm32_usart_brr(140000000u, 115200u),\n"
        "           (unsigned)tb_stm32_usart_brr(140000000u, 9600u));\n"
        "    return 0;\n}\n"
    )
    exe = tmp_path / "brr"
    # -iquote the G0 port's directory, so that "../stm32_common/..." resolves as in the port.
    subprocess.run(
        ["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", f"-iquote{PORTS / 'stm32g0'}",
         f"-I{PORTS / 'cortex_m'}", str(program), "-o", str(exe)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    output = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    # BOARDS.md: G071 at 64 MHz 556 (0x22c) and 6667 (0x1a0b); H7A3 USART3 at 140 MHz 1215, 14583.
    assert output.split() == ["556", "6667", "1215", "14583"]


@pytest.mark.parametrize(
    ("board_id", "port", "pin"),
    [("nucleo-g071rb", 0, 8), ("nucleo-h7a3zi", 5, 13), ("nucleo-u575zi", 5, 13)],
)
def test_the_stm32_timestamp_pin_comes_from_the_manifest(
    board_id: str, port: int, pin: int
) -> None:
    """PA8 / PF13 reach the port only through the generated header; the port names no pin."""
    from tinybench.build.boardgen import board_header

    header = board_header(BOARDS[board_id])
    assert f"#define TB_BOARD_TIMESTAMP_PORT {port}u" in header
    assert f"#define TB_BOARD_TIMESTAMP_PIN {pin}u" in header
    assert "#define TB_BOARD_TIMESTAMP_ACTIVE_LOW 1" in header
    family = BOARDS[board_id].port
    source = (PORTS / family / f"tb_port_{family}.c").read_text()
    assert "TB_BOARD_TIMESTAMP_PIN" in source and "PIN_TIMESTAMP" not in source
