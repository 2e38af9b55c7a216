"""Generated upstream trees and a deps.toml pinning them: no upstream code in the tests.

Two fake dependencies mirror the real ones: `alpha` (like tflite-micro) carries a patch for
`beta` (like flatbuffers), whose pins are those of the patched tree. The pins are computed here
with hashlib by the documented rule, independently of tinybench.deps.
"""

from __future__ import annotations

import difflib
import hashlib
import io
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ALPHA_COMMIT = "a1" * 20
BETA_COMMIT = "b2" * 20
PATCH_PATH = "tools/beta.patch"

BETA_HEADER = "".join(f"int beta_{i}(void);\n" for i in range(40))
BETA_HEADER_PATCHED = BETA_HEADER.replace(
    "int beta_20(void);\n", "int beta_20(void);\n#define BETA_PATCHED 1\n"
).replace("int beta_3(void);\n", "")

BETA_PATCH = "".join(
    difflib.unified_diff(
        BETA_HEADER.splitlines(keepends=True),
        BETA_HEADER_PATCHED.splitlines(keepends=True),
        "a/include/beta.h",
        "b/include/beta.h",
    )
)

ALPHA_TREE: dict[str, bytes] = {
    "LICENSE": b"alpha license\n",
    "src/core.c": b"int core(void) { return 1; }\n",
    "src/core.h": b"int core(void);\n",
    "src/deep/kernel.c": b"/* kernel */\n",
    "src/deep/kernel_test.c": b"/* a test: not kept */\n",
    "docs/guide.md": b"# not kept\n",
    PATCH_PATH: BETA_PATCH.encode(),
}
ALPHA_PATHS = ("LICENSE", "src/**", "!**/*_test.c", PATCH_PATH)
ALPHA_KEPT = sorted(p for p in ALPHA_TREE if p not in ("src/deep/kernel_test.c", "docs/guide.md"))

BETA_TREE: dict[str, bytes] = {
    "LICENSE": b"beta license\n",
    "include/beta.h": BETA_HEADER.encode(),
    "include/beta_util.h": b'#include "beta.h"\n',
    "src/beta.c": b"/* not kept */\n",
}
BETA_PATHS = ("LICENSE", "include/**")
BETA_KEPT_PATCHED: dict[str, bytes] = {
    "LICENSE": BETA_TREE["LICENSE"],
    "include/beta.h": BETA_HEADER_PATCHED.encode(),
    "include/beta_util.h": BETA_TREE["include/beta_util.h"],
}


def sha256sum_listing(files: Mapping[str, bytes]) -> str:
    """What `find . -type f | LC_ALL=C sort | xargs sha256sum` prints for these files."""
    return "".join(
        f"{hashlib.sha256(files[p]).hexdigest()}  {p}\n" for p in sorted(files, key=str.encode)
    )


def tree_sha256(files: Mapping[str, bytes]) -> str:
    return hashlib.sha256(sha256sum_listing(files).encode()).hexdigest()


def write_tree(root: Path, files: Mapping[str, bytes]) -> Path:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def zip_tree(top: str, files: Mapping[str, bytes]) -> bytes:
    """A zip like GitHub's: every member under `<top>/`, directories listed too."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"{top}/", b"")
        for rel in sorted(files):
            archive.writestr(f"{top}/{rel}", files[rel])
    return buffer.getvalue()


@dataclass(frozen=True)
class FakeDep:
    name: str
    repo: str
    commit: str
    paths: tuple[str, ...]
    kept: Mapping[str, bytes]  # the pinned (patched) subset
    patch: tuple[str, str] | None = None

    def toml(self, base_url: str) -> str:
        paths = ", ".join(f'"{p}"' for p in self.paths)
        lines = [
            "[[dependency]]",
            f'name = "{self.name}"',
            f'repo = "{self.repo}"',
            f'commit = "{self.commit}"',
            f'url = "{base_url}/{self.repo}/archive/{self.commit}.zip"',
            f"paths = [{paths}]",
            f"files = {len(self.kept)}",
            f"bytes = {sum(len(b) for b in self.kept.values())}",
            f'tree_sha256 = "{tree_sha256(self.kept)}"',
        ]
        if self.patch is not None:
            lines.append(f'patch = {{ dependency = "{self.patch[0]}", path = "{self.patch[1]}" }}')
        return "\n".join(lines) + "\n"

    def listing_toml(self) -> str:
        entries = "".join(
            f'"{p}" = "{hashlib.sha256(self.kept[p]).hexdigest()}"\n' for p in sorted(self.kept)
        )
        return f"[listing.{self.name}]\n{entries}"


ALPHA = FakeDep(
    "alpha", "example/alpha-lib", ALPHA_COMMIT, ALPHA_PATHS, {p: ALPHA_TREE[p] for p in ALPHA_KEPT}
)
BETA = FakeDep(
    "beta", "example/beta", BETA_COMMIT, BETA_PATHS, BETA_KEPT_PATCHED, ("alpha", PATCH_PATH)
)


def write_manifest(path: Path, base_url: str = "https://example.invalid") -> Path:
    """deps.toml pinning alpha and beta (beta listed first: the loader orders patch sources)."""
    body = "format = 1\n\n" + BETA.toml(base_url) + "\n" + ALPHA.toml(base_url) + "\n"
    body += BETA.listing_toml() + "\n" + ALPHA.listing_toml()
    path.write_text(body)
    return path


def github_dir_name(dep: FakeDep) -> str:
    return f"{dep.repo.split('/')[1]}-{dep.commit}"
