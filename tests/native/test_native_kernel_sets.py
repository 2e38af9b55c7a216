"""Kernel sets of the native engine, caller-owned scratch buffers and the plan version.

The reference set needs no scratch anywhere, so the planner is also exercised with a test-only
size table: while each op runs, the test fills that op's scratch with garbage (as a kernel that
uses all of it would) and the outputs must still equal tflite-micro's.
"""

from __future__ import annotations

import ctypes
import re
from pathlib import Path

import numpy as np
import pytest
from native_modelgen import ReferenceFactory, random_softmax, residual_block

from tinybench.compiler import (
    KERNEL_SETS,
    CompileError,
    ModelIO,
    analyze_model,
    compile_model,
)
from tinybench.compiler.emit import PLAN_VERSION
from tinybench.compiler.hostlib import (
    HostEngine,
    HostEngineError,
    build_host_engine,
    engine_dir,
    engine_sources,
    kernel_set_dir,
    kernel_sets,
)
from tinybench.compiler.lower import LoweredOp
from tinybench.compiler.scratch import scratch_query
from tinybench.manifests.models import InputFormat, ResultKind

MODELS = ("kws01", "vww01", "ic01", "ad01")
ERR_MODEL = 4


def _tflite(shared_dir: Path, model_id: str) -> bytes:
    return (shared_dir / "models" / f"{model_id}.tflite").read_bytes()


def _test_scratch(op: LoweredOp) -> int:
    """A test-only size table: nonzero, different per op, some sizes not multiples of 16."""
    return 0 if op.struct == "reshape" else 40 + 24 * op.index


def _load(plan: Path, build: Path, objects: list[Path]) -> HostEngine:
    return HostEngine(build_host_engine(plan, build, objects))


def test_the_kernel_sets_are_the_directories_beside_the_engine_core() -> None:
    assert kernel_sets() == ("dsp", "mve", "reference")
    assert kernel_sets() == KERNEL_SETS  # every directory has a scratch mirror, and no more
    # The core holds the plan runner only; the kernels live in the set.
    core = sorted(p.name for p in engine_dir().glob("*.c"))
    assert core == ["tb_native_engine.c"]
    assert (kernel_set_dir("reference") / "tb_native_conv.c").is_file()


def test_a_set_takes_every_file_it_does_not_specialise_from_reference() -> None:
    reference = {p.name for p in kernel_set_dir("reference").glob("*.c")}
    for kernels in kernel_sets():
        sources = engine_sources(kernels)
        names = [p.name for p in sources if p.parent != engine_dir()]
        assert sorted(names) == sorted(reference)  # one of each file, no duplicate symbol
        for path in sources:
            if path.parent != engine_dir() and (kernel_set_dir(kernels) / path.name).is_file():
                assert path.parent == kernel_set_dir(kernels)  # its own file wins


def test_an_unknown_kernel_set_is_refused_naming_the_known_ones(tmp_path: Path) -> None:
    known = r"\(known: dsp, mve, reference\)"
    with pytest.raises(CompileError, match=r"unknown native kernel set 'sse' " + known):
        compile_model(residual_block(0), "m", tmp_path, kernels="sse")
    with pytest.raises(HostEngineError, match="known: dsp, mve, reference"):
        kernel_set_dir("sse")


def test_engine_version_names_the_kernel_set(tmp_path: Path, engine_objects: list[Path]) -> None:
    compile_model(residual_block(1), "m", tmp_path / "plan")
    engine = _load(tmp_path / "plan", tmp_path / "build", engine_objects)
    assert re.fullmatch(r"\d+\.\d+\.\d+\+reference", engine.version()), engine.version()


@pytest.mark.parametrize("model_id", MODELS)
def test_the_c_scratch_query_agrees_with_the_planner_for_every_op(
    model_id: str, shared_dir: Path, tmp_path: Path, engine_objects: list[Path]
) -> None:
    tflite = _tflite(shared_dir, model_id)
    compile_model(tflite, model_id, tmp_path / "plan")
    engine = _load(tmp_path / "plan", tmp_path / "build", engine_objects)
    ops = engine.op_scratch()
    mirror = scratch_query("reference")
    lowered = analyze_model(tflite).ops
    assert len(ops) == len(lowered) > 0
    for op, low in zip(ops, lowered, strict=True):
        assert op.name == low.name
        assert op.queried == mirror(low) == op.planned, (model_id, low.index, low.name)


@pytest.mark.parametrize("model_id", ["kws01", "ic01"])
def test_planned_scratch_never_overlaps_a_live_tensor(model_id: str, shared_dir: Path) -> None:
    compiled = analyze_model(_tflite(shared_dir, model_id), scratch=_test_scratch)
    model, arena = compiled.model, compiled.arena
    end = len(compiled.ops) - 1
    first = {model.inputs[0]: -1}
    last = {model.inputs[0]: end, model.outputs[0]: end}
    for i, op in enumerate(compiled.ops):
        first.setdefault(op.output, i)
        for t in (*op.inputs, op.output):
            last[t] = max(last.get(t, i), i)
    sizes = {t.index: t.size for t in model.tensors}
    assert set(arena.scratch) == {i for i, op in enumerate(compiled.ops) if _test_scratch(op) > 0}
    for i, (offset, size) in arena.scratch.items():
        assert size == _test_scratch(compiled.ops[i])
        assert offset % 16 == 0 and offset + size <= arena.peak
        for t, off in arena.offsets.items():
            if first[t] <= i <= last[t]:
                assert offset + size <= off or off + sizes[t] <= offset, (i, t)
    # The scratch of different ops may share memory (each lives for one op only).
    without = analyze_model(_tflite(shared_dir, model_id)).arena.peak
    total = sum(size for _, size in arena.scratch.values())
    assert without <= arena.peak < without + total


@pytest.mark.parametrize("model_id", ["kws01", "ic01"])
def test_a_plan_with_scratch_runs_bit_exact_when_kernels_scribble_on_their_scratch(
    model_id: str,
    shared_dir: Path,
    tmp_path: Path,
    engine_objects: list[Path],
    reference: ReferenceFactory,
) -> None:
    tflite = _tflite(shared_dir, model_id)
    result = compile_model(tflite, model_id, tmp_path / "plan", scratch=_test_scratch)
    engine = _load(tmp_path / "plan", tmp_path / "build", engine_objects)
    assert engine.arena_bytes == result.arena_bytes
    planned = engine.op_scratch()
    assert [op.planned for op in planned] == [_test_scratch(op) for op in analyze_model(tflite).ops]
    touched: list[int] = []

    def scribble(index: int, name: str, phase: int) -> None:
        op = planned[index]
        assert name == op.name
        if op.planned:
            ctypes.memset(engine.arena_address + op.offset, 0xA5 + phase, op.planned)
            touched.append(index)

    engine.set_op_hook(scribble)
    run_reference = reference(tflite)
    rng = np.random.default_rng(3)
    for _ in range(10):
        data = rng.integers(-128, 128, engine.input.bytes, dtype=np.int8).tobytes()
        assert engine.run(data) == run_reference(data)
        assert engine.get_input() == data
    engine.set_op_hook(None)
    assert len(touched) == 10 * 2 * sum(1 for op in planned if op.planned)


def _edit_plan(plan: Path, old: str, new: str, count: int = 1) -> None:
    source = plan / "tb_native_model.c"
    text = source.read_text()
    assert text.count(old) >= count, old
    source.write_text(text.replace(old, new, count))


def test_a_plan_of_the_old_version_is_refused(tmp_path: Path, engine_objects: list[Path]) -> None:
    assert PLAN_VERSION == 5
    compile_model(residual_block(2), "m", tmp_path / "plan")
    # A plan generated for version 4 does not compile against the version 5 header ...
    old = tmp_path / "old"
    old.mkdir()
    for f in (tmp_path / "plan").iterdir():
        (old / f.name).write_text(f.read_text())
    _edit_plan(old, "#if TB_NATIVE_PLAN_VERSION != 5u", "#if TB_NATIVE_PLAN_VERSION != 4u")
    with pytest.raises(HostEngineError, match="does not match the compiler"):
        build_host_engine(old, tmp_path / "old-build", engine_objects)
    # ... and a plan that claims version 4 is refused at init.
    _edit_plan(tmp_path / "plan", ".version = 5u,", ".version = 4u,")
    with pytest.raises(HostEngineError, match=f"tb_engine_init failed with status {ERR_MODEL}"):
        _load(tmp_path / "plan", tmp_path / "build", engine_objects)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        # scratch beyond the arena
        (
            ".scratch_offset = 0u, .scratch_bytes = 0u",
            ".scratch_offset = 4096000u, .scratch_bytes = 16u",
        ),
        # scratch running past the end of the arena
        (
            ".scratch_offset = 0u, .scratch_bytes = 0u",
            ".scratch_offset = 0u, .scratch_bytes = 4096000u",
        ),
        # an input format engine.h does not define
        (".input_format = TB_INPUT_INT8,", ".input_format = 7u,"),
        (".result_kind = TB_RESULT_SCORES,", ".result_kind = 5u,"),
    ],
)
def test_an_inconsistent_plan_is_refused_at_init(
    old: str, new: str, tmp_path: Path, engine_objects: list[Path]
) -> None:
    compile_model(residual_block(2), "m", tmp_path / "plan")
    _edit_plan(tmp_path / "plan", old, new)
    with pytest.raises(HostEngineError, match=f"tb_engine_init failed with status {ERR_MODEL}"):
        _load(tmp_path / "plan", tmp_path / "build", engine_objects)


@pytest.mark.parametrize(
    ("io", "expected"),
    [
        (None, (0, 0)),
        (ModelIO(InputFormat.UINT8_OFFSET, ResultKind.SCORES), (1, 0)),
        (ModelIO(InputFormat.FLOAT32, ResultKind.MSE), (2, 1)),
    ],
)
def test_the_engine_reports_the_input_format_and_result_kind_of_its_plan(
    io: ModelIO | None,
    expected: tuple[int, int],
    tmp_path: Path,
    engine_objects: list[Path],
) -> None:
    # A softmax keeps its input's size, as an autoencoder does (mse needs that).
    compile_model(random_softmax(0), "m", tmp_path / "plan", io=io)
    assert _load(tmp_path / "plan", tmp_path / "build", engine_objects).model_io() == expected


def test_model_manifests_give_the_plan_its_input_format_and_result_kind(repo_root: Path) -> None:
    from tinybench.manifests.models import load_model_manifests

    manifests = load_model_manifests(repo_root / "models")
    got = {m: (ModelIO.of(x).input_format, ModelIO.of(x).result_kind) for m, x in manifests.items()}
    assert got == {
        "kws01": (InputFormat.INT8, ResultKind.SCORES),
        "vww01": (InputFormat.UINT8_OFFSET, ResultKind.SCORES),
        "ic01": (InputFormat.UINT8_OFFSET, ResultKind.SCORES),
        "ad01": (InputFormat.FLOAT32, ResultKind.MSE),
    }


def test_an_mse_result_needs_an_output_the_size_of_the_input(tmp_path: Path) -> None:
    from tinybench.build.tflm import TflmBuildError, plan_files

    io = ModelIO(InputFormat.FLOAT32, ResultKind.MSE)
    tflite = residual_block(0)
    model = analyze_model(tflite).model
    assert model.tensors[model.inputs[0]].size != model.tensors[model.outputs[0]].size
    with pytest.raises(CompileError, match="result kind mse compares the output with the input"):
        compile_model(tflite, "m", tmp_path, io=io)
    assert not (tmp_path / "tb_native_model.c").exists()
    with pytest.raises(TflmBuildError, match="result kind mse compares the output"):
        plan_files(tflite, "m", io)
    with pytest.raises(CompileError, match="the float32 input, but the input format is int8"):
        compile_model(
            random_softmax(0), "m", tmp_path, io=ModelIO(InputFormat.INT8, ResultKind.MSE)
        )
