"""A native image links only the kernels of the op kinds its model has: the plan header lists
them (TB_NATIVE_USES_<KIND>), the engine's dispatch leaves the others out and --gc-sections
drops their code. ad01 is FULLY_CONNECTED only; kws01 has convolutions, a pool, a reshape, a
fully connected layer and a softmax, but no ADD and no MAX_POOL_2D."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

KERNELS = {
    "CONV_2D": "tb_native_conv_s8",
    "DEPTHWISE_CONV_2D": "tb_native_depthwise_conv_s8",
    "FULLY_CONNECTED": "tb_native_fully_connected_s8",
    "AVERAGE_POOL_2D": "tb_native_avg_pool_s8",
    "MAX_POOL_2D": "tb_native_max_pool_s8",
    "ADD": "tb_native_add_s8",
    "SOFTMAX": "tb_native_softmax_s8",
}
USED = {
    "ad01": {"FULLY_CONNECTED"},
    "kws01": {"CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "FULLY_CONNECTED", "SOFTMAX"},
}


@pytest.mark.parametrize(("model", "kernels"), [("ad01", "reference"), ("kws01", "mve")])
def test_an_image_links_only_the_kernels_of_its_op_kinds(
    repo_root: Path, shared_dir: Path, model: str, kernels: str
) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(repo_root / "host"),
        "TINYBENCH_SHARED_DIR": str(shared_dir),
    }
    board = "qemu-m55" if kernels == "mve" else "qemu-m4"
    built = subprocess.run(
        [sys.executable, "-m", "tinybench", "build", "--model", model, "--board", board,
         "--kernels", kernels],
        capture_output=True, text=True, env=env, cwd=repo_root,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    image = Path(next(line for line in built.stdout.splitlines() if line.endswith(".elf")))
    header = repo_root / "build" / "models" / f"{model}-{kernels}" / "tb_native_model.h"
    text = header.read_text()
    for kind in KERNELS:
        assert f"#define TB_NATIVE_USES_{kind} {int(kind in USED[model])}" in text
    symbols = subprocess.run(
        ["arm-none-eabi-nm", str(image)], capture_output=True, text=True, check=True
    ).stdout.split()
    linked = {kind for kind, symbol in KERNELS.items() if symbol in symbols}
    assert linked == USED[model]
