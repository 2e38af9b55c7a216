"""test_fw_host_extensions.py again, against the host port built with ASan and UBSan."""

from __future__ import annotations

from sanitized import (  # noqa: F401  (fixtures: they shadow the conftest's plain builds)
    build_double,
    host_fw,
    sanitizer_guard,
)
from test_fw_host_extensions import *  # noqa: F403  (the tests to rerun, and their fixtures)
