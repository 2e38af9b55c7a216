"""Opens the link to a board's DUT, whatever kind of board it is."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tinybench.dut.discovery import PortAccess
from tinybench.dut.emulator import QemuDut
from tinybench.dut.transport.base import Transport
from tinybench.dut.transport.process_link import ProcessTransport
from tinybench.dut.transport.serial_link import BANNER_FIRST_BYTE_S, SerialTransport
from tinybench.errors import TinybenchError
from tinybench.manifests.boards import BoardKind, BoardManifest


@dataclass(frozen=True)
class DutLink:
    transport: Transport
    shared_dir: Path | None  # a directory the DUT reads files from (emulators), if any
    # Where the `batch` command's input and record files go (the DUT's working directory):
    # emulators and the host board; None for real boards, which have no host files.
    batch_dir: Path | None = None


@contextmanager
def open_dut(
    board: BoardManifest,
    image: Path,
    serial_port: str | None = None,
    access: PortAccess | None = None,
) -> Iterator[DutLink]:
    """QEMU for emulated boards, a process for the host board, the serial port for real ones.

    A real board's port opens with DTR/RTS deasserted (no auto-reset); a board that resets
    anyway has its boot banner read to the end before the first command."""
    if board.kind is BoardKind.EMULATED:
        with QemuDut(board, image) as qemu:
            yield DutLink(qemu.transport, qemu.workdir, qemu.workdir)
        return
    batch_dir: Path | None = None
    if board.kind is BoardKind.PROCESS:
        batch_dir = Path(tempfile.mkdtemp(prefix="tinybench-host-"))
        try:
            transport: Transport = ProcessTransport([str(image.resolve())], cwd=batch_dir)
        except BaseException:
            shutil.rmtree(batch_dir, ignore_errors=True)
            raise
    else:
        if serial_port is None:
            raise TinybenchError(
                f"{board.board_id} is a physical board: flash {image} onto it and pass its serial "
                "port with --port (e.g. --port COM3 or --port /dev/ttyACM0)"
            )
        baud = board.uart.baud if board.uart is not None else 115200
        factory = (access or PortAccess()).factory
        transport = SerialTransport.open(
            serial_port, baud, factory=factory, banner_first_byte_s=BANNER_FIRST_BYTE_S
        )
    try:
        yield DutLink(transport, None, batch_dir)
    finally:
        transport.close()
        if batch_dir is not None:
            shutil.rmtree(batch_dir, ignore_errors=True)
