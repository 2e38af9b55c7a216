"""One exception hierarchy for the whole host package.

Domain code raises these; the CLI turns them into a one-line message and a
non-zero exit code, never a traceback.
"""

from __future__ import annotations


class TinybenchError(Exception):
    """Base of every error tinybench reports to its user."""


class ManifestError(TinybenchError):
    """A model, board or run-rule manifest is malformed or inconsistent."""


class ModelStoreError(TinybenchError):
    """A model file could not be found, downloaded or verified."""


class ChecksumError(ModelStoreError):
    """A model file exists but its size or sha256 is not the pinned one."""


class DatasetError(TinybenchError):
    """A dataset directory does not match its manifest."""


class ReferenceRunError(TinybenchError):
    """The host reference interpreter could not run a model."""


class RuleViolation(TinybenchError):
    """A run does not satisfy its run rules."""


class TransportError(TinybenchError):
    """The link to the DUT failed: port gone, connection refused, process exited."""


class ProtocolError(TinybenchError):
    """The DUT said something the protocol does not allow, or said nothing in time."""


class DutError(TinybenchError):
    """The DUT answered a command with `e-[...]`."""
