"""Where flash and RAM go in a firmware image: output sections, a breakdown and the largest symbols.

Read from the ELF's section headers and symbol table with pyelftools. The breakdown assigns every
byte of every loaded section to exactly one figure, so that each dict adds up to the section
totals (flash: the flash-only sections plus the .data load image; RAM: .data, .bss, .stack).

How code and data are attributed to the engine. Global symbols carry no object file in a linked
ELF (STT_FILE entries only group the local ones) and C++/library names follow no prefix we
control, so symbol names cannot tell TF Lite Micro's code from the harness's. What we do control
is the link: firmware/ports/cortex_m/tb_cm_sections.ld gathers the input sections of the engine
objects (tb_native_*.o, tb_tflm_*.o, libtflm.a), of the model's constants (tb_native_model.o,
tb_tflm_model.o .rodata) and of the other archives (the toolchain's libraries) between
__tb_*_start/__tb_*_end symbols, which this module reads. The harness's own buffers are found by
their (unique, static) names in the symbol table. An image linked without those symbols (the host
port's executable, linked by the system's default script, or a foreign ELF) gets the figures that
need no link markers (the weights by symbol name, the harness buffers, the stack) and `other` for
the rest.
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
# Without link markers: the native plan's constants are opN_<what> objects; the tflm engine embeds
# the model array.
_WEIGHT_SYMBOL = re.compile(r"^(op\d+_\w+|tb_tflm_model_data)$")
# The harness's buffers (firmware/harness: tb_cmd_engine.c, tb_db.c, tb_latency.c).
HARNESS_BUFFERS = {
    "arena": "s_engine_arena",
    "db_buffer": "s_db_buf",
    "latency_record": "s_latency_slots",
}
_STACK_SECTION = ".stack"
# The link's ranges (tb_cm_sections.ld): name -> (start symbol, end symbol).
_RANGES = {
    "model": ("__tb_model_start", "__tb_model_end"),
    "engine_text": ("__tb_engine_text_start", "__tb_engine_text_end"),
    "libs_text": ("__tb_libs_text_start", "__tb_libs_text_end"),
    "engine_data": ("__tb_engine_data_start", "__tb_engine_data_end"),
    "libs_data": ("__tb_libs_data_start", "__tb_libs_data_end"),
    "engine_bss": ("__tb_engine_bss_start", "__tb_engine_bss_end"),
    "libs_bss": ("__tb_libs_bss_start", "__tb_libs_bss_end"),
}
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
    address: int = 0


@dataclass(frozen=True)
class Footprint:
    sections: tuple[SectionSize, ...]
    # Cortex-M: weights_and_constants, engine_code, libraries, harness_and_port, data_init;
    # without link markers: weights_and_constants, data_init, other. Adds up to flash_bytes.
    breakdown_flash: dict[str, int]
    # Cortex-M: arena, db_buffer, latency_record, engine_state, libraries, harness_and_port,
    # stack; without link markers: arena, db_buffer, latency_record, stack, other.
    # Adds up to ram_bytes.
    breakdown_ram: dict[str, int]
    top_symbols: tuple[SymbolSize, ...]
    stack_bytes: int  # the reserved stack (.stack), 0 when the image has none

    @property
    def flash_bytes(self) -> int:
        return sum(s.size for s in self.sections if s.placement in ("flash", "both"))

    @property
    def ram_bytes(self) -> int:
        return sum(s.size for s in self.sections if s.placement in ("ram", "both"))

    def document(self) -> dict[str, Any]:
        stack = {"stack_bytes": self.stack_bytes} if self.stack_bytes else {}  # host: none
        return {
            "sections": [
                {"name": s.name, "address": s.address, "size": s.size, "placement": s.placement}
                for s in self.sections
            ],
            "breakdown": {"flash": dict(self.breakdown_flash), "ram": dict(self.breakdown_ram)},
            "top_symbols": [
                {"name": s.name, "size": s.size, "section": s.section} for s in self.top_symbols
            ],
            **stack,
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
            markers: dict[str, int] = {}
            wanted = {name for pair in _RANGES.values() for name in pair}
            table = elf.get_section_by_name(".symtab")
            if isinstance(table, SymbolTableSection):
                for symbol in table.iter_symbols():
                    if symbol.name in wanted:
                        markers[symbol.name] = int(symbol["st_value"])
                    shndx = symbol["st_shndx"]
                    size = int(symbol["st_size"])
                    if isinstance(shndx, int) and shndx in index_names and size > 0:
                        symbols.append(
                            SymbolSize(
                                symbol.name, size, index_names[shndx], int(symbol["st_value"])
                            )
                        )
    except (OSError, ELFError) as exc:
        raise TinybenchError(f"{path}: cannot read the firmware image: {exc}") from exc
    unique = list({(s.name, s.section, s.size): s for s in symbols}.values())  # aliases
    ranges = _ranges(markers)
    stack = sum(s.size for s in sections if s.placement == "ram" and s.name == _STACK_SECTION)
    return Footprint(
        sections=tuple(sections),
        breakdown_flash=_flash_breakdown(sections, unique, ranges),
        breakdown_ram=_ram_breakdown(sections, unique, ranges),
        top_symbols=tuple(sorted(unique, key=lambda s: (-s.size, s.name))[:TOP_SYMBOLS]),
        stack_bytes=stack,
    )


def _ranges(markers: dict[str, int]) -> dict[str, int] | None:
    """Bytes between each pair of link markers, or None when the image lacks any of them."""
    if not all(a in markers and b in markers for a, b in _RANGES.values()):
        return None
    sizes = {name: markers[end] - markers[start] for name, (start, end) in _RANGES.items()}
    if any(size < 0 for size in sizes.values()):
        raise TinybenchError(f"the image's link markers are out of order: {sizes}")
    return sizes


def _flash_breakdown(
    sections: list[SectionSize], symbols: list[SymbolSize], ranges: dict[str, int] | None
) -> dict[str, int]:
    flash_only = sum(s.size for s in sections if s.placement == "flash")
    data_init = sum(s.size for s in sections if s.placement == "both")
    if ranges is None:
        flash_names = {s.name for s in sections if s.placement == "flash"}
        weights = sum(
            s.size for s in symbols if _WEIGHT_SYMBOL.match(s.name) and s.section in flash_names
        )
        return {
            "weights_and_constants": weights,
            "data_init": data_init,
            "other": flash_only - weights,
        }
    # The harness and port: what the link did not gather (.text's rest, .ARM.exidx, the
    # constructor tables), the vector table included.
    gathered = ranges["model"] + ranges["engine_text"] + ranges["libs_text"]
    return {
        "weights_and_constants": ranges["model"],
        "engine_code": ranges["engine_text"],
        "libraries": ranges["libs_text"],
        "harness_and_port": flash_only - gathered,
        "data_init": data_init,
    }


def _buffer(symbols: list[SymbolSize], ram: set[str], name: str) -> int:
    return max((s.size for s in symbols if s.name == name and s.section in ram), default=0)


def _ram_breakdown(
    sections: list[SectionSize], symbols: list[SymbolSize], ranges: dict[str, int] | None
) -> dict[str, int]:
    ram_sections = [s for s in sections if s.placement in ("ram", "both")]
    total = sum(s.size for s in ram_sections)
    stack = sum(s.size for s in ram_sections if s.name == _STACK_SECTION)
    names = {s.name for s in ram_sections}
    figures = {figure: _buffer(symbols, names, name) for figure, name in HARNESS_BUFFERS.items()}
    if ranges is not None:
        figures["engine_state"] = ranges["engine_data"] + ranges["engine_bss"]
        figures["libraries"] = ranges["libs_data"] + ranges["libs_bss"]
    rest = total - stack - sum(figures.values())
    figures["harness_and_port" if ranges is not None else "other"] = rest
    figures["stack"] = stack
    return figures
