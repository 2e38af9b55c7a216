"""The accuracy mode's scheduler: samples handed out to one or more DUTs, one shared journal.

Each DUT (one per `--jobs`) takes the next pending sample, runs it with the rule set's
infer and warm-up counts, and appends the outcome to the journal, so that an
interrupted run resumes with exactly the samples that are missing.

A DUT that runs the `batch` extension in a shared directory (emulators, the host board)
takes up to `batch_size` pending samples at a time and runs them in one command; their
outcomes reach the journal together when the batch ends, so a DUT that dies mid-batch
loses that batch only, which the restarted DUT runs again.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

from tinybench.datasets import Dataset, Sample
from tinybench.dut.session import DutSession
from tinybench.dut.worker import DutWorker, PlaceDead, RemoteDut, WorkerConfig
from tinybench.errors import TinybenchError
from tinybench.journal import Journal
from tinybench.manifests.models import ModelManifest
from tinybench.manifests.runrules import AccuracyRules
from tinybench.modes.accuracy import SampleInput, SampleOutcome, run_batch, run_sample
from tinybench.reference import ReferenceSample

Progress = Callable[[int, int], None]
# Samples per `batch` command. A dead DUT loses at most this many samples' work (50 kws01
# samples: 0.9 s of emulation); the batch's fixed cost (a file write and read, one command
# and its summary line, about 5 ms) is then under 1 % of its inferences; and 1000 samples
# make 20 batches, enough for two or more DUTs to finish within a batch of each other.
DEFAULT_BATCH_SIZE = 50


class References(Protocol):
    """The host reference per sample name (a dict, or one still being computed)."""

    def get(self, name: str, /) -> ReferenceSample | None: ...


class Workers:
    """The DUTs of one run (one, one per job, or one per farm place), closed together."""

    def __init__(
        self,
        config: WorkerConfig,
        jobs: int,
        run_dir: Path,
        remotes: Sequence[RemoteDut] = (),
    ) -> None:
        if remotes:
            self.names = [r.name for r in remotes]
            self.workers = [
                DutWorker(
                    replace(
                        config,
                        transcript=run_dir / f"transcript-{r.name}.txt",
                        remote=r,
                        fault_stream=k,
                    )
                )
                for k, r in enumerate(remotes)
            ]
        else:
            names = (
                ["transcript.txt"] if jobs == 1 else [f"transcript-{k}.txt" for k in range(jobs)]
            )
            self.names = [str(k) for k in range(len(names))]
            self.workers = [
                DutWorker(replace(config, transcript=run_dir / n, fault_stream=k))
                for k, n in enumerate(names)
            ]
        self._faults = config.faults
        self.by_name = dict(zip(self.names, self.workers, strict=True))  # the dead ones too
        # Which worker ran which sample in this process (a resumed run's earlier ones are unknown).
        self.samples_by_worker: dict[str, list[int]] = {n: [] for n in self.names}
        self.dead: list[str] = []  # farm places given up on mid-run (retired from workers)

    def run_each(self, work: Callable[[DutWorker, str], None]) -> None:
        """work(worker, name) for every worker at once, a thread each (in this thread when
        there is one); returns when all have returned. work reports its own failures."""
        pairs = list(zip(self.workers, self.names, strict=True))
        if len(pairs) == 1:
            work(*pairs[0])
            return
        threads = [
            threading.Thread(target=work, args=pair, name=f"worker-{pair[1]}", daemon=True)
            for pair in pairs
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def retire_dead(self) -> None:
        """Leaves only live workers in workers/names (later steps ask them for info)."""
        self.names = [n for n in self.names if n not in self.dead]
        self.workers = [self.by_name[n] for n in self.names]

    def close(self) -> None:
        for worker in self.by_name.values():
            worker.close()

    @property
    def restarts(self) -> int:
        return sum(w.restarts for w in self.by_name.values())

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
    references: References,
    journal: Journal,
    rules: AccuracyRules,
    progress: Progress | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> None:
    """Runs every sample the journal does not hold yet, on all workers in parallel; in
    batches of batch_size on DUTs that can batch (0: one sample per command everywhere)."""
    _check_journal(journal, dataset)
    done = journal.done()
    pending = deque(s for s in dataset.samples if s.index not in done)
    total = len(dataset.samples)
    lock = threading.Condition()
    failures: list[BaseException] = []
    in_flight = [0]  # samples taken but not finished: a dying place may give them back

    def item_of(sample: Sample) -> SampleInput:
        return SampleInput(
            sample.index, sample.file_name, sample.label, tuple(dataset.inferences(sample))
        )

    def take(count: int) -> list[Sample]:
        """Up to count pending samples; waits while others are in flight (a dying place
        may hand them back); empty when the run is done or failed."""
        with lock:
            while not failures:
                if pending:
                    taken = [pending.popleft() for _ in range(min(count, len(pending)))]
                    in_flight[0] += len(taken)
                    return taken
                if in_flight[0] == 0:
                    return []
                lock.wait()
            return []

    def work(worker: DutWorker, name: str) -> None:
        try:
            # Through call(): starting the DUT may meet a damaged link (--inject) or a dead DUT.
            try:
                batching = batch_size > 0 and worker.call(lambda session: session.can_batch)
            except PlaceDead:
                with lock:  # a place dead from the start holds no samples
                    workers.dead.append(name)
                    alive = len(workers.workers) - len(workers.dead)
                    lock.notify_all()
                if alive == 0:
                    raise
                return
            while True:
                samples = take(batch_size if batching else 1)
                if not samples:
                    return
                items = [item_of(sample) for sample in samples]

                def step(
                    session: DutSession, items: list[SampleInput] = items
                ) -> list[SampleOutcome]:
                    if batching:
                        return run_batch(
                            session, model, items, references.get, rules.infer_count,
                            rules.warmup_count,
                        )  # fmt: skip
                    reference = references.get(items[0].name)
                    counts = (rules.infer_count, rules.warmup_count)
                    return [run_sample(session, model, items[0], reference, *counts)]

                try:
                    outcomes = worker.call(step)
                except PlaceDead:
                    with lock:  # its samples go back to the places still alive
                        pending.extendleft(reversed(samples))
                        in_flight[0] -= len(samples)
                        workers.dead.append(name)
                        alive = len(workers.workers) - len(workers.dead)
                        lock.notify_all()
                    if alive == 0:
                        raise
                    return
                journal.extend(outcomes)
                with lock:
                    in_flight[0] -= len(samples)
                    workers.samples_by_worker[name].extend(s.index for s in samples)
                    lock.notify_all()
                if progress is not None:
                    progress(len(journal.done()), total)
        except BaseException as exc:  # reported by the caller, after the other workers stop
            with lock:
                failures.append(exc)
                lock.notify_all()

    workers.run_each(work)
    workers.retire_dead()
    if failures:
        raise failures[0]
