"""A trained demonstration prints the same figures on a busy machine as on an idle one.

Budgets are amounts of work, seeded: only the time may change. Each notebook runs top to bottom
at the grader's (small) amounts, once alone and once beside two CPU hogs, and the figures it
reports through ``course.results`` must be equal, figure by figure.
"""

from __future__ import annotations

import copy

import pytest
from conftest import CpuHogs
from nbclient import NotebookClient

from autograder.assignments import find_assignment
from autograder.sandbox import KERNEL_ENV
from course.results import read_results

TRAINED = ["02_backprop", "05_lenet", "09_gan", "10_rbm_dbn"]


def figures(name: str, tmp_path, monkeypatch, tag: str) -> dict[str, float]:
    assignment = find_assignment(name)
    target = tmp_path / f"{name}-{tag}.jsonl"
    for key, value in {**KERNEL_ENV, "NBGRADER_EXECUTION": "autograde", "COURSE_RESULTS_FILE": str(target)}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("COURSE_BUDGET_SCALE", raising=False)
    nb = copy.deepcopy(assignment.nb)
    NotebookClient(
        nb, timeout=1800, kernel_name="python3", resources={"metadata": {"path": str(assignment.path.parent)}}
    ).execute()
    return read_results(target)


@pytest.mark.parametrize("name", TRAINED)
def test_figures_do_not_depend_on_the_load(name, tmp_path, monkeypatch):
    idle = figures(name, tmp_path, monkeypatch, "idle")
    hogs = CpuHogs(2)
    try:
        busy = figures(name, tmp_path, monkeypatch, "busy")
    finally:
        hogs.stop()
    assert idle, f"{name} reported no figures through course.results"
    assert busy == idle
