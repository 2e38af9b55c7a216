"""TFLM's real flatbuffers.patch through tinybench.deps.patch, on the verified cached trees.

The cache holds flatbuffers *after* the patch; taking the patch back out with `git apply -R`
gives the upstream files, and applying it again must reproduce the pinned listing exactly.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tinybench.deps import CacheState, apply_patch, load_manifest, status
from tinybench.deps.digest import diff_listing
from tinybench.hashing import sha256_bytes
from tinybench.paths import locate

pytestmark = pytest.mark.tflm


def _cached_or_skip() -> tuple[Path, Path, str]:
    locations = locate()
    states = {s.dependency.name: s for s in status(locations, deep=False)}
    needed = ("tflite-micro", "flatbuffers")
    if any(states[name].state is not CacheState.VERIFIED for name in needed):
        pytest.skip("needs tflite-micro and flatbuffers in the cache: tinybench deps fetch")
    manifest = load_manifest(locations.project_root / "deps.toml")
    flatbuffers = manifest.get("flatbuffers")
    assert flatbuffers.patch is not None
    patch = states["tflite-micro"].directory / flatbuffers.patch.path
    return states["flatbuffers"].directory, patch, flatbuffers.name


def test_the_real_patch_turns_upstream_flatbuffers_into_the_pinned_tree(tmp_path: Path) -> None:
    cached, patch_path, name = _cached_or_skip()
    pinned = load_manifest(locate().project_root / "deps.toml").get(name).listing
    patched = {rel: (cached / rel).read_bytes() for rel in pinned}
    # Upstream v25.9.23: the cached tree with the patch taken back out.
    upstream_dir = tmp_path / "upstream"
    for rel, data in patched.items():
        (upstream_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        (upstream_dir / rel).write_bytes(data)
    subprocess.run(
        ["git", "apply", "-R", "-p1", str(patch_path)],
        cwd=upstream_dir,
        check=True,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
            "GIT_CEILING_DIRECTORIES": str(tmp_path),
        },
    )
    upstream = {rel: (upstream_dir / rel).read_bytes() for rel in pinned}
    touched = sorted(rel for rel in pinned if upstream[rel] != patched[rel])
    assert touched == [
        "include/flatbuffers/base.h",
        "include/flatbuffers/default_allocator.h",
        "include/flatbuffers/flatbuffer_builder.h",
        "include/flatbuffers/flexbuffers.h",
        "include/flatbuffers/util.h",
    ]
    changes = apply_patch(patch_path.read_text(encoding="utf-8"), upstream)
    assert sorted(changes) == touched
    result = {**upstream, **{rel: data for rel, data in changes.items() if data is not None}}
    assert diff_listing({rel: sha256_bytes(d) for rel, d in result.items()}, pinned).ok
