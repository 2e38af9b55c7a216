"""The run journal: one line per finished sample, flushed and synced as it finishes.

A run that dies (power cut, kill -9, a crashed emulator) loses at most the sample
in flight; `--resume` reads the journal back and runs only what is missing. A
torn last line (the process died mid-write) is dropped and that sample runs again;
a sample can never be counted twice, because records are keyed by sample index.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tinybench.errors import TinybenchError
from tinybench.modes.accuracy import SampleOutcome


def outcome_record(outcome: SampleOutcome) -> dict[str, Any]:
    record = asdict(outcome)
    record["raw_outputs"] = [r.hex() for r in outcome.raw_outputs]
    return record


def outcome_from_record(record: dict[str, Any]) -> SampleOutcome:
    return SampleOutcome(
        index=int(record["index"]),
        name=str(record["name"]),
        label=None if record["label"] is None else int(record["label"]),
        raw_outputs=tuple(bytes.fromhex(r) for r in record["raw_outputs"]),
        device_results=tuple(tuple(float(v) for v in r) for r in record["device_results"]),
        elapsed_us=tuple(int(v) for v in record["elapsed_us"]),
        counter_ticks=tuple(int(v) for v in record["counter_ticks"]),
        prediction=None if record["prediction"] is None else int(record["prediction"]),
        score=None if record["score"] is None else float(record["score"]),
        reference_match=record["reference_match"],
    )


class Journal:
    """Append-only, thread-safe; existing records are loaded when the file already exists."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._outcomes: dict[int, SampleOutcome] = {}
        if path.exists():
            self._load()
        self._handle = path.open("a", encoding="utf-8")

    def _load(self) -> None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise TinybenchError(f"{self.path}: unreadable journal: {exc}") from exc
        lines = text.split("\n")
        complete, torn = lines[:-1], lines[-1]  # text after the last newline was never finished
        for number, line in enumerate(complete, start=1):
            if not line.strip():
                continue
            try:
                outcome = outcome_from_record(json.loads(line))
            except (ValueError, KeyError, TypeError, OverflowError) as exc:  # inf: OverflowError
                raise TinybenchError(
                    f"{self.path}:{number}: unreadable journal record: {exc}"
                ) from exc
            if outcome.index in self._outcomes:
                raise TinybenchError(f"{self.path}:{number}: sample {outcome.index} recorded twice")
            self._outcomes[outcome.index] = outcome
        if torn:
            # Rewrite without the torn tail so that appends start on a fresh line.
            self.path.write_text("\n".join(complete) + ("\n" if complete else ""), encoding="utf-8")

    def done(self) -> set[int]:
        with self._lock:
            return set(self._outcomes)

    def append(self, outcome: SampleOutcome) -> None:
        self.extend([outcome])

    def extend(self, outcomes: list[SampleOutcome]) -> None:
        """Records a batch's outcomes with one sync (a line per sample, as append writes)."""
        text = "".join(json.dumps(outcome_record(o)) + "\n" for o in outcomes)
        with self._lock:
            for outcome in outcomes:
                if outcome.index in self._outcomes:
                    raise TinybenchError(f"internal: sample {outcome.index} finished twice")
            self._handle.write(text)
            self._handle.flush()
            os.fsync(self._handle.fileno())
            for outcome in outcomes:
                self._outcomes[outcome.index] = outcome

    def outcomes(self) -> list[SampleOutcome]:
        with self._lock:
            return [self._outcomes[i] for i in sorted(self._outcomes)]

    def close(self) -> None:
        self._handle.close()
