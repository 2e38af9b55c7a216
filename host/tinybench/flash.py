"""Flashing a physical board's image through pyOCD, then checking that the board answers.

pyOCD sits behind the small `FlashBackend` protocol: `PyocdBackend` uses its Python API
(ConnectHelper, FileProgrammer, the `pack` session option); tests substitute a fake probe
session that records what was programmed and fails in each way a bench does. Most of the
boards' parts are not built into pyOCD (BOARDS.md section 7): their CMSIS pack comes from
`pyocd pack install <part>` (online) or a local `.pack` file (`--pack`, offline).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from tinybench.dut.discovery import PortAccess, confirm_board, locate_board
from tinybench.errors import TinybenchError
from tinybench.hashing import sha256_file
from tinybench.manifests.boards import BoardKind, BoardManifest


class FlashError(TinybenchError):
    """The image could not be put on the board, or the board did not come up with it."""


class NoProbeError(FlashError):
    """No debug probe, not the one asked for, or several without --probe."""


class PackMissingError(FlashError):
    """pyOCD knows no target for the board's part: its CMSIS pack is needed."""


class BoardSilentError(FlashError):
    """The image was programmed, but the board does not answer afterwards."""


@dataclass(frozen=True)
class FlashRequest:
    """`run --flash`: which probe and pack to flash with (None: the only probe, installed packs)."""

    probe_id: str | None = None
    pack: Path | None = None


@dataclass(frozen=True)
class ProbeInfo:
    unique_id: str
    description: str


class ProbeSession(Protocol):
    def program(self, image: Path) -> None:
        """Erases what is needed and programs the ELF image (addresses from the ELF)."""
        ...

    def reset(self) -> None:
        """Resets the target so it runs the new image."""
        ...


class FlashBackend(Protocol):
    def probes(self) -> Sequence[ProbeInfo]:
        """The debug probes connected now (never waits for one)."""
        ...

    def has_target(self, target: str) -> bool:
        """Whether pyOCD can program `target` without a pack file: built in or pack-installed."""
        ...

    def pack_parts(self, pack: Path) -> Sequence[str]:
        """The part names a CMSIS pack file describes."""
        ...

    def session(
        self, probe_id: str, target: str, pack: Path | None
    ) -> AbstractContextManager[ProbeSession]:
        """An open session with the probe, its target set to `target`."""
        ...


@dataclass(frozen=True)
class FlashReport:
    board_id: str
    probe: ProbeInfo
    target: str
    image: Path
    image_sha256: str
    pack: Path | None
    dut_name: str | None  # what the board answered to `name%` afterwards


def pack_advice(target: str) -> str:
    return (
        f"Install it online with `pyocd pack install {target}`, or offline download the "
        "part's Device Family Pack (the vendor's .pack file, e.g. from "
        "https://www.keil.arm.com/devices/ or the vendor's site) on a machine with network "
        "and pass it with --pack FILE."
    )


def _check_target(board: BoardManifest, backend: FlashBackend, pack: Path | None) -> str:
    if board.kind is not BoardKind.PHYSICAL:
        raise FlashError(
            f"{board.board_id} is {board.kind.value}: only physical boards are flashed "
            "(tinybench starts emulated and host boards itself)"
        )
    if board.flash is None:
        raise FlashError(
            f"{board.manifest_path} has no [flash] table naming the pyOCD target, so "
            f"{board.board_id} cannot be flashed by tinybench; flash it with the vendor's tool"
        )
    target = board.flash.pyocd_target
    if pack is not None:
        if not pack.is_file():
            raise PackMissingError(f"--pack {pack}: no such file. " + pack_advice(target))
        parts = backend.pack_parts(pack)
        if target.lower() not in {p.lower() for p in parts}:
            shown = ", ".join(sorted(parts)[:8]) + (" ..." if len(parts) > 8 else "")
            raise PackMissingError(
                f"--pack {pack} describes {len(parts)} parts ({shown or 'none'}), not "
                f"{target} ({board.board_id}): it is another family's pack. " + pack_advice(target)
            )
        return target
    if not backend.has_target(target):
        raise PackMissingError(
            f"pyOCD has no target {target} for {board.board_id}: the part is not built into "
            "pyOCD and its CMSIS pack is not installed. " + pack_advice(target)
        )
    return target


def _choose_probe(backend: FlashBackend, probe_id: str | None) -> ProbeInfo:
    probes = list(backend.probes())
    found = ", ".join(f"{p.unique_id} ({p.description})" for p in probes) or "none"
    if probe_id is not None:
        chosen = [p for p in probes if probe_id.lower() in p.unique_id.lower()]
        if len(chosen) != 1:
            what = "no probe matches" if not chosen else f"{len(chosen)} probes match"
            raise NoProbeError(f"--probe {probe_id}: {what}; connected probes: {found}")
        return chosen[0]
    if not probes:
        raise NoProbeError(
            "no debug probe found: connect the board's ST-LINK/J-Link USB port (a data cable), "
            "check `pyocd list`, and on Linux install the probe's udev rules (pyOCD's "
            "udev/ folder) so your user may open it"
        )
    if len(probes) > 1:
        raise NoProbeError(
            f"{len(probes)} debug probes connected ({found}): choose one with --probe"
        )
    return probes[0]


def check_ready(
    board: BoardManifest, backend: FlashBackend, probe_id: str | None, pack: Path | None
) -> tuple[str, ProbeInfo]:
    """The pyOCD target and the probe, or the error that flashing would stop at: run before
    a build, so a missing pack or probe is reported in a second, not after the build."""
    target = _check_target(board, backend, pack)
    return target, _choose_probe(backend, probe_id)


def flash_board(
    board: BoardManifest,
    image: Path,
    backend: FlashBackend,
    confirm: Callable[[], str],
    probe_id: str | None = None,
    pack: Path | None = None,
) -> FlashReport:
    """Programs image, resets the board, then `confirm()` (which finds the board's port and
    asks `name%`, returning the DUT's name) must succeed. Everything that can be checked
    without touching the board (target, pack, probe) is checked first."""
    if not image.is_file():
        raise FlashError(f"no firmware image at {image}")
    target, probe = check_ready(board, backend, probe_id, pack)
    try:
        with backend.session(probe.unique_id, target, pack) as session:
            session.program(image)
            session.reset()
    except FlashError:
        raise
    except Exception as exc:  # pyOCD raises its own hierarchy, USB errors and OSErrors
        raise FlashError(
            f"programming {image.name} onto {board.board_id} through probe {probe.unique_id} "
            f"failed: {exc}"
        ) from exc
    try:
        name = confirm()
    except TinybenchError as exc:
        raise BoardSilentError(
            f"{image.name} was programmed onto {board.board_id} through probe "
            f"{probe.unique_id}, but the board does not answer: {exc}"
        ) from exc
    return FlashReport(board.board_id, probe, target, image, sha256_file(image), pack, name)


def confirm_by_name(
    board: BoardManifest,
    serial_port: str | None,
    access: PortAccess,
    answer_s: float = 3.0,
) -> Callable[[], str]:
    """The check after flashing: the board's port (given, or found by USB ID) answers `name%`
    within answer_s of silence, after any boot banner."""

    def confirm() -> str:
        if serial_port is not None:
            return confirm_board(board, serial_port, access, answer_s=answer_s)
        return locate_board(board, access, answer_s=answer_s)[1]

    return confirm


class _PyocdSession:
    def __init__(self, session: Any) -> None:
        self._session = session

    def program(self, image: Path) -> None:
        from pyocd.flash.file_programmer import FileProgrammer

        FileProgrammer(self._session).program(str(image), file_format="elf")

    def reset(self) -> None:
        self._session.target.reset()


class PyocdBackend:
    """pyOCD's Python API (PyPI `pyocd`, the `boards` extra of tinybench)."""

    def __init__(self) -> None:
        try:
            import pyocd  # noqa: F401
        except ImportError as exc:
            raise FlashError(
                "flashing needs pyOCD: pip install 'tinybench[boards]' (or pip install pyocd)"
            ) from exc

    def probes(self) -> list[ProbeInfo]:
        from pyocd.core.helpers import ConnectHelper

        found = ConnectHelper.get_all_connected_probes(blocking=False, print_wait_message=False)
        return [ProbeInfo(str(p.unique_id), str(p.description)) for p in found]

    def has_target(self, target: str) -> bool:
        from pyocd.target import TARGET
        from pyocd.target.pack.pack_target import ManagedPacks

        if target.lower() in TARGET:
            return True
        installed = ManagedPacks.get_installed_targets()
        return any(str(d.part_number).lower() == target.lower() for d in installed)

    def pack_parts(self, pack: Path) -> list[str]:
        from pyocd.target.pack.cmsis_pack import CmsisPack

        try:
            return [str(d.part_number) for d in CmsisPack(str(pack)).devices]
        except Exception as exc:  # a zip or XML error from a file that is no pack
            raise PackMissingError(f"--pack {pack} is not a readable CMSIS pack: {exc}") from exc

    @contextmanager
    def session(self, probe_id: str, target: str, pack: Path | None) -> Iterator[ProbeSession]:
        from pyocd.core.helpers import ConnectHelper

        options: dict[str, object] = {"target_override": target, "frequency": 4_000_000}
        if pack is not None:
            options["pack"] = str(pack)
        session = ConnectHelper.session_with_chosen_probe(
            blocking=False, unique_id=probe_id, options=options
        )
        if session is None:
            raise NoProbeError(f"probe {probe_id} went away before the session opened")
        with session:
            yield _PyocdSession(session)
