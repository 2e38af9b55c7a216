"""The pure-Python unified-diff applier that patches flatbuffers as TFLM does."""

from __future__ import annotations

import difflib

import pytest

from deps.fakes import BETA_HEADER, BETA_HEADER_PATCHED, BETA_PATCH
from tinybench.deps import PatchError, apply_patch, parse_patch


def _diff(old: str, new: str, path: str = "src/f.c") -> str:
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{path}", f"b/{path}"
        )
    )


def test_a_generated_diff_applies_and_reproduces_the_new_file() -> None:
    files = {"include/beta.h": BETA_HEADER.encode()}
    assert apply_patch(BETA_PATCH, files.get) == {"include/beta.h": BETA_HEADER_PATCHED.encode()}


def test_hunks_still_apply_when_lines_moved() -> None:
    # Five lines added at the top after the diff was made: the hunks land 5 lines later.
    shifted = "".join(f"// new {i}\n" for i in range(5)) + BETA_HEADER
    expected = "".join(f"// new {i}\n" for i in range(5)) + BETA_HEADER_PATCHED
    result = apply_patch(BETA_PATCH, {"include/beta.h": shifted.encode()}.get)
    assert result["include/beta.h"] == expected.encode()


def test_a_git_format_patch_signature_is_not_read_as_a_removed_line() -> None:
    patch = (
        "From 123 Mon Sep 17 00:00:00 2001\nSubject: [PATCH] x\n---\n"
        "diff --git a/f.txt b/f.txt\nindex 1..2 100644\n"
        "--- a/f.txt\n+++ b/f.txt\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"
        "-- \n2.52.0\n\n"
    )
    assert apply_patch(patch, {"f.txt": b"a\nb\nc\n"}.get) == {"f.txt": b"a\nB\nc\n"}


def test_a_hunk_that_does_not_match_names_the_file_and_the_line() -> None:
    tampered = BETA_HEADER.replace("int beta_19(void);\n", "int beta_19(int);\n")
    with pytest.raises(PatchError) as err:
        apply_patch(BETA_PATCH, {"include/beta.h": tampered.encode()}.get)
    message = str(err.value)
    assert message.startswith("include/beta.h: hunk at patch line 11 (original line 19")
    assert "does not apply" in message


def test_files_are_created_and_deleted() -> None:
    patch = _diff("", "new\n", "n.txt").replace("--- a/n.txt", "--- /dev/null")
    patch += _diff("old\n", "", "o.txt").replace("+++ b/o.txt", "+++ /dev/null")
    result = apply_patch(patch, {"o.txt": b"old\n"}.get)
    assert result == {"n.txt": b"new\n", "o.txt": None}


def test_no_newline_at_end_of_file_markers_are_honoured() -> None:
    patch = (
        "--- a/f.txt\n+++ b/f.txt\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n"
        "+c\n\\ No newline at end of file\n"
    )
    assert apply_patch(patch, {"f.txt": b"a\nb"}.get) == {"f.txt": b"a\nc"}


def test_form_feeds_and_crlf_lines_are_kept_as_they_are() -> None:
    old = "a\r\n\x0c\nb\x0cc\nd\n"
    patch = "--- a/f.c\n+++ b/f.c\n@@ -1,4 +1,4 @@\n a\r\n \x0c\n-b\x0cc\n+B\x0cc\n d\n"
    assert apply_patch(patch, {"f.c": old.encode()}.get) == {"f.c": b"a\r\n\x0c\nB\x0cc\nd\n"}


def test_malformed_or_unsafe_patches_are_refused() -> None:
    with pytest.raises(PatchError, match="no file changes"):
        parse_patch("just text\n")
    with pytest.raises(PatchError, match="hunk ends early"):
        parse_patch("--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n")
    with pytest.raises(PatchError, match=r"'a/\.\./etc/passwd'"):
        parse_patch("--- a/../etc/passwd\n+++ b/../etc/passwd\n@@ -1 +1 @@\n-a\n+b\n")
    with pytest.raises(PatchError, match="changes it but it does not exist"):
        nothing: dict[str, bytes] = {}
        apply_patch(_diff("a\n", "b\n"), nothing.get)
