"""The engine.h contract of the native engine: init checks, status codes and the op hook."""

from __future__ import annotations

import ctypes
from pathlib import Path

import pytest
from native_modelgen import residual_block

from tinybench.compiler import compile_model
from tinybench.compiler.hostlib import _View, build_host_engine

OK, TOO_SMALL, ALIGNMENT, NOT_READY, INPUT = 0, 1, 2, 3, 6
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
    dll.tb_engine_bind_input.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    return dll


def _input_bytes(lib: ctypes.CDLL) -> int:
    view = _View()
    assert lib.tb_engine_input(ctypes.byref(view)) == OK
    return int(view.bytes)


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
    assert lib.tb_engine_invoke() == NOT_READY  # no input bound yet
    size = _input_bytes(lib)
    inp, inp_base = _aligned(size)
    assert lib.tb_engine_bind_input(None, size) == INPUT
    assert lib.tb_engine_bind_input(inp_base + 1, size) == INPUT
    assert lib.tb_engine_bind_input(inp_base, size - 1) == INPUT
    assert lib.tb_engine_invoke() == NOT_READY
    assert lib.tb_engine_bind_input(inp_base, size) == OK
    assert lib.tb_engine_invoke() == OK
    assert lib.tb_engine_name() == b"native"
    del raw, inp


def test_bound_input_is_never_written_and_init_unbinds(lib: ctypes.CDLL) -> None:
    need = lib.tb_engine_arena_required()
    raw, base = _aligned(need)
    assert lib.tb_engine_init(base, need) == OK
    size = _input_bytes(lib)
    inp, inp_base = _aligned(size)
    pattern = bytes((7 * i + 3) % 256 for i in range(size))
    ctypes.memmove(inp_base, pattern, size)
    assert lib.tb_engine_bind_input(inp_base, size) == OK
    view = _View()
    assert lib.tb_engine_input(ctypes.byref(view)) == OK
    assert ctypes.cast(view.data, ctypes.c_void_p).value == inp_base
    assert lib.tb_engine_invoke() == OK and lib.tb_engine_invoke() == OK
    assert ctypes.string_at(inp_base, size) == pattern
    assert lib.tb_engine_init(base, need) == OK
    assert lib.tb_engine_invoke() == NOT_READY  # a new init forgets the old binding
    del raw, inp


def test_op_hook_sees_every_op_before_and_after(lib: ctypes.CDLL) -> None:
    calls: list[tuple[int, str, int]] = []

    def record(_ctx: int | None, index: int, name: bytes, phase: int) -> None:
        calls.append((index, name.decode(), phase))

    hook = HOOK(record)

    raw, base = _aligned(lib.tb_engine_arena_required())
    assert lib.tb_engine_init(base, lib.tb_engine_arena_required()) == OK
    inp, inp_base = _aligned(_input_bytes(lib))
    assert lib.tb_engine_bind_input(inp_base, _input_bytes(lib)) == OK
    lib.tb_engine_set_op_hook(hook, None)
    assert lib.tb_engine_invoke() == OK
    names = ["CONV_2D", "CONV_2D", "ADD", "MAX_POOL_2D"]
    assert calls == [(i, n, phase) for i, n in enumerate(names) for phase in (0, 1)]
    lib.tb_engine_set_op_hook(None, None)
    assert lib.tb_engine_invoke() == OK
    assert len(calls) == 8
    del raw, inp
