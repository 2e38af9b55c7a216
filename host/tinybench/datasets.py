"""Readers for the MLPerf Tiny accuracy sets in the format of their official label files.

Every set is a directory with a label file (`y_labels.csv`) and one binary file
per sample. Lines are `file,classes,label` (kws01, vww01, ic01) or
`file,classes,label,window_bytes,window_step` (ad01: a clip scored as windows).
A directory that does not match the model's manifest is refused with one error
listing every bad entry.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from tinybench.errors import DatasetError
from tinybench.manifests.models import DatasetSpec

MAX_LISTED_PROBLEMS = 20
MAX_PROBLEM_CHARS = 240  # a hostile cell may be 100 KB; the message quotes its start


@dataclass(frozen=True)
class Sample:
    index: int  # position in the label file
    file_name: str
    label: int
    path: Path


@dataclass(frozen=True)
class Dataset:
    spec: DatasetSpec
    root: Path
    samples: tuple[Sample, ...]

    def read(self, sample: Sample) -> bytes:
        try:
            data = sample.path.read_bytes()
        except OSError as exc:  # deleted or made unreadable since open
            raise DatasetError(f"{sample.path}: cannot read sample: {exc.strerror}") from exc
        if len(data) != self.spec.sample_bytes:
            # Checked at open; a file changed since then is still refused, never cut or padded.
            raise DatasetError(
                f"{sample.path}: {len(data)} bytes, expected {self.spec.sample_bytes}"
            )
        return data

    def inferences(self, sample: Sample) -> list[bytes]:
        """The byte strings the runner sends for this sample: one, or each window of a clip."""
        data = self.read(sample)
        size, step = self.spec.window_bytes, self.spec.window_step
        if size is None or step is None:
            return [data]
        return [data[start : start + size] for start in range(0, len(data) - size + 1, step)]

    def limited(self, limit: int | None) -> Dataset:
        if limit is None:
            return self
        return Dataset(spec=self.spec, root=self.root, samples=self.samples[:limit])


def _format_problems(root: Path, problems: list[str]) -> str:
    shown = problems[:MAX_LISTED_PROBLEMS]
    lines = [
        f"  - {p}" if len(p) <= MAX_PROBLEM_CHARS else f"  - {p[:MAX_PROBLEM_CHARS]}[... cut]"
        for p in shown
    ]
    if len(problems) > len(shown):
        lines.append(f"  ... and {len(problems) - len(shown)} more")
    return f"dataset {root} does not match its manifest ({len(problems)} problems):\n" + "\n".join(
        lines
    )


def _parse_row(
    spec: DatasetSpec, root: Path, row: list[str], line_no: int, problems: list[str]
) -> Sample | None:
    where = f"{spec.label_file}:{line_no}"
    windowed = spec.window_bytes is not None
    expected_columns = 5 if windowed else 3
    if len(row) != expected_columns:
        layout = "file,classes,label,window_bytes,window_step" if windowed else "file,classes,label"
        problems.append(f"{where}: expected {expected_columns} columns ({layout}), got {row!r}")
        return None
    cells = [cell.strip() for cell in row]
    file_name = cells[0]
    try:
        numbers = [int(cell) for cell in cells[1:]]
    except ValueError:
        problems.append(f"{where}: non-integer field in {row!r}")
        return None
    classes, label = numbers[0], numbers[1]
    ok = True
    if classes != spec.classes:
        problems.append(f"{where}: {classes} classes, expected {spec.classes}")
        ok = False
    if not 0 <= label < spec.classes:
        problems.append(f"{where}: label {label} outside 0..{spec.classes - 1}")
        ok = False
    if windowed and (numbers[2], numbers[3]) != (spec.window_bytes, spec.window_step):
        problems.append(
            f"{where}: windows of {numbers[2]} bytes in steps of {numbers[3]}, expected "
            f"{spec.window_bytes} and {spec.window_step}"
        )
        ok = False
    if not file_name or Path(file_name).name != file_name:
        problems.append(f"{where}: {file_name!r} is not a plain file name")
        return None
    path = root / file_name
    try:
        size = path.stat().st_size if path.is_file() else None
    except OSError as exc:  # is_file() lets some through, e.g. a name longer than NAME_MAX
        problems.append(f"{where}: {file_name!r} cannot be looked up: {exc.strerror}")
        return None
    if size is None:
        problems.append(f"{file_name}: missing")
        ok = False
    elif size != spec.sample_bytes:
        problems.append(f"{file_name}: {size} bytes, expected {spec.sample_bytes}")
        ok = False
    return Sample(index=line_no - 1, file_name=file_name, label=label, path=path) if ok else None


def open_dataset(spec: DatasetSpec, root: Path) -> Dataset:
    """Reads and checks a dataset directory against the manifest's dataset spec."""
    if not root.is_dir():
        raise DatasetError(f"dataset {spec.dataset_id}: directory {root} does not exist")
    label_path = root / spec.label_file
    if not label_path.is_file():
        raise DatasetError(f"dataset {spec.dataset_id}: label file {label_path} does not exist")
    try:
        text = label_path.read_text(encoding="utf-8-sig")  # a spreadsheet may save a BOM
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{label_path}: cannot read label file: {exc}") from exc

    problems: list[str] = []
    samples: list[Sample] = []
    seen: set[str] = set()
    for line_no, line in enumerate(text.splitlines(), start=1):
        try:
            # One line at a time: a stray quote cannot swallow the lines after it.
            row = next(csv.reader([line]), [])
        except csv.Error as exc:  # e.g. a field past csv's size limit
            problems.append(f"{spec.label_file}:{line_no}: {exc}")
            continue
        if not row or all(not cell.strip() for cell in row):
            continue
        sample = _parse_row(spec, root, row, line_no, problems)
        if sample is None:
            continue
        if sample.file_name in seen:
            problems.append(f"{spec.label_file}:{line_no}: {sample.file_name} listed twice")
            continue
        seen.add(sample.file_name)
        samples.append(sample)
    if not samples and not problems:
        problems.append(f"{spec.label_file}: no samples listed")
    if problems:
        raise DatasetError(_format_problems(root, problems))
    return Dataset(spec=spec, root=root, samples=tuple(samples))
