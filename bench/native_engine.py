"""Benchmark of the native engine: flash, arena and time per model, next to tflite-micro.

    .venv/bin/python bench/native_engine.py [--models kws01,vww01] [--runs 30] [--no-bisect]

Flash: the engine code plus the generated plan (weights, biases, requantization tables, op
table) compiled for Cortex-M4F (arm-none-eabi-gcc -Os, the flags of boards/qemu-m4.toml), summed
from the allocated, non-NOBITS sections of the objects (pyelftools). Arena: the native plan's
peak against the smallest arena the host tflite-micro interpreter accepts (found by bisecting
`arena_size`; 64-bit host). Host time: median wall time of one invoke (native built with gcc -O2
as a shared library, tflite-micro through its Python binding; both include the call overhead).
Instructions per inference on emulated Cortex-M cores come from the real firmware:
bench/dut_slice.py. Benchmarks print numbers; nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile

from tinybench.build.boardgen import arch_flags
from tinybench.compiler import compile_model
from tinybench.compiler.hostlib import (
    HostEngine,
    build_host_engine,
    engine_dir,
    engine_sources,
    include_dir,
)
from tinybench.manifests.boards import load_board_manifest

ROOT = Path(__file__).resolve().parents[1]


MODELS = ("kws01", "vww01", "ic01", "ad01")
TFLM_ARENA_FALLBACK = {"kws01": 24_272, "vww01": 103_672, "ic01": 55_984, "ad01": 4_632}
# The Cortex-M4F flags of the qemu-m4 board, from its manifest (the firmware build's mapping).
M4_FLAGS = list(arch_flags(load_board_manifest(ROOT / "boards", "qemu-m4")))


def shared_dir() -> Path:
    return Path(os.environ.get("TINYBENCH_SHARED_DIR", ROOT.parent / "shared"))


def flash_bytes(obj: Path) -> int:
    """Bytes an object puts in flash: allocated sections with contents (.text, .rodata, .data)."""
    total = 0
    with obj.open("rb") as f:
        for section in ELFFile(f).iter_sections():
            flags = section["sh_flags"]
            if flags & SH_FLAGS.SHF_ALLOC and section["sh_type"] != "SHT_NOBITS":
                total += section["sh_size"]
    return total


def arm_objects(sources: list[Path], out_dir: Path, opt: str) -> list[Path]:
    objects = []
    for source in sources:
        obj = out_dir / (source.stem + ".o")
        subprocess.run(
            ["arm-none-eabi-gcc", *M4_FLAGS, "-std=c99", opt, "-ffunction-sections",
             "-fdata-sections", "-I", str(include_dir()), "-I", str(engine_dir()), "-c",
             str(source), "-o", str(obj)],
            check=True,
        )  # fmt: skip
        objects.append(obj)
    return objects


@contextlib.contextmanager
def quiet_fds() -> Iterator[None]:
    """Silence the C++ interpreter's allocation messages on stdout/stderr."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)


def tflm_min_arena(path: Path, input_shape: tuple[int, ...]) -> int:
    """Smallest arena_size for which tflite-micro allocates and invokes (bisection)."""
    from tflite_micro.python.tflite_micro import runtime

    def works(size: int) -> bool:
        try:
            with quiet_fds():
                it = runtime.Interpreter.from_file(str(path), arena_size=size)
                it.set_input(np.zeros(input_shape, dtype=np.int8), 0)
                it.invoke()
        except RuntimeError:
            return False
        return True

    lo, hi = 0, 1 << 16
    while not works(hi):
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if works(mid):
            hi = mid
        else:
            lo = mid
    return hi


def median_ms(fn: Callable[[], None], runs: int) -> float:
    fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--no-bisect", action="store_true", help="use the arenas in docs/design.md")
    args = parser.parse_args()
    if shutil.which("arm-none-eabi-gcc") is None:
        print("arm-none-eabi-gcc is needed for the flash numbers", file=sys.stderr)
        return 2
    from tflite_micro.python.tflite_micro import runtime

    with tempfile.TemporaryDirectory(prefix="tb-bench-") as tmp_name:
        tmp = Path(tmp_name)
        engine_objs = arm_objects(engine_sources("reference"), tmp, "-Os")
        engine_flash = sum(flash_bytes(o) for o in engine_objs)
        print(f"engine code (cortex-m4, -Os, reference kernels + runner): {engine_flash} B flash")
        header = (
            f"{'model':6} {'ops':>3} {'weights':>8} {'plan flash':>10} {'total flash':>11} "
            f"{'arena':>7} {'tflm arena':>10} {'ratio':>5} {'native ms':>9} {'tflm ms':>8}"
        )
        print(header)
        print("-" * len(header))
        for model_id in [m for m in args.models.split(",") if m]:
            path = shared_dir() / "models" / f"{model_id}.tflite"
            work = tmp / model_id
            result = compile_model(path.read_bytes(), model_id, work / "plan")
            plan_obj = arm_objects([result.source_path], work, "-Os")[0]
            plan_flash = flash_bytes(plan_obj)
            engine = HostEngine(build_host_engine(work / "plan", work / "host"))
            shape = engine.input.dims
            rng = np.random.default_rng(0)
            data = rng.integers(-128, 128, size=engine.input.bytes, dtype=np.int8)
            engine.set_input(data.tobytes())
            native_ms = median_ms(engine.invoke, args.runs)
            it = runtime.Interpreter.from_file(str(path))

            shaped = data.reshape(shape)

            def tflm_once(it: object = it, shaped: np.ndarray = shaped) -> None:
                # TFLM reuses the input memory: set the input before every invoke.
                it.set_input(shaped, 0)  # type: ignore[attr-defined]
                it.invoke()  # type: ignore[attr-defined]

            tflm_ms = median_ms(tflm_once, args.runs)
            if args.no_bisect:
                tflm_arena, note = TFLM_ARENA_FALLBACK[model_id], "*"
            else:
                tflm_arena, note = tflm_min_arena(path, shape), ""
            ratio = result.arena_bytes / tflm_arena
            print(
                f"{model_id:6} {result.op_count:>3} {result.weights_bytes:>8} {plan_flash:>10} "
                f"{engine_flash + plan_flash:>11} {result.arena_bytes:>7} "
                f"{tflm_arena:>9}{note or ' '} {ratio:>5.2f} {native_ms:>9.3f} {tflm_ms:>8.3f}"
            )
    print("bytes; arena = native plan peak vs smallest host tflite-micro arena"
          + (" (* docs/design.md constants)" if args.no_bisect else " (bisected)")
          + "; times = median host wall time per invoke")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
