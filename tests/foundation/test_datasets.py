"""Dataset readers on generated files in each official layout, and their errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tinybench.datasets import open_dataset
from tinybench.errors import DatasetError
from tinybench.manifests.models import ModelManifest, load_model_manifests

from .helpers import write_dataset


@pytest.fixture(scope="module")
def models(repo_root: Path) -> dict[str, ModelManifest]:
    return load_model_manifests(repo_root / "models")


@pytest.mark.parametrize("model_id", ["kws01", "vww01", "ic01"])
def test_classification_sets_read_in_label_file_order(
    tmp_path: Path, models: dict[str, ModelManifest], model_id: str
) -> None:
    spec = models[model_id].dataset
    labels = [i % spec.classes for i in range(7)]
    contents = write_dataset(tmp_path, spec, labels, seed=3)
    dataset = open_dataset(spec, tmp_path)
    assert [s.label for s in dataset.samples] == labels
    assert [dataset.read(s) for s in dataset.samples] == contents
    assert all(dataset.inferences(s) == [dataset.read(s)] for s in dataset.samples)
    assert len(dataset.limited(3).samples) == 3


def test_ad01_clips_are_cut_into_196_windows_of_2560_bytes_in_512_byte_steps(
    tmp_path: Path, models: dict[str, ModelManifest]
) -> None:
    spec = models["ad01"].dataset
    (clip,) = write_dataset(tmp_path, spec, [1])
    dataset = open_dataset(spec, tmp_path)
    windows = dataset.inferences(dataset.samples[0])
    assert len(windows) == 196
    assert all(len(w) == 2560 for w in windows)
    assert windows[0] == clip[:2560]
    assert windows[1] == clip[512:3072]
    assert windows[-1] == clip[-2560:]
    floats = np.frombuffer(windows[3], dtype="<f4")
    assert floats[0] == np.frombuffer(clip, dtype="<f4")[3 * 128]


def test_the_shared_kws01_set_has_1000_samples(
    shared_dir: Path, models: dict[str, ModelManifest]
) -> None:
    dataset = open_dataset(models["kws01"].dataset, shared_dir / "datasets" / "kws01")
    assert len(dataset.samples) == 1000
    assert dataset.samples[0].file_name == "tst_000000_Stop_7.bin"
    assert dataset.samples[0].label == 7


def test_the_official_label_files_parse_but_their_samples_are_listed_as_missing(
    shared_dir: Path, models: dict[str, ModelManifest]
) -> None:
    with pytest.raises(DatasetError) as err:
        open_dataset(models["vww01"].dataset, shared_dir / "datasets" / "vww01")
    message = str(err.value)
    assert "(1000 problems)" in message
    assert "000000343218.bin: missing" in message
    assert "... and 980 more" in message  # the listing is capped, the count is not


def _broken_set(tmp_path: Path, models: dict[str, ModelManifest], model_id: str) -> Path:
    spec = models[model_id].dataset
    write_dataset(tmp_path, spec, [0, 1, 1, 0])
    return tmp_path


def test_every_bad_entry_is_listed_in_one_error(
    tmp_path: Path, models: dict[str, ModelManifest]
) -> None:
    spec = models["kws01"].dataset
    root = _broken_set(tmp_path, models, "kws01")
    (root / "s_000000_0.bin").unlink()  # missing file
    (root / "s_000001_1.bin").write_bytes(b"\0" * 489)  # wrong size
    labels = root / "y_labels.csv"
    labels.write_text(
        labels.read_text()
        + "s_000002_1.bin,12,1\n"  # listed twice
        + "extra.bin,12,12\n"  # label out of range
        + "other.bin,10,3\n"  # wrong class count
        + "short.bin,12\n"  # wrong column count
        + "word.bin,twelve,3\n"  # not an integer
        + "../escape.bin,12,3\n"  # not a plain file name
    )
    with pytest.raises(DatasetError) as err:
        open_dataset(spec, root)
    message = str(err.value)
    for expected in [
        "s_000000_0.bin: missing",
        "s_000001_1.bin: 489 bytes, expected 490",
        "y_labels.csv:5: s_000002_1.bin listed twice",
        "y_labels.csv:6: label 12 outside 0..11",
        "y_labels.csv:7: 10 classes, expected 12",
        "y_labels.csv:8: expected 3 columns (file,classes,label)",
        "y_labels.csv:9: non-integer field",
        "y_labels.csv:10: '../escape.bin' is not a plain file name",
    ]:
        assert expected in message


def test_ad01_window_columns_must_match_the_manifest(
    tmp_path: Path, models: dict[str, ModelManifest]
) -> None:
    spec = models["ad01"].dataset
    root = _broken_set(tmp_path, models, "ad01")
    labels = root / "y_labels.csv"
    labels.write_text(labels.read_text().replace(",2560,512", ",2560,256", 1))
    with pytest.raises(
        DatasetError, match="windows of 2560 bytes in steps of 256, expected 2560 and 512"
    ):
        open_dataset(spec, root)


def test_missing_directory_and_label_file_are_clear_errors(
    tmp_path: Path, models: dict[str, ModelManifest]
) -> None:
    spec = models["ic01"].dataset
    with pytest.raises(DatasetError, match="does not exist"):
        open_dataset(spec, tmp_path / "nope")
    with pytest.raises(DatasetError, match=r"label file .*y_labels.csv does not exist"):
        open_dataset(spec, tmp_path)
    (tmp_path / "y_labels.csv").write_text("\n\n")
    with pytest.raises(DatasetError, match="no samples listed"):
        open_dataset(spec, tmp_path)


def test_a_file_changed_after_opening_is_refused_not_cut(
    tmp_path: Path, models: dict[str, ModelManifest]
) -> None:
    spec = models["ic01"].dataset
    write_dataset(tmp_path, spec, [3])
    dataset = open_dataset(spec, tmp_path)
    dataset.samples[0].path.write_bytes(b"\1" * 5000)
    with pytest.raises(DatasetError, match="5000 bytes, expected 3072"):
        dataset.read(dataset.samples[0])
