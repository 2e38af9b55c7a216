"""Which paths of a tree are kept, and the sha256 listing and digest of the kept subset.

`tree_sha256` is the sha256 of the `sha256sum`-style listing "<file sha256>  <path>\\n" of the
kept files, sorted by path bytes, so a shell can recompute it and a tampered, extra or missing
file is named by comparing listings.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tinybench.deps.errors import DepsError
from tinybench.hashing import sha256_bytes, sha256_file

# --- kept paths ------------------------------------------------------------------------------


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """`**` spans any number of path segments (also none), `*` and `?` stay within one segment."""
    out: list[str] = []
    parts = pattern.split("/")
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if part == "**":
            out.append(".*" if last else "(?:[^/]*/)*")
            continue
        chunk = ""
        for char in part:
            if char == "*":
                chunk += "[^/]*"
            elif char == "?":
                chunk += "[^/]"
            else:
                chunk += re.escape(char)
        out.append(chunk if last else chunk + "/")
    return re.compile("".join(out) + r"\Z")


def path_problem(path: str) -> str | None:
    """Why a relative path from a manifest, a patch or an archive is unsafe, or None."""
    if not path or path.startswith("/") or "\\" in path or "\0" in path:
        return "must be a relative POSIX path"
    if any(part in ("", ".", "..") for part in path.split("/")):
        return "must not contain empty, '.' or '..' segments"
    return None


@dataclass(frozen=True)
class PathRules:
    """Ordered globs over relative POSIX paths; a leading `!` excludes; the last match wins."""

    patterns: tuple[str, ...]
    _compiled: tuple[tuple[bool, re.Pattern[str]], ...] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        compiled = tuple(
            (not p.startswith("!"), _glob_regex(p.removeprefix("!"))) for p in self.patterns
        )
        object.__setattr__(self, "_compiled", compiled)

    def keeps(self, path: str) -> bool:
        kept = False
        for include, regex in self._compiled:
            if regex.match(path):
                kept = include
        return kept


# --- listings and digests --------------------------------------------------------------------


def _sort_key(path: str) -> bytes:
    return path.encode("utf-8", "surrogateescape")


def listing_text(listing: Mapping[str, str]) -> str:
    """The `sha256sum` listing of a tree, sorted by path bytes (`LC_ALL=C sort`)."""
    return "".join(f"{listing[p]}  {p}\n" for p in sorted(listing, key=_sort_key))


def tree_digest(listing: Mapping[str, str]) -> str:
    """tree_sha256: the sha256 of the listing. In a shell, for the kept files:
    `find . -type f | sed 's|^\\./||' | LC_ALL=C sort | xargs sha256sum | sha256sum`."""
    return sha256_bytes(listing_text(listing).encode("utf-8", "surrogateescape"))


# --- trees on disk ---------------------------------------------------------------------------


def _walk_files(root: Path, rules: PathRules, ignore: str | None = None) -> dict[str, Path]:
    """Kept regular files under root by relative path (except `ignore`); a kept link or special
    file is an error."""
    found: dict[str, Path] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        base = Path(dirpath)
        rel_dir = base.relative_to(root).as_posix()
        prefix = "" if rel_dir == "." else rel_dir + "/"
        for name in [*filenames, *(d for d in dirnames if (base / d).is_symlink())]:
            rel = prefix + name
            if rel == ignore:
                continue
            if not rules.keeps(rel):
                continue
            full = base / name
            mode = full.lstat().st_mode
            if not stat.S_ISREG(mode):
                raise DepsError(
                    f"{full}: a kept path must be a regular file, not a symbolic link or special "
                    "file"
                )
            found[rel] = full
    return found


@dataclass(frozen=True)
class TreeDiff:
    """How a tree's kept subset differs from the pinned listing."""

    changed: tuple[tuple[str, str, str], ...]  # path, actual sha256, pinned sha256
    missing: tuple[str, ...]
    extra: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not (self.changed or self.missing or self.extra)

    def describe(self, limit: int = 10) -> str:
        items = [
            f"{path} differs (sha256 {actual}, pinned {pinned})"
            for path, actual, pinned in self.changed
        ]
        items += [f"{path} is missing" for path in self.missing]
        items += [f"{path} is an extra file (not in the pinned tree)" for path in self.extra]
        shown = items[:limit]
        more = f"; and {len(items) - limit} more" if len(items) > limit else ""
        return "; ".join(shown) + more


def diff_listing(listing: Mapping[str, str], pinned: Mapping[str, str]) -> TreeDiff:
    changed = tuple(
        (p, listing[p], pinned[p])
        for p in sorted(listing, key=_sort_key)
        if p in pinned and listing[p] != pinned[p]
    )
    missing = tuple(sorted(set(pinned) - set(listing), key=_sort_key))
    extra = tuple(sorted(set(listing) - set(pinned), key=_sort_key))
    return TreeDiff(changed, missing, extra)


def tree_listing(root: Path, rules: PathRules, ignore: str | None = None) -> dict[str, str]:
    """sha256 of every kept file under root (except the relative path `ignore`)."""
    return {rel: sha256_file(full) for rel, full in _walk_files(root, rules, ignore).items()}


@dataclass(frozen=True)
class TreePin:
    """What `tinybench deps pin` prints for a tree: the values deps.toml pins."""

    files: int
    size_bytes: int
    tree_sha256: str
    listing: Mapping[str, str]

    def toml(self, name: str) -> str:
        entries = "".join(
            f"{json.dumps(p)} = {json.dumps(self.listing[p])}\n"
            for p in sorted(self.listing, key=_sort_key)
        )
        return (
            f'files = {self.files}\nbytes = {self.size_bytes}\ntree_sha256 = "{self.tree_sha256}"\n'
            f"\n[listing.{name}]\n{entries}"
        )


def pin_tree(root: Path, patterns: Sequence[str]) -> TreePin:
    """Computes the pins of a tree's kept subset (for maintainers updating deps.toml)."""
    rules = PathRules(tuple(patterns))
    files = _walk_files(root, rules)
    if not files:
        raise DepsError(f"{root}: no file is kept by the paths {list(patterns)}")
    listing = {rel: sha256_file(full) for rel, full in files.items()}
    size = sum(full.stat().st_size for full in files.values())
    return TreePin(len(listing), size, tree_digest(listing), listing)
