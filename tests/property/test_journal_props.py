"""Property tests of the run journal's reader: torn, duplicated, garbage and non-UTF-8 lines.

A journal either loads (a torn last line dropped, every complete record kept) or raises a
TinybenchError naming the file and line; never another exception, never a silent loss.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinybench.errors import TinybenchError
from tinybench.journal import Journal, outcome_record
from tinybench.modes.accuracy import SampleOutcome

OUTCOMES = st.builds(
    SampleOutcome,
    index=st.integers(min_value=0, max_value=10_000),
    name=st.text(max_size=12),
    label=st.none() | st.integers(min_value=0, max_value=20),
    raw_outputs=st.lists(st.binary(max_size=8), max_size=3).map(tuple),
    device_results=st.lists(
        st.lists(st.floats(allow_nan=False, width=32), max_size=3).map(tuple), max_size=2
    ).map(tuple),
    elapsed_us=st.lists(st.integers(min_value=0, max_value=2**40), max_size=3).map(tuple),
    counter_ticks=st.lists(st.integers(min_value=0, max_value=2**40), max_size=3).map(tuple),
    prediction=st.none() | st.integers(min_value=0, max_value=20),
    score=st.none() | st.floats(allow_nan=False, allow_infinity=False),
    reference_match=st.none() | st.booleans(),
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


def _load(content: bytes) -> list[SampleOutcome] | TinybenchError:
    """The journal's outcomes after loading `content`, or the error it raised."""
    with tempfile.TemporaryDirectory(prefix="tb-journal-") as directory:
        path = Path(directory) / "journal.jsonl"
        path.write_bytes(content)
        try:
            journal = Journal(path)
        except TinybenchError as exc:
            return exc
        try:
            return journal.outcomes()
        finally:
            journal.close()


@given(st.lists(OUTCOMES, max_size=6, unique_by=lambda o: o.index), st.integers(min_value=0))
def test_a_torn_tail_loses_only_the_sample_in_flight(
    outcomes: list[SampleOutcome], cut: int
) -> None:
    lines = [json.dumps(outcome_record(o)).encode() + b"\n" for o in outcomes]
    content = b"".join(lines)
    cut %= len(content) + 1
    loaded = _load(content[:cut])
    assert not isinstance(loaded, TinybenchError), loaded
    whole = content[:cut].count(b"\n")  # the complete lines before the cut
    assert loaded == sorted(outcomes[:whole], key=lambda o: o.index)


@given(st.lists(OUTCOMES, min_size=1, max_size=4, unique_by=lambda o: o.index), st.data())
def test_a_duplicated_record_is_refused_with_its_line(
    outcomes: list[SampleOutcome], data: st.DataObject
) -> None:
    twice = data.draw(st.sampled_from(outcomes))
    records = [*outcomes, twice]
    content = "".join(json.dumps(outcome_record(o)) + "\n" for o in records).encode()
    loaded = _load(content)
    assert isinstance(loaded, TinybenchError)
    assert f":{len(records)}: sample {twice.index} recorded twice" in str(loaded)


@given(st.binary(max_size=300))
def test_garbage_bytes_load_or_raise_a_tinybench_error(content: bytes) -> None:
    _load(content)  # anything but a TinybenchError propagates and fails the test


@given(st.lists(JSON_VALUES, min_size=1, max_size=3), OUTCOMES)
def test_a_wrongly_shaped_record_is_refused_with_its_line(
    values: list[object], good: SampleOutcome
) -> None:
    lines = [json.dumps(outcome_record(good))] + [json.dumps(v) for v in values]
    loaded = _load(("\n".join(lines) + "\n").encode())
    if isinstance(loaded, TinybenchError):
        assert "journal" in str(loaded)
    else:  # every garbage record happened to be a valid outcome
        assert good in loaded


@pytest.mark.parametrize(
    "field, value",
    [("elapsed_us", [1e400]), ("label", float("inf")), ("counter_ticks", [float("nan")])],
)
def test_non_finite_numbers_are_refused_with_their_line(field: str, value: object) -> None:
    record = outcome_record(SampleOutcome(0, "s", 1, (), (), (5,), (7,), 1, None, None))
    record[field] = value
    loaded = _load((json.dumps(record) + "\n").encode())
    assert isinstance(loaded, TinybenchError)
    assert "journal.jsonl:1: unreadable journal record" in str(loaded)
