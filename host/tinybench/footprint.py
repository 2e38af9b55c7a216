"""Where flash and RAM go in a firmware image: output sections, a breakdown and the largest symbols.

Read from the ELF's section headers and symbol table with pyelftools. The breakdown assigns every
byte of every loaded section to exactly one figure, so that it adds up to the section totals.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from tinybench.errors import TinybenchError

_SHF_WRITE = 0x1
_SHF_ALLOC = 0x2
# The native plan's constants are opN_<what> objects; the tflm engine embeds the model array.
_WEIGHT_SYMBOL = re.compile(r"^(op\d+_\w+|tb_tflm_model_data)$")
_ARENA_SYMBOL = "s_arena"
_STACK_SECTION = ".stack"
TOP_SYMBOLS = 20


@dataclass(frozen=True)
class SectionSize:
    name: str
    address: int
    size: int
    placement: str  # "flash", "ram" or "both" (.data: stored in flash, copied to RAM)


@dataclass(frozen=True)
class SymbolSize:
    name: str
    size: int
    section: str


@dataclass(frozen=True)
class Footprint:
    sections: tuple[SectionSize, ...]
    breakdown_flash: dict[str, int]  # weights, code_and_constants: adds up to flash_bytes
    breakdown_ram: dict[str, int]  # data, arena, bss_other, stack: adds up to ram_bytes
    top_symbols: tuple[SymbolSize, ...]

    @property
    def flash_bytes(self) -> int:
        return sum(s.size for s in self.sections if s.placement in ("flash", "both"))

    @property
    def ram_bytes(self) -> int:
        return sum(s.size for s in self.sections if s.placement in ("ram", "both"))

    def document(self) -> dict[str, Any]:
        return {
            "sections": [
                {"name": s.name, "address": s.address, "size": s.size, "placement": s.placement}
                for s in self.sections
            ],
            "breakdown": {"flash": dict(self.breakdown_flash), "ram": dict(self.breakdown_ram)},
            "top_symbols": [
                {"name": s.name, "size": s.size, "section": s.section} for s in self.top_symbols
            ],
        }


def _placement(flags: int, section_type: str) -> str:
    if not flags & _SHF_WRITE:
        return "flash"
    return "ram" if section_type == "SHT_NOBITS" else "both"


def footprint(path: Path) -> Footprint:
    try:
        with path.open("rb") as handle:
            elf = ELFFile(handle)
            sections: list[SectionSize] = []
            index_names: dict[int, str] = {}
            for index, section in enumerate(elf.iter_sections()):
                flags = int(section["sh_flags"])
                if not flags & _SHF_ALLOC or int(section["sh_size"]) == 0:
                    continue
                placement = _placement(flags, str(section["sh_type"]))
                sections.append(
                    SectionSize(
                        section.name, int(section["sh_addr"]), int(section["sh_size"]), placement
                    )
                )
                index_names[index] = section.name
            symbols: list[SymbolSize] = []
            table = elf.get_section_by_name(".symtab")
            if isinstance(table, SymbolTableSection):
                for symbol in table.iter_symbols():
                    shndx = symbol["st_shndx"]
                    size = int(symbol["st_size"])
                    if isinstance(shndx, int) and shndx in index_names and size > 0:
                        symbols.append(SymbolSize(symbol.name, size, index_names[shndx]))
    except (OSError, ELFError) as exc:
        raise TinybenchError(f"{path}: cannot read the firmware image: {exc}") from exc
    unique = {(s.name, s.section, s.size): s for s in symbols}.values()  # aliases share a record
    return Footprint(
        sections=tuple(sections),
        breakdown_flash=_flash_breakdown(sections, list(unique)),
        breakdown_ram=_ram_breakdown(sections, list(unique)),
        top_symbols=tuple(sorted(unique, key=lambda s: (-s.size, s.name))[:TOP_SYMBOLS]),
    )


def _flash_breakdown(sections: list[SectionSize], symbols: list[SymbolSize]) -> dict[str, int]:
    flash = sum(s.size for s in sections if s.placement in ("flash", "both"))
    weights = sum(
        s.size for s in symbols if _WEIGHT_SYMBOL.match(s.name) and _is_flash(sections, s.section)
    )
    return {"weights": weights, "code_and_constants": flash - weights}


def _ram_breakdown(sections: list[SectionSize], symbols: list[SymbolSize]) -> dict[str, int]:
    data = sum(s.size for s in sections if s.placement == "both")
    stack = sum(s.size for s in sections if s.placement == "ram" and s.name == _STACK_SECTION)
    bss = sum(s.size for s in sections if s.placement == "ram" and s.name != _STACK_SECTION)
    arena = max(
        (s.size for s in symbols if s.name == _ARENA_SYMBOL and not _is_flash(sections, s.section)),
        default=0,
    )
    return {"data": data, "arena": arena, "bss_other": bss - arena, "stack": stack}


def _is_flash(sections: list[SectionSize], name: str) -> bool:
    return any(s.name == name and s.placement == "flash" for s in sections)
