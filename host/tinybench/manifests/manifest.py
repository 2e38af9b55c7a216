"""Typed reading of TOML manifests that reports every problem at once.

Model, board and run-rule manifests are data files edited by hand. A reader
that stops at the first bad key makes people fix them one error per run;
this one records each problem (with the key's dotted path) and the caller
raises a single ManifestError listing them all.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TypeVar

from tinybench.errors import ManifestError

T = TypeVar("T")


class FieldReader:
    """Reads typed values from one TOML table; problems go to a shared list."""

    def __init__(self, data: Mapping[str, object], where: str, problems: list[str]) -> None:
        self._data = data
        self._where = where
        self._problems = problems
        self._seen: set[str] = set()

    def _key(self, key: str) -> str:
        return f"{self._where}.{key}" if self._where else key

    def problem(self, key: str, message: str) -> None:
        self._problems.append(f"{self._key(key)}: {message}")

    def has(self, key: str) -> bool:
        return key in self._data

    def _get(self, key: str, kind: type[T] | tuple[type, ...], kind_name: str) -> T | None:
        self._seen.add(key)
        if key not in self._data:
            self.problem(key, "missing")
            return None
        value = self._data[key]
        # bool is an int in Python; a manifest saying `true` for a number is an error.
        if isinstance(value, bool) and kind is not bool:
            self.problem(key, f"expected {kind_name}, got {value!r}")
            return None
        if not isinstance(value, kind):
            self.problem(key, f"expected {kind_name}, got {value!r}")
            return None
        return value  # type: ignore[return-value]

    def string(self, key: str, default: str | None = None) -> str:
        if default is not None and key not in self._data:
            self._seen.add(key)
            return default
        value = self._get(key, str, "a string")
        return value if value is not None else ""

    def integer(self, key: str, minimum: int | None = None, default: int | None = None) -> int:
        if default is not None and key not in self._data:
            self._seen.add(key)
            return default
        value = self._get(key, int, "an integer")
        if value is None:
            return 0
        if minimum is not None and value < minimum:
            self.problem(key, f"must be >= {minimum}, got {value}")
        return value

    def number(self, key: str, positive: bool = False) -> float:
        value = self._get(key, (int, float), "a number")
        if value is None:
            return 0.0
        if positive and not value > 0:
            self.problem(key, f"must be > 0, got {value}")
        return float(value)

    def boolean(self, key: str, default: bool | None = None) -> bool:
        if default is not None and key not in self._data:
            self._seen.add(key)
            return default
        value = self._get(key, bool, "true or false")
        return bool(value)

    def choice(self, key: str, options: Iterable[str]) -> str:
        allowed = tuple(options)
        value = self.string(key)
        if key in self._data and isinstance(self._data[key], str) and value not in allowed:
            self.problem(key, f"must be one of {', '.join(allowed)}; got {value!r}")
        return value

    def int_list(self, key: str, minimum: int | None = None) -> tuple[int, ...]:
        value = self._get(key, list, "a list of integers")
        if value is None:
            return ()
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            self.problem(key, f"expected a list of integers, got {value!r}")
            return ()
        if minimum is not None and any(v < minimum for v in value):
            self.problem(key, f"every entry must be >= {minimum}, got {value!r}")
        return tuple(value)

    def string_list(self, key: str, default: tuple[str, ...] | None = None) -> tuple[str, ...]:
        if default is not None and key not in self._data:
            self._seen.add(key)
            return default
        value = self._get(key, list, "a list of strings")
        if value is None:
            return ()
        if not all(isinstance(v, str) for v in value):
            self.problem(key, f"expected a list of strings, got {value!r}")
            return ()
        return tuple(value)

    def table(self, key: str) -> FieldReader:
        value = self._get(key, dict, "a table")
        return FieldReader(value if value is not None else {}, self._key(key), self._problems)

    def optional_table(self, key: str) -> FieldReader | None:
        if key not in self._data:
            self._seen.add(key)
            return None
        return self.table(key)

    def tables(self, key: str) -> dict[str, FieldReader]:
        """A table of tables, e.g. `[targets.kws01]`, keyed by name."""
        outer = self._get(key, dict, "a table")
        result: dict[str, FieldReader] = {}
        for name, inner in (outer or {}).items():
            if isinstance(inner, dict):
                result[name] = FieldReader(inner, f"{self._key(key)}.{name}", self._problems)
            else:
                self._problems.append(f"{self._key(key)}.{name}: expected a table, got {inner!r}")
        return result

    def finish(self) -> None:
        """Unknown keys are usually typos: report them too."""
        for key in self._data:
            if key not in self._seen:
                self.problem(key, "unknown key")


def load_toml(path: Path) -> dict[str, object]:
    """Parses a manifest file; I/O and syntax errors become a ManifestError naming the file."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ManifestError(f"{path}: cannot read manifest: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{path}: not valid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:  # tomllib decodes the bytes as UTF-8 before parsing
        raise ManifestError(f"{path}: not UTF-8 text: {exc}") from exc


def raise_if_problems(path: Path, problems: list[str]) -> None:
    if problems:
        listing = "\n".join(f"  - {p}" for p in problems)
        raise ManifestError(f"{path}: invalid manifest ({len(problems)} problems):\n{listing}")


def check_file_stem(path: Path, reader: FieldReader, identifier: str) -> None:
    """A manifest named kws01.toml must describe kws01: catches copy-paste errors."""
    if identifier and identifier != path.stem:
        reader.problem("id", f"is {identifier!r} but the file is named {path.name}")


def manifest_path(directory: Path, kind: str, identifier: str) -> Path:
    """`<directory>/<identifier>.toml`, or an error listing the known identifiers."""
    path = directory / f"{identifier}.toml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in directory.glob("*.toml"))) or "none"
        raise ManifestError(f"unknown {kind} {identifier!r} (known: {known})")
    return path


def load_all(directory: Path, kind: str, parse: Callable[[Path], T]) -> dict[str, T]:
    """Every manifest in a directory, keyed by file stem (which each parser checks is its id)."""
    paths = sorted(directory.glob("*.toml"))
    if not paths:
        raise ManifestError(f"{directory}: no {kind} manifests (*.toml) found")
    return {p.stem: parse(p) for p in paths}
