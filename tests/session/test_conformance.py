"""What the standard runners send, byte for byte, against the QEMU firmware.

The MLCommons runner (mlcommons/tiny benchmark/runner), as docs/design.md records it:
after opening the port it sleeps without flushing (so the boot banner is still
waiting), sends `name` then `profile`, each written as the text and then `%`
alone; per sample `db load N`, hex lines of 31 bytes (`db ` + 62 lowercase hex
digits), waiting for `m-ready` after each, then `infer 1 0` and reads
`m-results-[...]` from the infer reply. The EnergyRunner also sends `results`.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from tinybench.build.firmware import FirmwareBuild
from tinybench.dut.emulator import QemuDut
from tinybench.project import Project

from .rawlink import RawLink


def _reference_floats(shared_dir: Path, sample: bytes) -> list[float]:
    from tflite_micro.python.tflite_micro import runtime

    interpreter = runtime.Interpreter.from_file(str(shared_dir / "models" / "kws01.tflite"))
    interpreter.set_input(np.frombuffer(sample, dtype=np.int8).reshape(1, 49, 10, 1), 0)
    interpreter.invoke()
    raw = np.asarray(interpreter.get_output(0), dtype=np.int8).reshape(-1)
    return [round((int(v) + 128) * 0.00390625, 3) for v in raw]


def test_the_mlcommons_runner_sequence_is_answered_as_it_expects(
    project: Project, qemu_m4_kws01: FirmwareBuild, shared_dir: Path
) -> None:
    samples = sorted((shared_dir / "datasets" / "kws01").glob("tst_00000*.bin"))[:3]
    with QemuDut(project.board("qemu-m4"), qemu_m4_kws01.image, time_limit_s=120) as qemu:
        time.sleep(0.5)  # the runner sleeps after opening the port and does not flush
        host = RawLink(qemu.transport)
        # The banner is still queued (the runner reads it as the start of its first answer):
        # it must be exactly m-init-done and one m-ready.
        assert host.until_ready() == ["m-init-done"]
        assert host.send_like_the_mlcommons_runner("name") == ["m-name-dut-[tinybench]"]
        profile = host.send_like_the_mlcommons_runner("profile")
        assert "m-model-[kws01]" in profile
        for path in samples:
            data = path.read_bytes()
            assert host.send_like_the_mlcommons_runner(f"db load {len(data)}") == [
                f"m-[Expecting {len(data)} bytes]"
            ]
            replies: list[str] = []
            for start in range(0, len(data), 31):
                line = "db " + data[start : start + 31].hex()
                assert len(line) + 1 <= 80
                replies += host.send_like_the_mlcommons_runner(line)
            assert replies == ["m-load-done"]
            infer = host.send_like_the_mlcommons_runner("infer 1 0")
            assert infer[:2] == ["m-warmup-start-0", "m-warmup-done"]
            assert infer[2] == "m-infer-start-1"
            results = [line for line in infer if line.startswith("m-results-[")]
            assert len(results) == 1
            values = [float(v) for v in results[0][len("m-results-[") : -1].split(",")]
            assert values == _reference_floats(shared_dir, data)
            assert (
                host.send_like_the_mlcommons_runner("results") == results
            )  # the EnergyRunner asks again
        timestamp = host.send_like_the_mlcommons_runner("timestamp")
        assert len(timestamp) == 1 and timestamp[0].startswith("m-lap-us-")
