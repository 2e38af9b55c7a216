"""deps.toml: the pins of every upstream tree, read and checked all at once."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tinybench.deps.digest import PathRules, path_problem, tree_digest
from tinybench.deps.errors import DepsError
from tinybench.manifests.manifest import FieldReader, load_toml, raise_if_problems
from tinybench.paths import Locations

MANIFEST_NAME = "deps.toml"

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")


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
        if patch.path and (why := path_problem(patch.path)):
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
        if why := path_problem(pattern.removeprefix("!")):
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
            if why := path_problem(path):
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
