"""Whether the tflm engine's upstream sources are in the dependency cache: tests that need them
are one counted skip without them, naming the commands that fill the cache."""

from __future__ import annotations

from tinybench.build.tflm import find_trees
from tinybench.errors import TinybenchError
from tinybench.paths import locate


def missing_tflm_sources() -> str | None:
    """None when the sources are cached, else why not (the message names `tinybench deps
    fetch` and `tinybench deps import DIR`)."""
    try:
        find_trees(locate(), "cmsis-nn")
    except TinybenchError as exc:
        return str(exc)
    return None
