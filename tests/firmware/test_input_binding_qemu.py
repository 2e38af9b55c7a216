"""The input hand-off on qemu-m4: the harness builds the int8 input tensor in its own db buffer
and binds it (engine.h tb_engine_bind_input); the native arena holds no copy of it. `infer 3 1`
twice on one loaded input gives the same, reference-exact output, the timing brackets keep their
meaning (the per-run deltas add up to the loop's counter delta), and the db buffer still holds
the loaded bytes afterwards (uint8 inputs are converted in place and given back)."""

from __future__ import annotations

import pytest

from tflm_sources import missing_tflm_sources
from tinybench.build.firmware import build_firmware
from tinybench.compiler import analyze_model
from tinybench.dut.emulator import QemuDut
from tinybench.dut.session import DutSession
from tinybench.inputs import random_wire_inputs
from tinybench.paths import locate
from tinybench.project import Project
from tinybench.reference import ReferenceInterpreter

_VWW01_TFLM = pytest.param(
    "vww01",
    "tflm",
    marks=pytest.mark.skipif(missing_tflm_sources() is not None, reason="no TFLM sources"),
)


@pytest.fixture(scope="module")
def project() -> Project:
    return Project(locate())


def _db_bytes(session: DutSession, count: int) -> bytes:
    reply = session.command(f"db print {count} 0")
    prefix = "m-buffer-"
    data = "".join(line[len(prefix) :] for line in reply.lines if line.startswith(prefix))
    return bytes.fromhex(data)


@pytest.mark.parametrize(
    ("model_id", "engine"),
    [("vww01", "native"), ("kws01", "native"), ("ic01", "native"), ("ad01", "native"),
     _VWW01_TFLM],
)  # fmt: skip
def test_infer_twice_on_one_input_gives_one_output(
    project: Project, model_id: str, engine: str
) -> None:
    manifest = project.model(model_id)
    model_path = project.model_path(manifest)
    build = build_firmware(project, "qemu-m4", engine, manifest)
    reference = ReferenceInterpreter(manifest, model_path)
    wire = random_wire_inputs(manifest, 1, 14)[0]
    expected = reference.run_sample("binding", None, [wire]).raw_outputs[0]
    with QemuDut(project.board("qemu-m4"), build.image, time_limit_s=600) as qemu:
        session = DutSession(qemu.transport, shared_dir=qemu.workdir)
        session.synchronize()
        info = session.info()
        if engine == "native":
            # The arena is the plan's, which has no room for the input.
            compiled = analyze_model(model_path.read_bytes())
            assert info.integer("arena_used") == compiled.arena.peak
            assert compiled.arena.peak <= compiled.arena_bound * 1.05
        session.load(wire)
        outputs = []
        for _ in range(2):
            result = session.infer(3, 1)
            latency = session.latency()
            assert len(latency.ticks) == 3 and latency.dropped == 0
            assert sum(latency.ticks) == result.counter_ticks
            outputs.append(session.results_raw())
            # The db buffer gives the loaded bytes back after every infer.
            assert _db_bytes(session, len(wire)) == wire
        assert outputs[0] == outputs[1] == expected
        # An opprofile in between leaves the input as it was, too.
        session.opprofile()
        assert _db_bytes(session, len(wire)) == wire
        session.infer(1, 0)
        assert session.results_raw() == expected
