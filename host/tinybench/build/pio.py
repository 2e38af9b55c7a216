"""PlatformIO, offline: a repo-local core directory, our own tool-scons, no telemetry.

PlatformIO insists on a `tool-scons` package from its registry before it runs
any build. The scons it needs is on PyPI (a dependency of tinybench), so the
package is provided locally: a launcher that imports the installed SCons, a
package.json and the `.piopm` metadata without which PlatformIO goes to its
registry anyway (and fails after a 61 s timeout offline).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tinybench.errors import TinybenchError

# The tool-scons version PlatformIO 6.2.0 requires (~4.41101.0), i.e. SCons 4.11.1.
TOOL_SCONS_VERSION = "4.41101.0"

_LAUNCHER = """\
# Written by tinybench: runs the SCons installed from PyPI in the tinybench environment.
import sys

import SCons.Script

sys.exit(SCons.Script.main())
"""


class BuildError(TinybenchError):
    """A firmware build failed; the message carries the compiler's last lines."""


@dataclass(frozen=True)
class Pio:
    project_root: Path
    core_dir: Path

    @classmethod
    def for_project(cls, project_root: Path) -> Pio:
        return cls(project_root=project_root, core_dir=project_root / ".pio-core")

    def _package_files(self) -> dict[str, str]:
        meta = {
            "type": "tool",
            "name": "tool-scons",
            "version": TOOL_SCONS_VERSION,
            "spec": {
                "owner": "platformio",
                "id": None,
                "name": "tool-scons",
                "requirements": None,
                "uri": None,
            },
        }
        return {
            "scons.py": _LAUNCHER,
            "package.json": json.dumps(
                {"name": "tool-scons", "version": TOOL_SCONS_VERSION, "system": "*"}
            ),
            ".piopm": json.dumps(meta),
        }

    def ensure_core(self) -> None:
        """Writes the local tool-scons package once (and again if it was altered)."""
        package_dir = self.core_dir / "packages" / "tool-scons"
        package_dir.mkdir(parents=True, exist_ok=True)
        for name, text in self._package_files().items():
            path = package_dir / name
            if not path.is_file() or path.read_text() != text:
                path.write_text(text)

    def environ(self, extra: dict[str, str]) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            PLATFORMIO_CORE_DIR=str(self.core_dir),
            PLATFORMIO_DISABLE_UPGRADE_CHECK="true",
            PLATFORMIO_SETTING_ENABLE_TELEMETRY="No",
            PLATFORMIO_SETTING_CHECK_PLATFORMIO_INTERVAL="3650",
            PLATFORMIO_NO_ANSI="true",
        )
        env.update(extra)
        return env

    def run(self, env_name: str, build_dir: Path, extra_env: dict[str, str]) -> str:
        """Runs one environment; returns PlatformIO's output, raises BuildError on failure."""
        self.ensure_core()
        environ = self.environ({"PLATFORMIO_BUILD_DIR": str(build_dir), **extra_env})
        command = [sys.executable, "-m", "platformio", "run", "--environment", env_name]
        try:
            result = subprocess.run(
                command,
                cwd=self.project_root,
                env=environ,
                capture_output=True,
                text=True,
                timeout=900,
            )
        except subprocess.TimeoutExpired as exc:
            raise BuildError(f"PlatformIO build of {env_name} took over 15 minutes") from exc
        output = result.stdout + result.stderr
        if result.returncode != 0:
            tail = "\n".join(output.strip().splitlines()[-25:])
            raise BuildError(f"firmware build of {env_name} failed:\n{tail}")
        return output
