"""The host side of per-op profiling without a DUT: MACs and shapes from the model, the unit per
board, joining the DUT's op lines with the model's ops, the side-by-side table, the JSON format,
and a malformed `opprofile` reply over a scripted transport."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tinybench.cli import cli
from tinybench.dut.session import DutSession, OpProfile, OpTicks, Timeouts
from tinybench.dut.transport.fake import FakeTransport
from tinybench.enginebench import model_macs
from tinybench.errors import ProtocolError, TinybenchError
from tinybench.profile import (
    ModelOp,
    build_table,
    model_ops,
    profile_document,
    profile_unit,
    resolve_config,
    table_lines,
)
from tinybench.project import Project

OPS = (ModelOp("CONV_2D", "1x4x4x8", 1000), ModelOp("SOFTMAX", "1x8", 0))


@pytest.fixture(scope="module")
def project() -> Project:
    from tinybench.paths import locate

    return Project(locate())


@pytest.mark.parametrize("model_id", ["kws01", "vww01", "ic01", "ad01"])
def test_model_ops_macs_add_up_to_the_models_macs(project: Project, model_id: str) -> None:
    tflite = project.model_path(project.model(model_id)).read_bytes()
    ops = model_ops(tflite)
    assert sum(op.macs for op in ops) == model_macs(tflite)
    assert all(op.macs == 0 for op in ops if op.op not in ("CONV_2D", "DEPTHWISE_CONV_2D",
                                                           "FULLY_CONNECTED"))  # fmt: skip
    assert all(op.macs > 0 for op in ops if op.op in ("CONV_2D", "FULLY_CONNECTED"))


def test_kws01_first_op_is_the_10x4_stride_2_conv(project: Project) -> None:
    ops = model_ops(project.model_path(project.model("kws01")).read_bytes())
    assert len(ops) == 13
    # 25x5 outputs x 64 channels, each 10x4x1 multiply-accumulates.
    assert ops[0] == ModelOp("CONV_2D", "1x25x5x64", 25 * 5 * 64 * 10 * 4)
    assert ops[-1].op == "SOFTMAX" and ops[-1].shape == "1x12"


def test_units_per_board(project: Project) -> None:
    assert profile_unit(project.board("qemu-m4"), 25_000_000) == ("instructions", 40.0)
    nucleo = project.board("nucleo-f446re")
    assert profile_unit(nucleo, nucleo.counter_hz) == (
        "cycles",
        nucleo.cpu_hz / nucleo.counter_hz,
    )
    assert profile_unit(project.board("host"), 1_000_000_000) == ("ticks", 1.0)


def test_engine_configs_resolve_like_bench_labels() -> None:
    assert resolve_config("native") == ("native", "native", "reference")
    assert resolve_config("tflm") == ("tflm-cmsis-nn", "tflm", "cmsis-nn")
    assert resolve_config("tflm", "reference") == ("tflm-reference", "tflm", "reference")
    assert resolve_config("tflm-reference") == ("tflm-reference", "tflm", "reference")
    with pytest.raises(TinybenchError, match="unknown engine"):
        resolve_config("onnx")
    with pytest.raises(TinybenchError, match="no kernel set"):
        resolve_config("native-cmsis-nn")
    with pytest.raises(TinybenchError, match="names kernel set"):
        resolve_config("tflm-reference", "cmsis-nn")


def _measured(*ticks: tuple[str, int], total: int) -> OpProfile:
    return OpProfile(tuple(OpTicks(i, op, t) for i, (op, t) in enumerate(ticks)), total)


def test_table_joins_ticks_with_the_models_ops() -> None:
    measured = _measured(("CONV_2D", 300), ("SOFTMAX", 100), total=404)
    table = build_table("native", "native", "reference", ("instructions", 40.0), OPS,
                        measured, 402)  # fmt: skip
    assert table.sum_ticks == 400 and table.whole_ticks == 404 and table.infer_ticks == 402
    first, second = table.ops
    assert (first.count, first.per_mac, first.share) == (12000.0, 12.0, 0.75)
    assert (second.count, second.per_mac, second.share) == (4000.0, None, 0.25)
    block = table.block()
    assert set(block) == {"engine", "kernels", "unit", "per_tick", "whole_ticks", "sum_ticks",
                          "ops", "infer_ticks"}  # fmt: skip
    assert set(block["ops"][0]) == {"index", "op", "shape", "macs", "ticks", "count", "per_mac",
                                    "share"}  # fmt: skip
    assert block["ops"][0]["shape"] == "1x4x4x8"


@pytest.mark.parametrize(
    ("measured", "message"),
    [
        (_measured(("CONV_2D", 3), total=3), "reports 1 ops, the model has 2"),
        (_measured(("CONV_2D", 3), ("ADD", 1), total=4), "op 1 is ADD on the DUT, SOFTMAX"),
    ],
)
def test_op_lists_that_disagree_are_a_protocol_error(measured: OpProfile, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        build_table("native", "native", "reference", ("ticks", 1.0), OPS, measured, None)


def test_two_tables_side_by_side_with_the_ratio_per_op() -> None:
    unit = ("instructions", 40.0)
    native = build_table("native", "native", "reference", unit, OPS,
                         _measured(("CONV_2D", 300), ("SOFTMAX", 100), total=400), 400)  # fmt: skip
    tflm = build_table("tflm-cmsis-nn", "tflm", "cmsis-nn", unit, OPS,
                       _measured(("CONV_2D", 100), ("SOFTMAX", 200), total=300), 300)  # fmt: skip
    lines = table_lines([native, tflm])
    assert "native/tflm-cmsis-nn" in lines[1]
    conv = next(line for line in lines if " CONV_2D " in line)
    softmax = next(line for line in lines if " SOFTMAX " in line)
    assert conv.rstrip().endswith("3.00x") and softmax.rstrip().endswith("0.50x")
    assert "12.00" in conv  # native instructions per MAC: 300 x 40 / 1000
    document = profile_document("kws01", "qemu-m4", [native, tflm])
    assert (document["format"], document["version"], document["model"], document["board"]) == (
        "tinybench-profile", 1, "kws01", "qemu-m4"
    )  # fmt: skip
    assert [t["label"] for t in document["tables"]] == ["native", "tflm-cmsis-nn"]
    assert document["tables"][1]["ops"][1]["ticks"] == 200


@pytest.mark.parametrize(
    "reply",
    [
        b"m-op-[0,CONV_2D,12x]\r\nm-op-total-[ops=1,ticks=5]\r\nm-ready\r\n",
        b"m-op-[0,CONV_2D,12]\r\nm-ready\r\n",
        b"m-op-[1,CONV_2D,12]\r\nm-op-total-[ops=1,ticks=12]\r\nm-ready\r\n",
    ],
)
def test_a_malformed_opprofile_reply_is_a_protocol_error(reply: bytes) -> None:
    fake = FakeTransport(lambda data: reply if data == b"opprofile%" else b"")
    with DutSession(fake, Timeouts(boot_s=1.0, command_s=1.0, infer_s=1.0)) as session:
        session.extensions = frozenset({"opprofile"})
        with pytest.raises(ProtocolError, match="opprofile"):
            session.opprofile()


def test_a_dut_without_the_extension_is_refused_before_sending() -> None:
    fake = FakeTransport(lambda data: b"m-ready\r\n")
    timeouts = Timeouts(boot_s=1.0, command_s=1.0, infer_s=1.0)
    with DutSession(fake, timeouts) as session, pytest.raises(TinybenchError, match="opprofile"):
        session.opprofile()
    assert fake.writes == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--engine", "onnx"], "unknown engine 'onnx'"),
        (["--engine", "native", "--engine", "native"], "names a configuration twice"),
        (["--engine", "native", "--input", "WRONG"], "holds 5 bytes; kws01 takes 490"),
    ],
)
def test_bad_profile_options_are_one_line_errors(
    tmp_path: Path, args: list[str], message: str
) -> None:
    wrong = tmp_path / "wrong.bin"
    wrong.write_bytes(b"12345")
    args = [str(wrong) if a == "WRONG" else a for a in args]
    result = CliRunner().invoke(cli, ["profile", "kws01", *args, "--out", str(tmp_path / "o")])
    assert result.exit_code == 1, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "o").exists()
