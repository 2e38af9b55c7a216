"""The info line's stack keys, as the session parses them."""

from __future__ import annotations

import pytest

from tinybench.dut.session import DutInfo, StackUsage
from tinybench.errors import ProtocolError


def test_stack_keys_are_parsed() -> None:
    info = DutInfo({"engine": "native", "stack_bytes": "16384", "stack_used": "492"})
    assert info.stack() == StackUsage(used_bytes=492, bytes=16384)


def test_a_dut_without_stack_keys_reports_none() -> None:
    assert DutInfo({"engine": "native", "counter": "host-monotonic"}).stack() is None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"stack_bytes": "16384"}, "no 'stack_used'"),
        ({"stack_bytes": "16384", "stack_used": "deep"}, "is not a number"),
        ({"stack_bytes": "1024", "stack_used": "2048"}, "exceeds stack_bytes=1024"),
    ],
)
def test_malformed_stack_keys_are_protocol_errors(fields: dict[str, str], message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        DutInfo(fields).stack()
