"""A DUT that stays usable for a whole run: started, checked, and restarted when it dies.

When the DUT stops answering or its link breaks mid-run, the worker notices within
the session's timeouts, restarts the emulator (or asks for a board reset and waits
for the board), checks it again and retries the step. What was finished is kept by
the journal, so nothing is lost and nothing counted twice.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TextIO, TypeVar

from tinybench.dut.discovery import PortAccess
from tinybench.dut.link import DutLink, open_dut
from tinybench.dut.session import (
    DutResetError,
    DutSession,
    DutSilentError,
    ReplyCorruptError,
    SessionStats,
    Timeouts,
    UploadDamagedError,
)
from tinybench.dut.transport.base import Transport
from tinybench.dut.transport.faulty import FaultInjector, FaultSpec, FaultyTransport
from tinybench.dut.transport.recording import RecordingTransport
from tinybench.errors import DutError, ProtocolError, TinybenchError, TransportError
from tinybench.manifests.boards import BoardKind, BoardManifest, check_dut_clocks
from tinybench.manifests.models import ModelManifest

T = TypeVar("T")

RECOVERABLE = (TransportError, ProtocolError)
RESET_POLL_S = 1.0
# With injected faults: how often one step may fail before the run stops (recovery impossible).
MAX_FAULTY_STEP_ATTEMPTS = 12
RESYNC_TRIES = 3  # resyncs hit by damage themselves before the DUT is restarted instead
PLACE_POWER_CYCLES = 3  # a farm place that stays dead after these many is given up on


class RemoteDut(Protocol):
    """A board somewhere else (a labgrid place): its link, and a power-cycle for a restart."""

    @property
    def name(self) -> str: ...

    def open(self) -> AbstractContextManager[DutLink]: ...

    def power_cycle(self) -> None: ...


class PlaceDead(TinybenchError):
    """A remote DUT that did not come back after its power-cycles: its work goes elsewhere."""


@dataclass(frozen=True)
class WorkerConfig:
    board: BoardManifest
    image: Path
    model: ModelManifest
    serial_port: str | None
    transcript: Path
    timeouts: Timeouts
    max_restarts: int = 20  # over the whole run: a DUT that keeps dying is a failed run
    reset_wait_s: float = 600.0  # physical boards: how long to wait for a manual reset
    port_access: PortAccess | None = None  # physical boards: how ports open (None: pyserial)
    faults: FaultSpec | None = None  # `--inject`: the link is damaged on purpose
    fault_stream: int = 0  # which of the spec's random streams this DUT's link draws from
    remote: RemoteDut | None = None  # a farm place instead of a local board


def fault_kind(exc: BaseException) -> str:
    """How a damaged exchange showed itself, for results.json's link_faults.detected."""
    if isinstance(exc, ReplyCorruptError):
        return "corrupt_reply"
    if isinstance(exc, DutResetError):
        return "dut_reset"
    if isinstance(exc, UploadDamagedError):
        return "upload_rejected"
    if isinstance(exc, DutSilentError):
        return "silence"
    if isinstance(exc, TransportError):
        return "link_closed"
    return "malformed_reply"


def _check_model_io(model: ModelManifest, info: Mapping[str, str]) -> None:
    """The input format and result kind the firmware was built with (from the plan) against the
    model's manifest: the same .tflite built for another format reads every sample wrongly."""
    wanted = {"input_format": model.input_format.value, "result": model.result_kind.value}
    for key, expected in wanted.items():
        reported = info.get(key)
        if reported is not None and reported != expected:
            raise TinybenchError(
                f"the DUT's firmware takes {key}={reported}, but the model {model.model_id} "
                f"needs {expected}: rebuild and flash the firmware"
            )


class DutWorker:
    def __init__(self, config: WorkerConfig, notify: Callable[[str], None] | None = None) -> None:
        self._config = config
        self._notify = notify or (lambda message: print(message, file=sys.stderr))
        self._stack: contextlib.ExitStack | None = None
        self._session: DutSession | None = None
        self._transcript: TextIO = config.transcript.open("a", encoding="utf-8")
        self.restarts = 0
        self.info: dict[str, str] = {}
        self._past = SessionStats()  # sessions before the last restart
        self.injector = FaultInjector(config.faults, config.fault_stream) if config.faults else None
        self.detected: dict[str, int] = {}  # damaged exchanges by how they showed
        self.recovered: dict[str, int] = {"resync": 0, "restart": 0}

    @property
    def stats(self) -> SessionStats:
        """Upload and inference time over every session this worker ran (restarts included)."""
        current = self._session.stats if self._session is not None else SessionStats()
        return SessionStats(
            upload_s=self._past.upload_s + current.upload_s,
            upload_wire_bytes=self._past.upload_wire_bytes + current.upload_wire_bytes,
            infer_s=self._past.infer_s + current.infer_s,
            inferences=self._past.inferences + current.inferences,
            upload_retries=self._past.upload_retries + current.upload_retries,
        )

    @property
    def session(self) -> DutSession:
        if self._session is None:
            self.start()
        assert self._session is not None
        return self._session

    def start(self) -> None:
        config = self._config
        stack = contextlib.ExitStack()
        try:
            link = stack.enter_context(
                config.remote.open()
                if config.remote is not None
                else open_dut(config.board, config.image, config.serial_port, config.port_access)
            )
            transport: Transport = link.transport
            if self.injector is not None:  # uploads then go over the link, CRC-checked
                transport = FaultyTransport(transport, self.injector)
            session = DutSession(
                RecordingTransport(transport, self._transcript),
                config.timeouts,
                # With --inject every input and output crosses the damaged link: no shared
                # directory for `db file` or batches.
                None if self.injector is not None else link.shared_dir,
                batch_dir=None if self.injector is not None else link.batch_dir,
                verify_replies=self.injector is not None,
            )
            session.synchronize()
            _, dut_model = session.profile()
            if dut_model != config.model.model_id:
                raise TinybenchError(f"the DUT runs model {dut_model}, not {config.model.model_id}")
            info = session.info().fields if "info" in session.extensions else {}
            if info and info.get("model_sha256") != config.model.source.sha256:
                raise TinybenchError(
                    f"the DUT's model has sha256 {info.get('model_sha256')}, expected "
                    f"{config.model.source.sha256}: rebuild and flash the firmware"
                )
            if info:
                check_dut_clocks(config.board, info)
                _check_model_io(config.model, info)
        except BaseException:
            stack.close()
            raise
        self._stack, self._session, self.info = stack, session, info

    def _stop(self) -> None:
        self._past = self.stats
        if self._stack is not None:
            with contextlib.suppress(Exception):
                self._stack.close()
        self._stack, self._session = None, None

    def restart(self, reason: Exception) -> None:
        self.restarts += 1
        self._stop()
        if self.restarts > self._config.max_restarts:
            raise TinybenchError(
                f"the DUT failed {self.restarts} times; giving up. Last error: {reason}"
            ) from reason
        if self._config.remote is not None:
            self._power_cycle(self._config.remote, reason)
            return
        if self._config.board.kind is not BoardKind.PHYSICAL:
            self._notify(f"the DUT stopped answering ({reason}); restarting it")
            try:
                self.start()
            except RECOVERABLE as exc:  # it died again while booting: one more restart
                self.restart(exc)
            return
        self._notify(
            f"the DUT stopped answering ({reason}). Reset the board (press its reset button); "
            f"tinybench waits up to {self._config.reset_wait_s:g} s for it and continues."
        )
        deadline = time.monotonic() + self._config.reset_wait_s
        while True:
            try:
                self.start()
                return
            except RECOVERABLE as exc:
                if time.monotonic() >= deadline:
                    raise TinybenchError(
                        f"the board did not come back within {self._config.reset_wait_s:g} s "
                        f"after a reset: {exc}"
                    ) from exc
                time.sleep(RESET_POLL_S)

    def _power_cycle(self, remote: RemoteDut, reason: Exception) -> None:
        last: Exception = reason
        for attempt in range(1, PLACE_POWER_CYCLES + 1):
            self._notify(
                f"place {remote.name} stopped answering ({last}); power-cycling it "
                f"({attempt}/{PLACE_POWER_CYCLES})"
            )
            try:
                remote.power_cycle()
                self.start()
                return
            except (TinybenchError, *RECOVERABLE) as exc:
                self._stop()
                last = exc
        message = f"place {remote.name} stayed dead after {PLACE_POWER_CYCLES} power cycles: {last}"
        self._notify(f"{message}; its samples go to the other places")
        raise PlaceDead(message) from last

    def call(self, step: Callable[[DutSession], T]) -> T:
        """Runs one step (e.g. one sample); a dead DUT is restarted and the step retried."""
        if self.injector is not None:
            return self._call_on_faulty_link(step)
        while True:
            try:
                return step(self.session)
            except DutError:
                raise  # the DUT answered and refused: not a crash, a real error
            except RECOVERABLE as exc:
                self.restart(exc)

    def _call_on_faulty_link(self, step: Callable[[DutSession], T]) -> T:
        """The step, retried from its start after every damaged exchange: after a resync
        when the link still works, else after a restart. Every reply is CRC-checked, so a
        step that returns was not damaged; one that keeps failing stops the run."""
        attempts = 0
        while True:
            try:
                return step(self.session)
            except DutError:
                raise  # a refusal whose CRC checked out: the DUT got the command intact
            except RECOVERABLE as exc:
                attempts += 1
                kind = fault_kind(exc)
                self.detected[kind] = self.detected.get(kind, 0) + 1
                if attempts >= MAX_FAULTY_STEP_ATTEMPTS:
                    raise TinybenchError(
                        f"the link is too damaged to recover: one step failed {attempts} times "
                        f"in a row; last error: {exc}"
                    ) from exc
                if not isinstance(exc, TransportError) and self._resynced():
                    continue
                self._stop()
                self.restarts += 1
                self.recovered["restart"] += 1
                if self.restarts > self._config.max_restarts:
                    raise TinybenchError(
                        f"the DUT failed {self.restarts} times; giving up. Last error: {exc}"
                    ) from exc

    def _resynced(self) -> bool:
        """A resync of the current session, tried again while the damage hits its own
        exchange; False when there is no session or the link is gone (restart then)."""
        for _ in range(RESYNC_TRIES):
            if self._session is None:
                return False
            try:
                self._session.resync()
                self.recovered["resync"] += 1
                return True
            except TransportError:
                return False
            except ProtocolError as again:
                kind = fault_kind(again)
                self.detected[kind] = self.detected.get(kind, 0) + 1
        return False

    def close(self) -> None:
        self._stop()
        self._transcript.close()
