"""The native engine on emulated Cortex-M4F / M7 (QEMU mps2, bare-metal runner): outputs equal
tflite-micro's, and a second invoke repeats the first."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from native_modelgen import ReferenceFactory
from qemu_runner import MACHINES, build_runner, run_runner, tools_available

from tinybench.compiler import compile_model

pytestmark = pytest.mark.skipif(
    not tools_available(), reason="needs arm-none-eabi-gcc and qemu-system-arm"
)

CASES = {"kws01": 8, "vww01": 2, "ic01": 3, "ad01": 4}


@pytest.fixture(scope="module")
def plans(shared_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    root = tmp_path_factory.mktemp("qemu-plans")
    done: dict[str, Path] = {}

    def get(model_id: str) -> Path:
        if model_id not in done:
            tflite = (shared_dir / "models" / f"{model_id}.tflite").read_bytes()
            compile_model(tflite, model_id, root / model_id)
            done[model_id] = root / model_id
        return done[model_id]

    return get


@pytest.mark.parametrize("cpu", sorted(MACHINES))
@pytest.mark.parametrize("model_id", sorted(CASES))
def test_engine_on_emulated_cortex_m_matches_tflite_micro(
    model_id: str,
    cpu: str,
    plans: Callable[[str], Path],
    shared_dir: Path,
    reference: ReferenceFactory,
    tmp_path: Path,
) -> None:
    tflite = (shared_dir / "models" / f"{model_id}.tflite").read_bytes()
    ref = reference(tflite)
    count = CASES[model_id]
    if model_id == "kws01":
        files = sorted((shared_dir / "datasets" / "kws01").glob("*.bin"))[:count]
        inputs = [f.read_bytes() for f in files]
    else:
        size = {"vww01": 96 * 96 * 3, "ic01": 32 * 32 * 3, "ad01": 640}[model_id]
        rng = np.random.default_rng(len(model_id) + count)
        inputs = [rng.integers(-128, 128, size=size, dtype=np.int8).tobytes() for _ in range(count)]
    image = build_runner(plans(model_id), inputs, tmp_path, cpu)
    result = run_runner(image, cpu, count)
    assert result.outputs == [ref(x) for x in inputs]
    assert result.repeats == result.outputs
    assert all(t > 0 for t in result.ticks)
