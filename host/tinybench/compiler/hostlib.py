"""Building the native engine with a compiled plan for the host, and running it via ctypes.

Used by the tests (bit-exactness against tflite-micro) and by bench/native_engine.py. Needs a
host C compiler (`cc`/`gcc`). The sources are every `.c` of the engine core
(firmware/engines/native/) plus every `.c` of one kernel set's directory beneath it, the same
split the firmware build makes.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class HostEngineError(Exception):
    """Building or running the native engine on the host failed."""


WARNINGS = (
    "-std=c99",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-pedantic",
    "-Wshadow",
    "-Wmissing-prototypes",
    "-Wstrict-prototypes",
)


def repo_root() -> Path:
    return Path(__file__).resolve().parents[3]


def engine_dir() -> Path:
    return repo_root() / "firmware" / "engines" / "native"


def include_dir() -> Path:
    return repo_root() / "firmware" / "include"


def kernel_sets() -> tuple[str, ...]:
    """The kernel sets the firmware has: the directories beside the engine core."""
    return tuple(sorted(d.name for d in engine_dir().iterdir() if d.is_dir()))


def kernel_set_dir(kernels: str) -> Path:
    if kernels not in kernel_sets():
        raise HostEngineError(
            f"unknown native kernel set {kernels!r} (known: {', '.join(kernel_sets())})"
        )
    return engine_dir() / kernels


def engine_sources(kernels: str = "reference") -> list[Path]:
    """The engine core's sources, then the kernel set's: its own files, and reference's for
    every file it does not specialise (the firmware builder applies the same rule)."""
    core = sorted(engine_dir().glob("*.c"))
    own = sorted(kernel_set_dir(kernels).glob("*.c"))
    names = {path.name for path in own}
    borrowed = [p for p in sorted(kernel_set_dir("reference").glob("*.c")) if p.name not in names]
    return core + sorted(own + borrowed, key=lambda path: path.name)


def host_cc() -> str:
    cc = os.environ.get("CC") or shutil.which("gcc") or shutil.which("cc")
    if not cc:
        raise HostEngineError("no host C compiler found (install gcc or set CC)")
    return cc


def _run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise HostEngineError(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr}")


def build_engine_objects(
    build_dir: Path, opt: str = "-O2", kernels: str = "reference"
) -> list[Path]:
    """Compile the engine core and one kernel set once (position independent) into build_dir."""
    build_dir.mkdir(parents=True, exist_ok=True)
    objects = []
    for source in engine_sources(kernels):
        obj = build_dir / (source.stem + ".o")
        _run([host_cc(), *WARNINGS, opt, "-fPIC", "-I", str(include_dir()), "-I",
              str(engine_dir()), "-c", str(source), "-o", str(obj)])  # fmt: skip
        objects.append(obj)
    return objects


class _View(ctypes.Structure):
    _fields_ = [  # ctypes wants a plain list
        ("data", ctypes.POINTER(ctypes.c_int8)),
        ("bytes", ctypes.c_uint32),
        ("rank", ctypes.c_uint32),
        ("dims", ctypes.c_int32 * 4),
        ("scale", ctypes.c_float),
        ("zero_point", ctypes.c_int32),
    ]


_HOOK = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_char_p, ctypes.c_uint32)


class _ModelInfo(ctypes.Structure):
    _fields_ = [  # tb_model_info_t of engine.h
        ("id", ctypes.c_char_p),
        ("sha256", ctypes.c_char_p),
        ("input_format", ctypes.c_uint32),
        ("result_kind", ctypes.c_uint32),
    ]


class _PlanOp(ctypes.Structure):
    _fields_ = [  # tb_native_op_t of tb_native_plan.h
        ("kind", ctypes.c_uint32),
        ("name", ctypes.c_char_p),
        ("input", ctypes.c_uint32 * 2),
        ("output", ctypes.c_uint32),
        ("scratch_offset", ctypes.c_uint32),
        ("scratch_bytes", ctypes.c_uint32),
        ("params", ctypes.c_void_p),
    ]


class _PlanHead(ctypes.Structure):
    _fields_ = [  # the leading fields of tb_native_plan_t
        ("version", ctypes.c_uint32),
        ("model_id", ctypes.c_char_p),
        ("model_sha256", ctypes.c_char_p),
        ("input_format", ctypes.c_uint32),
        ("result_kind", ctypes.c_uint32),
        ("arena_bytes", ctypes.c_uint32),
        ("op_count", ctypes.c_uint32),
        ("ops", ctypes.POINTER(_PlanOp)),
    ]


@dataclass(frozen=True)
class OpScratch:
    """One op's scratch: what the plan reserved and what the linked kernel set asks."""

    name: str
    offset: int
    planned: int
    queried: int


@dataclass(frozen=True)
class TensorInfo:
    bytes: int
    dims: tuple[int, ...]
    scale: float
    zero_point: int


class HostEngine:
    """One native-engine shared library (one model) loaded into this process."""

    def __init__(self, library: Path, arena_extra: int = 0) -> None:
        self._lib = ctypes.CDLL(str(library))
        self._hook: Any = None
        for fn in ("tb_engine_init", "tb_engine_input", "tb_engine_output", "tb_engine_invoke",
                   "tb_engine_bind_input"):  # fmt: skip
            getattr(self._lib, fn).restype = ctypes.c_int
        self._lib.tb_engine_arena_required.restype = ctypes.c_size_t
        self._lib.tb_engine_init.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        self.arena_bytes = int(self._lib.tb_engine_arena_required())
        size = self.arena_bytes + arena_extra + 16
        self._arena_raw = (ctypes.c_uint8 * size)()
        base = ctypes.addressof(self._arena_raw)
        self._arena_addr = (base + 15) // 16 * 16
        status = self._lib.tb_engine_init(self._arena_addr, self.arena_bytes + arena_extra)
        if status != 0:
            raise HostEngineError(f"tb_engine_init failed with status {status}")
        self.output = self._view("tb_engine_output")
        # The input is the caller's buffer, as the harness's db buffer on a board: this one
        # (16-byte aligned) is bound once; set_input writes it, inference never does.
        in_bytes = self._view("tb_engine_input").bytes
        self._input_raw = (ctypes.c_uint8 * (in_bytes + 16))()
        self._in_addr = (ctypes.addressof(self._input_raw) + 15) // 16 * 16
        self.bind_input(self._in_addr, in_bytes)
        self.input = self._view("tb_engine_input")

    def bind_input(self, address: int, size: int) -> None:
        """Hand the engine the input tensor at `address` (tb_engine_bind_input)."""
        self._lib.tb_engine_bind_input.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        status = self._lib.tb_engine_bind_input(address, size)
        if status != 0:
            raise HostEngineError(f"tb_engine_bind_input failed with status {status}")

    def _view(self, fn: str) -> TensorInfo:
        view = _View()
        status = getattr(self._lib, fn)(ctypes.byref(view))
        if status != 0:
            raise HostEngineError(f"{fn} failed with status {status}")
        addr = ctypes.cast(view.data, ctypes.c_void_p).value or 0
        if fn == "tb_engine_output":
            self._out_addr = addr
        return TensorInfo(
            int(view.bytes), tuple(int(d) for d in view.dims[: view.rank]), float(view.scale),
            int(view.zero_point),
        )  # fmt: skip

    @property
    def arena_address(self) -> int:
        """Address of the arena the engine was initialised with (16-byte aligned)."""
        return self._arena_addr

    @property
    def input_address(self) -> int:
        """Address of the bound input buffer (outside the arena)."""
        return self._in_addr

    def set_op_hook(self, hook: Callable[[int, str, int], None] | None) -> None:
        """Calls hook(op_index, op_name, phase) before (0) and after (1) every op; None stops."""
        if hook is None:
            self._hook = None
            self._lib.tb_engine_set_op_hook(None, None)
            return

        def forward(_context: int | None, index: int, name: bytes | None, phase: int) -> None:
            hook(int(index), (name or b"").decode(), int(phase))

        self._hook = _HOOK(forward)  # kept referenced while the engine may call it
        self._lib.tb_engine_set_op_hook(self._hook, None)

    def set_input(self, data: bytes) -> None:
        if len(data) != self.input.bytes:
            raise ValueError(f"input has {len(data)} bytes, the model takes {self.input.bytes}")
        ctypes.memmove(self._in_addr, data, len(data))

    def get_input(self) -> bytes:
        return ctypes.string_at(self._in_addr, self.input.bytes)

    def invoke(self) -> None:
        status = self._lib.tb_engine_invoke()
        if status != 0:
            raise HostEngineError(f"tb_engine_invoke failed with status {status}")

    def get_output(self) -> bytes:
        return ctypes.string_at(self._out_addr, self.output.bytes)

    def run(self, data: bytes) -> bytes:
        self.set_input(data)
        self.invoke()
        return self.get_output()

    def _model_info(self) -> _ModelInfo:
        self._lib.tb_engine_model.restype = ctypes.POINTER(_ModelInfo)
        info: _ModelInfo = self._lib.tb_engine_model().contents
        return info

    def model_id(self) -> str:
        return (self._model_info().id or b"").decode()

    def model_sha256(self) -> str:
        return (self._model_info().sha256 or b"").decode()

    def model_io(self) -> tuple[int, int]:
        """(input_format, result_kind) as the engine reports them (engine.h enumerators)."""
        info = self._model_info()
        return int(info.input_format), int(info.result_kind)

    def version(self) -> str:
        self._lib.tb_engine_version.restype = ctypes.c_char_p
        return (self._lib.tb_engine_version() or b"").decode()

    def op_scratch(self) -> list[OpScratch]:
        """Every op's planned scratch next to the linked kernel set's own query."""
        head = _PlanHead.in_dll(self._lib, "tb_native_plan")
        query = self._lib.tb_native_op_scratch_bytes
        query.restype = ctypes.c_uint32
        query.argtypes = [ctypes.POINTER(_PlanOp)]
        ops = []
        for i in range(head.op_count):
            op = head.ops[i]
            ops.append(OpScratch((op.name or b"").decode(), int(op.scratch_offset),
                                 int(op.scratch_bytes), int(query(ctypes.byref(op)))))  # fmt: skip
        return ops

    def arena_used(self) -> int:
        self._lib.tb_engine_arena_used.restype = ctypes.c_size_t
        return int(self._lib.tb_engine_arena_used())


def build_host_engine(
    plan_dir: Path,
    build_dir: Path,
    objects: list[Path] | None = None,
    opt: str = "-O2",
    kernels: str = "reference",
) -> Path:
    """Link the engine (core + kernel set, or the prebuilt `objects`) with the plan in plan_dir
    into a shared library; return its path."""
    build_dir.mkdir(parents=True, exist_ok=True)
    if objects is None:
        objects = build_engine_objects(build_dir / "engine", opt, kernels)
    plan_obj = build_dir / "tb_native_model.o"
    _run([host_cc(), *WARNINGS, "-O1", "-fPIC", "-I", str(engine_dir()), "-I", str(include_dir()),
          "-c", str(plan_dir / "tb_native_model.c"), "-o", str(plan_obj)])  # fmt: skip
    library = build_dir / "libtb_native.so"
    _run([host_cc(), "-shared", "-Wl,-Bsymbolic", "-o", str(library), str(plan_obj),
          *[str(o) for o in objects]])  # fmt: skip
    return library
