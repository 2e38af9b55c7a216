"""`tinybench deps fetch|import|status|pin` through click, on a fake project and cache."""

from __future__ import annotations

import socket
from pathlib import Path

from click.testing import CliRunner, Result

from deps.conftest import FileServer
from deps.fakes import (
    ALPHA,
    ALPHA_TREE,
    BETA,
    BETA_TREE,
    github_dir_name,
    tree_sha256,
    write_manifest,
    write_tree,
    zip_tree,
)
from tinybench.cli import cli


def _run(project_root: Path, cache_dir: Path, *args: str) -> Result:
    env = {"TINYBENCH_ROOT": str(project_root), "TINYBENCH_CACHE_DIR": str(cache_dir)}
    return CliRunner().invoke(cli, ["deps", *args], env=env)


def test_status_import_status(tmp_path: Path, project_root: Path, cache_dir: Path) -> None:
    before = _run(project_root, cache_dir, "status")
    assert before.exit_code == 0, before.output
    assert f"alpha         {ALPHA.commit[:12]}" in before.output
    assert "missing" in before.output and "verified" not in before.output
    assert "tinybench deps fetch" in before.output and "tinybench deps import DIR" in before.output
    assert _run(project_root, cache_dir, "status", "--check").exit_code == 1

    scratch = tmp_path / "scratch"
    write_tree(scratch / github_dir_name(ALPHA), ALPHA_TREE)
    write_tree(scratch / github_dir_name(BETA), BETA_TREE)
    imported = _run(project_root, cache_dir, "import", str(scratch))
    assert imported.exit_code == 0, imported.output
    assert "beta          " in imported.output and "imported (patched)" in imported.output
    assert str(cache_dir / "deps" / "beta" / BETA.commit) in imported.output

    after = _run(project_root, cache_dir, "status", "--check")
    assert after.exit_code == 0, after.output
    assert after.output.count(" verified ") == 2
    assert str(cache_dir / "deps" / "alpha" / ALPHA.commit) in after.output


def test_a_refused_import_is_one_message_without_traceback(
    tmp_path: Path, project_root: Path, cache_dir: Path
) -> None:
    source = write_tree(tmp_path / "alpha", {**ALPHA_TREE, "src/core.c": b"changed\n"})
    result = _run(project_root, cache_dir, "import", str(source))
    assert result.exit_code == 1
    assert result.output.startswith("Error: refused:")
    assert "src/core.c differs" in result.output
    assert "Traceback" not in result.output


def test_a_changed_cache_file_shows_in_status(
    tmp_path: Path, project_root: Path, cache_dir: Path
) -> None:
    _run(project_root, cache_dir, "import", str(write_tree(tmp_path / "a", ALPHA_TREE)))
    (cache_dir / "deps" / "alpha" / ALPHA.commit / "src/deep/kernel.c").unlink()
    result = _run(project_root, cache_dir, "status")
    assert " changed " in result.output and "src/deep/kernel.c is missing" in result.output
    quick = _run(project_root, cache_dir, "status", "--quick").output  # trusts the marker
    assert " changed " not in quick and " verified " in quick


def test_fetch_from_a_server_then_offline_error(
    project_root: Path, cache_dir: Path, server: FileServer
) -> None:
    write_manifest(project_root / "deps.toml", server.base_url)
    for dep, tree in ((ALPHA, ALPHA_TREE), (BETA, BETA_TREE)):
        server.files[f"/{dep.repo}/archive/{dep.commit}.zip"] = zip_tree(github_dir_name(dep), tree)
    fetched = _run(project_root, cache_dir, "fetch")
    assert fetched.exit_code == 0, fetched.output
    assert f"downloading {server.base_url}/{ALPHA.repo}" in fetched.output
    assert "fetched (patched)" in fetched.output

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    write_manifest(project_root / "deps.toml", f"http://127.0.0.1:{port}")
    offline = _run(project_root, cache_dir / "empty", "fetch", "alpha")
    assert offline.exit_code == 1
    assert f"http://127.0.0.1:{port}/{ALPHA.repo}/archive/{ALPHA.commit}.zip" in offline.output
    assert "tinybench deps import DIR" in offline.output
    assert "Traceback" not in offline.output


def test_an_unknown_name_and_a_broken_manifest_are_clear_errors(
    project_root: Path, cache_dir: Path
) -> None:
    unknown = _run(project_root, cache_dir, "fetch", "gamma")
    assert unknown.exit_code == 1
    assert "no dependency named 'gamma' (known: alpha, beta)" in unknown.output
    (project_root / "deps.toml").write_text("format = 1\n")
    broken = _run(project_root, cache_dir, "status")
    assert broken.exit_code == 1 and "expected one or more [[dependency]] tables" in broken.output


def test_pin_prints_what_deps_toml_needs(tmp_path: Path, cache_dir: Path) -> None:
    tree = write_tree(tmp_path / "alpha", ALPHA_TREE)
    args = ["pin", str(tree), "--name", "alpha"]
    for pattern in ALPHA.paths:
        args += ["-p", pattern]
    result = _run(tmp_path, cache_dir, *args)
    assert result.exit_code == 0, result.output
    assert f'tree_sha256 = "{tree_sha256(ALPHA.kept)}"' in result.output
    assert f"files = {len(ALPHA.kept)}\n" in result.output
    assert "[listing.alpha]" in result.output and '"src/deep/kernel.c" = "' in result.output
    assert "kernel_test.c" not in result.output
