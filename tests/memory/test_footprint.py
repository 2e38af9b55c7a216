"""The ELF footprint: per-section sizes, a breakdown that adds up, the largest symbols.

Two synthetic images: a host executable (gcc, the system's default link: no link markers) and a
Cortex-M image linked with the real firmware/ports/cortex_m/tb_cm_sections.ld from objects named
as the firmware's are, so that every figure of the marker-based breakdown is checked exactly.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tinybench.elfsize import image_size
from tinybench.footprint import footprint

_HOST_SOURCE = """
const unsigned char op0_weights[300] = {1};
const unsigned char op1_bias[40] = {2};
static unsigned char s_engine_arena[512];
static unsigned char s_db_buf[96];
int counter = 7;
unsigned char *arena_of(void) { return s_engine_arena; }
unsigned char *db_of(void) { return s_db_buf; }
int main(void) { return op0_weights[counter] + op1_bias[counter] + arena_of()[1] + db_of()[2]; }
"""

# The Cortex-M image: a plan (tb_native_model.o), an engine runner with state (tb_native_engine.o),
# a library archive (libsynth.a) and the harness with its buffers (harness.o).
_MODEL = """
const unsigned char op0_weights[256] __attribute__((aligned(8))) = {1};
const int op0_bias[16] __attribute__((aligned(8))) = {2};
int tb_model_first(void) { return op0_weights[3] + op0_bias[1]; }
"""
_ENGINE = """
static int s_state[24];
int s_calls = 3;
int tb_engine_step(int x);
int tb_engine_step(int x) { s_state[x & 7] += x; s_calls++; return s_state[(x + 1) & 7]; }
"""
_LIBRARY = """
int synth_lib_value[5] = {1, 2, 3, 4, 5};
__attribute__((used)) static int s_lib_scratch[9];
int synth_lib(int x);
int synth_lib(int x) { s_lib_scratch[x & 7] = x; return synth_lib_value[x % 5] * 3; }
"""
_HARNESS = """
int tb_engine_step(int x);
int synth_lib(int x);
int tb_model_first(void);
__attribute__((used, aligned(16))) static unsigned char s_engine_arena[1024];
__attribute__((used, aligned(8))) static unsigned char s_db_buf[200];
__attribute__((used)) static unsigned int s_latency_slots[64];
__attribute__((used)) static unsigned char s_out_buf[40];
void tb_reset_handler(void);
void tb_reset_handler(void)
{
    s_engine_arena[1] = (unsigned char)tb_engine_step(s_db_buf[3]);
    s_latency_slots[2] = (unsigned int)synth_lib(s_out_buf[4]) + (unsigned int)tb_model_first();
    for (;;) {
    }
}
"""
_LINKER = """
MEMORY
{
    FLASH (rx) : ORIGIN = 0x00000000, LENGTH = 0x00040000
    RAM (rwx) : ORIGIN = 0x20000000, LENGTH = 0x00020000
}
TB_STACK_BYTES = 4096;
INCLUDE tb_cm_sections.ld
"""


@pytest.fixture(scope="module")
def host_elf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("footprint")
    source = work / "image.c"
    source.write_text(_HOST_SOURCE)
    image = work / "image.elf"
    subprocess.run(["gcc", "-O1", "-no-pie", "-o", str(image), str(source)], check=True)
    return image


def _arm(*args: str, cwd: Path) -> None:
    subprocess.run(["arm-none-eabi-gcc", *args], check=True, cwd=cwd)


@pytest.fixture(scope="module")
def cortex_elf(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> Path:
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("needs arm-none-eabi-gcc")
    work = tmp_path_factory.mktemp("footprint-cm")
    flags = ["-mcpu=cortex-m4", "-mthumb", "-Os", "-ffunction-sections", "-fdata-sections"]
    for name, text in (("tb_native_model", _MODEL), ("tb_native_engine", _ENGINE),
                       ("synth_lib", _LIBRARY), ("harness", _HARNESS)):  # fmt: skip
        (work / f"{name}.c").write_text(text)
        _arm(*flags, "-c", f"{name}.c", "-o", f"{name}.o", cwd=work)
    subprocess.run(["arm-none-eabi-ar", "rcs", "libsynth.a", "synth_lib.o"], check=True, cwd=work)
    (work / "board.ld").write_text(_LINKER)
    ports = repo_root / "firmware" / "ports" / "cortex_m"
    objects = ["harness.o", "tb_native_engine.o", "tb_native_model.o", "libsynth.a"]
    _arm(*flags, "-nostdlib", "-T", "board.ld", f"-L{ports}", "-o", "image.elf", *objects, cwd=work)
    return work / "image.elf"


def _object_bytes(obj: Path, prefixes: tuple[str, ...]) -> int:
    """The bytes of an object's sections whose names start with one of the prefixes."""
    from elftools.elf.elffile import ELFFile

    with obj.open("rb") as handle:
        return sum(
            int(s["sh_size"])
            for s in ELFFile(handle).iter_sections()
            if s.name.startswith(prefixes) and int(s["sh_flags"]) & 0x2
        )


def test_host_breakdown_adds_up_without_link_markers(host_elf: Path) -> None:
    found = footprint(host_elf)
    assert sum(found.breakdown_flash.values()) == found.flash_bytes
    assert sum(found.breakdown_ram.values()) == found.ram_bytes
    assert set(found.breakdown_flash) == {"weights_and_constants", "data_init", "other"}
    assert found.breakdown_flash["weights_and_constants"] == 340
    assert found.breakdown_ram["arena"] == 512 and found.breakdown_ram["db_buffer"] == 96
    assert found.breakdown_ram["stack"] == 0  # a host binary has no .stack section
    assert "stack_bytes" not in found.document()


def test_cortex_m_breakdown_attributes_every_figure_exactly(cortex_elf: Path) -> None:
    found = footprint(cortex_elf)
    work = cortex_elf.parent
    flash, ram = found.breakdown_flash, found.breakdown_ram
    assert sum(flash.values()) == found.flash_bytes
    assert sum(ram.values()) == found.ram_bytes
    assert (found.flash_bytes, found.ram_bytes) == (
        image_size(cortex_elf).flash_bytes,
        image_size(cortex_elf).ram_bytes,
    )
    assert flash["weights_and_constants"] == 256 + 64  # the plan's .rodata
    code = (".text",)
    assert flash["engine_code"] == _object_bytes(work / "tb_native_engine.o", code) + (
        _object_bytes(work / "tb_native_model.o", code)
    )
    assert flash["libraries"] == _object_bytes(work / "synth_lib.o", code)
    assert flash["harness_and_port"] == _object_bytes(work / "harness.o", code)
    assert flash["data_init"] == 4 + 20  # the engine's s_calls and the library's array
    assert ram["arena"] == 1024 and ram["db_buffer"] == 200 and ram["latency_record"] == 256
    assert ram["engine_state"] == 24 * 4 + 4
    assert ram["libraries"] == 9 * 4 + 20
    assert ram["stack"] == 4096 == found.stack_bytes == found.document()["stack_bytes"]
    # The rest: s_out_buf and the alignment of .data, .bss and .stack.
    assert 40 <= ram["harness_and_port"] < 40 + 32


def test_sections_and_largest_symbols(host_elf: Path) -> None:
    found = footprint(host_elf)
    names = {s.name: s for s in found.sections}
    assert names[".text"].placement == "flash"
    assert names[".bss"].placement == "ram"
    assert names[".data"].placement == "both"
    top = {s.name: s for s in found.top_symbols}
    assert top["s_engine_arena"].size == 512 and top["s_engine_arena"].section == ".bss"
    assert top["op0_weights"].size == 300
    sizes = [s.size for s in found.top_symbols]
    assert sizes == sorted(sizes, reverse=True) and len(sizes) <= 20
    document = found.document()
    assert document["breakdown"]["flash"]["weights_and_constants"] == 340
    assert {"name", "address", "size", "placement"} <= set(document["sections"][0])
