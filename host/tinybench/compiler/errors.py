"""Errors of the model compiler."""

from __future__ import annotations


class CompileError(Exception):
    """The model cannot be compiled for the native engine (corrupt, unsupported or inconsistent)."""
