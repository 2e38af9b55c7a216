"""Run rules as versioned data: what each mode must do and what a result must contain.

The runner takes every count from the loaded rule set (accuracy: `infer N W` per sample,
whether every sample is required; performance and energy: windows, minimum window
seconds, warm-ups), and `submission` checks results against the same values.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tinybench.errors import ManifestError, RuleViolation
from tinybench.manifests.manifest import FieldReader, load_toml, manifest_path, raise_if_problems
from tinybench.manifests.models import Metric, ModelManifest

DEFAULT_ENERGY_DUT_BAUD = 9600  # EEMBC energy mode: the IO manager's DUT UART


@dataclass(frozen=True)
class AccuracyRules:
    infer_count: int
    warmup_count: int
    every_sample: bool


@dataclass(frozen=True)
class TimedRules:
    """Performance and energy windows."""

    windows: int  # distinct inputs (performance) or windows (energy)
    min_window_s: float
    warmup_count: int
    score: str
    # Energy only: the DUT UART's baud rate (the IO manager talks to the DUT at 9,600);
    # firmware built with timestamp_mode="energy" runs its UART at this rate.
    dut_baud: int | None = None


@dataclass(frozen=True)
class QualityTarget:
    metric: Metric
    target: float


@dataclass(frozen=True)
class RuleSet:
    rules_id: str
    version: str
    title: str
    accuracy: AccuracyRules
    performance: TimedRules
    energy: TimedRules
    targets: Mapping[str, QualityTarget]
    required_result_keys: tuple[str, ...]
    path: Path
    sha256: str  # of the rules file: results record it, so an edited copy is recognised

    def target(self, model_id: str) -> QualityTarget:
        try:
            return self.targets[model_id]
        except KeyError:
            raise RuleViolation(
                f"run rules {self.rules_id} {self.version} have no quality target for {model_id}"
            ) from None

    def check_model(self, model: ModelManifest) -> None:
        """A model manifest and the rules must agree on the metric and the target."""
        target = self.target(model.model_id)
        if (target.metric, target.target) != (model.metric, model.quality_target):
            raise ManifestError(
                f"{model.manifest_path}: quality {model.metric.value} >= {model.quality_target} "
                f"disagrees with run rules {self.rules_id} {self.version} ({self.path}): "
                f"{target.metric.value} >= {target.target}"
            )

    def missing_result_keys(self, results: Mapping[str, object]) -> list[str]:
        missing = []
        for dotted in self.required_result_keys:
            node: object = results
            for part in dotted.split("."):
                if not isinstance(node, Mapping) or part not in node:
                    missing.append(dotted)
                    break
                node = node[part]
        return missing


def _timed(reader: FieldReader, count_key: str, with_baud: bool = False) -> TimedRules:
    rules = TimedRules(
        windows=reader.integer(count_key, minimum=1),
        min_window_s=reader.number("min_window_s", positive=True),
        warmup_count=reader.integer("warmup_count", minimum=0),
        score=reader.string("score"),
        dut_baud=(
            reader.integer("dut_baud", minimum=1, default=DEFAULT_ENERGY_DUT_BAUD)
            if with_baud
            else None
        ),
    )
    reader.finish()
    return rules


def parse_rule_set(path: Path) -> RuleSet:
    problems: list[str] = []
    top = FieldReader(load_toml(path), "", problems)
    rules_id = top.string("id")
    if rules_id and rules_id != path.stem:
        top.problem("id", f"is {rules_id!r} but the file is named {path.name}")
    version = top.string("version")
    title = top.string("title")

    acc = top.table("accuracy")
    accuracy = AccuracyRules(
        infer_count=acc.integer("infer_count", minimum=1),
        warmup_count=acc.integer("warmup_count", minimum=0),
        every_sample=acc.boolean("every_sample"),
    )
    acc.finish()
    performance = _timed(top.table("performance"), "distinct_inputs")
    energy = _timed(top.table("energy"), "windows", with_baud=True)

    targets: dict[str, QualityTarget] = {}
    metric_names = [m.value for m in Metric]
    for model_id, reader in top.tables("targets").items():
        name = reader.choice("metric", metric_names)
        value = reader.number("target", positive=True)
        if value > 1:
            reader.problem("target", f"is a fraction (0.9 for 90 %), got {value}")
        reader.finish()
        if name in metric_names:
            targets[model_id] = QualityTarget(metric=Metric(name), target=value)

    res = top.table("results")
    required = res.string_list("required")
    res.finish()
    top.finish()
    raise_if_problems(path, problems)
    return RuleSet(
        rules_id=rules_id,
        version=version,
        title=title,
        accuracy=accuracy,
        performance=performance,
        energy=energy,
        targets=targets,
        required_result_keys=required,
        path=path,
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
    )


DEFAULT_RULES = "mlperf-tiny"


def load_rule_set(directory: Path, rules_id: str = DEFAULT_RULES) -> RuleSet:
    return parse_rule_set(manifest_path(directory, "run rules", rules_id))
