"""The accuracy mode's scheduler: samples handed out to one or more DUTs, one shared journal.

Each DUT (one per `--jobs`) takes the next pending sample, runs it with the rule set's
infer and warm-up counts, and appends the outcome to the journal, so that an
interrupted run resumes with exactly the samples that are missing.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from tinybench.datasets import Dataset, Sample
from tinybench.dut.session import DutSession
from tinybench.dut.worker import DutWorker, PlaceDead, RemoteDut, WorkerConfig
from tinybench.errors import TinybenchError
from tinybench.journal import Journal
from tinybench.manifests.models import ModelManifest
from tinybench.manifests.runrules import AccuracyRules
from tinybench.modes.accuracy import SampleInput, SampleOutcome, run_sample
from tinybench.reference import ReferenceSample

Progress = Callable[[int, int], None]


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
                    replace(config, transcript=run_dir / f"transcript-{r.name}.txt", remote=r)
                )
                for r in remotes
            ]
        else:
            names = (
                ["transcript.txt"] if jobs == 1 else [f"transcript-{k}.txt" for k in range(jobs)]
            )
            self.names = [str(k) for k in range(len(names))]
            self.workers = [DutWorker(replace(config, transcript=run_dir / n)) for n in names]
        self.by_name = dict(zip(self.names, self.workers, strict=True))  # the dead ones too
        # Which worker ran which sample in this process (a resumed run's earlier ones are unknown).
        self.samples_by_worker: dict[str, list[int]] = {n: [] for n in self.names}
        self.dead: list[str] = []  # farm places given up on mid-run (retired from workers)

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
    lock = threading.Condition()
    failures: list[BaseException] = []
    in_flight = [0]  # samples taken but not finished: a dying place may give them back

    def take() -> Sample | None:
        with lock:
            while not failures:
                if pending:
                    in_flight[0] += 1
                    return pending.popleft()
                if in_flight[0] == 0:
                    return None
                lock.wait()
            return None

    def work(worker: DutWorker, name: str) -> None:
        try:
            while True:
                sample = take()
                if sample is None:
                    return
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

                try:
                    outcome = worker.call(step)
                except PlaceDead:
                    with lock:  # its sample goes back to the places still alive
                        pending.appendleft(sample)
                        in_flight[0] -= 1
                        workers.dead.append(name)
                        alive = len(workers.workers) - len(workers.dead)
                        lock.notify_all()
                    if alive == 0:
                        raise
                    return
                journal.append(outcome)
                with lock:
                    in_flight[0] -= 1
                    workers.samples_by_worker[name].append(sample.index)
                    lock.notify_all()
                if progress is not None:
                    progress(len(journal.done()), total)
        except BaseException as exc:  # reported by the caller, after the other workers stop
            with lock:
                failures.append(exc)
                lock.notify_all()

    pairs = list(zip(workers.workers, workers.names, strict=True))
    if len(pairs) == 1:
        work(*pairs[0])
    else:
        threads = [threading.Thread(target=work, args=pair) for pair in pairs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    workers.retire_dead()
    if failures:
        raise failures[0]
