"""`opprofile` reply parsing: well-formed lines give the per-op table, anything else is a
ProtocolError naming the line."""

from __future__ import annotations

import pytest

from tinybench.dut.session import parse_opprofile
from tinybench.errors import ProtocolError


def test_parses_ops_and_total() -> None:
    lines = ["m-op-[0,CONV_2D,1200]", "m-op-[1,SOFTMAX,34]", "m-op-total-[ops=2,ticks=1250]"]
    profile = parse_opprofile(lines)
    assert [(op.index, op.op, op.ticks) for op in profile.ops] == [
        (0, "CONV_2D", 1200),
        (1, "SOFTMAX", 34),
    ]
    assert profile.total_ticks == 1250


@pytest.mark.parametrize(
    "lines",
    [
        ["m-op-[0,CONV_2D,12x]", "m-op-total-[ops=1,ticks=5]"],
        ["m-op-[0,CONV_2D]", "m-op-total-[ops=1,ticks=5]"],
        ["m-op-[0,CONV_2D,12]"],
        ["m-op-[0,CONV_2D,12]", "m-op-total-[ops=2,ticks=5]"],
        ["m-op-[0,CONV_2D,12]", "m-op-total-[ops=1,ticks=-5]"],
    ],
)
def test_malformed_reply_is_a_protocol_error(lines: list[str]) -> None:
    with pytest.raises(ProtocolError):
        parse_opprofile(lines)
