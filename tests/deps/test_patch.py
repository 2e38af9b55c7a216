"""Applying a unified diff in memory (through `git apply`), as TFLM patches flatbuffers."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from deps.fakes import BETA_HEADER, BETA_HEADER_PATCHED, BETA_PATCH
from tinybench.deps import PatchError, apply_patch


def _diff(old: str, new: str, path: str = "src/f.c") -> str:
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{path}", f"b/{path}"
        )
    )


def test_a_generated_diff_applies_and_reproduces_the_new_file() -> None:
    files = {"include/beta.h": BETA_HEADER.encode()}
    assert apply_patch(BETA_PATCH, files) == {"include/beta.h": BETA_HEADER_PATCHED.encode()}


def test_hunks_still_apply_when_lines_moved() -> None:
    # Five lines added between the hunks after the diff was made: the second hunk lands 5 lines
    # later than its header says. (A hunk starting at line 1 stays anchored to the top.)
    added = "".join(f"// new {i}\n" for i in range(5))
    anchor = "int beta_10(void);\n"
    shifted = BETA_HEADER.replace(anchor, anchor + added)
    expected = BETA_HEADER_PATCHED.replace(anchor, anchor + added)
    result = apply_patch(BETA_PATCH, {"include/beta.h": shifted.encode()})
    assert result == {"include/beta.h": expected.encode()}


def test_a_git_format_patch_signature_is_not_read_as_a_removed_line() -> None:
    patch = (
        "From 123 Mon Sep 17 00:00:00 2001\nSubject: [PATCH] x\n---\n"
        "diff --git a/f.txt b/f.txt\nindex 1..2 100644\n"
        "--- a/f.txt\n+++ b/f.txt\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"
        "-- \n2.52.0\n\n"
    )
    assert apply_patch(patch, {"f.txt": b"a\nb\nc\n"}) == {"f.txt": b"a\nB\nc\n"}


def test_a_hunk_that_does_not_match_names_the_file_and_the_line() -> None:
    tampered = BETA_HEADER.replace("int beta_19(void);\n", "int beta_19(int);\n")
    with pytest.raises(PatchError) as err:
        apply_patch(BETA_PATCH, {"include/beta.h": tampered.encode()})
    message = str(err.value)
    # git names the file and the original line of the hunk that fails (beta.h:19).
    assert message == (
        "the patch does not apply: patch failed: include/beta.h:19; "
        "include/beta.h: patch does not apply"
    )


def test_files_are_created_and_deleted() -> None:
    patch = _diff("", "new\n", "n.txt").replace("--- a/n.txt", "--- /dev/null")
    patch += _diff("old\n", "", "o.txt").replace("+++ b/o.txt", "+++ /dev/null")
    result = apply_patch(patch, {"o.txt": b"old\n"})
    assert result == {"n.txt": b"new\n", "o.txt": None}


def test_no_newline_at_end_of_file_markers_are_honoured() -> None:
    patch = (
        "--- a/f.txt\n+++ b/f.txt\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n"
        "+c\n\\ No newline at end of file\n"
    )
    assert apply_patch(patch, {"f.txt": b"a\nb"}) == {"f.txt": b"a\nc"}


def test_form_feeds_and_crlf_lines_are_kept_as_they_are() -> None:
    old = "a\r\n\x0c\nb\x0cc\nd\n"
    patch = "--- a/f.c\n+++ b/f.c\n@@ -1,4 +1,4 @@\n a\r\n \x0c\n-b\x0cc\n+B\x0cc\n d\n"
    assert apply_patch(patch, {"f.c": old.encode()}) == {"f.c": b"a\r\n\x0c\nB\x0cc\nd\n"}


def test_malformed_or_unsafe_patches_are_refused_and_nothing_changes() -> None:
    files = {"f": b"a\nb\nc\n"}
    with pytest.raises(PatchError, match="No valid patches in input"):
        apply_patch("just text\n", files)
    with pytest.raises(PatchError, match="corrupt patch at line 5"):
        apply_patch("--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n", files)
    with pytest.raises(PatchError, match=r"invalid path '\.\./etc/passwd'"):
        apply_patch("--- /dev/null\n+++ b/../etc/passwd\n@@ -0,0 +1 @@\n+b\n", files)
    with pytest.raises(PatchError, match=r"\.\./etc/passwd"):
        apply_patch("--- a/../etc/passwd\n+++ b/../etc/passwd\n@@ -1 +1 @@\n-a\n+b\n", files)
    with pytest.raises(PatchError, match=r"src/f\.c: No such file or directory"):
        nothing: dict[str, bytes] = {}
        apply_patch(_diff("a\n", "b\n"), nothing)
    with pytest.raises(PatchError, match=r"cannot patch '\.\./f'"):
        apply_patch(_diff("a\n", "b\n"), {"../f": b"a\n"})
    assert files == {"f": b"a\nb\nc\n"}


def test_the_users_git_configuration_does_not_change_the_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # apply.whitespace=fix would strip the trailing blank the patch adds; the result must be the
    # bytes of the patch whatever the user's ~/.gitconfig says.
    config = tmp_path / "gitconfig"
    config.write_text("[apply]\n\twhitespace = fix\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    patch = _diff("a\nb\n", "a  \nb\n", "w.txt")
    assert apply_patch(patch, {"w.txt": b"a\nb\n"}) == {"w.txt": b"a  \nb\n"}
    # The same setting given through the environment, as `git -c` does for child processes.
    monkeypatch.delenv("GIT_CONFIG_GLOBAL")
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "apply.whitespace")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "fix")
    assert apply_patch(patch, {"w.txt": b"a\nb\n"}) == {"w.txt": b"a  \nb\n"}
