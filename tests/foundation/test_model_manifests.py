"""Model manifests: the real ones load, and every validation error is reported clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from tinybench.errors import ManifestError
from tinybench.manifests.models import (
    InputFormat,
    Metric,
    load_model_manifest,
    load_model_manifests,
)

from .helpers import copy_project_data, edit


def test_all_four_models_load_with_their_input_formats(repo_root: Path) -> None:
    models = load_model_manifests(repo_root / "models")
    assert sorted(models) == ["ad01", "ic01", "kws01", "vww01"]
    assert models["kws01"].input_format is InputFormat.INT8
    assert models["kws01"].wire_bytes == 490
    assert models["vww01"].input_format is InputFormat.UINT8_OFFSET
    assert models["vww01"].wire_bytes == 27648
    assert models["ic01"].wire_bytes == 3072
    assert models["ad01"].input_format is InputFormat.FLOAT32
    assert models["ad01"].wire_bytes == 2560
    assert models["ad01"].dataset.windows_per_sample == 196
    assert models["ad01"].metric is Metric.AUC
    assert {m: models[m].quality_target for m in models} == {
        "kws01": 0.90,
        "vww01": 0.80,
        "ic01": 0.85,
        "ad01": 0.85,
    }


def test_manifest_urls_pin_the_upstream_commit(repo_root: Path) -> None:
    for model in load_model_manifests(repo_root / "models").values():
        assert "/mlcommons/tiny/1afd2c9820f795965a6134facd0b4dfae41ef23f/" in model.source.url


def test_manifest_sizes_and_hashes_match_the_shared_models(
    repo_root: Path, shared_dir: Path
) -> None:
    import hashlib

    for model in load_model_manifests(repo_root / "models").values():
        data = (shared_dir / "models" / model.source.file_name).read_bytes()
        assert len(data) == model.source.size_bytes
        assert hashlib.sha256(data).hexdigest() == model.source.sha256


# Each case: an edit to kws01.toml (or ad01.toml) and the text the error must contain.
BROKEN_MANIFESTS = [
    ("kws01", 'title = "Keyword', 'titel = "Keyword', "title: missing"),
    ("kws01", 'title = "Keyword', 'titel = "Keyword', "titel: unknown key"),
    ("kws01", 'id = "kws01"', 'id = "kws02"', "is 'kws02' but the file is named kws01.toml"),
    ("kws01", 'sha256 = "aeea', 'sha256 = "AEEA', "source.sha256: must be 64 lowercase hex digits"),
    ("kws01", 'url = "https://', 'url = "ftp://', "source.url: must be an http(s) URL"),
    ("kws01", "bytes = 53936", "bytes = 0", "source.bytes: must be >= 1"),
    ("kws01", "bytes = 53936", 'bytes = "53936"', "source.bytes: expected an integer"),
    ("kws01", "zero_point = 83", "zero_point = 200", "input.zero_point: must be within int8 range"),
    ("kws01", "scale = 0.5847029089927673", "scale = -1.0", "input.scale: must be > 0"),
    ("kws01", "scale = 0.5847029089927673", "scale = true", "input.scale: expected a number"),
    ("kws01", 'dtype = "int8"', 'dtype = "float32"', "input.dtype: must be one of int8"),
    (
        "kws01",
        "shape = [1, 49, 10, 1]",
        "shape = [1, 49, 0, 1]",
        "input.shape: every entry must be >= 1",
    ),
    ("kws01", 'input_format = "int8"', 'input_format = "int4"', "input_format: must be one of"),
    ("kws01", 'metric = "top1"', 'metric = "top5"', "quality.metric: must be one of top1, auc"),
    ("kws01", "target = 0.90", "target = 90", "quality.target: is a fraction"),
    ("kws01", "sample_bytes = 490", "sample_bytes = 491", "one inference reads 491 bytes"),
    ("kws01", "classes = 12", "classes = 10", "dataset.classes is 10 but the output tensor has 12"),
    ("kws01", "[quality]", "[qualities]", "quality: missing"),
    (
        "ad01",
        "bytes = 2560",
        "bytes = 204800",
        "dataset.window.bytes: is larger than dataset.sample_bytes",
    ),
    ("ad01", "step = 512", "step = 0", "dataset.window.step: must be >= 1"),
]


@pytest.mark.parametrize(("model", "old", "new", "message"), BROKEN_MANIFESTS)
def test_broken_model_manifest_is_refused_with_the_key_named(
    tmp_path: Path, repo_root: Path, model: str, old: str, new: str, message: str
) -> None:
    root = copy_project_data(repo_root, tmp_path)
    edit(root / "models" / f"{model}.toml", old, new)
    with pytest.raises(ManifestError) as err:
        load_model_manifest(root / "models", model)
    assert message in str(err.value)
    assert f"{model}.toml" in str(err.value)


def test_all_problems_of_a_manifest_are_listed_at_once(tmp_path: Path, repo_root: Path) -> None:
    root = copy_project_data(repo_root, tmp_path)
    path = root / "models" / "kws01.toml"
    edit(path, "zero_point = 83", "zero_point = 300")
    edit(path, 'metric = "top1"', 'metric = "top9"')
    with pytest.raises(ManifestError) as err:
        load_model_manifest(root / "models", "kws01")
    assert "2 problems" in str(err.value)


def test_invalid_toml_names_the_file(tmp_path: Path, repo_root: Path) -> None:
    root = copy_project_data(repo_root, tmp_path)
    (root / "models" / "kws01.toml").write_text("id = \n")
    with pytest.raises(ManifestError, match=r"kws01.toml: not valid TOML"):
        load_model_manifest(root / "models", "kws01")


def test_unknown_model_lists_the_known_ones(repo_root: Path) -> None:
    with pytest.raises(
        ManifestError, match=r"unknown model 'kws99' \(known: ad01, ic01, kws01, vww01\)"
    ):
        load_model_manifest(repo_root / "models", "kws99")


def test_empty_manifest_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="no model manifests"):
        load_model_manifests(tmp_path)
