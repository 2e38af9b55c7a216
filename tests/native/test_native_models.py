"""Whole-model bit-exactness of the native engine against tflite-micro on the four MLPerf Tiny
reference models, plus the engine.h contract (repeat invokes, input kept, arena size)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from native_modelgen import NativeFactory, ReferenceFactory

from tinybench.compiler.hostlib import HostEngine

MODELS = ("kws01", "vww01", "ic01", "ad01")
# Smallest arena the host (64-bit) tflite-micro interpreter accepts, measured (docs/design.md).
TFLM_ARENA = {"kws01": 24_272, "vww01": 103_672, "ic01": 55_984, "ad01": 4_632}
RANDOM_INPUTS = 200


class Loaded:
    def __init__(self, tflite: bytes, engine: HostEngine, ref: Callable[[bytes], bytes]) -> None:
        self.tflite = tflite
        self.engine = engine
        self.ref = ref


@pytest.fixture(scope="module")
def loaded(
    shared_dir: Path, native: NativeFactory, reference: ReferenceFactory
) -> Callable[[str], Loaded]:
    cache: dict[str, Loaded] = {}

    def get(model_id: str) -> Loaded:
        if model_id not in cache:
            tflite = (shared_dir / "models" / f"{model_id}.tflite").read_bytes()
            cache[model_id] = Loaded(tflite, native(tflite, model_id), reference(tflite))
        return cache[model_id]

    return get


def test_kws01_all_samples_match_tflite_micro_and_score_901(
    shared_dir: Path, loaded: Callable[[str], Loaded]
) -> None:
    m = loaded("kws01")
    folder = shared_dir / "datasets" / "kws01"
    rows = [line.split(",") for line in (folder / "y_labels.csv").read_text().split()]
    assert len(rows) == 1000
    mismatches = []
    correct = 0
    for name, _, label in rows:
        data = (folder / name).read_bytes()
        got = m.engine.run(data)
        if got != m.ref(data):
            mismatches.append(name)
        # np.argmax breaks ties to the first maximum, as the MLPerf Tiny scorer does.
        correct += int(np.argmax(np.frombuffer(got, dtype=np.int8))) == int(label)
    assert mismatches == []
    assert correct == 901


@pytest.mark.parametrize("model_id", ["vww01", "ic01", "ad01"])
def test_random_inputs_match_tflite_micro(model_id: str, loaded: Callable[[str], Loaded]) -> None:
    m = loaded(model_id)
    rng = np.random.default_rng(sum(map(ord, model_id)))
    mismatches = 0
    outputs = set()
    for _ in range(RANDOM_INPUTS):
        data = rng.integers(-128, 128, size=m.engine.input.bytes, dtype=np.int8).tobytes()
        got = m.engine.run(data)
        mismatches += got != m.ref(data)
        outputs.add(got)
    assert mismatches == 0
    assert len(outputs) > 1  # the model is not answering a constant


@pytest.mark.parametrize("model_id", MODELS)
def test_second_invoke_gives_same_output_and_keeps_input(
    model_id: str, loaded: Callable[[str], Loaded]
) -> None:
    m = loaded(model_id)
    rng = np.random.default_rng(7)
    data = rng.integers(-128, 128, size=m.engine.input.bytes, dtype=np.int8).tobytes()
    m.engine.set_input(data)
    m.engine.invoke()
    first = m.engine.get_output()
    assert m.engine.get_input() == data
    m.engine.invoke()
    assert m.engine.get_output() == first
    assert first == m.ref(data)


@pytest.mark.parametrize("model_id", MODELS)
def test_arena_is_not_larger_than_tflite_micro_arena(
    model_id: str, loaded: Callable[[str], Loaded]
) -> None:
    m = loaded(model_id)
    assert m.engine.arena_bytes % 16 == 0
    assert m.engine.arena_used() == m.engine.arena_bytes
    assert m.engine.arena_bytes <= TFLM_ARENA[model_id]


@pytest.mark.parametrize("model_id", MODELS)
def test_engine_reports_model_id_and_tensor_views(
    model_id: str, loaded: Callable[[str], Loaded]
) -> None:
    from tflite_micro.python.tflite_micro import runtime

    m = loaded(model_id)
    assert m.engine.model_id() == model_id
    assert m.engine.model_sha256() == hashlib.sha256(m.tflite).hexdigest()
    it = runtime.Interpreter.from_bytes(m.tflite)
    for view, details in ((m.engine.input, it.get_input_details(0)),
                          (m.engine.output, it.get_output_details(0))):  # fmt: skip
        assert view.dims == tuple(int(d) for d in details["shape"])
        scale, zero_point = details["quantization_parameters"]["scales"][0], details[
            "quantization_parameters"]["zero_points"][0]  # fmt: skip
        assert view.scale == pytest.approx(float(scale), rel=1e-7)
        assert view.zero_point == int(zero_point)
