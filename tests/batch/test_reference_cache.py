"""The host reference of a run is cached by model, interpreter and inputs (host board runs)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tinybench.cli import cli
from tinybench.datasets import open_dataset
from tinybench.paths import locate
from tinybench.project import Project
from tinybench.reference import (
    ReferenceSample,
    ReferenceSummary,
    cached_reference,
    iterate_dataset,
    reference_cache_key,
    write_reference,
)


def _run(out: Path, limit: int) -> dict[str, object]:
    args = ["run", "kws01", "--board", "host", "--limit", str(limit), "--out", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    document: dict[str, object] = json.loads((out / "results.json").read_text())
    return document


def test_a_second_run_of_the_same_inputs_uses_the_cached_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_dir: Path
) -> None:
    monkeypatch.setenv("TINYBENCH_CACHE_DIR", str(tmp_path / "cache"))
    first = _run(tmp_path / "first", 4)
    assert first["reference_check"] == {"compared": 4, "mismatches": 0, "mismatched_samples": []}
    (cached,) = (tmp_path / "cache" / "reference").glob("kws01-*.json")
    # Its reference.json is the cached one, byte for byte but the source it names.
    assert (
        json.loads(cached.read_text())["samples"]
        == json.loads((tmp_path / "first" / "reference.json").read_text())["samples"]
    )
    # Tamper with one cached output: a run that reads the cache then finds a mismatch.
    document = json.loads(cached.read_text())
    document["samples"][1]["raw_outputs"] = ["00" * 12]
    cached.write_text(json.dumps(document))
    second = _run(tmp_path / "second", 4)
    assert second["reference_check"] == {
        "compared": 4,
        "mismatches": 1,
        "mismatched_samples": [document["samples"][1]["name"]],
    }


def test_the_cache_key_follows_the_inputs_and_the_model(shared_dir: Path, tmp_path: Path) -> None:
    project = Project(locate())
    model = project.resolve_model("kws01")
    dataset = open_dataset(model.dataset, project.dataset_root(model, None))
    four, three = (iterate_dataset(dataset.limited(n)) for n in (4, 3))
    key = reference_cache_key("a" * 64, four)
    assert key != reference_cache_key("a" * 64, three)
    assert key != reference_cache_key("b" * 64, iterate_dataset(dataset.limited(4)))
    assert key == reference_cache_key("a" * 64, iterate_dataset(dataset.limited(4)))
    # A cache file for other inputs is not used, whatever its name says.
    stored = [
        ReferenceSample(name, label, hashlib.sha256(b"".join(inputs)).hexdigest(), (), None, None)
        for name, label, inputs in iterate_dataset(dataset.limited(3))
    ]
    path = tmp_path / "kws01-key.json"
    write_reference(path, model, "a" * 64, {}, ReferenceSummary(model.metric, stored))
    assert cached_reference(path, model, iterate_dataset(dataset.limited(4))) is None
    hit = cached_reference(path, model, iterate_dataset(dataset.limited(3)))
    assert hit is not None and hit.samples == stored
    assert cached_reference(tmp_path / "missing.json", model, iterate_dataset(dataset)) is None
