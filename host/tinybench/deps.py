"""Pinned upstream sources (TF Lite Micro, CMSIS-NN, ...) in a verified cache outside the repo.

The pins live in the repo's `deps.toml`: per dependency the GitHub repository, the commit, the
archive URL, the subset of paths tinybench keeps, and the sha256 of every kept file. Upstream code
never enters the repository; it lands in

    <cache_dir>/deps/<name>/<commit>/                         the kept subset of the tree
    <cache_dir>/deps/<name>/<commit>/.tinybench-verified.json  written only after verification

Verification recomputes the sha256 of every kept file and the tree digest (`tree_sha256`: the
sha256 of the `sha256sum`-style listing "<file sha256>  <path>\\n", sorted by path) and compares
them with the pins, so a tampered, extra or missing file is named. GitHub's zips are not
byte-stable, so archives are never pinned by their own hash.

Two ways to fill the cache: `fetch` downloads the pinned archives, `import_tree` accepts local
copies (a tree, or a directory of trees as GitHub's zips extract) for machines without network.
A dependency may carry a patch taken from another dependency's tree (TFLM patches flatbuffers);
it is applied before verification, so the pinned digest is that of the patched subset.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import stat
import tempfile
import time
import urllib.error
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from tinybench.errors import TinybenchError
from tinybench.manifests.manifest import FieldReader, load_toml, raise_if_problems
from tinybench.modelstore import Fetcher, fetch_url
from tinybench.paths import Locations

MANIFEST_NAME = "deps.toml"
MARKER_NAME = ".tinybench-verified.json"
DOWNLOAD_TIMEOUT_S = 60.0
FETCH_COMMAND = "tinybench deps fetch"
IMPORT_COMMAND = "tinybench deps import DIR"

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")


class DepsError(TinybenchError):
    """A pinned upstream tree is not cached, or cannot be fetched, imported or verified."""


class PatchError(DepsError):
    """A unified diff is malformed or does not apply."""


# --- paths and globs -------------------------------------------------------------------------


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


def _path_problem(path: str) -> str | None:
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


# --- digests ---------------------------------------------------------------------------------


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _sort_key(path: str) -> bytes:
    return path.encode("utf-8", "surrogateescape")


def listing_text(listing: Mapping[str, str]) -> str:
    """The `sha256sum` listing of a tree, sorted by path bytes (`LC_ALL=C sort`)."""
    return "".join(f"{listing[p]}  {p}\n" for p in sorted(listing, key=_sort_key))


def tree_digest(listing: Mapping[str, str]) -> str:
    """tree_sha256: the sha256 of the listing. In a shell, for the kept files:
    `find . -type f | sed 's|^\\./||' | LC_ALL=C sort | xargs sha256sum | sha256sum`."""
    return sha256_bytes(listing_text(listing).encode("utf-8", "surrogateescape"))


# --- the manifest ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PatchSpec:
    """A patch file inside another dependency's (verified) tree, applied with `-p1`."""

    dependency: str
    path: str


@dataclass(frozen=True)
class Dependency:
    name: str
    repo: str  # GitHub owner/name
    commit: str
    url: str
    paths: PathRules
    files: int
    size_bytes: int
    tree_sha256: str
    listing: Mapping[str, str]  # relative path -> sha256 of the kept (patched) file
    tag: str | None = None
    patch: PatchSpec | None = None

    @property
    def archive_dir_name(self) -> str:
        """What GitHub's `archive/<commit>.zip` extracts to."""
        return f"{self.repo.split('/')[1]}-{self.commit}"

    def cache_dir(self, cache_root: Path) -> Path:
        return cache_root / "deps" / self.name / self.commit


@dataclass(frozen=True)
class DepsManifest:
    path: Path
    dependencies: tuple[Dependency, ...]  # patch sources come before the trees they patch

    def get(self, name: str) -> Dependency:
        for dep in self.dependencies:
            if dep.name == name:
                return dep
        known = ", ".join(d.name for d in self.dependencies)
        raise DepsError(f"{self.path}: no dependency named {name!r} (known: {known})")


def manifest_path(locations: Locations) -> Path:
    return locations.project_root / MANIFEST_NAME


def _read_dependency(
    reader: FieldReader, listings: Mapping[str, object], problems: list[str]
) -> Dependency | None:
    name = reader.string("name")
    repo = reader.string("repo")
    commit = reader.string("commit")
    tag = reader.string("tag") if reader.has("tag") else None
    url = reader.string("url")
    patterns = reader.string_list("paths")
    files = reader.integer("files", minimum=1)
    size = reader.integer("bytes", minimum=1)
    tree = reader.string("tree_sha256")
    patch_reader = reader.optional_table("patch")
    patch = None
    if patch_reader is not None:
        patch = PatchSpec(patch_reader.string("dependency"), patch_reader.string("path"))
        if patch.path and (why := _path_problem(patch.path)):
            patch_reader.problem("path", why)
        patch_reader.finish()
    reader.finish()
    if name and not _NAME.match(name):
        reader.problem("name", f"must be a plain directory name, got {name!r}")
    if repo and not _REPO.match(repo):
        reader.problem("repo", f"must be a GitHub owner/name, got {repo!r}")
    if commit and not _COMMIT.match(commit):
        reader.problem("commit", f"must be a full 40-digit lowercase commit id, got {commit!r}")
    if tree and not _SHA256.match(tree):
        reader.problem("tree_sha256", f"must be 64 lowercase hex digits, got {tree!r}")
    if commit and url and commit not in url:
        reader.problem("url", f"must name the pinned commit {commit}, got {url!r}")
    if reader.has("paths") and not patterns:
        reader.problem("paths", "must keep at least one path")
    for pattern in patterns:
        if why := _path_problem(pattern.removeprefix("!")):
            reader.problem("paths", f"{pattern!r} {why}")
    rules = PathRules(patterns)
    listing: dict[str, str] = {}
    raw = listings.get(name) if name else None
    if name and not isinstance(raw, dict):
        reader.problem("name", f"needs a [listing.{name}] table: the sha256 of each kept file")
    elif isinstance(raw, dict):
        for path, digest in raw.items():
            where = f"listing.{name}.{path!r}"
            if not isinstance(digest, str) or not _SHA256.match(digest):
                problems.append(f"{where}: must be 64 lowercase hex digits, got {digest!r}")
                continue
            if why := _path_problem(path):
                problems.append(f"{where}: {why}")
            elif not rules.keeps(path):
                problems.append(f"{where}: not kept by {name}'s paths")
            listing[path] = digest
        if len(listing) != files:
            reader.problem("files", f"is {files} but [listing.{name}] has {len(listing)} files")
        if _SHA256.match(tree) and tree_digest(listing) != tree:
            reader.problem(
                "tree_sha256", f"is {tree} but [listing.{name}] digests to {tree_digest(listing)}"
            )
    if not (name and repo and commit and url and tree and patterns):
        return None
    return Dependency(
        name=name,
        repo=repo,
        commit=commit,
        url=url,
        paths=rules,
        files=files,
        size_bytes=size,
        tree_sha256=tree,
        listing=listing,
        tag=tag,
        patch=patch,
    )


_TOP_KEYS = ("format", "dependency", "listing")


def load_manifest(path: Path) -> DepsManifest:
    """Reads and checks deps.toml; every problem is reported at once as a ManifestError."""
    data = load_toml(path)
    problems: list[str] = []
    version = FieldReader(data, "", problems).integer("format")
    if "format" in data and version != 1:
        problems.append(f"format: tinybench reads format 1, got {version}")
    problems += [f"{key}: unknown key" for key in data if key not in _TOP_KEYS]
    listings = data.get("listing", {})
    if not isinstance(listings, dict):
        problems.append("listing: expected tables [listing.<name>]")
        listings = {}
    entries = data.get("dependency")
    if not isinstance(entries, list) or not entries:
        problems.append("dependency: expected one or more [[dependency]] tables")
        entries = []
    dependencies: list[Dependency] = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            problems.append(f"dependency[{index}]: expected a table")
            continue
        reader = FieldReader(entry, f"dependency[{index}]", problems)
        dep = _read_dependency(reader, listings, problems)
        if dep is not None:
            dependencies.append(dep)
    names = [d.name for d in dependencies]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"dependency: {name!r} is pinned more than once")
    for name in sorted(set(listings) - set(names)):
        problems.append(f"listing.{name}: no [[dependency]] named {name!r}")
    by_name = {d.name: d for d in dependencies}
    for dep in dependencies:
        if dep.patch is None:
            continue
        source = by_name.get(dep.patch.dependency)
        if source is None or source is dep:
            problems.append(
                f"{dep.name}: patch.dependency {dep.patch.dependency!r} is not another dependency"
            )
        elif source.patch is not None:
            problems.append(f"{dep.name}: the patch's own tree ({source.name}) must not be patched")
        elif dep.patch.path not in source.listing:
            problems.append(
                f"{dep.name}: patch.path {dep.patch.path} is not a kept file of {source.name}"
            )
    raise_if_problems(path, problems)
    # Trees that provide patches come first, so fetch and import have them when needed.
    ordered = [d for d in dependencies if d.patch is None]
    ordered += [d for d in dependencies if d.patch is not None]
    return DepsManifest(path=path, dependencies=tuple(ordered))


# --- unified diffs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Hunk:
    old_start: int
    old_lines: tuple[str, ...]  # each with its line ending, as in the file
    new_lines: tuple[str, ...]
    header_line: int  # where the hunk starts in the patch, for messages


@dataclass(frozen=True)
class FilePatch:
    old_path: str | None  # None: the file is created
    new_path: str | None  # None: the file is deleted
    hunks: tuple[Hunk, ...]

    @property
    def path(self) -> str:
        path = self.new_path or self.old_path
        assert path is not None
        return path


def _split_lines(text: str) -> list[str]:
    """Lines with their endings, split at "\n" only (str.splitlines also splits at form feeds
    and other separators that C sources may contain)."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def _diff_path(raw: str, strip: int) -> str | None:
    name = raw.split("\t")[0].rstrip()
    if name == "/dev/null":
        return None
    parts = name.split("/")
    if len(parts) <= strip:
        raise PatchError(f"cannot strip {strip} leading component(s) from {name!r}")
    path = "/".join(parts[strip:])
    if why := _path_problem(path):
        raise PatchError(f"patch names {name!r}: the path {why}")
    return path


def parse_patch(text: str, strip: int = 1) -> tuple[FilePatch, ...]:
    """Parses a unified diff (git or diff -u); lines outside file sections are ignored."""
    lines = _split_lines(text)
    patches: list[FilePatch] = []
    i = 0
    while i < len(lines):
        if not (lines[i].startswith("--- ") and i + 1 < len(lines)):
            i += 1
            continue
        if not lines[i + 1].startswith("+++ "):
            i += 1
            continue
        old_path = _diff_path(lines[i][4:].rstrip("\r\n"), strip)
        new_path = _diff_path(lines[i + 1][4:].rstrip("\r\n"), strip)
        if old_path is None and new_path is None:
            raise PatchError(f"patch line {i + 1}: both sides are /dev/null")
        i += 2
        hunks: list[Hunk] = []
        while i < len(lines) and lines[i].startswith("@@"):
            match = _HUNK.match(lines[i])
            if match is None:
                raise PatchError(f"patch line {i + 1}: malformed hunk header {lines[i]!r}")
            header_line = i + 1
            old_count = int(match.group(2)) if match.group(2) is not None else 1
            new_count = int(match.group(4)) if match.group(4) is not None else 1
            old: list[str] = []
            new: list[str] = []
            i += 1
            # Counting, not pattern matching, decides where a hunk ends: a git signature
            # ("-- ") after the last hunk would otherwise read as a removed line.
            while len(old) < old_count or len(new) < new_count:
                if i >= len(lines):
                    raise PatchError(f"patch line {header_line}: hunk ends early")
                line = lines[i]
                body = line[1:] if line[1:] else "\n"
                if line.startswith(" ") or line in ("\n", "\r\n"):
                    old.append(body)
                    new.append(body)
                elif line.startswith("-"):
                    old.append(body)
                elif line.startswith("+"):
                    new.append(body)
                else:
                    raise PatchError(f"patch line {i + 1}: unexpected line in hunk {line!r}")
                if len(old) > old_count or len(new) > new_count:
                    raise PatchError(f"patch line {header_line}: hunk is longer than its header")
                i += 1
                if i < len(lines) and lines[i].startswith("\\"):
                    # "\ No newline at end of file" applies to the line just read.
                    kind = line[:1]
                    if kind in (" ", "-") and old:
                        old[-1] = old[-1].rstrip("\r\n")
                    if kind in (" ", "+") and new:
                        new[-1] = new[-1].rstrip("\r\n")
                    i += 1
            start = int(match.group(1))
            hunks.append(Hunk(start, tuple(old), tuple(new), header_line))
        if not hunks:
            raise PatchError(f"patch line {i}: no hunks for {new_path or old_path}")
        patches.append(FilePatch(old_path, new_path, tuple(hunks)))
    if not patches:
        raise PatchError("the patch holds no file changes")
    return tuple(patches)


def _apply_hunks(path: str, content: bytes, hunks: Sequence[Hunk]) -> bytes:
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PatchError(f"{path}: not UTF-8 text, cannot patch it") from exc
    lines = _split_lines(text)
    result: list[str] = []
    position = 0  # next unconsumed line of the original
    offset = 0  # how far the previous hunks landed from where their headers said
    for hunk in hunks:
        size = len(hunk.old_lines)
        expected = max(hunk.old_start - 1 + (0 if size else 1) + offset, position)
        # The nearest exact match to the expected line, never before the previous hunk's end.
        starts = sorted(
            range(position, len(lines) - size + 1), key=lambda s: (abs(s - expected), s)
        )
        found = next((s for s in starts if tuple(lines[s : s + size]) == hunk.old_lines), None)
        if found is None:
            first = hunk.old_lines[0].rstrip("\r\n") if hunk.old_lines else ""
            raise PatchError(
                f"{path}: hunk at patch line {hunk.header_line} (original line {hunk.old_start}, "
                f"starting {first!r}) does not apply: the file is not the one the patch expects"
            )
        offset = found - (hunk.old_start - 1 + (0 if size else 1))
        result.extend(lines[position:found])
        result.extend(hunk.new_lines)
        position = found + size
    result.extend(lines[position:])
    return "".join(result).encode("utf-8")


def apply_patch(
    patch_text: str, read: Callable[[str], bytes | None], strip: int = 1
) -> dict[str, bytes | None]:
    """The new content of every file the patch touches (None: deleted).

    `read(path)` returns a file's current bytes or None if it does not exist. Hunks must match
    exactly (no fuzz) but may land at other lines than their headers say.
    """
    changes: dict[str, bytes | None] = {}
    for file_patch in parse_patch(patch_text, strip):
        source = file_patch.old_path
        current: bytes | None
        if source is None:
            current = b""
            if read(file_patch.path) is not None:
                raise PatchError(f"{file_patch.path}: the patch creates it but it already exists")
        else:
            current = changes[source] if source in changes else read(source)
            if current is None:
                raise PatchError(f"{source}: the patch changes it but it does not exist")
        patched = _apply_hunks(file_patch.path, current or b"", file_patch.hunks)
        if file_patch.new_path is None:
            if patched:
                raise PatchError(f"{source}: the patch deletes it but it is not empty afterwards")
            changes[source or file_patch.path] = None
        else:
            changes[file_patch.new_path] = patched
    return changes


# --- trees -----------------------------------------------------------------------------------


def _walk_files(root: Path, rules: PathRules, skip_marker: bool = False) -> dict[str, Path]:
    """Kept regular files under root by relative path; a kept link or special file is an error."""
    found: dict[str, Path] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        base = Path(dirpath)
        rel_dir = base.relative_to(root).as_posix()
        prefix = "" if rel_dir == "." else rel_dir + "/"
        for name in [*filenames, *(d for d in dirnames if (base / d).is_symlink())]:
            rel = prefix + name
            if skip_marker and rel == MARKER_NAME:
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


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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


def tree_listing(root: Path, rules: PathRules, skip_marker: bool = False) -> dict[str, str]:
    """sha256 of every kept file under root."""
    return {rel: _hash_file(full) for rel, full in _walk_files(root, rules, skip_marker).items()}


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
    listing = {rel: _hash_file(full) for rel, full in files.items()}
    size = sum(full.stat().st_size for full in files.values())
    return TreePin(len(listing), size, tree_digest(listing), listing)


# --- the cache -------------------------------------------------------------------------------


def _missing_message(dep: Dependency, why: str) -> str:
    return (
        f"{dep.name} ({dep.repo} at {dep.commit}) {why}. Run `{FETCH_COMMAND}` to "
        f"download the pinned sources, or on a machine without network `{IMPORT_COMMAND}` with "
        f"a local copy of {dep.repo} at that commit (for example GitHub's {dep.archive_dir_name} "
        "folder)"
    )


def _read_marker(directory: Path) -> dict[str, object] | None:
    try:
        data = json.loads((directory / MARKER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _marker_matches(dep: Dependency, marker: Mapping[str, object] | None) -> bool:
    return marker is not None and (
        marker.get("name") == dep.name
        and marker.get("commit") == dep.commit
        and marker.get("files") == dep.files
        and marker.get("tree_sha256") == dep.tree_sha256
    )


class CacheState(Enum):
    VERIFIED = "verified"
    MISSING = "missing"  # no directory
    UNVERIFIED = "unverified"  # no marker, or one for other pins
    CHANGED = "changed"  # the marker is right but files differ from the pins


def check_cached(dep: Dependency, cache_root: Path, deep: bool = True) -> tuple[CacheState, str]:
    """The state of dep's cache directory and, unless verified, why.

    The marker must name the pins; with `deep` every file is hashed again, so an edited, extra
    or deleted file is named.
    """
    directory = dep.cache_dir(cache_root)
    if not directory.is_dir():
        return CacheState.MISSING, f"is not in the dependency cache (expected at {directory})"
    if not _marker_matches(dep, _read_marker(directory)):
        return (
            CacheState.UNVERIFIED,
            f"in the cache at {directory} has no {MARKER_NAME} matching the pins",
        )
    if deep:
        try:
            listing = tree_listing(directory, _EVERYTHING, skip_marker=True)
        except (DepsError, OSError) as exc:
            return CacheState.CHANGED, f"in the cache at {directory} cannot be verified: {exc}"
        diff = diff_listing(listing, dep.listing)
        if not diff.ok:
            return (
                CacheState.CHANGED,
                f"in the cache at {directory} was changed after it was verified: {diff.describe()}",
            )
    return CacheState.VERIFIED, ""


def verify_cached(dep: Dependency, cache_root: Path, deep: bool = True) -> Path:
    """The verified cache directory of dep, or a DepsError naming both ways to fill it."""
    state, why = check_cached(dep, cache_root, deep)
    if state is not CacheState.VERIFIED:
        raise DepsError(_missing_message(dep, why))
    return dep.cache_dir(cache_root)


_EVERYTHING = PathRules(("**",))


def _write_marker(directory: Path, dep: Dependency) -> None:
    marker = {
        "name": dep.name,
        "commit": dep.commit,
        "files": dep.files,
        "tree_sha256": dep.tree_sha256,
    }
    (directory / MARKER_NAME).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")


def _install(dep: Dependency, cache_root: Path, contents: Mapping[str, bytes], origin: str) -> Path:
    """Writes the kept files into a temp dir beside the target, verifies them from disk, writes
    the marker and renames the directory into place: nothing partial is ever left under the
    final name, and a failed verification saves nothing."""
    target = dep.cache_dir(cache_root)
    try:
        return _install_at(target, dep, contents, origin)
    except OSError as exc:
        raise DepsError(f"{dep.name}: cannot write the cache at {target}: {exc}") from exc


def _install_at(target: Path, dep: Dependency, contents: Mapping[str, bytes], origin: str) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dep.commit}.", suffix=".tmp", dir=target.parent))
    try:
        for rel, data in contents.items():
            path = staging.joinpath(*rel.split("/"))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        diff = diff_listing(tree_listing(staging, _EVERYTHING), dep.listing)
        if not diff.ok:
            raise DepsError(
                f"{dep.name} from {origin} does not match the pins in deps.toml: "
                f"{diff.describe()}; nothing was saved"
            )
        _write_marker(staging, dep)
        staging.chmod(0o755)  # mkdtemp made it private; the cache is not
        old = None
        if target.exists():
            old = target.with_name(f".{dep.commit}.old-{os.getpid()}-{time.time_ns()}")
            target.rename(old)
        staging.rename(target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _apply_dep_patch(
    dep: Dependency, contents: Mapping[str, bytes], patch_text: str, origin: str
) -> dict[str, bytes]:
    assert dep.patch is not None
    try:
        changes = apply_patch(patch_text, contents.get)
    except PatchError as exc:
        raise DepsError(
            f"{dep.name} from {origin}: {dep.patch.dependency}'s {dep.patch.path} does not "
            f"apply: {exc}"
        ) from exc
    result = dict(contents)
    for path, data in changes.items():
        if data is None:
            result.pop(path, None)
        elif dep.paths.keeps(path):
            result[path] = data
    return result


@dataclass(frozen=True)
class Outcome:
    """What fetch or import did for one dependency."""

    name: str
    commit: str
    directory: Path
    action: str  # "fetched", "imported", "already cached"
    origin: str  # the URL or the local directory
    patched: bool = False


@dataclass(frozen=True)
class DepStatus:
    dependency: Dependency
    directory: Path
    state: CacheState
    detail: str  # why it is not verified; empty when it is

    @property
    def verified(self) -> bool:
        return self.state is CacheState.VERIFIED


@dataclass(frozen=True)
class _Candidate:
    """One directory of an import: its files by path relative to the candidate's root."""

    root: Path
    files: Mapping[str, Path]


@dataclass(frozen=True)
class _Match:
    dependency: Dependency
    candidate: _Candidate
    contents: Mapping[str, bytes]
    patched: bool


@dataclass(frozen=True)
class _Near:
    """A tree that resembles a dependency but does not match its pins."""

    score: float
    candidate: _Candidate
    name: str
    message: str


@dataclass(frozen=True)
class DepsCache:
    """The cache under `<cache_root>/deps`, filled from pinned archives or from local trees."""

    manifest: DepsManifest
    cache_root: Path
    fetcher: Fetcher = fetch_url

    def dependency(self, name: str) -> Dependency:
        return self.manifest.get(name)

    def directory(self, name: str, deep: bool = True) -> Path:
        return verify_cached(self.manifest.get(name), self.cache_root, deep)

    def status(self, deep: bool = True) -> list[DepStatus]:
        result = []
        for dep in self.manifest.dependencies:
            state, why = check_cached(dep, self.cache_root, deep)
            result.append(DepStatus(dep, dep.cache_dir(self.cache_root), state, why))
        return result

    def _cached(self, dep: Dependency) -> bool:
        return check_cached(dep, self.cache_root)[0] is CacheState.VERIFIED

    def _patch_from_cache(self, dep: Dependency) -> str:
        """The text of dep's patch from the cached, verified tree of the dependency holding it."""
        assert dep.patch is not None
        source = self.manifest.get(dep.patch.dependency)
        directory = verify_cached(source, self.cache_root, deep=False)
        return _checked_patch_text(dep, source, directory / dep.patch.path)

    # -- fetch --

    def _selection(self, names: Iterable[str] | None) -> list[Dependency]:
        wanted = {self.manifest.get(n).name for n in names} if names else None
        if wanted is not None:
            # A patched tree needs the tree its patch comes from.
            wanted |= {
                d.patch.dependency
                for d in self.manifest.dependencies
                if d.name in wanted and d.patch is not None
            }
        return [d for d in self.manifest.dependencies if wanted is None or d.name in wanted]

    def fetch(
        self, names: Iterable[str] | None = None, progress: Callable[[str], None] | None = None
    ) -> list[Outcome]:
        """Downloads, verifies and caches every selected dependency that is not cached yet."""
        outcomes = []
        for dep in self._selection(names):
            directory = dep.cache_dir(self.cache_root)
            if self._cached(dep):
                outcomes.append(Outcome(dep.name, dep.commit, directory, "already cached", ""))
                continue
            if progress is not None:
                progress(f"downloading {dep.url}")
            data = self._download(dep)
            contents = _zip_subset(data, dep)
            if dep.patch is not None:
                contents = _apply_dep_patch(dep, contents, self._patch_from_cache(dep), dep.url)
            _install(dep, self.cache_root, contents, dep.url)
            outcomes.append(
                Outcome(dep.name, dep.commit, directory, "fetched", dep.url, dep.patch is not None)
            )
        return outcomes

    def _download(self, dep: Dependency) -> bytes:
        try:
            return self.fetcher(dep.url, DOWNLOAD_TIMEOUT_S)
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DepsError(
                f"{dep.name}: the download of {dep.url} failed ({reason}); this machine may be "
                f"offline: get that archive (or a checkout of {dep.repo} at {dep.commit}) "
                f"elsewhere, unpack it into a directory and run `{IMPORT_COMMAND}`"
            ) from exc

    # -- import --

    def import_tree(self, source: Path) -> list[Outcome]:
        """Verifies local copies and puts them into the cache.

        `source` is one repository tree, or a directory holding several (named by dependency,
        as `<repo>-<commit>` like GitHub's zips extract, or anyhow): each is identified by its
        files matching a pin. A tree whose patch is missing gets it applied here. Trees that
        look like a dependency but do not match its pins are refused, naming the files.
        """
        if not source.is_dir():
            raise DepsError(f"{source}: not a directory; give the folder holding the trees")
        matches: dict[str, _Match] = {}
        near: list[_Near] = []
        try:
            candidates = _candidates(source)
            for dep in self.manifest.dependencies:
                taken = {id(m.candidate) for m in matches.values()}
                available = [c for c in candidates if id(c) not in taken]
                match, misses = self._identify(dep, available, matches)
                if match is not None:
                    matches[dep.name] = match
                near += misses
        except OSError as exc:
            raise DepsError(f"{source}: cannot read the trees: {exc}") from exc
        # Refuse each unmatched tree once, as the dependency it looks most like (trees share
        # files such as the Apache LICENSE, so a tree may resemble several).
        rejected: list[str] = []
        used = {id(m.candidate) for m in matches.values()}
        reported: set[str] = set(matches)
        for miss in sorted(near, key=lambda n: -n.score):
            if id(miss.candidate) in used or miss.name in reported:
                continue
            used.add(id(miss.candidate))
            reported.add(miss.name)
            rejected.append(miss.message)
        outcomes = []
        for name, match in matches.items():
            dep = match.dependency
            directory = dep.cache_dir(self.cache_root)
            origin = str(match.candidate.root)
            if self._cached(dep):
                outcomes.append(Outcome(name, dep.commit, directory, "already cached", origin))
                continue
            _install(dep, self.cache_root, match.contents, origin)
            outcomes.append(Outcome(name, dep.commit, directory, "imported", origin, match.patched))
        if rejected:
            done = "; ".join(f"{o.name} {o.action}" for o in outcomes) or "nothing"
            raise DepsError(
                "\n".join(["refused:", *(f"  - {r}" for r in rejected)])
                + f"\n(imported from {source}: {done})"
            )
        if not outcomes:
            expected = ", ".join(d.archive_dir_name for d in self.manifest.dependencies)
            raise DepsError(
                f"{source}: no tree matching a pinned dependency; expected a repository tree or a "
                f"directory of them, such as {expected}"
            )
        return outcomes

    def _identify(
        self, dep: Dependency, candidates: Sequence[_Candidate], found: Mapping[str, _Match]
    ) -> tuple[_Match | None, list[_Near]]:
        """The candidate holding dep's pinned tree, else what is wrong with those resembling it."""
        misses: list[_Near] = []
        pinned = dep.listing
        for candidate in candidates:
            kept = {rel: p for rel, p in candidate.files.items() if dep.paths.keeps(rel)}
            present = len(set(kept) & set(pinned))
            named = _named_like(candidate.root.name, dep)
            if not present and not named:
                continue
            for full in kept.values():
                if full.is_symlink():
                    raise DepsError(f"{full}: a kept path must be a regular file, not a link")
            contents = {rel: full.read_bytes() for rel, full in kept.items()}
            diff = diff_listing({r: sha256_bytes(b) for r, b in contents.items()}, pinned)
            if diff.ok:
                return _Match(dep, candidate, contents, patched=False), []
            patch_note = ""
            if dep.patch is not None:
                try:
                    patch_text = self._patch_text(dep, found)
                except DepsError as exc:
                    patch_text, patch_note = None, f" (and its patch is not available: {exc})"
                if patch_text is not None:
                    try:
                        patched = _apply_dep_patch(dep, contents, patch_text, str(candidate.root))
                    except DepsError as exc:
                        patched, patch_note = None, f" (and {exc})"
                    if patched is not None:
                        after = diff_listing(
                            {r: sha256_bytes(b) for r, b in patched.items()}, pinned
                        )
                        if after.ok:
                            return _Match(dep, candidate, patched, patched=True), []
                        diff = after
                        patch_note = f" after applying {dep.patch.dependency}'s {dep.patch.path}"
            # A tree resembles dep when named like it, or when it holds at least half of the
            # pinned paths (and more than a shared LICENSE).
            ratio = present / len(pinned)
            if named or (present >= 2 and ratio >= 0.5):
                message = (
                    f"{candidate.root} looks like {dep.name} but does not match the pins in "
                    f"{self.manifest.path.name} ({dep.repo} at {dep.commit}){patch_note}: "
                    f"{diff.describe()}"
                )
                misses.append(_Near(ratio + (1.0 if named else 0.0), candidate, dep.name, message))
        return None, misses

    def _patch_text(self, dep: Dependency, found: Mapping[str, _Match]) -> str:
        assert dep.patch is not None
        source_match = found.get(dep.patch.dependency)
        if source_match is not None:
            data = source_match.contents.get(dep.patch.path)
            if data is not None:
                return data.decode("utf-8")
        try:
            return self._patch_from_cache(dep)
        except DepsError as exc:
            raise DepsError(
                f"{dep.name} needs {dep.patch.path} from {dep.patch.dependency}, which is neither "
                f"in this import nor verified in the cache: import {dep.patch.dependency} first "
                "or together"
            ) from exc


def _checked_patch_text(dep: Dependency, source: Dependency, path: Path) -> str:
    assert dep.patch is not None
    data = path.read_bytes()
    if sha256_bytes(data) != source.listing[dep.patch.path]:
        raise DepsError(f"{path}: not the pinned {dep.patch.path} of {source.name}")
    return data.decode("utf-8")


def _named_like(directory_name: str, dep: Dependency) -> bool:
    repo_name = dep.repo.split("/")[1]
    return directory_name in (dep.name, repo_name, dep.archive_dir_name) or (
        directory_name.startswith(f"{repo_name}-")
    )


def _candidates(source: Path) -> list[_Candidate]:
    """The source directory and each directory directly in it, with their regular files and
    symlinks; one walk of the whole tree."""
    everything: dict[str, Path] = {}
    for dirpath, dirnames, filenames in os.walk(source):
        base = Path(dirpath)
        rel_dir = base.relative_to(source).as_posix()
        prefix = "" if rel_dir == "." else rel_dir + "/"
        links = [d for d in dirnames if (base / d).is_symlink()]
        for name in [*filenames, *links]:
            full = base / name
            if full.is_symlink() or full.is_file():
                everything[prefix + name] = full
    candidates = [_Candidate(source, everything)]
    tops: dict[str, dict[str, Path]] = {}
    for rel, full in everything.items():
        top, sep, rest = rel.partition("/")
        if sep:
            tops.setdefault(top, {})[rest] = full
    for top in sorted(tops):
        candidates.append(_Candidate(source / top, tops[top]))
    return candidates


def _zip_subset(data: bytes, dep: Dependency) -> dict[str, bytes]:
    """The kept files of a repository zip (GitHub's wrap everything in `<repo>-<commit>/`)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise DepsError(f"{dep.url}: not a zip archive ({exc}); nothing was saved") from exc
    with archive:
        members = [i for i in archive.infolist() if not i.is_dir()]
        tops = {m.filename.split("/", 1)[0] for m in members}
        strip = len(tops) == 1 and all("/" in m.filename for m in members)
        contents: dict[str, bytes] = {}
        for info in members:
            rel = info.filename.split("/", 1)[1] if strip else info.filename
            if why := _path_problem(rel):
                raise DepsError(f"{dep.url}: archive member {info.filename!r}: the path {why}")
            if not dep.paths.keeps(rel):
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                raise DepsError(
                    f"{dep.url}: {rel} is a symbolic link; a kept path must be a regular file"
                )
            contents[rel] = archive.read(info)
    return contents


# --- entry points for the rest of tinybench ---------------------------------------------------


def open_cache(locations: Locations, fetcher: Fetcher = fetch_url) -> DepsCache:
    """The dependency cache of this installation: pins from deps.toml, cache under cache_dir."""
    manifest = load_manifest(manifest_path(locations))
    return DepsCache(manifest=manifest, cache_root=locations.cache_dir, fetcher=fetcher)


def dependency_dir(locations: Locations, name: str, deep: bool = True) -> Path:
    """Root of the verified tree of dependency `name` ("tflite-micro", "cmsis-nn", ...).

    Raises DepsError naming `tinybench deps fetch` and `tinybench deps import DIR` when it is not
    cached; with `deep` (the default, ~0.04 s for all five) every file is hashed again.
    """
    return open_cache(locations).directory(name, deep)


def fetch(
    locations: Locations, names: Iterable[str] | None = None, fetcher: Fetcher = fetch_url
) -> list[Outcome]:
    return open_cache(locations, fetcher).fetch(names)


def import_tree(source: Path, locations: Locations) -> list[Outcome]:
    return open_cache(locations).import_tree(source)


def status(locations: Locations, deep: bool = True) -> list[DepStatus]:
    return open_cache(locations).status(deep)
