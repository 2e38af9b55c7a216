"""`--jobs auto`: one DUT per core this process may use, for emulated/host accuracy runs."""

from __future__ import annotations

import os

import click
import pytest

from tinybench.cli.run_cmd import JobsType
from tinybench.paths import locate
from tinybench.project import Project
from tinybench.runner import JOBS_AUTO, resolve_jobs


@pytest.mark.parametrize(("text", "jobs"), [("auto", JOBS_AUTO), ("AUTO", JOBS_AUTO), ("3", 3)])
def test_jobs_option_takes_a_count_or_auto(text: str, jobs: int) -> None:
    assert JobsType().convert(text, None, None) == jobs


@pytest.mark.parametrize("text", ["0", "65", "two", ""])
def test_jobs_option_refuses_anything_else(text: str) -> None:
    with pytest.raises(click.BadParameter):
        JobsType().convert(text, None, None)


def test_auto_is_the_affinity_core_count_for_emulated_and_host_accuracy_runs() -> None:
    project = Project(locate())
    cores = min(64, len(os.sched_getaffinity(0)))
    assert resolve_jobs(JOBS_AUTO, project.board("qemu-m4"), "accuracy") == cores
    assert resolve_jobs(JOBS_AUTO, project.board("host"), "accuracy") == cores
    assert resolve_jobs(JOBS_AUTO, project.board("qemu-m4"), "performance") == 1
    assert resolve_jobs(JOBS_AUTO, project.board("nucleo-f446re"), "accuracy") == 1
    assert resolve_jobs(2, project.board("qemu-m4"), "accuracy") == 2
