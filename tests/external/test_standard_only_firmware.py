"""The standard-only host port: the standard commands work, every extension is gone."""

from __future__ import annotations

import subprocess

from tinybench.build.firmware import FirmwareBuild


def _session(image: str, commands: str) -> list[str]:
    out = subprocess.run([image], input=commands.encode(), capture_output=True, timeout=30)
    return out.stdout.decode().splitlines()


def test_help_lists_no_extension_and_extension_commands_are_unknown(
    standard_only_kws01: FirmwareBuild,
) -> None:
    lines = _session(
        str(standard_only_kws01.image),
        "help%info%latency%exit 3%results raw%db bin 4 0%db file x.bin%",
    )
    assert not any(line.startswith("m-ext-") for line in lines)
    assert not any("(ext)" in line for line in lines)
    assert "m-help-results : print the last results as floats" in lines
    errors = [line for line in lines if line.startswith("e-")]
    assert errors == [
        "e-[Unknown command: info]",
        "e-[Unknown command: latency]",
        "e-[Unknown command: exit]",
        "e-[results: usage: results]",
        "e-[db: expected exactly one hex argument; load invalidated]",
        "e-[db: expected exactly one hex argument; load invalidated]",
    ]
    assert lines.count("m-ready") == 8  # the boot banner's and one per command: none exited


def test_infer_prints_the_standard_lines_only(standard_only_kws01: FirmwareBuild) -> None:
    upload = bytes(range(256)) + bytes(234)
    hex_lines = "".join(f"db {upload[i : i + 31].hex()}%" for i in range(0, 490, 31))
    lines = _session(str(standard_only_kws01.image), f"db load 490%{hex_lines}infer 2 1%")
    start = lines.index("m-warmup-start-1")
    reply = lines[start:]
    assert [line.split("-")[1] for line in reply[:3]] == ["warmup", "warmup", "infer"]
    assert [line.startswith("m-lap-us-") for line in reply[3:5]] == [True, True]
    assert reply[5] == "m-infer-done"
    assert reply[6].startswith("m-results-[") and len(reply[6].split(",")) == 12
    assert reply[7] == "m-ready"
    assert not any(line.startswith("m-infer-counter-") for line in lines)
