"""An external DUT for the length of a run: identified once, resynchronized after every fault.

Every fault is recorded (what happened, during which sample) and the step is retried on a
resynchronized DUT, a bounded number of times; a DUT that keeps failing ends the run with
an ExternalDutFailure naming the faults. Nothing here waits without a bound.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO, TypeVar

from tinybench.dut.session import (
    DutResetError,
    DutSession,
    DutSilentError,
    SessionStats,
    Timeouts,
)
from tinybench.dut.transport.base import Transport
from tinybench.dut.transport.recording import RecordingTransport
from tinybench.errors import DutError, ProtocolError, TinybenchError, TransportError
from tinybench.external.link import open_external
from tinybench.untrusted import (
    MODEL_CHARS,
    NAME_CHARS,
    PROFILE_LINE_CHARS,
    PROFILE_LINES,
    is_clean,
    message,
    printable,
)

T = TypeVar("T")

FAULTS = (DutError, ProtocolError, TransportError)
RECONNECT_POLL_S = 0.5
IDENTIFY_ATTEMPTS = 3


class ExternalDutFailure(TinybenchError):
    """The external DUT failed more than the run allows; the faults are in results.json."""


class ExternalDutRefused(TinybenchError):
    """The external DUT is not the one this run needs (another model, another firmware)."""


@dataclass(frozen=True)
class Fault:
    sample: str | None  # the sample (or "performance window N") in flight; None at connect
    kind: str  # reset, silence, error-reply, garbled, link, untrusted-text
    message: str

    def record(self) -> dict[str, str | None]:
        return {"sample": self.sample, "kind": self.kind, "message": self.message}


def fault_kind(exc: BaseException) -> str:
    if isinstance(exc, DutResetError):
        return "reset"
    if isinstance(exc, DutSilentError):
        return "silence"
    if isinstance(exc, DutError):
        return "error-reply"
    if isinstance(exc, TransportError):
        return "link"
    return "garbled"


@dataclass(frozen=True)
class Identity:
    """What the DUT says it is: `name` and every line of `profile` (as untrusted.printable
    keeps them: printable, bounded)."""

    name: str
    profile_lines: tuple[str, ...]
    model: str


def clean_identity(name: str, lines: tuple[str, ...], model: str) -> tuple[Identity, list[str]]:
    """The identity as kept, and a note for each string that had to be escaped or cut."""
    notes = []
    if not is_clean(name, NAME_CHARS):
        notes.append(f"name of {len(name)} characters escaped or cut to {NAME_CHARS}")
    if not is_clean(model, MODEL_CHARS):
        notes.append(f"model id of {len(model)} characters escaped or cut to {MODEL_CHARS}")
    kept = [printable(line, PROFILE_LINE_CHARS) for line in lines[:PROFILE_LINES]]
    changed = sum(k != line for k, line in zip(kept, lines, strict=False))
    if changed:
        notes.append(f"{changed} profile lines escaped or cut to {PROFILE_LINE_CHARS} characters")
    if len(lines) > PROFILE_LINES:
        notes.append(f"profile of {len(lines)} lines: {PROFILE_LINES} kept")
        kept.append(f"... [cut: {len(lines) - PROFILE_LINES} more lines]")
    identity = Identity(printable(name, NAME_CHARS), tuple(kept), printable(model, MODEL_CHARS))
    return identity, notes


@dataclass(frozen=True)
class ExternalConfig:
    port: str
    baud: int
    model_id: str
    transcript: Path
    timeouts: Timeouts
    attempts_per_step: int = 3  # a step that fails this often ends the run
    max_faults: int = 20  # over the whole run
    reconnect_wait_s: float = 60.0  # how long a DUT that stopped answering may take to return


class ExternalWorker:
    def __init__(self, config: ExternalConfig, notify: Callable[[str], None] | None = None) -> None:
        self._config = config
        self._notify = notify or (lambda message: print(message, file=sys.stderr))
        self._transcript: TextIO = config.transcript.open("a", encoding="utf-8")
        self._transport: Transport | None = None
        self._session: DutSession | None = None
        self.identity: Identity | None = None
        self.faults: list[Fault] = []
        self._past = SessionStats()

    @property
    def stats(self) -> SessionStats:
        current = self._session.stats if self._session is not None else SessionStats()
        return SessionStats(
            upload_s=self._past.upload_s + current.upload_s,
            upload_wire_bytes=self._past.upload_wire_bytes + current.upload_wire_bytes,
            infer_s=self._past.infer_s + current.infer_s,
            inferences=self._past.inferences + current.inferences,
        )

    def connect(self) -> Identity:
        """Opens the port, synchronizes and identifies the DUT; refuses another model."""
        if self._transport is None:
            link = open_external(self._config.port, self._config.baud)
            self._transport = RecordingTransport(link, self._transcript)
        if self._session is not None:
            self._past = self.stats
        session = DutSession(self._transport, self._config.timeouts, None, standard_only=True)
        self._session = session
        identity, notes = self._identify(session)
        model, name = identity.model, identity.name
        if model != self._config.model_id:
            raise ExternalDutRefused(
                f"the DUT on {self._config.port} answers m-model-[{model}], but this run is for "
                f"{self._config.model_id}: flash the {self._config.model_id} firmware, or run "
                f"`tinybench run {model} --external`"
            )
        if self.identity is not None and identity != self.identity:
            raise ExternalDutRefused(
                f"the DUT on {self._config.port} changed mid-run: it was {self.identity.name} "
                f"({'; '.join(self.identity.profile_lines)}), now {name} "
                f"({'; '.join(identity.profile_lines)})"
            )
        if self.identity is None:  # noted once, not again on every reconnection
            self.faults.extend(Fault(None, "untrusted-text", note) for note in notes)
        self.identity = identity
        return identity

    @staticmethod
    def _identify(session: DutSession) -> tuple[Identity, list[str]]:
        """Synchronizes, then `name` and `profile`. A slow DUT's late answers to repeated
        `name`s can shift the replies by one; each new synchronization absorbs one."""
        for attempt in range(IDENTIFY_ATTEMPTS):
            session.synchronize()
            try:
                name = session.name()
                reply = session.command("profile")
                return clean_identity(name, reply.lines, reply.need("model"))
            except DutSilentError:
                raise
            except ProtocolError:
                if attempt + 1 == IDENTIFY_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    def _disconnect(self) -> None:
        if self._session is not None:
            self._past = self.stats
            self._session = None
        if self._transport is not None:
            with contextlib.suppress(TinybenchError):
                self._transport.close()
            self._transport = None

    def _recover(self, reason: BaseException) -> None:
        """Back to a synchronized DUT: the same link when it still works, else a new one."""
        if isinstance(reason, TransportError):
            self._disconnect()
        deadline = time.monotonic() + self._config.reconnect_wait_s
        told = False
        while True:
            try:
                self.connect()
                return
            except ExternalDutRefused:
                raise
            except FAULTS as exc:
                if isinstance(exc, TransportError):
                    self._disconnect()
                if time.monotonic() >= deadline:
                    raise ExternalDutFailure(
                        f"the DUT did not come back within {self._config.reconnect_wait_s:g} s "
                        f"after {fault_kind(reason)} ({message(reason)}); last error: "
                        f"{message(exc)}"
                    ) from exc
                if not told:
                    self._notify(
                        f"the DUT stopped answering ({message(reason)}). If it hangs, reset it; "
                        f"tinybench retries for {self._config.reconnect_wait_s:g} s."
                    )
                    told = True
                time.sleep(RECONNECT_POLL_S)

    def call(self, what: str, step: Callable[[DutSession], T]) -> T:
        """Runs one step (one sample, one window); a fault is recorded and the step retried."""
        attempts = 0
        while True:
            if self._session is None:
                self._recover(TransportError("no session"))
            assert self._session is not None
            try:
                return step(self._session)
            except FAULTS as exc:
                self.faults.append(Fault(what, fault_kind(exc), message(exc)))
                attempts += 1
                if attempts >= self._config.attempts_per_step:
                    raise ExternalDutFailure(
                        f"{what} failed {attempts} times on the external DUT; last: "
                        f"{fault_kind(exc)}: {message(exc)}"
                    ) from exc
                if len(self.faults) > self._config.max_faults:
                    raise ExternalDutFailure(
                        f"the external DUT had {len(self.faults)} faults (more than "
                        f"{self._config.max_faults}); last: {fault_kind(exc)}: {message(exc)}"
                    ) from exc
                self._recover(exc)

    def close(self) -> None:
        self._disconnect()
        self._transcript.close()
