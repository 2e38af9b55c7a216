"""`tinybench reference`, `models` and `boards` end to end through the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tinybench.cli import cli
from tinybench.manifests.models import load_model_manifest
from tinybench.reference import read_reference

from .helpers import write_dataset


def _run(args: list[str], **env: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, args, env=env or None)
    assert not (result.exception and not isinstance(result.exception, SystemExit)), result.output
    return result.exit_code, result.output


def test_kws01_reference_is_901_of_1000() -> None:
    code, output = _run(["reference", "kws01"])
    assert code == 0
    assert "kws01 top-1: 901/1000 (90.1 %)" in output


def test_the_real_ad01_clip_scores_10_2645(shared_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "ad01.json"
    code, output = _run(
        [
            "reference",
            "ad01",
            "--dataset",
            str(shared_dir / "datasets" / "ad01-sample"),
            "--out",
            str(out),
        ]
    )
    assert code == 0, output
    assert "AUC: n/a" in output
    _, samples = read_reference(out)
    assert len(samples) == 1 and len(samples[0].raw_outputs) == 196
    assert samples[0].score == pytest.approx(10.2645, abs=1e-3)


def _direct_outputs(model_path: Path, tensors: list[np.ndarray]) -> list[bytes]:
    """The interpreter driven directly, without tinybench's pipeline."""
    from tflite_micro.python.tflite_micro import runtime

    interpreter = runtime.Interpreter.from_file(str(model_path))
    outputs = []
    for tensor in tensors:
        interpreter.set_input(tensor, 0)
        interpreter.invoke()
        outputs.append(np.asarray(interpreter.get_output(0), dtype=np.int8).tobytes())
    return outputs


def test_ic01_on_a_generated_set_records_raw_outputs_of_the_shifted_input(
    tmp_path: Path, repo_root: Path, shared_dir: Path
) -> None:
    model = load_model_manifest(repo_root / "models", "ic01")
    labels = [0, 3, 9, 3, 1]
    contents = write_dataset(tmp_path / "ic01", model.dataset, labels, seed=11)
    out = tmp_path / "ref.json"
    code, output = _run(
        ["reference", "ic01", "--dataset", str(tmp_path / "ic01"), "--out", str(out)]
    )
    assert code == 0, output
    document, samples = read_reference(out)
    tensors = [
        (np.frombuffer(c, dtype=np.uint8).astype(np.int16) - 128)
        .astype(np.int8)
        .reshape(1, 32, 32, 3)
        for c in contents
    ]
    expected = _direct_outputs(shared_dir / "models" / "ic01.tflite", tensors)
    assert [s.raw_outputs[0] for s in samples] == expected
    predictions = [int(np.argmax(np.frombuffer(e, dtype=np.int8))) for e in expected]
    assert [s.prediction for s in samples] == predictions
    correct = sum(p == y for p, y in zip(predictions, labels, strict=True))
    assert f"ic01 top-1: {correct}/5" in output
    assert document["model_sha256"] == model.source.sha256
    assert document["summary"]["correct"] == correct


def test_random_inputs_are_reproducible_from_the_seed(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "c.json"
    assert _run(["reference", "vww01", "--random", "3", "--seed", "5", "--out", str(a)])[0] == 0
    assert _run(["reference", "vww01", "--random", "3", "--seed", "5", "--out", str(b)])[0] == 0
    assert _run(["reference", "vww01", "--random", "3", "--seed", "6", "--out", str(c)])[0] == 0
    doc_a, samples_a = read_reference(a)
    _, samples_b = read_reference(b)
    _, samples_c = read_reference(c)
    assert samples_a == samples_b
    assert [s.input_sha256 for s in samples_a] != [s.input_sha256 for s in samples_c]
    assert doc_a["source"] == {"kind": "random", "count": 3, "seed": 5}
    assert [s.name for s in samples_a] == ["random-5-0", "random-5-1", "random-5-2"]


def test_limit_runs_the_first_samples_only() -> None:
    code, output = _run(["reference", "kws01", "--limit", "10"])
    assert code == 0
    assert "/10 (" in output


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_a_damaged_model_exits_non_zero_naming_file_and_sha(
    tmp_path: Path, shared_dir: Path, damage: str
) -> None:
    data = bytearray((shared_dir / "models" / "kws01.tflite").read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    else:
        data[20000] ^= 0x80
    (tmp_path / "kws01.tflite").write_bytes(bytes(data))
    code, output = _run(["reference", "kws01"], TINYBENCH_MODELS_DIR=str(tmp_path))
    assert code == 1
    assert str(tmp_path / "kws01.tflite") in output
    assert "aeea436800704fce17b17292e4412630ad856e9d777c044c64ef748a880bd0ae" in output
    assert "Traceback" not in output


def test_a_dataset_that_does_not_match_exits_with_the_listing(
    tmp_path: Path, repo_root: Path
) -> None:
    model = load_model_manifest(repo_root / "models", "kws01")
    write_dataset(tmp_path, model.dataset, [1, 2])
    (tmp_path / "s_000001_2.bin").unlink()
    code, output = _run(["reference", "kws01", "--dataset", str(tmp_path)])
    assert code == 1
    assert "s_000001_2.bin: missing" in output


def test_random_cannot_be_combined_with_a_dataset(tmp_path: Path) -> None:
    code, output = _run(["reference", "kws01", "--random", "2", "--dataset", str(tmp_path)])
    assert code == 1 and "cannot be combined" in output


def test_models_lists_all_four_with_file_status(tmp_path: Path, shared_dir: Path) -> None:
    models_dir = tmp_path / "models"
    models_dir.mkdir()
    shutil.copy(shared_dir / "models" / "kws01.tflite", models_dir)
    code, output = _run(
        ["models"],
        TINYBENCH_SHARED_DIR=str(tmp_path / "empty"),
        TINYBENCH_MODELS_DIR=str(models_dir),
        TINYBENCH_CACHE_DIR=str(tmp_path / "cache"),
    )
    assert code == 0, output
    for model_id in ("kws01", "vww01", "ic01", "ad01"):
        assert f"{model_id}  " in output
    assert f"found at {models_dir / 'kws01.tflite'}" in output
    assert output.count("not available") == 3


def test_boards_lists_all_six() -> None:
    code, output = _run(["boards"])
    assert code == 0
    for board in ("qemu-m4", "qemu-m7", "qemu-m33", "qemu-m55", "host", "nucleo-l4r5zi"):
        assert f"{board}  " in output
    assert "qemu-system-arm -M mps2-an386 -cpu cortex-m4" in output


def test_unknown_model_is_a_clean_error() -> None:
    code, output = _run(["reference", "kws99"])
    assert code == 1
    assert "unknown model 'kws99'" in output and "Traceback" not in output


def test_reference_file_is_valid_json_with_hex_outputs(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    assert _run(["reference", "kws01", "--limit", "2", "--out", str(out)])[0] == 0
    document = json.loads(out.read_text())
    assert document["format"] == "tinybench-reference"
    assert document["interpreter"] == "tflite-micro 0.dev20261023182759"
    assert all(len(s["raw_outputs"][0]) == 24 for s in document["samples"])
