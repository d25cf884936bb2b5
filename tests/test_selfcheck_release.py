"""What a student receives: a self-check that scores visible tests, and a release with no answers."""

import re

import nbformat
import pytest

from autograder.assignments import all_assignments, find_assignment, nbgrader_meta
from autograder.paths import REPO
from course.selfcheck import check_notebook, summary

_SOLUTION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.DOTALL)


def test_self_check_scores_the_release_and_the_answers(tmp_path):
    neuron = find_assignment("01_neuron")
    release = tmp_path / "release.ipynb"
    nbformat.write(neuron.released(), release)
    answered = neuron.released()
    for cell in answered.cells:
        if nbgrader_meta(cell).get("solution"):
            cell.source = neuron.cell(cell.id).source
    answered.cells.insert(1, nbformat.v4.new_code_cell("import os\nos._exit(1)"))  # the grader never runs it
    full = tmp_path / "answered.ipynb"
    nbformat.write(answered, full)

    blank = check_notebook(release, show=False)
    assert len(blank) == len(neuron.exercises) and {r.status for r in blank} == {"not started"}
    assert f"({len(blank)} not started)" in summary(blank)
    done = check_notebook(full, show=False)
    assert all(r.passed for r in done)
    assert f"{neuron.max_points:g} of {neuron.max_points:g} points" in summary(done)


def test_self_check_names_a_failure_by_its_first_message(tmp_path, capfd):
    neuron = find_assignment("01_neuron")
    first = neuron.exercises[0]
    answered = neuron.released()
    for cell in answered.cells:
        if nbgrader_meta(cell).get("solution") and cell.id != first.solution_id:
            cell.source = neuron.cell(cell.id).source
    answered.cells[[c.id for c in answered.cells].index(first.solution_id)].source = "def sigmoid(z):\n    return z"
    nbformat.write(answered, tmp_path / "one_wrong.ipynb")
    results = check_notebook(tmp_path / "one_wrong.ipynb")
    assert [r.status for r in results] == ["failed"] + ["passed"] * (len(results) - 1)
    assert results[0].message.startswith("AssertionError: ")
    printed = capfd.readouterr()
    assert f"{results[0].test_id}" in printed.out and "failed: AssertionError" in printed.out
    assert "without encryption" not in printed.out + printed.err, "the kernel's TCP warning reached the student"


FRAGMENT = 3
"""Consecutive solution lines that make a fragment."""
DISTINCTIVE = 80
"""Characters a fragment needs to count: shorter runs are idioms (`optimizer.step()`...) found anywhere."""


def _code_lines(text: str) -> list[str]:
    """Non-blank, non-comment lines with whitespace normalised."""
    lines = (" ".join(line.split()) for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def _windows(lines: list[str]) -> set[tuple[str, ...]]:
    return {tuple(lines[i : i + FRAGMENT]) for i in range(len(lines) - FRAGMENT + 1)}


def _fragments(source: str) -> set[tuple[str, ...]]:
    """Distinctive runs of consecutive lines of the solution regions in `source`."""
    found = set()
    for block in _SOLUTION.findall(source):
        found |= {w for w in _windows(_code_lines(block)) if sum(map(len, w)) >= DISTINCTIVE}
    return found


ASSIGNMENTS = all_assignments()
PUBLIC = [
    (f"the {a.name} release", c.source)
    for a in ASSIGNMENTS
    for c in a.released().cells
    if not nbgrader_meta(c).get("solution")
] + [(str(p.relative_to(REPO)), p.read_text()) for p in sorted((REPO / "course").glob("*.py"))]


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=lambda a: a.name)
def test_no_answer_in_any_release_or_the_course_package(assignment):
    answers = set()
    for cell in assignment.nb.cells:
        if nbgrader_meta(cell).get("solution"):
            answers |= _fragments(cell.source)
    for where, text in PUBLIC:
        leaked = sorted(answers & _windows(_code_lines(text)))
        assert not leaked, f"{assignment.name}'s solution code is visible in {where}: {leaked[:2]}"
