"""The HTML report in a real browser: Debian's chromium, headless, offline.

For each kind of run (top-1, ad01 AUC, performance with its per-op profile and memory
breakdown, a `tinybench profile` directory with two engines) the report is loaded with
--dump-dom: the page's own inline script stamps data-rendered="WxH" on every plot
after load, so the dumped DOM shows each plot's decoded size. A screenshot must
exist and show more than a blank page.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from matplotlib import image

from tinybench.report import write_report

from .rundirs import (
    write_auc_run,
    write_energy_run,
    write_performance_run,
    write_profile_dir,
    write_top1_run,
)

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
_IMG_TAG = re.compile(r"<img\b[^>]*>")
_ATTRIBUTE = re.compile(r'([a-z-]+)="([^"]*)"')


def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.fail(
            "chromium is not installed: the report's browser test needs Debian's package "
            "`chromium` (apt-get install -y --no-install-recommends chromium; "
            "scripts/setup.sh --dev installs it)"
        )
    return path


def run_chromium(browser: str, profile: Path, *args: str) -> str:
    result = subprocess.run(
        [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def rendered_plots(dom: str) -> dict[str, str]:
    plots = {}
    for tag in _IMG_TAG.findall(dom):
        attributes = dict(_ATTRIBUTE.findall(tag))
        if "data-plot" in attributes:
            plots[attributes["data-plot"]] = attributes.get("data-rendered", "not rendered")
    return plots


def distinct_colours(png: Path) -> tuple[int, float]:
    """(number of distinct RGB colours, share of pixels that are not white)."""
    pixels = image.imread(png)[:, :, :3]
    as_bytes = np.round(pixels * 255).astype(np.uint32).reshape(-1, 3)
    packed = (as_bytes[:, 0] << 16) | (as_bytes[:, 1] << 8) | as_bytes[:, 2]
    colours = len(np.unique(packed))
    not_white = float(np.mean(np.any(as_bytes < 250, axis=1)))
    return colours, not_white


RUNS: dict[str, tuple[Callable[[Path], Path], set[str]]] = {
    "top1": (write_top1_run, {"confusion", "per-class-accuracy", "sample-latency"}),
    "ad01": (write_auc_run, {"roc", "sample-latency"}),
    "performance": (
        write_performance_run,
        {"latency-windows", "latency-distribution", "op-profile", "memory-breakdown"},
    ),
    "profile": (write_profile_dir, {"op-profile"}),
    "energy": (write_energy_run, {"energy-trace"}),
}


def test_every_plot_renders_in_headless_chromium(tmp_path: Path) -> None:
    browser = chromium_path()
    for kind, (write_run, expected_plots) in RUNS.items():
        files = write_report(write_run(tmp_path / kind))
        url = files.html.resolve().as_uri()
        profile = tmp_path / f"profile-{kind}"
        dom = run_chromium(browser, profile, "--virtual-time-budget=5000", "--dump-dom", url)
        assert 'data-loaded="yes"' in dom, f"{kind}: the page's load handler did not run"
        rendered = rendered_plots(dom)
        assert set(rendered) == expected_plots, kind
        for plot in files.report.plots:
            assert rendered[plot.plot_id] == f"{plot.width_px}x{plot.height_px}", (
                f"{kind}: plot {plot.plot_id} did not render"
            )
            assert plot.width_px > 0 and plot.height_px > 0

        screenshot = tmp_path / f"{kind}.png"
        run_chromium(browser, profile, f"--screenshot={screenshot}", "--window-size=1200,4000", url)
        assert screenshot.is_file(), f"{kind}: no screenshot"
        colours, not_white = distinct_colours(screenshot)
        assert colours > 64, f"{kind}: screenshot has only {colours} colours"
        assert not_white > 0.02, f"{kind}: screenshot is {100 * (1 - not_white):.1f} % white"
