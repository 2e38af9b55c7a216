"""compiler/layout.py: the dsp set's interleaved FULLY_CONNECTED weights (TB_NATIVE_FC_ROWS4)
are a permutation of the row-major bytes in the order tb_native_plan.h describes, emitted only
for the dsp set, and the row-major kernel sets refuse them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tinybench.compiler import analyze_model
from tinybench.compiler.hostlib import HostEngine, HostEngineError
from tinybench.compiler.layout import FC_ROW_MAJOR, FC_ROWS4, fc_rows4_weights


@pytest.mark.parametrize(("out_depth", "in_depth"), [(4, 4), (8, 640), (10, 12), (7, 8)])
def test_rows4_is_the_documented_permutation(out_depth: int, in_depth: int) -> None:
    rng = np.random.default_rng(out_depth * 1000 + in_depth)
    rows = rng.integers(-128, 128, size=(out_depth, in_depth)).astype(np.int8)
    got = fc_rows4_weights(rows.reshape(-1), out_depth, in_depth)
    expected: list[int] = []
    blocks = out_depth // 4
    for b in range(blocks):
        for k in range(in_depth // 4):
            for r in range(4):
                expected.extend(rows[4 * b + r, 4 * k : 4 * k + 4].tolist())
    expected.extend(rows[4 * blocks :].reshape(-1).tolist())
    assert got.dtype == np.int8 and got.tolist() == expected


def _fc_ops(tflite: bytes, kernels: str) -> list[dict[str, object]]:
    return [
        {**dict(op.scalars), **dict(op.arrays)}
        for op in analyze_model(tflite, kernels).ops
        if op.name == "FULLY_CONNECTED"
    ]


def test_only_the_dsp_plan_interleaves_and_flash_does_not_grow(shared_dir: Path) -> None:
    tflite = (shared_dir / "models" / "ad01.tflite").read_bytes()
    ref, dsp = _fc_ops(tflite, "reference"), _fc_ops(tflite, "dsp")
    assert {op["weights_layout"] for op in ref} == {FC_ROW_MAJOR}
    assert {op["weights_layout"] for op in dsp} == {FC_ROWS4}  # in_depth 640, 128, 8
    for r, d in zip(ref, dsp, strict=True):
        rw, dw = r["weights"].values, d["weights"].values  # type: ignore[attr-defined]
        assert rw.size == dw.size and not np.array_equal(rw, dw)
        assert sorted(rw.tolist()) == sorted(dw.tolist())
        # the input offset folded into the bias, the weight sums gone
        sums, bias = r["weight_sums"].values, r["bias"].values  # type: ignore[attr-defined]
        folded = bias.astype(np.int64) + int(r["input_offset"]) * sums  # type: ignore[call-overload]
        assert d["bias"].values.tolist() == folded.tolist()  # type: ignore[attr-defined]
        assert "weight_sums" not in d
    saved = sum(4 * int(op["out_depth"]) for op in ref)  # type: ignore[call-overload]
    assert analyze_model(tflite, "dsp").weights_bytes == analyze_model(tflite).weights_bytes - saved


def test_a_layer_breaking_the_requantization_promise_stays_row_major() -> None:
    """A left shift (shift > 0) is outside what the ROWS4 kernel requantizes without checks."""
    from tinybench.compiler.layout import apply_layouts
    from tinybench.compiler.lower import ConstArray, LoweredOp

    rng = np.random.default_rng(3)
    weights = rng.integers(-127, 128, size=(8, 16)).astype(np.int8)
    arrays = (
        ("weights", ConstArray("int8_t", weights.reshape(-1))),
        ("multiplier", ConstArray("int32_t", np.full(8, 1 << 30, dtype=np.int32))),
        ("weight_sums", ConstArray("int32_t", weights.astype(np.int32).sum(axis=1))),
    )
    scalars = (("in_depth", 16), ("out_depth", 8), ("input_offset", 5), ("weights_layout", 0))

    def layout_with(shift: int) -> int:
        shifts = ("shift", ConstArray("int32_t", np.full(8, shift, dtype=np.int32)))
        op = LoweredOp(0, "FULLY_CONNECTED", "fc", (0,), 1, scalars, (*arrays, shifts))
        return int(dict(apply_layouts([op], "dsp")[0].scalars)["weights_layout"])

    assert layout_with(-1) == FC_ROWS4
    assert layout_with(0) == FC_ROW_MAJOR
    assert layout_with(2) == FC_ROW_MAJOR


def test_a_row_major_kernel_refuses_the_interleaved_layout(
    shared_dir: Path, kernel_set_engine: Callable[..., HostEngine]
) -> None:
    """The reference kernels given a plan that claims ROWS4 weights fail the invoke instead of
    reading them as rows."""
    tflite = (shared_dir / "models" / "ad01.tflite").read_bytes()
    engine = kernel_set_engine(
        tflite,
        "reference",
        edit=lambda c: c.replace(".weights_layout = 0,", ".weights_layout = 1,"),
    )
    with pytest.raises(HostEngineError):
        engine.run(bytes(engine.input.bytes))
