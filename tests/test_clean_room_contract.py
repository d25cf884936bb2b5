"""The grading contract as the grader judges it: in the clean room, split where the calibration says.

``test_notebook_contract`` checks each notebook in one kernel. The grader judges the tests in the
clean room instead, most of them split (:mod:`autograder.sandboxed.split`), where only data and
handles cross between the tests and the student's code. So here, for every notebook, the source
passes every test there, and each exercise stubbed in turn (its released stub) fails exactly its
own test.
"""

import copy

import pytest

from autograder import verify
from autograder.assignments import all_assignments, stub_source
from autograder.runner import WORKER_ENV
from autograder.sandbox import Sandbox, bwrap_problem

ASSIGNMENTS = all_assignments()
CELL_TIMEOUT = 60
"""nbgrader's Execute.timeout in autograder/nbgrader_config.py: the grader's default."""


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AUTOGRADER_WORK", str(tmp_path_factory.mktemp("work")))
        box = Sandbox("bwrap" if bwrap_problem() is None else "rlimits")
        box.start()
        try:
            yield box
        finally:
            box.stop()


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=[a.name for a in ASSIGNMENTS])
def test_each_exercise_stubbed_fails_exactly_its_own_test_in_the_clean_room(assignment, sandbox):
    env = dict(WORKER_ENV)
    ref = verify.reference(sandbox, assignment, CELL_TIMEOUT, env)
    tests = list(assignment.test_cells)
    assert [t for t in tests if not ref.usable(t)] == [], "the clean room judges every test"
    assert ref.split(), "some tests run split"

    def lost(nb) -> list[str]:
        verdicts = verify.grade_tests(sandbox, assignment, nb, tests, CELL_TIMEOUT, env)
        return sorted(set(verdicts.errors) | set(verdicts.failed))

    assert lost(copy.deepcopy(assignment.nb)) == []
    for exercise in assignment.exercises:
        nb = copy.deepcopy(assignment.nb)
        cell = next(c for c in nb.cells if c.get("id") == exercise.solution_id)
        cell.source = stub_source(cell.source)
        assert lost(nb) == [exercise.test_id], f"{exercise.solution_id} stubbed"
