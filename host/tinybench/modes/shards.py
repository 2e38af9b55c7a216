"""The accuracy mode's scheduler: samples handed out to one or more DUTs, one shared journal.

Each DUT (one per `--jobs`) takes the next pending sample, runs it with the rule set's
infer and warm-up counts, and appends the outcome to the journal, so that an
interrupted run resumes with exactly the samples that are missing.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from tinybench.datasets import Dataset
from tinybench.dut.session import DutSession
from tinybench.dut.worker import DutWorker, WorkerConfig
from tinybench.errors import TinybenchError
from tinybench.journal import Journal
from tinybench.manifests.models import ModelManifest
from tinybench.manifests.runrules import AccuracyRules
from tinybench.modes.accuracy import SampleInput, SampleOutcome, run_sample
from tinybench.reference import ReferenceSample

Progress = Callable[[int, int], None]


class Workers:
    """The DUTs of one run (one, or one per job), closed together."""

    def __init__(self, config: WorkerConfig, jobs: int, run_dir: Path) -> None:
        names = ["transcript.txt"] if jobs == 1 else [f"transcript-{k}.txt" for k in range(jobs)]
        self.workers = [
            DutWorker(replace(config, transcript=run_dir / n, fault_stream=k))
            for k, n in enumerate(names)
        ]
        self._faults = config.faults

    def close(self) -> None:
        for worker in self.workers:
            worker.close()

    @property
    def restarts(self) -> int:
        return sum(w.restarts for w in self.workers)

    def link_faults(self) -> dict[str, Any] | None:
        """results.json's link_faults: what `--inject` did and how every fault showed and was
        recovered from, summed over the DUTs; None without --inject."""
        if self._faults is None:
            return None
        injected: dict[str, int] = {}
        detected: dict[str, int] = {}
        recovered: dict[str, int] = {}
        for worker in self.workers:
            if worker.injector is not None:
                for kind, count in worker.injector.injected.items():
                    injected[kind] = injected.get(kind, 0) + count
            for kind, count in worker.detected.items():
                detected[kind] = detected.get(kind, 0) + count
            for kind, count in worker.recovered.items():
                recovered[kind] = recovered.get(kind, 0) + count
        recovered["upload_retry"] = sum(w.stats.upload_retries for w in self.workers)
        return {
            "spec": self._faults.text,
            "seed": self._faults.seed,
            "injected": injected,
            "detected": dict(sorted(detected.items())),
            "recovered_by": recovered,
        }


def _check_journal(journal: Journal, dataset: Dataset) -> None:
    by_index = {s.index: s for s in dataset.samples}
    for outcome in journal.outcomes():
        sample = by_index.get(outcome.index)
        if sample is None or sample.file_name != outcome.name:
            raise TinybenchError(
                f"{journal.path}: sample {outcome.index} is {outcome.name}, but the dataset "
                "has another file there: the dataset changed; start a new run"
            )


def run_accuracy_shards(
    workers: Workers,
    model: ModelManifest,
    dataset: Dataset,
    references: dict[str, ReferenceSample],
    journal: Journal,
    rules: AccuracyRules,
    progress: Progress | None = None,
) -> None:
    """Runs every sample the journal does not hold yet, on all workers in parallel."""
    _check_journal(journal, dataset)
    done = journal.done()
    pending = deque(s for s in dataset.samples if s.index not in done)
    total = len(dataset.samples)
    lock = threading.Lock()
    failures: list[BaseException] = []

    def work(worker: DutWorker) -> None:
        try:
            while True:
                with lock:
                    if not pending or failures:
                        return
                    sample = pending.popleft()
                item = SampleInput(
                    sample.index, sample.file_name, sample.label, tuple(dataset.inferences(sample))
                )
                reference = references.get(sample.file_name)

                def step(
                    session: DutSession,
                    item: SampleInput = item,
                    reference: ReferenceSample | None = reference,
                ) -> SampleOutcome:
                    return run_sample(
                        session, model, item, reference, rules.infer_count, rules.warmup_count
                    )

                journal.append(worker.call(step))
                if progress is not None:
                    progress(len(journal.done()), total)
        except BaseException as exc:  # reported by the caller, after the other workers stop
            with lock:
                failures.append(exc)

    if len(workers.workers) == 1:
        work(workers.workers[0])
    else:
        threads = [threading.Thread(target=work, args=(w,)) for w in workers.workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    if failures:
        raise failures[0]
