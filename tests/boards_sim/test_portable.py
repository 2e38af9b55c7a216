"""The host side of a real-board run imports and runs on Windows and macOS too.

Only Linux runs here, so these check the code for what would break elsewhere: a POSIX-only
module imported at import time, a /proc path, and the cross-process lock that replaced flock.
"""

from __future__ import annotations

import ast
import threading
import time
from pathlib import Path

from tinybench.filelock import exclusive_lock

POSIX_ONLY = {"fcntl", "termios", "pty", "tty", "resource", "pwd", "grp", "posix"}


def _modules(repo_root: Path) -> list[Path]:
    return sorted((repo_root / "host" / "tinybench").rglob("*.py"))


def test_no_module_imports_a_posix_only_module_at_import_time(repo_root: Path) -> None:
    offenders = []
    for path in _modules(repo_root):
        tree = ast.parse(path.read_text())
        for node in tree.body:  # module level only: a guarded import inside a function is fine
            names = []
            if isinstance(node, ast.Import):
                names = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module.split(".")[0]]
            offenders += [f"{path.name}: {n}" for n in names if n in POSIX_ONLY]
    assert offenders == []
    assert len(_modules(repo_root)) > 50  # the walk saw the package


def test_no_proc_or_sys_paths_in_the_package(repo_root: Path) -> None:
    offenders = []
    for path in _modules(repo_root):
        for node in ast.walk(ast.parse(path.read_text())):
            text = node.value if isinstance(node, ast.Constant) else None
            if isinstance(text, str) and text.startswith(("/proc", "/sys/", "/dev/")):
                offenders.append(f"{path.name}: {text!r}")
    assert offenders == []


def test_the_file_lock_excludes_a_second_holder(tmp_path: Path) -> None:
    lock = tmp_path / "cache" / ".lock"
    events: list[tuple[str, float]] = []
    held = threading.Event()

    def first() -> None:
        with exclusive_lock(lock):
            events.append(("first in", time.monotonic()))
            held.set()
            time.sleep(0.3)
            events.append(("first out", time.monotonic()))

    thread = threading.Thread(target=first)
    thread.start()
    held.wait(5.0)
    with exclusive_lock(lock):
        events.append(("second in", time.monotonic()))
    thread.join()
    assert [name for name, _ in events] == ["first in", "first out", "second in"]
    assert lock.is_file()
