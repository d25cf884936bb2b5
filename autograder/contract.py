"""Check a source notebook against the grading contract in one kernel, without nbgrader.

The notebook runs top to bottom as the grader would run it (the grader's kernel environment:
``NBGRADER_EXECUTION`` set, so budgets shrink, and one thread); every test cell must then earn
its points. Next, for each exercise in turn, the released stub replaces its solution, every
test cell runs again, and the solution is put back: exactly that exercise's test cell must lose
its points. Finally all stubs go in at once (the untouched release) and every test cell must
score 0. Scores use nbgrader's own rule (``determine_grade``). Test cells are self-contained
(see :mod:`autograder.lint`), so re-running them in the live kernel is the same as grading a
notebook broken in one place.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field

from nbclient import NotebookClient
from nbformat import NotebookNode

from autograder.assignments import Assignment, stub_source

__all__ = ["ContractReport", "check_contract"]


@dataclass
class ContractReport:
    """Scores per test cell for the source, for each single broken exercise and for the release."""

    source: dict[str, float] = field(default_factory=dict)
    broken: dict[str, dict[str, float]] = field(default_factory=dict)
    release: dict[str, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def violations(self, assignment: Assignment) -> list[str]:
        """Every way the notebook breaks the contract, in words; empty when it holds."""
        points = {ex.test_id: ex.points for ex in assignment.exercises}
        out = list(self.errors)
        out += [f"{t}: {s:g} of {points[t]:g} points on the source" for t, s in self.source.items() if s != points[t]]
        for solution_id, scores in self.broken.items():
            for t, s in scores.items():
                own = t == solution_id + "_test"
                if own and s != 0:
                    out.append(f"{t}: still {s:g} points with {solution_id} stubbed (the test cannot fail)")
                if not own and s != points[t]:
                    out.append(f"{t}: lost points when {solution_id} was stubbed (tests must be independent)")
        out += [f"{t}: {s:g} points on the untouched release" for t, s in self.release.items() if s != 0]
        return out


def _score(cell: NotebookNode) -> float:
    from nbgrader.utils import determine_grade

    return float(determine_grade(cell)[0] or 0.0)


def check_contract(assignment: Assignment, *, timeout: int = 300) -> ContractReport:
    """Run `assignment`'s source notebook in one kernel and score every test cell in every state."""
    from autograder.runner import WORKER_ENV

    nb = copy.deepcopy(assignment.nb)
    env = {**os.environ, **WORKER_ENV, "NBGRADER_EXECUTION": "autograde"}
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(assignment.path.parent)}},
    )
    index = {c.get("id"): i for i, c in enumerate(nb.cells)}
    tests = [ex.test_id for ex in assignment.exercises if ex.test_id in index]
    report = ContractReport()

    pristine = assignment.nb.cells  # nbclient writes executed cells back into `nb`

    def run(cell_id: str, source: str | None = None) -> NotebookNode:
        cell = copy.deepcopy(pristine[index[cell_id]])
        if source is not None:
            cell.source = source
        client.execute_cell(cell, index[cell_id])
        return cell

    def score_tests() -> dict[str, float]:
        return {t: _score(run(t)) for t in tests}

    with client.setup_kernel(env=env):
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            client.execute_cell(cell, i)
            errors = [o for o in cell.outputs if o.output_type == "error"]
            if errors and cell.get("id") not in tests:
                report.errors.append(f"{cell.get('id')}: {errors[0].ename}: {errors[0].evalue}"[:400])
        report.source = {t: _score(nb.cells[index[t]]) for t in tests}
        for ex in assignment.exercises:
            run(ex.solution_id, stub_source(pristine[index[ex.solution_id]].source))
            report.broken[ex.solution_id] = score_tests()
            run(ex.solution_id)
        for ex in assignment.exercises:
            run(ex.solution_id, stub_source(pristine[index[ex.solution_id]].source))
        report.release = score_tests()
    return report
