"""Flash and RAM of a firmware image, read from its ELF program headers with pyelftools."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from tinybench.errors import TinybenchError

_PF_W = 0x2


@dataclass(frozen=True)
class ImageSize:
    flash_bytes: int  # what must be stored: code, constants, initial values of data
    ram_bytes: int  # what is writable at run time: data, bss, stack, static arena


def image_size(path: Path) -> ImageSize:
    try:
        with path.open("rb") as handle:
            elf = ELFFile(handle)
            flash = ram = 0
            for segment in elf.iter_segments():
                if segment["p_type"] != "PT_LOAD":
                    continue
                flash += int(segment["p_filesz"])
                if int(segment["p_flags"]) & _PF_W:
                    ram += int(segment["p_memsz"])
            return ImageSize(flash_bytes=flash, ram_bytes=ram)
    except (OSError, ELFError) as exc:
        raise TinybenchError(f"{path}: cannot read the firmware image: {exc}") from exc
