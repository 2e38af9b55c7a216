"""Property tests of the dataset readers: directories in each official layout, written by code
(`file,classes,label` for kws01, vww01, ic01; `file,2,label,2560,512` for ad01 clips), then
hostile edits of y_labels.csv (lines cut, dropped, duplicated, torn or replaced by garbage,
cells replaced, added or removed, a byte-order mark, CRLF, an empty file) and of the sample
files (deleted, the wrong size). `open_dataset`, then reading every sample and its
inferences, either gives samples consistent with the label file or raises a TinybenchError
naming the directory, never another exception.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinybench.datasets import Dataset, open_dataset
from tinybench.errors import DatasetError, TinybenchError
from tinybench.manifests.models import DatasetSpec, load_model_manifests

REPO = Path(__file__).resolve().parents[2]
SPECS: tuple[DatasetSpec, ...] = tuple(
    m.dataset for _, m in sorted(load_model_manifests(REPO / "models").items())
)
HOSTILE_CELLS = (
    "",
    " ",
    "-1",
    "12",
    "2",
    "1e3",
    "0x1",
    "nan",
    "\u0663",  # ARABIC-INDIC DIGIT THREE: int() takes it
    "9" * 5000,  # past int()'s digit limit
    "x" * 200_000,  # past csv's field size limit
    "y" * 100_000,  # within it, but no message should print it whole
    "n" * 300 + ".bin",  # longer than a file name may be
    "../y_labels.csv",
    "..",
    ".",
    "a\x00b.bin",
    '"',
    '"a,b"',
    "\u00e9.bin",
)
CELL_VALUES = st.sampled_from(HOSTILE_CELLS) | st.text(max_size=6)
EDIT_KINDS = (
    "cut",  # the file ends before line i
    "tear",  # the file ends inside line i
    "drop",
    "twice",
    "blank",  # an empty or blank line is inserted
    "garbage",  # line i becomes arbitrary bytes
    "flip",  # one byte of line i gets its high bit flipped: not UTF-8
    "cell",  # one cell of line i is replaced
    "add_cell",
    "del_cell",
    "bom",
    "crlf",
    "empty",
    "delete_sample",
    "resize_sample",
)
EDITS = st.lists(
    st.tuples(
        st.sampled_from(EDIT_KINDS),
        st.integers(0, 10_000),
        st.integers(0, 5),
        CELL_VALUES,
        st.binary(max_size=12),
    ),
    min_size=1,
    max_size=3,
)


def _write_set(root: Path, spec: DatasetSpec, labels: list[int]) -> list[bytes]:
    """A valid directory in the official layout; returns its label file's lines."""
    root.mkdir()
    lines = []
    for i, label in enumerate(labels):
        name = f"tst_{i:06d}_{label}.bin"
        (root / name).write_bytes(bytes([i % 256, label % 256]) * (spec.sample_bytes // 2))
        cells = [name, str(spec.classes), str(label)]
        if spec.window_bytes is not None:
            cells += [str(spec.window_bytes), str(spec.window_step)]
        lines.append(",".join(cells).encode())
    return lines


Edit = tuple[str, int, int, str, bytes]  # kind, line (modulo the count), column, cell, junk


def _edit_lines(root: Path, lines: list[bytes], edit: Edit) -> list[bytes]:
    """One edit of the label file's lines, or of the sample file line `at` names."""
    kind, at, column, cell, junk = edit
    if kind == "empty":
        return []
    if not lines:
        return lines
    i = at % len(lines)
    line = lines[i]
    cells = line.split(b",")
    j = column % len(cells)
    edited: dict[str, list[bytes]] = {
        "cut": lines[:i],
        "tear": [*lines[:i], line[: at % (len(line) + 1)]],
        "drop": lines[:i] + lines[i + 1 :],
        "twice": lines[: i + 1] + lines[i:],
        "blank": [*lines[:i], b" " * (at % 3), *lines[i:]],
        "garbage": [*lines[:i], junk.replace(b"\n", b""), *lines[i + 1 :]],
        "cell": [
            *lines[:i],
            b",".join([*cells[:j], cell.encode(), *cells[j + 1 :]]),
            *lines[i + 1 :],
        ],
        "add_cell": [*lines[:i], line + b"," + cell.encode(), *lines[i + 1 :]],
        "del_cell": [*lines[:i], b",".join(cells[:j] + cells[j + 1 :]), *lines[i + 1 :]],
    }
    if kind == "flip" and line:
        k = at % len(line)
        return [*lines[:i], line[:k] + bytes([line[k] ^ 0x80]) + line[k + 1 :], *lines[i + 1 :]]
    if kind in ("delete_sample", "resize_sample"):
        sample = root / cells[0].decode("utf-8", "replace")
        if sample in root.iterdir():  # one of the files _write_set wrote
            if kind == "delete_sample":
                sample.unlink()
            else:
                size = sample.stat().st_size
                sample.write_bytes(b"\x01" * (size + (at % 5) - 2 if at % 7 else 0))
        return lines
    return edited.get(kind, lines)


def _write_label_file(root: Path, lines: list[bytes], kinds: set[str]) -> bytes:
    newline = b"\r\n" if "crlf" in kinds else b"\n"
    content = newline.join(lines) + (newline if lines else b"")
    if "bom" in kinds:
        content = b"\xef\xbb\xbf" + content
    (root / "y_labels.csv").write_bytes(content)
    return content


def _check_consistent(dataset: Dataset, content: bytes) -> None:
    """Every sample a label file line says, read back whole and cut into whole inferences."""
    spec = dataset.spec
    rows = content.decode("utf-8-sig").splitlines()
    assert dataset.samples
    assert len({s.file_name for s in dataset.samples}) == len(dataset.samples)
    assert len(dataset.samples) == sum(1 for r in rows if any(c.strip() for c in r.split(",")))
    for sample in dataset.samples:
        cells = [c.strip() for c in rows[sample.index].split(",")]
        assert cells[0] == sample.file_name
        assert int(cells[2]) == sample.label
        assert 0 <= sample.label < spec.classes
        assert sample.path.parent == dataset.root
        assert len(dataset.read(sample)) == spec.sample_bytes
        window = spec.window_bytes or spec.sample_bytes
        inferences = dataset.inferences(sample)
        assert len(inferences) == spec.windows_per_sample
        assert all(len(piece) == window for piece in inferences)


def _open_edited(spec: DatasetSpec, labels: list[int], edits: list[Edit]) -> None:
    with tempfile.TemporaryDirectory(prefix="tb-dataset-") as tmp:
        root = Path(tmp) / spec.dataset_id
        lines = _write_set(root, spec, [label % spec.classes for label in labels])
        for edit in edits:
            lines = _edit_lines(root, lines, edit)
        content = _write_label_file(root, lines, {kind for kind, *_ in edits})
        try:
            dataset = open_dataset(spec, root)
        except TinybenchError as exc:
            assert str(root) in str(exc)
            assert len(str(exc)) < 10_000  # a line per problem, not whole hostile cells
            return
        _check_consistent(dataset, content)


@given(st.sampled_from(SPECS), st.lists(st.integers(0, 11), min_size=1, max_size=4), EDITS)
def test_edited_label_files_give_consistent_samples_or_a_dataset_error(
    spec: DatasetSpec, labels: list[int], edits: list[Edit]
) -> None:
    _open_edited(spec, labels, edits)


# Every hostile value in every column: a random pick of 40 examples misses some.
@pytest.mark.parametrize("cell", HOSTILE_CELLS)
@settings(max_examples=6)
@given(
    st.sampled_from(SPECS),
    st.lists(st.integers(0, 11), min_size=1, max_size=3),
    st.integers(0, 2),
    st.integers(0, 4),
)
def test_a_hostile_cell_gives_consistent_samples_or_a_dataset_error(
    cell: str, spec: DatasetSpec, labels: list[int], line: int, column: int
) -> None:
    _open_edited(spec, labels, [("cell", line, column, cell, b"")])


@given(
    st.sampled_from(SPECS),
    st.lists(st.integers(0, 11), min_size=1, max_size=4),
    st.sets(st.sampled_from(["bom", "crlf", "blank"])),
)
def test_a_bom_crlf_or_blank_lines_leave_the_samples_unchanged(
    spec: DatasetSpec, labels: list[int], kinds: set[str]
) -> None:
    with tempfile.TemporaryDirectory(prefix="tb-dataset-") as tmp:
        root = Path(tmp) / spec.dataset_id
        labels = [label % spec.classes for label in labels]
        lines = _write_set(root, spec, labels)
        if "blank" in kinds:
            lines = [b"", *lines[:1], b" , ", *lines[1:], b""]
        content = _write_label_file(root, lines, kinds)
        dataset = open_dataset(spec, root)
        assert [s.label for s in dataset.samples] == labels
        _check_consistent(dataset, content)


@given(st.sampled_from(SPECS), st.binary(max_size=300))
def test_a_garbage_label_file_gives_a_dataset_error(spec: DatasetSpec, content: bytes) -> None:
    with tempfile.TemporaryDirectory(prefix="tb-dataset-") as tmp:
        root = Path(tmp) / spec.dataset_id
        _write_set(root, spec, [0])
        (root / "y_labels.csv").write_bytes(content)
        with pytest.raises(DatasetError) as refused:
            open_dataset(spec, root)  # no garbage names an existing sample file
        assert str(root) in str(refused.value)


@settings(max_examples=20)
@given(st.sampled_from(SPECS), st.sampled_from(["delete", "shrink", "grow"]))
def test_a_sample_changed_after_open_is_a_dataset_error_naming_it(
    spec: DatasetSpec, change: str
) -> None:
    with tempfile.TemporaryDirectory(prefix="tb-dataset-") as tmp:
        root = Path(tmp) / spec.dataset_id
        lines = _write_set(root, spec, [0, 1])
        _write_label_file(root, lines, set())
        dataset = open_dataset(spec, root)
        sample = dataset.samples[1]
        if change == "delete":
            sample.path.unlink()
        else:
            sample.path.write_bytes(b"\0" * (spec.sample_bytes + (1 if change == "grow" else -1)))
        with pytest.raises(DatasetError, match=sample.file_name):
            dataset.inferences(sample)
        assert len(dataset.inferences(dataset.samples[0])) == spec.windows_per_sample
