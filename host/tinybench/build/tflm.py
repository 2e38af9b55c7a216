"""The `tflm` engine's host side: upstream TF Lite Micro built into a cached static library,
and the per-model plan directory (model bytes, op resolver) its firmware adapter compiles.

Nothing upstream is vendored. The trees come from the dependency cache that
`tinybench deps fetch` (or `tinybench deps import DIR`) fills, found through
`tinybench.deps.dependency_dir`. The library is compiled with the system
arm-none-eabi-gcc/g++ straight from those trees, once per core and kernel set, into

    <cache>/tflm-lib/<cpu>-<kernels>-<hash>/libtflm.a   (+ flags.json for the firmware build;
    <hash> covers every compile command and source, so clones share a build and a change
    of sources, flags or compiler makes a new one)

and rebuilt only when the stamp (a hash of the compiler, the flags, the source list and
the sources' contents) changes. Optimization follows TF Lite Micro's own Makefile: -Os for
the interpreter framework (code size, run once), -O2 for the kernels and CMSIS-NN (the
inference hot path). Upstream files are compiled without -Werror (they are not ours and are
not warning-clean under every GCC); the adapter in firmware/engines/tflm is compiled by the
PlatformIO build with -Wall -Wextra -Werror like every other project file.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tinybench.deps import dependency_dir, load_manifest, manifest_path
from tinybench.errors import TinybenchError
from tinybench.filelock import exclusive_lock
from tinybench.paths import Locations

if TYPE_CHECKING:
    from tinybench.compiler.emit import ModelIO
    from tinybench.manifests.models import ModelManifest

TFLM_DEPENDENCY = "tflite-micro"  # its commit is pinned in deps.toml, nowhere else
KERNEL_SETS = ("cmsis-nn", "reference")
DEFAULT_KERNELS = "cmsis-nn"
CXX_RUNTIME_PACKAGE = "libstdc++-arm-none-eabi-newlib"
PLAN_HEADER = "tb_tflm_model.h"
PLAN_SOURCE = "tb_tflm_model.c"
PLAN_OPS = "tb_tflm_ops.cc"
_PREFIX = "arm-none-eabi-"
_STAMP_VERSION = "1"

# The interpreter framework: only what a model with builtin int8 ops needs (no recording
# allocator, no profiler implementation, no resource-variable ops beyond the class).
_FRAMEWORK = (
    "tensorflow/lite/micro/micro_interpreter.cc",
    "tensorflow/lite/micro/micro_interpreter_context.cc",
    "tensorflow/lite/micro/micro_interpreter_graph.cc",
    "tensorflow/lite/micro/micro_allocator.cc",
    "tensorflow/lite/micro/micro_allocation_info.cc",
    "tensorflow/lite/micro/micro_context.cc",
    "tensorflow/lite/micro/micro_log.cc",
    "tensorflow/lite/micro/micro_op_resolver.cc",
    "tensorflow/lite/micro/micro_resource_variable.cc",
    "tensorflow/lite/micro/micro_utils.cc",
    "tensorflow/lite/micro/memory_helpers.cc",
    "tensorflow/lite/micro/flatbuffer_utils.cc",
    "tensorflow/lite/micro/arena_allocator/non_persistent_arena_buffer_allocator.cc",
    "tensorflow/lite/micro/arena_allocator/persistent_arena_buffer_allocator.cc",
    "tensorflow/lite/micro/arena_allocator/single_arena_buffer_allocator.cc",
    "tensorflow/lite/micro/memory_planner/greedy_memory_planner.cc",
    "tensorflow/lite/micro/memory_planner/linear_memory_planner.cc",
    "tensorflow/lite/micro/tflite_bridge/flatbuffer_conversions_bridge.cc",
    "tensorflow/lite/micro/tflite_bridge/micro_error_reporter.cc",
    "tensorflow/lite/core/api/flatbuffer_conversions.cc",
    "tensorflow/lite/core/c/common.cc",
    "tensorflow/compiler/mlir/lite/schema/schema_utils.cc",
    "tensorflow/compiler/mlir/lite/core/api/error_reporter.cc",
    "tensorflow/lite/micro/cortex_m_generic/debug_log.cc",
)
# Kernel sources shared by both kernel sets.
_KERNELS_COMMON = (
    "tensorflow/lite/micro/kernels/reshape.cc",
    "tensorflow/lite/micro/kernels/reshape_common.cc",
    "tensorflow/lite/micro/kernels/conv_common.cc",
    "tensorflow/lite/micro/kernels/depthwise_conv_common.cc",
    "tensorflow/lite/micro/kernels/fully_connected_common.cc",
    "tensorflow/lite/micro/kernels/pooling_common.cc",
    "tensorflow/lite/micro/kernels/softmax_common.cc",
    "tensorflow/lite/micro/kernels/kernel_util.cc",
    "tensorflow/lite/kernels/kernel_util.cc",
    "tensorflow/lite/kernels/internal/common.cc",
    "tensorflow/lite/kernels/internal/quantization_util.cc",
    "tensorflow/lite/kernels/internal/portable_tensor_utils.cc",
    "tensorflow/lite/kernels/internal/reference/portable_tensor_utils.cc",
    "tensorflow/lite/kernels/internal/tensor_ctypes.cc",
)
# Ops with an optimized CMSIS-NN kernel in TFLM (same file name in kernels/cmsis_nn/).
_SWAPPABLE = ("add", "conv", "depthwise_conv", "fully_connected", "pooling", "softmax")

# Builtin op name -> the MicroMutableOpResolver call that registers its int8 kernel. With
# CMSIS_NN defined, `Register_<OP>_INT8()` returns the int8-only CMSIS-NN kernel (smaller
# than the generic registration, which also links the int16/int4 paths); without it the
# same call is TFLM's inline alias for the reference kernel.
OP_REGISTRATIONS: dict[str, str] = {
    "ADD": "AddAdd(tflite::Register_ADD_INT8())",
    "AVERAGE_POOL_2D": "AddAveragePool2D(tflite::Register_AVERAGE_POOL_2D_INT8())",
    "CONV_2D": "AddConv2D(tflite::Register_CONV_2D_INT8())",
    "DEPTHWISE_CONV_2D": "AddDepthwiseConv2D(tflite::Register_DEPTHWISE_CONV_2D_INT8())",
    "FULLY_CONNECTED": "AddFullyConnected(tflite::Register_FULLY_CONNECTED_INT8())",
    "MAX_POOL_2D": "AddMaxPool2D(tflite::Register_MAX_POOL_2D_INT8())",
    "RESHAPE": "AddReshape()",
    "SOFTMAX": "AddSoftmax(tflite::Register_SOFTMAX_INT8())",
}


class TflmBuildError(TinybenchError):
    """The TF Lite Micro library or a tflm plan could not be built."""


@dataclass(frozen=True)
class TflmTrees:
    """The upstream source trees one build uses (each a repository root in the cache)."""

    tflite_micro: Path
    cmsis_nn: Path
    flatbuffers: Path
    gemmlowp: Path
    ruy: Path

    def include_dirs(self, kernels: str) -> list[Path]:
        dirs = [
            self.tflite_micro,
            self.flatbuffers / "include",
            self.gemmlowp,
            self.ruy,
        ]
        if kernels == "cmsis-nn":
            dirs += [self.cmsis_nn, self.cmsis_nn / "Include"]
        return dirs


@dataclass(frozen=True)
class TflmLibrary:
    path: Path  # libtflm.a
    flags_path: Path  # flags.json: what the firmware build needs to compile against it
    kernels: str
    version: str
    rebuilt: bool


@dataclass(frozen=True)
class TflmPlan:
    plan_dir: Path
    ops: tuple[str, ...]  # builtin op names, in first-use order
    arena_bytes: int  # the harness's arena: an estimate with margin (see estimate_arena)
    input_bytes: int


def find_trees(locations: Locations, kernels: str) -> TflmTrees:
    """The cached upstream trees; raises naming `tinybench deps fetch` when one is missing."""
    check_kernels(kernels)
    return TflmTrees(
        tflite_micro=dependency_dir(locations, TFLM_DEPENDENCY),
        cmsis_nn=dependency_dir(locations, "cmsis-nn"),
        flatbuffers=dependency_dir(locations, "flatbuffers"),
        gemmlowp=dependency_dir(locations, "gemmlowp"),
        ruy=dependency_dir(locations, "ruy"),
    )


def check_kernels(kernels: str) -> None:
    if kernels not in KERNEL_SETS:
        raise TflmBuildError(f"unknown kernel set {kernels!r} (known: {', '.join(KERNEL_SETS)})")


def tflm_commit(locations: Locations) -> str:
    """The pinned TF Lite Micro commit, read from deps.toml."""
    return load_manifest(manifest_path(locations)).get(TFLM_DEPENDENCY).commit


def engine_version(locations: Locations, kernels: str) -> str:
    return f"{tflm_commit(locations)[:7]}+{kernels}"


def check_cxx_runtime() -> None:
    """Fails clearly when arm-none-eabi-g++ has no C++ standard headers (Debian splits them)."""
    try:
        result = subprocess.run(
            [_PREFIX + "g++", "-x", "c++", "-std=c++17", "-fsyntax-only", "-"],
            input="#include <new>\n#include <cstdint>\n",
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TflmBuildError(
            f"cannot run {_PREFIX}g++ ({exc}); install gcc-arm-none-eabi and {CXX_RUNTIME_PACKAGE}"
        ) from exc
    if result.returncode != 0:
        raise TflmBuildError(
            f"{_PREFIX}g++ cannot find the C++ standard headers, which the tflm engine needs: "
            f"install the Debian package {CXX_RUNTIME_PACKAGE} "
            f"(apt-get install -y --no-install-recommends {CXX_RUNTIME_PACKAGE}, ~1.5 GB)"
        )


def source_list(trees: TflmTrees, kernels: str) -> list[Path]:
    """Every file compiled into libtflm.a for this kernel set (157 for cmsis-nn, 45 reference)."""
    check_kernels(kernels)
    micro_kernels = "tensorflow/lite/micro/kernels"
    relative = list(_FRAMEWORK) + list(_KERNELS_COMMON)
    if kernels == "cmsis-nn":
        relative += [f"{micro_kernels}/cmsis_nn/{name}.cc" for name in _SWAPPABLE]
    else:
        relative += [f"{micro_kernels}/{name}.cc" for name in _SWAPPABLE]
        relative.append(f"{micro_kernels}/add_common.cc")
    files = [trees.tflite_micro / r for r in relative]
    if kernels == "cmsis-nn":
        for path in sorted((trees.cmsis_nn / "Source").rglob("*.c")):
            if path.name.endswith(("_f16.c", "_f32.c")) or path.name == "arm_nntables_flt.c":
                continue
            files.append(path)
    missing = [str(p) for p in files if not p.is_file()]
    if missing:
        raise TflmBuildError(
            f"{len(missing)} TF Lite Micro source file(s) missing from the dependency cache, "
            f"e.g. {missing[0]}; refill it with `tinybench deps fetch`"
        )
    return files


def _is_kernel(path: Path, trees: TflmTrees) -> bool:
    if path.is_relative_to(trees.cmsis_nn):
        return True
    rel = path.relative_to(trees.tflite_micro).as_posix()
    return rel.startswith(("tensorflow/lite/micro/kernels/", "tensorflow/lite/kernels/"))


def board_arch_flags(locations: Locations, board_id: str) -> tuple[str, list[str]]:
    """(cpu, -mcpu/-mthumb/-mfpu/-mfloat-abi flags) from the board manifest, through the same
    mapping the firmware build uses (boardgen.arch_flags), so library and firmware agree."""
    from tinybench.build.boardgen import arch_flags, is_cortex_m
    from tinybench.manifests.boards import load_board_manifest

    board = load_board_manifest(locations.boards_manifest_dir, board_id)
    if not is_cortex_m(board):
        raise TflmBuildError("the tflm engine builds for Cortex-M boards only, not the host board")
    return board.core, list(arch_flags(board))


def defines(kernels: str) -> list[str]:
    names = ["TF_LITE_STATIC_MEMORY", "NDEBUG"]
    if kernels == "cmsis-nn":
        names += ["CMSIS_NN", "ARM_NN_ENABLE_F16=0", "ARM_NN_ENABLE_F32=0"]
    return names


_COMMON_FLAGS = [
    "-ffunction-sections",
    "-fdata-sections",
    "-fno-unwind-tables",
    "-fno-asynchronous-unwind-tables",
    "-fmessage-length=0",
    "-g",
]
_CXX_FLAGS = ["-std=c++17", "-fno-rtti", "-fno-exceptions", "-fno-threadsafe-statics"]
# Upstream code: warnings stay visible in the compiler output we discard, never fatal.
_UPSTREAM_WARNINGS = ["-w"]


def _compile_command(
    source: Path, obj: Path, trees: TflmTrees, kernels: str, arch: list[str]
) -> list[str]:
    cxx = source.suffix == ".cc"
    opt = "-O2" if _is_kernel(source, trees) else "-Os"
    command = [_PREFIX + ("g++" if cxx else "gcc"), *arch, opt, *_COMMON_FLAGS]
    command += _CXX_FLAGS if cxx else ["-std=c99"]
    command += _UPSTREAM_WARNINGS
    command += ["-D" + d for d in defines(kernels)]
    command += ["-I" + str(d) for d in trees.include_dirs(kernels)]
    command += ["-c", str(source), "-o", str(obj)]
    return command


def _toolchain_id() -> str:
    try:
        out = subprocess.run(
            [_PREFIX + "g++", "--version"], capture_output=True, text=True, timeout=60
        ).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TflmBuildError(f"cannot run {_PREFIX}g++: {exc}") from exc
    return out.splitlines()[0] if out else "unknown"


def _stamp(commands: Sequence[Sequence[str]], sources: Sequence[Path]) -> str:
    digest = hashlib.sha256()
    digest.update(f"{_STAMP_VERSION}\n{_toolchain_id()}\n".encode())
    for command, source in zip(commands, sources, strict=True):
        digest.update("\0".join(command).encode())
        digest.update(hashlib.sha256(source.read_bytes()).digest())
    return digest.hexdigest()


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    with exclusive_lock(directory / ".lock"):
        yield


def _run_compile(command: list[str]) -> str | None:
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    if result.returncode == 0:
        return None
    tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
    return f"{' '.join(command[:1])} ... {command[-3]}:\n{tail}"


def build_library(
    locations: Locations, board_id: str, kernels: str = DEFAULT_KERNELS, jobs: int | None = None
) -> TflmLibrary:
    """Builds (or reuses) libtflm.a for the board's core and the kernel set."""
    check_kernels(kernels)
    trees = find_trees(locations, kernels)
    check_cxx_runtime()
    cpu, arch = board_arch_flags(locations, board_id)
    sources = source_list(trees, kernels)
    relative_objects = []
    for source in sources:
        base = trees.cmsis_nn if source.is_relative_to(trees.cmsis_nn) else trees.tflite_micro
        tag = "cmsis-nn" if base == trees.cmsis_nn else "tflm"
        relative_objects.append(Path("obj") / tag / source.relative_to(base).with_suffix(".o"))
    # The library is content-addressed: its directory is named by a hash of every compile
    # command (without output paths) and every source, so all clones and checkouts on this
    # machine share one build, and a change of sources, flags or compiler gets a new one.
    key = _stamp(
        [_compile_command(src, obj, trees, kernels, arch)
         for src, obj in zip(sources, relative_objects, strict=True)],
        sources,
    )  # fmt: skip
    out_dir = locations.cache_dir / "tflm-lib" / f"{cpu}-{kernels}-{key[:16]}"
    objects = [out_dir / obj for obj in relative_objects]
    commands = [
        _compile_command(src, obj, trees, kernels, arch)
        for src, obj in zip(sources, objects, strict=True)
    ]
    version = engine_version(locations, kernels)
    flags = {
        "version": version,
        "kernels": kernels,
        "cxxflags": _CXX_FLAGS,
        "defines": defines(kernels),
        "include_dirs": [str(d) for d in trees.include_dirs(kernels)],
    }
    library = out_dir / "libtflm.a"
    flags_path = out_dir / "flags.json"
    stamp_path = out_dir / "stamp.txt"
    with _locked(out_dir):
        stamp = key
        flags_text = json.dumps(flags, indent=2) + "\n"
        if (
            library.is_file()
            and stamp_path.is_file()
            and stamp_path.read_text().strip() == stamp
            and flags_path.is_file()
            and flags_path.read_text() == flags_text
        ):
            return TflmLibrary(library, flags_path, kernels, version, rebuilt=False)
        stamp_path.unlink(missing_ok=True)
        for obj in objects:
            obj.parent.mkdir(parents=True, exist_ok=True)
        workers = jobs or os.cpu_count() or 1
        with ThreadPoolExecutor(max_workers=workers) as pool:
            failures = [f for f in pool.map(_run_compile, commands) if f is not None]
        if failures:
            raise TflmBuildError(
                f"compiling TF Lite Micro ({kernels}) failed in {len(failures)} file(s); "
                f"first:\n{failures[0]}"
            )
        library.unlink(missing_ok=True)
        archive = subprocess.run(
            [_PREFIX + "gcc-ar", "rcs", str(library), *map(str, objects)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if archive.returncode != 0:
            raise TflmBuildError(f"archiving {library} failed:\n{archive.stderr.strip()}")
        flags_path.write_text(flags_text)
        stamp_path.write_text(stamp + "\n")
    return TflmLibrary(library, flags_path, kernels, version, rebuilt=True)


# ---------------------------------------------------------------------------------------------
# The per-model plan directory


def estimate_arena(tflite: bytes) -> int:
    """Arena bytes for TF Lite Micro: a host plan of the activations plus TFLM's own
    bookkeeping (tensor and node structs, per-channel quantization arrays, kernel scratch)
    with a margin. TFLM's planner needs temporary room beyond arena_used_bytes(), so this is
    sized generously; the firmware reports the real arena_used after init."""
    from tinybench.compiler.model import read_model
    from tinybench.compiler.planner import PlanOp, align_up, plan_arena

    model = read_model(tflite)
    sizes = {t.index: t.size for t in model.tensors if t.data is None}
    plan_ops = [
        PlanOp(tuple(i for i in op.inputs if i >= 0 and i in sizes), op.outputs[0], False)
        for op in model.operators
    ]
    peak = plan_arena(plan_ops, sizes, model.inputs[0], model.outputs[0]).peak
    per_channel = 0  # conv/depthwise: int32 output multiplier and shift per channel
    fc_outputs = 0  # fully connected: CMSIS-NN's int32 kernel sums
    scratch = 0  # CMSIS-NN im2col / depthwise buffer: int16 copies of one kernel window
    for op in model.operators:
        out = model.tensors[op.outputs[0]]
        channels = out.shape[-1] if out.shape else 1
        if op.name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            per_channel += channels
            window = 1
            for dim in model.tensors[op.inputs[1]].shape[1:]:
                window *= dim
            scratch = max(scratch, 4 * window)
        elif op.name == "FULLY_CONNECTED":
            fc_outputs += channels
    # Measured on qemu-m4 (docs/tflm-engine.md): TFLM needs peak + 1.7 to 18 KB on the four
    # models, dominated by the per-channel arrays; tensor and node structs are small.
    bookkeeping = 8 * per_channel + 4 * fc_outputs + 16 * len(model.tensors)
    bookkeeping += 64 * len(model.operators)
    return align_up(peak + bookkeeping + scratch + peak // 16 + 1024, 1024)


def _c_bytes(data: bytes) -> str:
    lines = []
    for start in range(0, len(data), 16):
        chunk = data[start : start + 16]
        lines.append("    " + ", ".join(f"0x{b:02x}" for b in chunk) + ",")
    return "\n".join(lines)


def plan_files(
    tflite: bytes, model_id: str, io: ModelIO | None = None
) -> tuple[dict[str, str], TflmPlan]:
    """The generated sources of one model (name -> text) and what they contain. `io` (input
    format and result kind, from the model manifest) goes into the header, where the adapter
    reads it for tb_engine_model(); default int8 input, scores."""
    from tinybench.compiler.emit import INPUT_FORMAT_C, RESULT_KIND_C, ModelIO
    from tinybench.compiler.model import read_model

    io = io or ModelIO()
    model = read_model(tflite)
    ops: list[str] = []
    for op in model.operators:
        if op.name not in ops:
            ops.append(op.name)
    unsupported = [name for name in ops if name not in OP_REGISTRATIONS]
    if unsupported:
        raise TflmBuildError(
            f"model {model_id} uses op(s) {', '.join(unsupported)} that the tflm engine's "
            f"source list does not build (supported: {', '.join(sorted(OP_REGISTRATIONS))})"
        )
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise TflmBuildError(f"model {model_id} must have one input and one output tensor")
    input_bytes = model.tensors[model.inputs[0]].size
    problem = io.problem(input_bytes, model.tensors[model.outputs[0]].size)
    if problem is not None:
        raise TflmBuildError(f"model {model_id}: {problem}")
    arena = estimate_arena(tflite)
    sha = hashlib.sha256(tflite).hexdigest()
    header = f"""\
/* Generated by tinybench (host/tinybench/build/tflm.py) for model {model_id}. Do not edit. */
#ifndef TB_TFLM_MODEL_H
#define TB_TFLM_MODEL_H

#include <stdint.h>

#include "engine.h"

#define TB_TFLM_OP_COUNT {len(ops)}u
#define TB_TFLM_INPUT_BYTES {input_bytes}u
#define TB_TFLM_ARENA_BYTES {arena}u
/* How the harness feeds the model and reports results (from the model manifest). */
#define TB_TFLM_INPUT_FORMAT {INPUT_FORMAT_C[io.input_format]}
#define TB_TFLM_RESULT_KIND {RESULT_KIND_C[io.result_kind]}

#ifdef __cplusplus
extern "C" {{
#endif

extern const uint8_t tb_tflm_model_data[];
extern const uint32_t tb_tflm_model_size;
extern const char tb_tflm_model_id[];
extern const char tb_tflm_model_sha256[];

#ifdef __cplusplus
}}
#endif

#endif /* TB_TFLM_MODEL_H */
"""
    source = f"""\
/* Generated by tinybench (host/tinybench/build/tflm.py) for model {model_id}. Do not edit. */
#include "{PLAN_HEADER}"

const char tb_tflm_model_id[] = "{model_id}";
const char tb_tflm_model_sha256[] = "{sha}";
const uint32_t tb_tflm_model_size = {len(tflite)}u;

/* The .tflite file as is; TF Lite Micro reads it in place (16-byte aligned). */
__attribute__((aligned(16))) const uint8_t tb_tflm_model_data[{len(tflite)}] = {{
{_c_bytes(tflite)}
}};
"""
    calls = "\n".join(
        f"    if (resolver.{OP_REGISTRATIONS[name]} != kTfLiteOk) {{\n        return false;\n    }}"
        for name in ops
    )
    ops_source = f"""\
// Generated by tinybench (host/tinybench/build/tflm.py) for model {model_id}. Do not edit.
// Registers exactly the ops the model uses: {", ".join(ops)}.
#include "tb_tflm_ops.h"

bool tb_tflm_register_ops(TbTflmOpResolver &resolver)
{{
{calls}
    return true;
}}
"""
    files = {PLAN_HEADER: header, PLAN_SOURCE: source, PLAN_OPS: ops_source}
    plan = TflmPlan(Path(), tuple(ops), arena, input_bytes)
    return files, plan


def write_plan(tflite: bytes, manifest: ModelManifest, plan_dir: Path) -> TflmPlan:
    """Writes the plan directory of the manifest's model, touching only files whose contents
    changed (so PlatformIO, which compares signatures, rebuilds nothing when the model did not
    change)."""
    from tinybench.compiler.emit import ModelIO

    files, plan = plan_files(tflite, manifest.model_id, ModelIO.of(manifest))
    plan_dir.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = plan_dir / name
        if not path.is_file() or path.read_text() != text:
            path.write_text(text)
    for stale in plan_dir.iterdir():
        if stale.is_file() and stale.name not in files:
            stale.unlink()
    return TflmPlan(plan_dir, plan.ops, plan.arena_bytes, plan.input_bytes)
