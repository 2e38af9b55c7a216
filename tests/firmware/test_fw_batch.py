"""(h) `batch IN OUT COUNT N W` on the host-port firmware + TEST DOUBLE engine: each record
equals what `db file` + `infer N W` + `results raw` print for the same input, and every bad
argument gets an error without touching a file outside the working directory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from double_model import SPECS, parse_raw, parse_results, random_upload
from dutio import host_dut

from tinybench.dut.batch import parse_records


@pytest.mark.parametrize("model", ["kws01", "vww01", "ad01"])
def test_batch_records_equal_the_per_sample_replies(
    host_fw: Callable[[str], Path], tmp_path: Path, model: str
) -> None:
    spec = SPECS[model]
    rng = np.random.default_rng(17)
    inputs = [random_upload(spec, rng) for _ in range(4)]
    (tmp_path / "in.bin").write_bytes(b"".join(inputs))
    with host_dut(host_fw(model), cwd=tmp_path) as dut:
        dut.read_until_ready()
        reply = dut.command("batch in.bin out.bin 4 2 1")
        assert len(reply) == 1 and reply[0].startswith("m-batch-[count=4,ticks=")
        out_bytes = spec.out_bytes
        records = parse_records((tmp_path / "out.bin").read_bytes(), 4, out_bytes)
        size = len(inputs[0])
        for k, record in enumerate(records):
            lines = dut.command(f"db file in.bin {k * size} {size}")
            assert lines[-1] == "m-load-done"
            lines = dut.command("infer 2 1")
            assert record.results == tuple(parse_results(lines))
            assert record.raw_output == parse_raw(dut.command("results raw"))
        # the record file's total ticks are the summary's
        assert reply[0] == f"m-batch-[count=4,ticks={sum(r.counter_ticks for r in records)}]"


@pytest.mark.parametrize(
    ("command", "error"),
    [
        ("batch in.bin out.bin 2 1", "e-[batch: usage: batch IN OUT COUNT N W]"),
        ("batch in.bin out.bin 0 1 0", "e-[batch: COUNT must be an integer > 0, got '0']"),
        ("batch in.bin out.bin 2 -1 0", "e-[batch: N must be an integer > 0, got '-1']"),
        ("batch in.bin out.bin 2 1 x", "e-[batch: W must be an integer >= 0, got 'x']"),
        ("batch in.bin in.bin 1 1 0", "e-[batch: IN and OUT must be different files]"),
        ("batch in.bin out.bin 99999999 1 0", "e-[batch: COUNT inputs of 490 bytes exceed"),
        ("batch in.bin out.bin 3 1 0", "e-[batch: cannot read the input at input 2 of 3;"),
        ("batch in.bin ../out.bin 1 1 0", "e-[batch: IN and OUT must be plain file names"),
        ("batch in.bin /tmp/x 1 1 0", "e-[batch: IN and OUT must be plain file names"),
        ("batch in.bin .hidden 1 1 0", "e-[batch: IN and OUT must be plain file names"),
        ("batch in.bin " + "o" * 33 + " 1 1 0", "e-[batch: IN and OUT must be plain file"),
    ],
)
def test_bad_batch_commands_are_refused(
    host_fw: Callable[[str], Path], tmp_path: Path, command: str, error: str
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    spec = SPECS["kws01"]
    rng = np.random.default_rng(3)
    (work / "in.bin").write_bytes(random_upload(spec, rng) + random_upload(spec, rng))
    with host_dut(host_fw("kws01"), cwd=work) as dut:
        dut.read_until_ready()
        reply = dut.command(command)
        assert reply[-1].startswith(error), reply
        assert dut.command("name") == ["m-name-dut-[tinybench]"]  # still answering
    assert not (tmp_path / "out.bin").exists()
    made = {p.name for p in work.iterdir()}
    # Only the run that read past the file wrote (its two records); nothing else was created.
    assert made == ({"in.bin", "out.bin"} if " 3 1 0" in command else {"in.bin"})
