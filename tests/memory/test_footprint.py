"""The ELF footprint: per-section sizes, a breakdown that adds up, the largest symbols."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tinybench.elfsize import image_size
from tinybench.footprint import footprint

_SOURCE = """
const unsigned char op0_weights[300] = {1};
const unsigned char op1_bias[40] = {2};
static unsigned char s_arena[512];
int counter = 7;
unsigned char *arena_of(void) { return s_arena; }
int main(void) { return op0_weights[counter] + op1_bias[counter] + (int)arena_of()[1]; }
"""


@pytest.fixture(scope="module")
def elf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("footprint")
    source = work / "image.c"
    source.write_text(_SOURCE)
    image = work / "image.elf"
    subprocess.run(["gcc", "-O1", "-no-pie", "-o", str(image), str(source)], check=True)
    return image


def test_breakdown_adds_up_to_the_section_totals(elf: Path) -> None:
    found = footprint(elf)
    assert sum(found.breakdown_flash.values()) == found.flash_bytes
    assert sum(found.breakdown_ram.values()) == found.ram_bytes
    assert found.breakdown_flash["weights"] == 340
    assert found.breakdown_ram["arena"] == 512
    assert found.breakdown_ram["stack"] == 0  # a host binary has no .stack section


def test_sections_and_largest_symbols(elf: Path) -> None:
    found = footprint(elf)
    names = {s.name: s for s in found.sections}
    assert names[".text"].placement == "flash"
    assert names[".bss"].placement == "ram"
    assert names[".data"].placement == "both"
    top = {s.name: s for s in found.top_symbols}
    assert top["s_arena"].size == 512 and top["s_arena"].section == ".bss"
    assert top["op0_weights"].size == 300
    sizes = [s.size for s in found.top_symbols]
    assert sizes == sorted(sizes, reverse=True) and len(sizes) <= 20
    document = found.document()
    assert document["breakdown"]["flash"]["weights"] == 340
    assert {"name", "address", "size", "placement"} <= set(document["sections"][0])


def test_cortex_m_image_matches_the_segment_totals() -> None:
    # Every firmware image built here: the section totals equal the program-header totals.
    images = sorted(Path("build/pio").glob("*/*/firmware.elf"))
    for image in images:
        found, size = footprint(image), image_size(image)
        assert (found.flash_bytes, found.ram_bytes) == (size.flash_bytes, size.ram_bytes), image
