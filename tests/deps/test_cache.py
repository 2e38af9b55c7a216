"""Filling the dependency cache from local trees and from archives, and refusing bad copies."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pytest

from deps.conftest import FileServer
from deps.fakes import (
    ALPHA,
    ALPHA_TREE,
    BETA,
    BETA_KEPT_PATCHED,
    BETA_TREE,
    github_dir_name,
    tree_sha256,
    write_manifest,
    write_tree,
    zip_tree,
)
from tinybench.deps import (
    MARKER_NAME,
    CacheState,
    DepsCache,
    DepsError,
    dependency_dir,
    load_manifest,
)
from tinybench.paths import Locations


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _both_trees(parent: Path) -> Path:
    write_tree(parent / github_dir_name(ALPHA), ALPHA_TREE)
    write_tree(parent / github_dir_name(BETA), BETA_TREE)
    return parent


def test_import_of_one_good_tree_keeps_the_subset_and_writes_the_marker(
    tmp_path: Path, cache: DepsCache, cache_dir: Path
) -> None:
    source = write_tree(tmp_path / "checkout", ALPHA_TREE)
    [outcome] = cache.import_tree(source)
    target = cache_dir / "deps" / "alpha" / ALPHA.commit
    assert (outcome.name, outcome.action, outcome.directory) == ("alpha", "imported", target)
    kept = _files(target)
    marker = json.loads(kept.pop(MARKER_NAME))
    assert kept == ALPHA.kept  # tests, docs and everything else outside `paths` stay behind
    assert marker == {
        "name": "alpha",
        "commit": ALPHA.commit,
        "files": len(ALPHA.kept),
        "tree_sha256": tree_sha256(ALPHA.kept),
    }
    assert sorted(p.name for p in target.parent.iterdir()) == [ALPHA.commit]  # no temp dirs
    assert cache.directory("alpha") == target
    # Importing again changes nothing.
    [again] = cache.import_tree(source)
    assert again.action == "already cached"


def test_a_directory_of_github_style_trees_is_identified_and_beta_is_patched(
    tmp_path: Path, cache: DepsCache, cache_dir: Path
) -> None:
    outcomes = cache.import_tree(_both_trees(tmp_path / "scratch"))
    assert [(o.name, o.action, o.patched) for o in outcomes] == [
        ("alpha", "imported", False),
        ("beta", "imported", True),
    ]
    beta_dir = cache.directory("beta")
    assert beta_dir == cache_dir / "deps" / "beta" / BETA.commit
    kept = _files(beta_dir)
    kept.pop(MARKER_NAME)
    assert kept == BETA_KEPT_PATCHED


def test_trees_named_by_dependency_and_an_already_patched_tree_are_accepted(
    tmp_path: Path, cache: DepsCache
) -> None:
    scratch = tmp_path / "scratch"
    write_tree(scratch / "beta", {**BETA_TREE, **BETA_KEPT_PATCHED})  # patched, no alpha needed
    [outcome] = cache.import_tree(scratch)
    assert (outcome.name, outcome.patched) == ("beta", False)
    assert cache.status()[1].state is CacheState.VERIFIED


def test_an_unpatched_beta_without_alpha_says_where_the_patch_comes_from(
    tmp_path: Path, cache: DepsCache, cache_dir: Path
) -> None:
    source = write_tree(tmp_path / "beta", BETA_TREE)
    with pytest.raises(DepsError) as err:
        cache.import_tree(source)
    message = str(err.value)
    assert "looks like beta" in message
    assert "beta needs tools/beta.patch from alpha" in message
    assert "import alpha first or together" in message
    assert not (cache_dir / "deps" / "beta" / BETA.commit).exists()
    # With alpha cached first, the same tree is accepted.
    cache.import_tree(write_tree(tmp_path / "alpha", ALPHA_TREE))
    [outcome] = cache.import_tree(source)
    assert outcome.patched


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda root: (root / "src/core.c").write_bytes(b"int core(void) { return 2; }\n"),
            "src/core.c differs (sha256 ",
        ),
        (lambda root: (root / "src/core.h").unlink(), "src/core.h is missing"),
        (
            lambda root: (root / "src/deep/evil.c").write_bytes(b"/* extra */\n"),
            "src/deep/evil.c is an extra file (not in the pinned tree)",
        ),
    ],
    ids=["tampered", "missing", "extra"],
)
def test_a_tampered_missing_or_extra_file_is_refused_naming_it(
    tmp_path: Path, cache: DepsCache, cache_dir: Path, change: object, expected: str
) -> None:
    source = write_tree(tmp_path / github_dir_name(ALPHA), ALPHA_TREE)
    change(source)  # type: ignore[operator]
    with pytest.raises(DepsError) as err:
        cache.import_tree(source)
    message = str(err.value)
    assert f"{source} looks like alpha but does not match the pins in deps.toml" in message
    assert expected in message
    assert not (cache_dir / "deps" / "alpha").exists() or not any(
        (cache_dir / "deps" / "alpha").iterdir()
    )


def test_a_good_tree_is_imported_even_when_another_one_is_refused(
    tmp_path: Path, cache: DepsCache
) -> None:
    scratch = _both_trees(tmp_path / "scratch")
    (scratch / github_dir_name(BETA) / "include/beta_util.h").write_text("changed\n")
    with pytest.raises(DepsError) as err:
        cache.import_tree(scratch)
    message = str(err.value)
    assert "include/beta_util.h differs" in message
    assert "after applying alpha's tools/beta.patch" in message
    assert "(imported from" in message and "alpha imported" in message
    assert cache.status()[0].verified and not cache.status()[1].verified


def test_a_tree_sharing_only_a_license_is_not_taken_for_a_dependency(
    tmp_path: Path, cache: DepsCache
) -> None:
    scratch = tmp_path / "scratch"
    write_tree(scratch / "checkout", ALPHA_TREE)
    write_tree(scratch / "other", {"LICENSE": ALPHA_TREE["LICENSE"], "src/core.c": b"other\n"})
    assert [o.name for o in cache.import_tree(scratch)] == ["alpha"]


def test_a_directory_without_any_pinned_tree_is_explained(tmp_path: Path, cache: DepsCache) -> None:
    source = write_tree(tmp_path / "unrelated", {"README": b"hello\n"})
    with pytest.raises(DepsError) as err:
        cache.import_tree(source)
    assert "no tree matching a pinned dependency" in str(err.value)
    assert github_dir_name(ALPHA) in str(err.value)


def test_the_missing_cache_error_names_fetch_and_import(
    project_root: Path, cache_dir: Path
) -> None:
    locations = Locations(project_root, project_root / "shared", None, cache_dir)
    with pytest.raises(DepsError) as err:
        dependency_dir(locations, "alpha")
    message = str(err.value)
    assert "tinybench deps fetch" in message and "tinybench deps import DIR" in message
    assert f"example/alpha-lib at {ALPHA.commit}" in message
    assert str(cache_dir / "deps" / "alpha" / ALPHA.commit) in message
    with pytest.raises(DepsError, match=r"no dependency named 'gamma' \(known: alpha, beta\)"):
        dependency_dir(locations, "gamma")


def test_a_file_changed_in_the_cache_is_named_and_a_new_import_repairs_it(
    tmp_path: Path, project_root: Path, cache: DepsCache, cache_dir: Path
) -> None:
    source = write_tree(tmp_path / "checkout", ALPHA_TREE)
    target = cache.import_tree(source)[0].directory
    (target / "src/core.h").write_text("edited while debugging\n")
    locations = Locations(project_root, project_root / "shared", None, cache_dir)
    with pytest.raises(DepsError) as err:
        dependency_dir(locations, "alpha")
    assert "was changed after it was verified: src/core.h differs" in str(err.value)
    assert dependency_dir(locations, "alpha", deep=False) == target  # the marker alone is fine
    status = cache.status()[0]
    assert status.state is CacheState.CHANGED and "src/core.h differs" in status.detail
    [outcome] = cache.import_tree(source)
    assert outcome.action == "imported" and dependency_dir(locations, "alpha") == target


def test_a_stale_marker_from_other_pins_is_not_trusted(tmp_path: Path, cache: DepsCache) -> None:
    target = cache.import_tree(write_tree(tmp_path / "checkout", ALPHA_TREE))[0].directory
    marker = json.loads((target / MARKER_NAME).read_text())
    (target / MARKER_NAME).write_text(json.dumps({**marker, "tree_sha256": "0" * 64}))
    assert cache.status(deep=False)[0].state is CacheState.UNVERIFIED
    (target / MARKER_NAME).unlink()
    with pytest.raises(DepsError, match=f"has no {MARKER_NAME} matching the pins"):
        cache.directory("alpha")


# --- fetch -------------------------------------------------------------------------------------


def _served_cache(project_root: Path, cache_dir: Path, server: FileServer) -> DepsCache:
    write_manifest(project_root / "deps.toml", server.base_url)
    for dep, tree in ((ALPHA, ALPHA_TREE), (BETA, BETA_TREE)):
        path = f"/{dep.repo}/archive/{dep.commit}.zip"
        server.files[path] = zip_tree(github_dir_name(dep), tree)
    return DepsCache(load_manifest(project_root / "deps.toml"), cache_dir)


def test_fetch_downloads_verifies_patches_and_then_uses_the_cache(
    project_root: Path, cache_dir: Path, server: FileServer
) -> None:
    cache = _served_cache(project_root, cache_dir, server)
    outcomes = cache.fetch()
    assert [(o.name, o.action, o.patched) for o in outcomes] == [
        ("alpha", "fetched", False),
        ("beta", "fetched", True),
    ]
    kept = _files(cache.directory("beta"))
    kept.pop(MARKER_NAME)
    assert kept == BETA_KEPT_PATCHED
    assert server.requests == [
        f"/{ALPHA.repo}/archive/{ALPHA.commit}.zip",
        f"/{BETA.repo}/archive/{BETA.commit}.zip",
    ]
    assert [o.action for o in cache.fetch()] == ["already cached", "already cached"]
    assert len(server.requests) == 2


def test_fetching_beta_alone_brings_alpha_for_its_patch(
    project_root: Path, cache_dir: Path, server: FileServer
) -> None:
    cache = _served_cache(project_root, cache_dir, server)
    assert [o.name for o in cache.fetch(["beta"])] == ["alpha", "beta"]


def test_a_tampered_archive_is_refused_naming_the_file_and_nothing_is_saved(
    project_root: Path, cache_dir: Path, server: FileServer
) -> None:
    cache = _served_cache(project_root, cache_dir, server)
    url_path = f"/{ALPHA.repo}/archive/{ALPHA.commit}.zip"
    server.files[url_path] = zip_tree("x", {**ALPHA_TREE, "src/core.h": b"evil\n"})
    with pytest.raises(DepsError) as err:
        cache.fetch(["alpha"])
    message = str(err.value)
    assert f"alpha from {server.base_url}{url_path} does not match the pins" in message
    assert "src/core.h differs" in message and "nothing was saved" in message
    assert list((cache_dir / "deps" / "alpha").iterdir()) == []


def test_an_archive_with_an_unsafe_path_is_refused(
    project_root: Path, cache_dir: Path, server: FileServer
) -> None:
    cache = _served_cache(project_root, cache_dir, server)
    server.files[f"/{ALPHA.repo}/archive/{ALPHA.commit}.zip"] = zip_tree(
        "top", {**ALPHA_TREE, "src/../../escape.c": b"x"}
    )
    with pytest.raises(DepsError, match=r"archive member 'top/src/\.\./\.\./escape\.c'"):
        cache.fetch(["alpha"])
    assert not (cache_dir.parent / "escape.c").exists()


def test_offline_fetch_names_the_url_and_the_import_command(
    project_root: Path, cache_dir: Path
) -> None:
    # A port nobody listens on: the connection is refused as on a machine without network.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    write_manifest(project_root / "deps.toml", f"http://127.0.0.1:{port}")
    cache = DepsCache(load_manifest(project_root / "deps.toml"), cache_dir)
    with pytest.raises(DepsError) as err:
        cache.fetch()
    message = str(err.value)
    assert f"http://127.0.0.1:{port}/{ALPHA.repo}/archive/{ALPHA.commit}.zip" in message
    assert "may be offline" in message and "tinybench deps import DIR" in message
    assert not (cache_dir / "deps" / "alpha" / ALPHA.commit).exists()


def test_an_injected_fetcher_replaces_the_network(project_root: Path, cache_dir: Path) -> None:
    archives = {
        dep.url: zip_tree(dep.archive_dir_name, tree)
        for dep, tree in zip(
            load_manifest(project_root / "deps.toml").dependencies,
            (ALPHA_TREE, BETA_TREE),
            strict=True,
        )
    }
    requested: list[str] = []

    def from_memory(url: str, output: Path, _timeout_s: float) -> None:
        requested.append(url)
        output.write_bytes(archives[url])

    cache = DepsCache(load_manifest(project_root / "deps.toml"), cache_dir, downloader=from_memory)
    assert [o.action for o in cache.fetch()] == ["fetched", "fetched"]
    shutil.rmtree(cache_dir / "deps" / "beta")
    assert [o.action for o in cache.fetch()] == ["already cached", "fetched"]
    assert len(requested) == 3
    # The archives went through a scratch directory: only the verified trees stay in the cache.
    assert sorted(p.name for p in cache_dir.iterdir()) == ["deps"]
