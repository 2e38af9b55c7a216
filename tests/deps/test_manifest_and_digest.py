"""deps.toml: the repo's pins, validation of hand edits, the kept-path rules and the tree digest."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pytest

from deps.fakes import ALPHA, ALPHA_TREE, BETA, sha256sum_listing, tree_sha256, write_manifest
from tinybench.build.tflm import engine_version, tflm_commit
from tinybench.deps import PathRules, load_manifest, pin_tree, tree_digest, tree_listing
from tinybench.errors import ManifestError
from tinybench.paths import Locations

# The pins TFLM's download scripts name at the pinned TFLM commit (see docs/tflm-engine.md).
REAL_PINS = {
    "tflite-micro": ("tensorflow/tflite-micro", "90b983c2b3f1480642e040bbd2ddb37b998f3424"),
    "cmsis-nn": ("ARM-software/CMSIS-NN", "4ab83cc3cc98fb85ed6dafb55e8ca02f1628dcae"),
    "flatbuffers": ("google/flatbuffers", "187240970746d00bbd26b0f5873ed54d2477f9f3"),
    "gemmlowp": ("google/gemmlowp", "719139ce755a0f31cbf1c37f7f98adcc7fc9f425"),
    "ruy": ("google/ruy", "d37128311b445e758136b8602d1bbd2a755e115d"),
}


def test_repo_deps_toml_pins_the_five_trees_and_is_self_consistent(repo_root: Path) -> None:
    manifest = load_manifest(repo_root / "deps.toml")  # checks listing vs files and tree_sha256
    deps = {d.name: d for d in manifest.dependencies}
    assert set(deps) == set(REAL_PINS)
    for name, (repo, commit) in REAL_PINS.items():
        dep = deps[name]
        assert (dep.repo, dep.commit) == (repo, commit)
        assert dep.url == f"https://github.com/{repo}/archive/{commit}.zip"
        assert dep.cache_dir(Path("/c")) == Path("/c/deps") / name / commit
    flatbuffers = deps["flatbuffers"]
    assert flatbuffers.tag == "v25.9.23"
    assert flatbuffers.patch is not None and flatbuffers.patch.dependency == "tflite-micro"
    assert flatbuffers.patch.path in deps["tflite-micro"].listing
    # The patch source comes first, so fetch and import have the patch when they need it.
    names = [d.name for d in manifest.dependencies]
    assert names.index("tflite-micro") < names.index("flatbuffers")
    # What a minimal build needs is kept (docs/tflm-engine.md), tests and examples are not.
    tflm = deps["tflite-micro"].listing
    assert "tensorflow/lite/micro/micro_interpreter.cc" in tflm
    assert "tensorflow/lite/micro/kernels/cmsis_nn/conv.cc" in tflm
    assert "tensorflow/compiler/mlir/lite/schema/schema_utils.cc" in tflm
    assert "LICENSE" in tflm
    assert not any(re.search(r"_test\.cc$|/examples/", p) for p in tflm)
    assert "ruy/profiler/instrumentation.h" in deps["ruy"].listing
    assert "fixedpoint/fixedpoint.h" in deps["gemmlowp"].listing
    assert "include/flatbuffers/flatbuffers.h" in deps["flatbuffers"].listing


def test_the_fake_manifest_loads_with_patch_sources_first(tmp_path: Path) -> None:
    manifest = load_manifest(write_manifest(tmp_path / "deps.toml"))
    assert [d.name for d in manifest.dependencies] == ["alpha", "beta"]


def test_every_problem_of_a_hand_edited_manifest_is_reported_at_once(tmp_path: Path) -> None:
    path = write_manifest(tmp_path / "deps.toml")
    text = path.read_text()
    text = text.replace(f'commit = "{ALPHA.commit}"', 'commit = "abc"', 1)
    text = text.replace(f'tree_sha256 = "{tree_sha256(BETA.kept)}"', f'tree_sha256 = "{"0" * 64}"')
    text = text.replace("format = 1", "format = 1\ncolour = 'blue'")
    path.write_text(text)
    with pytest.raises(ManifestError) as err:
        load_manifest(path)
    message = str(err.value)
    assert "commit: must be a full 40-digit" in message
    assert f"tree_sha256: is {'0' * 64} but [listing.beta] digests to" in message
    assert "colour: unknown key" in message


def test_a_listed_file_outside_the_kept_paths_is_a_manifest_error(tmp_path: Path) -> None:
    path = write_manifest(tmp_path / "deps.toml")
    path.write_text(path.read_text() + f'"docs/x.md" = "{"1" * 64}"\n')  # into [listing.alpha]
    with pytest.raises(ManifestError, match=r"listing\.alpha\.'docs/x\.md': not kept"):
        load_manifest(path)


def test_path_rules_use_globstar_and_the_last_match_wins() -> None:
    rules = PathRules(("src/**", "!**/*_test.c", "src/keep_test.c", "LICENSE"))
    assert rules.keeps("src/a.c") and rules.keeps("src/x/y/z.h")
    assert not rules.keeps("src/x/a_test.c")
    assert rules.keeps("src/keep_test.c")
    assert rules.keeps("LICENSE") and not rules.keeps("x/LICENSE")
    assert not rules.keeps("srcx/a.c") and not rules.keeps("docs/a.md")
    single = PathRules(("fixedpoint/*.h",))
    assert single.keeps("fixedpoint/fp.h") and not single.keeps("fixedpoint/sub/fp.h")


def test_tree_digest_is_the_sha256_of_the_sha256sum_listing() -> None:
    files = {"b/x.h": b"x", "a.txt": b"hello\n", "B.txt": b""}
    listing = {p: hashlib.sha256(d).hexdigest() for p, d in files.items()}
    assert tree_digest(listing) == tree_sha256(files)
    # Computed once with `find . -type f | sed 's|^\\./||' | LC_ALL=C sort | xargs sha256sum |
    # sha256sum`: changing how the digest is computed must fail here, not silently invalidate
    # every user's cache and every pin in deps.toml.
    assert tree_digest(listing) == (
        "4d9715a63e63a29396624d4f32bdf98874f799814fdba3a67f8c9fdad628edbb"
    )
    assert sha256sum_listing(files).splitlines()[0].endswith("  B.txt")  # byte order: B < a


def test_digest_is_stable_across_write_order_times_and_modes(tmp_path: Path) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    for root, order in ((first, sorted(ALPHA_TREE)), (second, sorted(ALPHA_TREE, reverse=True))):
        for rel in order:
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(ALPHA_TREE[rel])
    os.utime(second / "src/core.c", (0, 0))
    (second / "src/core.h").chmod(0o755)
    (second / "docs/guide.md").write_text("files outside the kept paths do not count\n")
    rules = PathRules(ALPHA.paths)
    assert tree_listing(first, rules) == tree_listing(second, rules)
    pin = pin_tree(first, ALPHA.paths)
    assert pin.tree_sha256 == tree_sha256(ALPHA.kept) == pin_tree(second, ALPHA.paths).tree_sha256
    assert (pin.files, pin.size_bytes) == (len(ALPHA.kept), sum(map(len, ALPHA.kept.values())))


def test_the_tflm_engine_version_follows_the_commit_pinned_in_deps_toml(
    tmp_path: Path, repo_root: Path
) -> None:
    locations = Locations(repo_root, tmp_path, None, tmp_path / "cache")
    pinned = REAL_PINS["tflite-micro"][1]
    assert tflm_commit(locations) == pinned
    assert engine_version(locations, "reference") == f"{pinned[:7]}+reference"
    # A new pin is one edit of deps.toml: the version follows without a code change.
    moved = "0123456789abcdef0123456789abcdef01234567"
    (tmp_path / "deps.toml").write_text(
        (repo_root / "deps.toml").read_text().replace(pinned, moved)
    )
    elsewhere = Locations(tmp_path, tmp_path, None, tmp_path / "cache")
    assert engine_version(elsewhere, "cmsis-nn") == "0123456+cmsis-nn"
