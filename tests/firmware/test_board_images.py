"""The built images agree with boards/*.toml: read back from each ELF, the vector table sits at
the start of the code region, the initial stack pointer and every RAM section lie in the data
region, and everything allocated lies in a region the manifest declares."""

from __future__ import annotations

import shutil
import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile
from fwbuild import BOARDS, TARGETS

from tinybench.manifests.boards import MemoryRegion

CORTEX_M_TARGETS = sorted(name for name, target in TARGETS.items() if target.linker_script)

pytestmark = pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None, reason="needs arm-none-eabi-gcc"
)


def _inside(region: MemoryRegion, start: int, size: int) -> bool:
    return region.origin <= start and start + size <= region.origin + region.size


@pytest.mark.parametrize("board", CORTEX_M_TARGETS)
def test_the_image_memory_map_is_the_manifest_s(
    build_double: Callable[..., Path], board: str
) -> None:
    manifest = BOARDS[board]
    code, data = manifest.region("code"), manifest.region("data")
    assert code is not None and data is not None
    with build_double(board, "kws01").open("rb") as handle:
        elf = ELFFile(handle)
        text = elf.get_section_by_name(".text")
        assert text is not None and text["sh_addr"] == code.origin  # vectors come first
        stack_top, reset = struct.unpack("<II", text.data()[:8])
        symbols = elf.get_section_by_name(".symtab")
        assert symbols is not None
        (estack,) = symbols.get_symbol_by_name("_estack")
        assert stack_top == estack["st_value"]
        assert data.origin < stack_top <= data.origin + data.size
        assert _inside(code, reset & ~1, 2) and reset & 1  # a Thumb entry in the code region
        allocated = 0
        for section in elf.iter_sections():
            if not section["sh_flags"] & SH_FLAGS.SHF_ALLOC or section["sh_size"] == 0:
                continue
            allocated += 1
            start, size = section["sh_addr"], section["sh_size"]
            # RAM: .data (its load image goes to the code region) and the NOLOAD sections.
            in_ram = section["sh_type"] == "SHT_NOBITS" or section.name == ".data"
            region = data if in_ram else code
            assert _inside(region, start, size), (board, section.name, hex(start), size)
        assert allocated >= 4  # .text, .data, .bss, .stack at least
