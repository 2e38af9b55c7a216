"""Test helper: the processes of this machine, read from /proc (Linux, where the suite runs)."""

from __future__ import annotations

from pathlib import Path


def children(pid: int, name: str) -> list[int]:
    """The PIDs of pid's children whose command (the kernel's comm) starts with name."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        command = stat[stat.index("(") + 1 : stat.rindex(")")]
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        if parent == pid and command.startswith(name):
            found.append(int(entry.name))
    return found
