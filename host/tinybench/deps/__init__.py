"""Pinned upstream sources (TF Lite Micro, CMSIS-NN, ...) in a verified cache outside the repo.

The pins live in the repo's `deps.toml`: per dependency the GitHub repository, the commit, the
archive URL, the subset of paths tinybench keeps, and the sha256 of every kept file. Upstream
code never enters the repository. The package follows the four jobs:

    manifest  reads and checks deps.toml
    digest    the kept-path rules, the sha256 listing and tree digest of a tree
    patch     applies a dependency's patch (TFLM patches flatbuffers) with `git apply`
    cache     the verified cache: status, fetch (pooch downloads) and import (local copies)

A dependency may carry a patch taken from another dependency's tree; it is applied before
verification, so the pinned digest is that of the patched subset.
"""

from __future__ import annotations

from tinybench.deps.cache import (
    DOWNLOAD_TIMEOUT_S,
    FETCH_COMMAND,
    IMPORT_COMMAND,
    MARKER_NAME,
    CacheState,
    DepsCache,
    DepStatus,
    Outcome,
    check_cached,
    dependency_dir,
    fetch,
    import_tree,
    open_cache,
    status,
    verify_cached,
)
from tinybench.deps.digest import (
    PathRules,
    TreeDiff,
    TreePin,
    diff_listing,
    listing_text,
    pin_tree,
    tree_digest,
    tree_listing,
)
from tinybench.deps.errors import DepsError, PatchError
from tinybench.deps.manifest import (
    MANIFEST_NAME,
    Dependency,
    DepsManifest,
    PatchSpec,
    load_manifest,
    manifest_path,
)
from tinybench.deps.patch import apply_patch

__all__ = [
    "DOWNLOAD_TIMEOUT_S",
    "FETCH_COMMAND",
    "IMPORT_COMMAND",
    "MANIFEST_NAME",
    "MARKER_NAME",
    "CacheState",
    "DepStatus",
    "Dependency",
    "DepsCache",
    "DepsError",
    "DepsManifest",
    "Outcome",
    "PatchError",
    "PatchSpec",
    "PathRules",
    "TreeDiff",
    "TreePin",
    "apply_patch",
    "check_cached",
    "dependency_dir",
    "diff_listing",
    "fetch",
    "import_tree",
    "listing_text",
    "load_manifest",
    "manifest_path",
    "open_cache",
    "pin_tree",
    "status",
    "tree_digest",
    "tree_listing",
    "verify_cached",
]
