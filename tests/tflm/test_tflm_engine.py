"""The tflm engine (upstream TF Lite Micro + CMSIS-NN) end to end on qemu-m4.

Needs the upstream trees in the dependency cache; without them the whole module is one
counted skip that names the commands filling the cache.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from datagen import write_dataset
from tflm_sources import missing_tflm_sources
from tinybench.build.firmware import FirmwareBuild, build_firmware
from tinybench.build.tflm import build_library, tflm_commit
from tinybench.cli import cli
from tinybench.dut.emulator import QemuDut
from tinybench.dut.session import DutSession
from tinybench.paths import locate
from tinybench.project import Project

_MISSING = missing_tflm_sources()
if _MISSING is not None:
    # The message names the missing tree and both `tinybench deps fetch` and
    # `tinybench deps import DIR`.
    pytest.skip(
        f"tflm engine tests need the upstream sources: {_MISSING}",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def project() -> Project:
    return Project(locate())


@pytest.fixture(scope="module")
def kws01_tflm(project: Project) -> FirmwareBuild:
    return build_firmware(project, "qemu-m4", "tflm", "kws01", "cmsis-nn")


def _run(args: list[str]) -> str:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def test_the_library_is_built_once_and_then_reused(
    project: Project, kws01_tflm: FirmwareBuild
) -> None:
    library = build_library(project.locations, "qemu-m4", "cmsis-nn")
    assert not library.rebuilt
    assert library.path.parent.parent == project.locations.cache_dir / "tflm-lib"
    assert library.path.parent.name.startswith("cortex-m4-cmsis-nn-")
    assert kws01_tflm.kernels == "cmsis-nn"


def test_kws01_first_200_match_the_reference_with_tflm_on_qemu_m4(
    kws01_tflm: FirmwareBuild, tmp_path: Path
) -> None:
    output = _run(
        ["run", "kws01", "--engine", "tflm", "--limit", "200", "--out", str(tmp_path / "r")]
    )
    assert "200 compared, 0 mismatches" in output
    document = json.loads((tmp_path / "r" / "results.json").read_text())
    assert document["engine"] == "tflm"
    assert document["reference_check"]["mismatches"] == 0


@pytest.mark.parametrize("board", ["qemu-m7", "qemu-m55"])
def test_kws01_first_50_match_the_reference_with_tflm_on(board: str, tmp_path: Path) -> None:
    output = _run(["run", "kws01", "--engine", "tflm", "--board", board, "--limit", "50",
                   "--out", str(tmp_path / "r")])  # fmt: skip
    assert "50 compared, 0 mismatches" in output


def test_the_firmware_reports_engine_version_and_arena_use(
    project: Project, kws01_tflm: FirmwareBuild, kws01_sample: bytes
) -> None:
    with QemuDut(project.board("qemu-m4"), kws01_tflm.image, time_limit_s=60) as qemu:
        session = DutSession(qemu.transport)
        session.synchronize()
        info = session.info()
    assert info.get("engine") == "tflm"
    assert info.get("engine_version") == f"{tflm_commit(project.locations)[:7]}+cmsis-nn"
    assert info.get("engine_status") == "ok"
    used = info.integer("arena_used")
    assert 20_000 < used <= info.integer("arena_bytes")


def test_repeated_invokes_give_the_output_of_a_single_one(
    project: Project, kws01_tflm: FirmwareBuild, kws01_samples: list[bytes]
) -> None:
    """TF Lite Micro reuses the input tensor's memory: the engine must restore the input."""
    raw: dict[tuple[int, int, int], bytes] = {}
    with QemuDut(project.board("qemu-m4"), kws01_tflm.image, time_limit_s=120) as qemu:
        session = DutSession(qemu.transport)
        session.synchronize()
        for index, sample in enumerate(kws01_samples[:2]):
            session.load(sample)
            for count, warmup in ((1, 0), (3, 2), (1, 0)):
                session.infer(count, warmup)
                raw[(index, count, warmup)] = session.results_raw()
    for index in (0, 1):
        assert raw[(index, 3, 2)] == raw[(index, 1, 0)]
    assert raw[(0, 1, 0)] != raw[(1, 1, 0)]  # a new input does reach the model


@pytest.mark.parametrize(
    ("model_id", "labels"),
    [("vww01", [0, 1, 1, 0]), ("ic01", [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]), ("ad01", [0, 1])],
)
def test_generated_sets_match_the_reference_with_tflm_on_qemu_m4(
    project: Project, tmp_path: Path, model_id: str, labels: list[int]
) -> None:
    model = project.model(model_id)
    write_dataset(tmp_path / "data", model.dataset, labels, seed=5)
    output = _run(
        [
            "run", model_id, "--engine", "tflm", "--board", "qemu-m4",
            "--dataset", str(tmp_path / "data"), "--out", str(tmp_path / "r"),
        ]
    )  # fmt: skip
    assert f"{len(labels)} compared, 0 mismatches" in output


def test_reference_kernels_match_the_reference_too(tmp_path: Path) -> None:
    output = _run(
        [
            "run", "kws01", "--engine", "tflm", "--kernels", "reference", "--limit", "20",
            "--out", str(tmp_path / "r"),
        ]
    )  # fmt: skip
    assert "20 compared, 0 mismatches" in output
    document = json.loads((tmp_path / "r" / "results.json").read_text())
    version = document["provenance"]["dut_info"]["engine_version"]
    assert version == f"{tflm_commit(locate())[:7]}+reference"


@pytest.fixture(scope="module")
def kws01_samples(shared_dir: Path) -> list[bytes]:
    folder = shared_dir / "datasets" / "kws01"
    names = ["tst_000000_Stop_7.bin", "tst_000001_Left_2.bin"]
    return [(folder / name).read_bytes() for name in names]


@pytest.fixture(scope="module")
def kws01_sample(kws01_samples: list[bytes]) -> bytes:
    return kws01_samples[0]
