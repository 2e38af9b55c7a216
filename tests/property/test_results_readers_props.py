"""Property tests of the results readers of `report`, `compare` and `submission`.

Real-shaped run directories (tests/report/rundirs.py) get hostile results.json files: any
value anywhere, wrong types, deleted keys, non-UTF-8 bytes. Each reader either works or
raises a TinybenchError, never another exception (the CLI turns TinybenchError into a
one-line message).
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from report.rundirs import write_auc_run, write_energy_run, write_performance_run, write_top1_run
from tinybench.compare import compare_runs, format_comparison
from tinybench.errors import TinybenchError
from tinybench.paths import locate
from tinybench.project import Project
from tinybench.report.rundir import load_run_directory
from tinybench.submission import plan_submission

RULES = Project(locate()).rules()
WRITERS: tuple[Callable[[Path], Path], ...] = (
    write_top1_run,
    write_auc_run,
    write_performance_run,
    write_energy_run,
)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)
# (where: a walk of indices into the document, what: the new value or None to delete the key)
MUTATIONS = st.lists(
    st.tuples(
        st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=4),
        st.none() | st.tuples(JSON_VALUES),
    ),
    min_size=1,
    max_size=4,
)


def _mutate(document: Any, walk: list[int], value: tuple[Any] | None) -> None:
    """Replaces (or deletes, value None) the member that `walk` picks, one level per index."""
    node = document
    for depth, step in enumerate(walk):
        if isinstance(node, dict) and node:
            key = sorted(node)[step % len(node)]
        elif isinstance(node, list) and node:
            key = step % len(node)
        else:
            return
        if depth == len(walk) - 1 or not isinstance(node[key], (dict, list)):
            if value is None:
                del node[key]
            else:
                node[key] = value[0]
            return
        node = node[key]


def _read_all(run_dir: Path) -> None:
    """Every reader of a run directory; a TinybenchError is a clean refusal."""
    readers: tuple[Callable[[], object], ...] = (
        lambda: format_comparison(compare_runs([run_dir])),
        lambda: load_run_directory(run_dir),  # the report's reader (rendering draws plots: slow)
        lambda: plan_submission([run_dir], "fuzz-system", rules=RULES),
    )
    for read in readers:
        with contextlib.suppress(TinybenchError):
            read()


# Each example writes a whole run directory: fewer examples than the profile's.
@settings(max_examples=25)
@given(st.sampled_from(WRITERS), MUTATIONS)
def test_hostile_values_in_results_json_give_a_result_or_a_clean_error(
    writer: Callable[[Path], Path], mutations: list[tuple[list[int], tuple[Any] | None]]
) -> None:
    with tempfile.TemporaryDirectory(prefix="tb-results-") as tmp:
        run_dir = writer(Path(tmp) / "run")
        path = run_dir / "results.json"
        document = json.loads(path.read_text(encoding="utf-8"))
        for walk, value in mutations:
            _mutate(document, walk, value)
        path.write_text(json.dumps(document), encoding="utf-8")
        _read_all(run_dir)


@given(
    st.sampled_from(WRITERS), st.binary(max_size=200) | JSON_VALUES.map(json.dumps).map(str.encode)
)
def test_garbage_results_json_gives_a_clean_error(
    writer: Callable[[Path], Path], content: bytes
) -> None:
    with tempfile.TemporaryDirectory(prefix="tb-results-") as tmp:
        run_dir = writer(Path(tmp) / "run")
        (run_dir / "results.json").write_bytes(content)
        _read_all(run_dir)
