"""Property tests of the manifest readers: the repo's own model, board and run-rule files,
mutated line by line (values replaced by other TOML literals, lines dropped or duplicated,
the file cut short, bytes flipped), load or raise a TinybenchError, never another exception.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from tinybench.errors import TinybenchError
from tinybench.manifests.boards import parse_board_manifest
from tinybench.manifests.models import parse_model_manifest
from tinybench.manifests.runrules import parse_rule_set

REPO = Path(__file__).resolve().parents[2]
PARSERS: tuple[tuple[Path, Callable[[Path], object]], ...] = (
    *((p, parse_model_manifest) for p in sorted((REPO / "models").glob("*.toml"))),
    *((p, parse_board_manifest) for p in sorted((REPO / "boards").glob("*.toml"))),
    *((p, parse_rule_set) for p in sorted((REPO / "runrules").glob("*.toml"))),
)
TOML_VALUES = (
    st.sampled_from(
        ['""', '"x"', "0", "-1", "1e400", "nan", "inf", "true", "[]", "[1, [2]]", "{}", '"\\u0000"']
    )
    | st.integers().map(str)
    | st.text(max_size=8).map(lambda t: '"' + t.replace('"', "") + '"')
)
EDITS = st.lists(
    st.tuples(
        st.sampled_from(["value", "drop", "twice", "cut", "flip"]), st.integers(0), TOML_VALUES
    ),
    min_size=1,
    max_size=3,
)


def _edit(lines: list[bytes], kind: str, at: int, value: str) -> list[bytes]:
    if not lines:
        return lines
    i = at % len(lines)
    line = lines[i]
    if kind == "value" and b"=" in line:
        return [*lines[:i], line.split(b"=", 1)[0] + b"= " + value.encode(), *lines[i + 1 :]]
    if kind == "drop":
        return lines[:i] + lines[i + 1 :]
    if kind == "twice":
        return lines[: i + 1] + lines[i:]
    if kind == "cut":
        return lines[:i]
    if kind == "flip" and line:
        j = at % len(line)
        return [*lines[:i], line[:j] + bytes([line[j] ^ 0x80]) + line[j + 1 :], *lines[i + 1 :]]
    return lines


@settings(max_examples=60)
@given(st.sampled_from(PARSERS), EDITS)
def test_mutated_manifests_load_or_raise_a_tinybench_error(
    target: tuple[Path, Callable[[Path], object]], edits: list[tuple[str, int, str]]
) -> None:
    source, parse = target
    lines = source.read_bytes().split(b"\n")
    for kind, at, value in edits:
        lines = _edit(lines, kind, at, value)
    with tempfile.TemporaryDirectory(prefix="tb-manifest-") as tmp:
        path = Path(tmp) / source.name  # same stem: the readers check it against the id
        path.write_bytes(b"\n".join(lines))
        with contextlib.suppress(TinybenchError):
            parse(path)
