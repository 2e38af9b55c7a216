"""The verified cache of pinned upstream trees: status, fetch (download) and import (local copies).

    <cache_dir>/deps/<name>/<commit>/                         the kept subset of the tree
    <cache_dir>/deps/<name>/<commit>/.tinybench-verified.json  written only after verification

Verification recomputes the sha256 of every kept file and the tree digest and compares them
with deps.toml's pins, so a tampered, extra or missing file is named. GitHub's zips are not
byte-stable, so archives are never pinned by their own hash: pooch downloads them into a
scratch directory, and only the verified kept files enter the cache.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from tinybench.deps.digest import PathRules, diff_listing, path_problem, tree_listing
from tinybench.deps.errors import DepsError, PatchError
from tinybench.deps.manifest import Dependency, DepsManifest, load_manifest, manifest_path
from tinybench.deps.patch import apply_patch
from tinybench.download import Downloader, DownloadFailed, download, http_download
from tinybench.hashing import sha256_bytes
from tinybench.paths import Locations

MARKER_NAME = ".tinybench-verified.json"
DOWNLOAD_TIMEOUT_S = 60.0
FETCH_COMMAND = "tinybench deps fetch"
IMPORT_COMMAND = "tinybench deps import DIR"


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
            listing = tree_listing(directory, _EVERYTHING, ignore=MARKER_NAME)
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
        changes = apply_patch(patch_text, contents)
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
    downloader: Downloader = http_download

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
        """The archive's bytes, downloaded into a scratch directory that is removed after."""
        try:
            self.cache_root.mkdir(parents=True, exist_ok=True)
            scratch = tempfile.TemporaryDirectory(prefix=".download-", dir=self.cache_root)
        except OSError as exc:
            raise DepsError(
                f"{dep.name}: cannot write the cache at {self.cache_root}: {exc}"
            ) from exc
        try:
            with scratch:
                target = Path(scratch.name) / f"{dep.archive_dir_name}.zip"
                saved = download(dep.url, target, None, self.downloader, DOWNLOAD_TIMEOUT_S)
                return saved.read_bytes()
        except DownloadFailed as exc:
            raise DepsError(
                f"{dep.name}: the download of {dep.url} failed ({exc.reason}); this machine may be "
                f"offline: get that archive (or a checkout of {dep.repo} at {dep.commit}) "
                f"elsewhere, unpack it into a directory and run `{IMPORT_COMMAND}`"
            ) from exc
        except OSError as exc:
            raise DepsError(f"{dep.name}: cannot keep the download of {dep.url}: {exc}") from exc

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
            if why := path_problem(rel):
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


def open_cache(locations: Locations, downloader: Downloader = http_download) -> DepsCache:
    """The dependency cache of this installation: pins from deps.toml, cache under cache_dir."""
    manifest = load_manifest(manifest_path(locations))
    return DepsCache(manifest=manifest, cache_root=locations.cache_dir, downloader=downloader)


def dependency_dir(locations: Locations, name: str, deep: bool = True) -> Path:
    """Root of the verified tree of dependency `name` ("tflite-micro", "cmsis-nn", ...).

    Raises DepsError naming `tinybench deps fetch` and `tinybench deps import DIR` when it is not
    cached; with `deep` (the default, ~0.04 s for all five) every file is hashed again.
    """
    return open_cache(locations).directory(name, deep)


def fetch(
    locations: Locations,
    names: Iterable[str] | None = None,
    downloader: Downloader = http_download,
) -> list[Outcome]:
    return open_cache(locations, downloader).fetch(names)


def import_tree(source: Path, locations: Locations) -> list[Outcome]:
    return open_cache(locations).import_tree(source)


def status(locations: Locations, deep: bool = True) -> list[DepStatus]:
    return open_cache(locations).status(deep)
