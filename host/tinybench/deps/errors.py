"""The errors of the dependency cache."""

from __future__ import annotations

from tinybench.errors import TinybenchError


class DepsError(TinybenchError):
    """A pinned upstream tree is not cached, or cannot be fetched, imported or verified."""


class PatchError(DepsError):
    """A unified diff is malformed or does not apply."""
