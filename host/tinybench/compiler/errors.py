"""Errors of the model compiler."""

from __future__ import annotations

from tinybench.errors import TinybenchError


class CompileError(TinybenchError):
    """The model cannot be compiled for the native engine (corrupt, unsupported or inconsistent)."""
