"""The host's protocol codec: command encoding limits and line splitting across chunks."""

from __future__ import annotations

import pytest

from tinybench.dut.protocol import LineSplitter, Reply, bracketed, encode_command, error_text
from tinybench.errors import ProtocolError


def test_commands_end_in_percent_and_respect_the_80_character_limit() -> None:
    assert encode_command("db load 490") == b"db load 490%"
    assert len(encode_command("db " + "ab" * 38)) == 80  # 79 characters + '%'
    with pytest.raises(ProtocolError, match="exceeds 80"):
        encode_command("db " + "ab" * 39)
    with pytest.raises(ProtocolError, match="must not contain"):
        encode_command("name%")
    with pytest.raises(ProtocolError, match="not ASCII"):
        encode_command("nämé")


def test_lines_are_assembled_across_arbitrary_chunks() -> None:
    splitter = LineSplitter()
    text = b"m-init-done\r\nm-ready\r\nm-results-[0.000,0.996]\r\nm-rea"
    lines: list[str] = []
    for i in range(len(text)):
        lines += splitter.feed(text[i : i + 1])
    assert lines == ["m-init-done", "m-ready", "m-results-[0.000,0.996]"]
    assert splitter.partial == b"m-rea"
    assert splitter.feed(b"dy\n\x00\r\n") == ["m-ready"]


def test_bracketed_values_and_errors() -> None:
    assert bracketed("m-model-[kws01]", "model") == "kws01"
    assert bracketed("m-model-[kws01]", "profile") is None
    assert bracketed("m-results-raw-[80ff]", "results-raw") == "80ff"
    assert error_text("e-[Unknown command: foo]") == "Unknown command: foo"
    assert error_text("m-ready") is None


def test_reply_reports_a_missing_line_with_the_command() -> None:
    reply = Reply("profile", ("m-profile-[x 1]",))
    assert reply.need("profile") == "x 1"
    with pytest.raises(ProtocolError, match="`profile`: no m-model"):
        reply.need("model")
    assert Reply("infer", ("m-lap-us-10", "m-lap-us-25", "m-lap-us-x")).ints("m-lap-us-") == [
        10,
        25,
    ]
