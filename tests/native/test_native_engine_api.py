"""The engine.h contract of the native engine: init checks, status codes and the op hook."""

from __future__ import annotations

import ctypes
from pathlib import Path

import pytest
from native_modelgen import residual_block

from tinybench.compiler import compile_model
from tinybench.compiler.hostlib import build_host_engine

OK, TOO_SMALL, ALIGNMENT, NOT_READY = 0, 1, 2, 3
HOOK = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_char_p, ctypes.c_uint32)


@pytest.fixture()
def lib(tmp_path: Path, engine_objects: list[Path]) -> ctypes.CDLL:
    """A freshly loaded engine (own library file, so its state starts uninitialised)."""
    compile_model(residual_block(3), "resblock", tmp_path / "plan")
    library = build_host_engine(tmp_path / "plan", tmp_path / "build", engine_objects)
    dll = ctypes.CDLL(str(library))
    dll.tb_engine_arena_required.restype = ctypes.c_size_t
    dll.tb_engine_arena_used.restype = ctypes.c_size_t
    dll.tb_engine_init.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    dll.tb_engine_name.restype = ctypes.c_char_p
    return dll


def _aligned(size: int) -> tuple[ctypes.Array[ctypes.c_uint8], int]:
    raw = (ctypes.c_uint8 * (size + 32))()
    return raw, (ctypes.addressof(raw) + 15) // 16 * 16


def test_invoke_before_init_is_not_ready(lib: ctypes.CDLL) -> None:
    assert lib.tb_engine_invoke() == NOT_READY
    assert lib.tb_engine_arena_used() == 0


def test_init_checks_size_and_alignment(lib: ctypes.CDLL) -> None:
    need = lib.tb_engine_arena_required()
    assert need > 0 and need % 16 == 0
    raw, base = _aligned(need)
    assert lib.tb_engine_init(base + 4, need) == ALIGNMENT
    assert lib.tb_engine_init(base, need - 1) == TOO_SMALL
    assert lib.tb_engine_invoke() == NOT_READY
    assert lib.tb_engine_init(base, need) == OK
    assert lib.tb_engine_arena_used() == need
    assert lib.tb_engine_invoke() == OK
    assert lib.tb_engine_name() == b"native"
    del raw


def test_op_hook_sees_every_op_before_and_after(lib: ctypes.CDLL) -> None:
    calls: list[tuple[int, str, int]] = []

    def record(_ctx: int | None, index: int, name: bytes, phase: int) -> None:
        calls.append((index, name.decode(), phase))

    hook = HOOK(record)

    raw, base = _aligned(lib.tb_engine_arena_required())
    assert lib.tb_engine_init(base, lib.tb_engine_arena_required()) == OK
    lib.tb_engine_set_op_hook(hook, None)
    assert lib.tb_engine_invoke() == OK
    names = ["CONV_2D", "CONV_2D", "ADD", "MAX_POOL_2D"]
    assert calls == [(i, n, phase) for i, n in enumerate(names) for phase in (0, 1)]
    lib.tb_engine_set_op_hook(None, None)
    assert lib.tb_engine_invoke() == OK
    assert len(calls) == 8
    del raw
