"""Hypothesis settings of the property tests: cheap and repeatable in CI.

The "ci" profile (the default) is derandomized, so every run tries the same examples and a
failure reproduces; HYPOTHESIS_PROFILE=explore tries many more, at random, for a long hunt:
    HYPOTHESIS_PROFILE=explore .venv/bin/python -m pytest tests/property -q
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=40,
    derandomize=True,
    deadline=None,  # the machine is shared: wall time per example says nothing
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)
settings.register_profile("explore", max_examples=5000, deadline=None, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
