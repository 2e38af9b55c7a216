"""Applies a unified diff to files held in memory, with `git apply`.

TFLM ships flatbuffers.patch as `git diff` output and applies it with `patch -p1`. `git apply`
reads that format natively and is strict where it matters here: every context line must match
exactly (it may land at another line than its header says, never with fuzz), CRLF endings,
form feeds and "\\ No newline at end of file" are kept byte for byte, files may be created or
deleted, and a path outside the tree ("../x", "/x") is refused before anything is written.

The files are written to a private temporary directory, patched there and read back; the
user's git configuration is kept out.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from tinybench.deps.digest import path_problem
from tinybench.deps.errors import PatchError

GIT_TIMEOUT_S = 60.0


def _git_environment() -> dict[str, str]:
    """The user's git configuration must not change the result (apply.whitespace=fix would
    rewrite lines), whether it comes from the config files or from GIT_CONFIG_* variables;
    LC_ALL=C keeps git's messages, which our errors quote, in English."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull, LC_ALL="C")
    return env


def _read_tree(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in root.rglob("*")
        if path.is_file() and not path.is_symlink()
    }


def _git_message(stderr: str) -> str:
    lines = [line.removeprefix("error: ").strip() for line in stderr.splitlines() if line.strip()]
    return "; ".join(lines) or "git apply failed without a message"


def apply_patch(
    patch_text: str, files: Mapping[str, bytes], strip: int = 1
) -> dict[str, bytes | None]:
    """The new content of every file the patch touches (None: deleted).

    `files` maps relative POSIX paths to their current bytes. Raises PatchError naming the
    file and what git reported when the patch is malformed or does not apply.
    """
    git = shutil.which("git")
    if git is None:
        raise PatchError("cannot apply the patch: git is not installed (apt-get install git)")
    for rel in files:
        if why := path_problem(rel):
            raise PatchError(f"cannot patch {rel!r}: the path {why}")
    with tempfile.TemporaryDirectory(prefix="tinybench-patch-") as scratch:
        root = Path(scratch) / "tree"
        root.mkdir()
        for rel, data in files.items():
            path = root.joinpath(*rel.split("/"))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        patch_file = Path(scratch) / "change.patch"
        patch_file.write_bytes(patch_text.encode("utf-8", "surrogateescape"))
        try:
            result = subprocess.run(
                [git, "apply", f"-p{strip}", "--whitespace=nowarn", str(patch_file)],
                cwd=root,
                env=_git_environment(),
                capture_output=True,
                text=True,
                timeout=GIT_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PatchError(f"cannot run git apply: {exc}") from exc
        if result.returncode != 0:
            raise PatchError(f"the patch does not apply: {_git_message(result.stderr)}")
        after = _read_tree(root)
    changes: dict[str, bytes | None] = {
        rel: data for rel, data in after.items() if files.get(rel) != data
    }
    changes.update({rel: None for rel in files if rel not in after})
    return changes
