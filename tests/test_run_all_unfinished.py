"""A fresh notebook can be run top to bottom: each unfinished exercise says so in one line, and
Run All goes on past it (the ``raises-exception`` tag), so the demonstrations that do not need it
still run and draw."""

import os

import pytest
from nbclient import NotebookClient

from autograder.assignments import all_assignments


@pytest.mark.parametrize("assignment", all_assignments(), ids=lambda a: a.name)
def test_run_all_on_the_release_reaches_the_last_cell(assignment):
    nb = assignment.released()
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(assignment.path.parent)}}
    )
    # allow_errors is off, as in JupyterLab's Run All: only cells tagged raises-exception may fail.
    client.execute(env={**os.environ, "NBGRADER_EXECUTION": "validate"})  # the short budgets
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[-1].get("execution_count"), "Run All stopped before the last cell"
    stubs = [o for c in code for o in c.outputs if o.output_type == "error" and o.ename == "NotImplementedError"]
    assert stubs, "the release has no unfinished exercise to run into"
    for error in stubs:
        assert len(error.traceback) == 1 and "not written yet" in error.traceback[0], error.traceback
