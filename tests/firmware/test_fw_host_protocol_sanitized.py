"""test_fw_host_protocol.py again, against the host port built with ASan and UBSan."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

from sanitized import (  # noqa: F401  (fixtures: they shadow the conftest's plain builds)
    SANITIZER_FLAGS,
    build_double,
    host_fw,
    sanitizer_guard,
    sanitizer_reports,
)
from test_fw_host_protocol import *  # noqa: F403  (the tests to rerun, and their fixtures)

_BUGGY_C = """
#include <stdio.h>
static int last_of(const int *values, int count) { return values[count]; }
int main(int argc, char **argv)
{
    int values[4] = { 1, 2, 3, 4 };
    (void)argv;
    printf("%d\\n", last_of(values, argc + 3));
    return 0;
}
"""


def test_an_out_of_bounds_read_is_reported_and_ends_the_program(tmp_path: Path) -> None:
    # The guard is only as good as its detection: a real finding must be seen, with the
    # flags the firmware is built with.
    source = tmp_path / "buggy.c"
    source.write_text(_BUGGY_C)
    exe = tmp_path / "buggy"
    subprocess.run(["gcc", "-g", *SANITIZER_FLAGS, str(source), "-o", str(exe)], check=True)
    env = {k: v for k, v in os.environ.items() if k not in ("ASAN_OPTIONS", "UBSAN_OPTIONS")}
    result = subprocess.run([str(exe)], capture_output=True, text=True, env=env, check=False)
    assert result.returncode != 0
    reports = sanitizer_reports(result.stderr)
    assert reports, result.stderr
    assert "buggy.c:3" in reports[0] or "stack-buffer-overflow" in result.stderr
    assert sanitizer_reports("m-ready\nm-results-[0.125]\n") == []


def test_the_firmware_these_tests_drive_is_the_sanitized_build(
    host_fw: Callable[[str], Path],  # noqa: F811  (the fixture imported above)
) -> None:
    image = host_fw("kws01").read_bytes()
    assert b"__asan_init" in image and b"__ubsan_handle_" in image
