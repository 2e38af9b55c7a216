"""The host-port firmware built with AddressSanitizer and UndefinedBehaviorSanitizer.

test_fw_host_*_sanitized.py import the protocol tests and these fixtures, which shadow the
conftest's `build_double` and `host_fw`: the same tests then drive a sanitized build. With
-fno-sanitize-recover=all the first finding ends the DUT; `sanitizer_guard` fails the test on
any report the DUT wrote to stderr (ASan, LeakSanitizer or UBSan), even one the protocol
assertions would not notice.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fwbuild import build_test_double

SANITIZER_FLAGS = (
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=all",
    "-fno-omit-frame-pointer",
)
# What each sanitizer prints when it finds something (UBSan: "<file>:<line>: runtime error:").
_REPORT = re.compile(
    r"runtime error:|ERROR: (?:Address|Leak|UndefinedBehavior)Sanitizer|SUMMARY: \w+Sanitizer"
)

_BuildFn = Callable[..., Path]


def sanitizer_reports(stderr: str) -> list[str]:
    """The lines of stderr that are sanitizer findings."""
    return [line for line in stderr.splitlines() if _REPORT.search(line)]


@pytest.fixture(scope="module")
def build_double(tmp_path_factory: pytest.TempPathFactory) -> _BuildFn:
    """build_double("host", model, defines=()) -> sanitized firmware, cached per module."""
    out_dir = tmp_path_factory.mktemp("fw-sanitized")
    cache: dict[tuple[str, str, tuple[str, ...]], Path] = {}

    def _build(target: str, model: str = "kws01", defines: tuple[str, ...] = ()) -> Path:
        assert target == "host", "the sanitizers run on the host port only"
        key = (target, model, tuple(defines))
        if key not in cache:
            cache[key] = build_test_double(target, model, out_dir, defines, SANITIZER_FLAGS)
        return cache[key]

    return _build


@pytest.fixture(scope="module")
def host_fw(build_double: _BuildFn) -> Callable[[str], Path]:
    return lambda model="kws01": build_double("host", model)


@pytest.fixture(autouse=True)
def sanitizer_guard(capfd: pytest.CaptureFixture[str]) -> Iterator[None]:
    """Fails the test when a sanitized DUT reported anything (DUTs inherit pytest's stderr)."""
    yield
    captured = capfd.readouterr()
    found = sanitizer_reports(captured.err)
    if found:
        pytest.fail("sanitizer report from the DUT:\n" + captured.err[-4000:], pytrace=False)
