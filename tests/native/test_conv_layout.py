"""compiler/layout.py: the mve set's grouped requantization constants for pointwise CONV_2D
(TB_NATIVE_REQUANT_GROUPS4) hold, per group of four channels, the folded biases, the
multipliers and the shifts in the order tb_native_plan.h describes; only the mve plan has them,
only for the convolutions the Helium pointwise path runs, and the other kernel sets refuse them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tinybench.compiler import analyze_model, compile_model
from tinybench.compiler.hostlib import (
    HostEngine,
    HostEngineError,
    build_engine_objects,
    build_host_engine,
)
from tinybench.compiler.layout import (
    REQUANT_ARRAYS,
    REQUANT_GROUPS4,
    apply_layouts,
    conv_groups4_requant,
    folded_bias,
)
from tinybench.compiler.lower import ConstArray, LoweredOp


@pytest.mark.parametrize("channels", [4, 7, 64, 70])
def test_groups4_is_the_documented_table(channels: int) -> None:
    rng = np.random.default_rng(channels)
    folded, mults, shifts = (
        rng.integers(-(2**31), 2**31, channels, dtype=np.int64).astype(np.int32) for _ in range(3)
    )
    got = conv_groups4_requant(folded, mults, shifts)
    expected: list[int] = []
    for g in range(-(-channels // 4)):
        for values in (folded, mults, shifts):
            group = values[4 * g : 4 * g + 4].tolist()
            expected += group + [0] * (4 - len(group))
    assert got.dtype == np.int32 and got.tolist() == expected


def _conv_ops(tflite: bytes, kernels: str) -> list[dict[str, object]]:
    return [
        {**dict(op.scalars), **dict(op.arrays)}
        for op in analyze_model(tflite, kernels).ops
        if op.name == "CONV_2D"
    ]


def test_only_the_mve_plan_groups_the_pointwise_convolutions(shared_dir: Path) -> None:
    tflite = (shared_dir / "models" / "kws01.tflite").read_bytes()
    ref, mve = _conv_ops(tflite, "reference"), _conv_ops(tflite, "mve")
    assert [op["requant_layout"] for op in ref] == [REQUANT_ARRAYS] * 5
    # the first conv (10x4, padded) keeps the arrays; the four 1x1 64 -> 64 convs are grouped
    assert [op["requant_layout"] for op in mve] == [REQUANT_ARRAYS] + [REQUANT_GROUPS4] * 4
    for r, m in zip(ref[1:], mve[1:], strict=True):
        assert {"bias", "multiplier", "shift", "weight_sums"}.isdisjoint(m)
        arrays = {k: v.values for k, v in r.items() if isinstance(v, ConstArray)}
        folded = folded_bias(arrays["bias"], arrays["weight_sums"], int(r["input_offset"]))  # type: ignore[call-overload]
        table = m["requant"].values.reshape(-1, 3, 4)  # type: ignore[attr-defined]
        assert table[:, 0].reshape(-1).tolist() == folded.tolist()
        assert table[:, 1].reshape(-1).tolist() == arrays["multiplier"].tolist()
        assert table[:, 2].reshape(-1).tolist() == arrays["shift"].tolist()
        assert (arrays["shift"] <= 0).all()
    # 64 channels: 12 int32 per 4 channels replace 4 arrays of 64 int32, so flash shrinks
    assert analyze_model(tflite, "mve").weights_bytes < analyze_model(tflite).weights_bytes


def _pointwise(shift: int, in_c: int = 32, k: int = 1, pad: int = 0) -> LoweredOp:
    rng = np.random.default_rng(in_c)
    weights = rng.integers(-127, 128, size=(6, k, k, in_c)).astype(np.int8)
    arrays = (
        ("weights", ConstArray("int8_t", weights.reshape(-1))),
        ("multiplier", ConstArray("int32_t", np.full(6, 1 << 30, dtype=np.int32))),
        ("shift", ConstArray("int32_t", np.array([-3, -1, 0, -2, shift, -4], dtype=np.int32))),
        ("weight_sums", ConstArray("int32_t", weights.reshape(6, -1).astype(np.int32).sum(1))),
    )
    scalars = (
        ("in_c", in_c), ("out_c", 6), ("k_h", k), ("k_w", k), ("pad_h", pad), ("pad_w", pad),
        ("input_offset", 7), ("requant_layout", REQUANT_ARRAYS),
    )  # fmt: skip
    return LoweredOp(0, "CONV_2D", "conv", (0,), 1, scalars, arrays)


@pytest.mark.parametrize(
    ("op", "layout"),
    [
        (_pointwise(shift=0), REQUANT_GROUPS4),
        (_pointwise(shift=1), REQUANT_ARRAYS),  # a left shift: the kernel has none
        (_pointwise(shift=0, in_c=80), REQUANT_ARRAYS),  # more than four vectors per pixel
        (_pointwise(shift=0, in_c=24), REQUANT_ARRAYS),  # not whole vectors
        (_pointwise(shift=0, k=3), REQUANT_ARRAYS),  # not pointwise
        (_pointwise(shift=0, pad=1), REQUANT_ARRAYS),
    ],
)
def test_groups4_only_where_the_pointwise_path_runs(op: LoweredOp, layout: int) -> None:
    assert dict(apply_layouts([op], "mve")[0].scalars)["requant_layout"] == layout
    assert dict(apply_layouts([op], "dsp")[0].scalars)["requant_layout"] == REQUANT_ARRAYS
    assert dict(apply_layouts([op], "reference")[0].scalars)["requant_layout"] == REQUANT_ARRAYS


def test_the_reference_set_refuses_an_mve_plan(shared_dir: Path, tmp_path: Path) -> None:
    """A plan compiled for mve, run by the reference kernels, fails the invoke instead of
    reading NULL arrays."""
    tflite = (shared_dir / "models" / "kws01.tflite").read_bytes()
    compile_model(tflite, "test", tmp_path / "plan", kernels="mve")
    objects = build_engine_objects(tmp_path / "objects", kernels="reference")
    engine = HostEngine(build_host_engine(tmp_path / "plan", tmp_path / "build", objects))
    with pytest.raises(HostEngineError):
        engine.run(bytes(engine.input.bytes))


@pytest.mark.parametrize(
    ("kernels", "op"),
    [(k, op) for k in ("reference", "dsp") for op in ("CONV_2D", "DEPTHWISE_CONV_2D")],
)
def test_the_array_kernels_refuse_a_plan_claiming_groups(
    shared_dir: Path, kernel_set_engine: Callable[..., HostEngine], kernels: str, op: str
) -> None:
    """Every CONV_2D and DEPTHWISE_CONV_2D kernel of the sets that read the arrays checks the
    layout: the plan claims GROUPS4 for the first op of the kind (ic01 begins with a conv,
    vww01's second op is a depthwise)."""
    name = "ic01" if op == "CONV_2D" else "vww01"
    tflite = (shared_dir / "models" / f"{name}.tflite").read_bytes()
    engine = kernel_set_engine(tflite, kernels)
    engine.run(bytes(engine.input.bytes))  # the plan as compiled runs
    engine = kernel_set_engine(
        tflite,
        kernels,
        edit=lambda c: _claim_groups_for_first(c, op),
    )
    with pytest.raises(HostEngineError):
        engine.run(bytes(engine.input.bytes))


def _claim_groups_for_first(source: str, op: str) -> str:
    """The plan's C source with the first `op` struct saying requant_layout = GROUPS4."""
    at = source.index(".requant_layout = 0,", source.index(f": {op} */"))
    return source[:at] + ".requant_layout = 1," + source[at + len(".requant_layout = 0,") :]
