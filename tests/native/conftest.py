"""Fixtures for the native-engine tests: the engine built for the host, the reference
interpreter (tflite-micro), and a helper that compiles a model and loads it."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from native_modelgen import NativeFactory, ReferenceFactory

from tinybench.compiler import compile_model
from tinybench.compiler.hostlib import HostEngine, build_engine_objects, build_host_engine

_counter = itertools.count()


@pytest.fixture(scope="session")
def engine_objects(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return build_engine_objects(tmp_path_factory.mktemp("native-engine"))


@pytest.fixture(scope="session")
def native(tmp_path_factory: pytest.TempPathFactory, engine_objects: list[Path]) -> NativeFactory:
    """Compile a .tflite (bytes) and load the native engine built with its plan."""
    root = tmp_path_factory.mktemp("native-models")

    def make(tflite: bytes, model_id: str = "test") -> HostEngine:
        work = root / f"m{next(_counter)}"
        compile_model(tflite, model_id, work / "plan")
        library = build_host_engine(work / "plan", work / "build", engine_objects)
        return HostEngine(library)

    return make


KernelSetFactory = Callable[..., HostEngine]


@pytest.fixture(scope="session")
def kernel_set_engine(tmp_path_factory: pytest.TempPathFactory) -> KernelSetFactory:
    """`make(tflite, kernels, edit=None)`: compile a .tflite for a kernel set (the plan holds that
    set's scratch sizes) and load the host engine built with that set; `edit` may rewrite the
    plan's C source first. Each set's engine objects are built once per session."""
    root = tmp_path_factory.mktemp("kernel-sets")
    objects: dict[str, list[Path]] = {}

    def make(tflite: bytes, kernels: str, edit: Callable[[str], str] | None = None) -> HostEngine:
        if kernels not in objects:
            objects[kernels] = build_engine_objects(root / f"engine-{kernels}", kernels=kernels)
        work = root / f"m{next(_counter)}"
        compile_model(tflite, "test", work / "plan", kernels=kernels)
        if edit is not None:
            source = work / "plan" / "tb_native_model.c"
            source.write_text(edit(source.read_text()))
        return HostEngine(build_host_engine(work / "plan", work / "build", objects[kernels]))

    return make


@pytest.fixture(scope="session")
def reference() -> ReferenceFactory:
    """Return a function running tflite-micro on one input (bytes in, bytes out)."""
    from tflite_micro.python.tflite_micro import runtime

    def make(tflite: bytes) -> Callable[[bytes], bytes]:
        it = runtime.Interpreter.from_bytes(tflite, arena_size=4 * 1024 * 1024)
        details = it.get_input_details(0)
        shape = tuple(int(d) for d in details["shape"])

        def run(data: bytes) -> bytes:
            # TFLM reuses the input tensor's memory: set the input before every invoke.
            it.set_input(np.frombuffer(data, dtype=np.int8).reshape(shape), 0)
            it.invoke()
            return bytes(np.asarray(it.get_output(0), dtype=np.int8).tobytes())

        return run

    return make
