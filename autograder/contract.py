"""Check a source notebook against the grading contract in one kernel, without nbgrader.

The notebook runs top to bottom as the grader would run it (the grader's kernel environment:
``NBGRADER_EXECUTION`` set, so budgets shrink, and one thread); every test cell must then earn
its points. Next, for each exercise in turn, the released stub replaces its solution, every
test cell runs again, and the solution is put back: exactly that exercise's test cell must lose
its points. Finally all stubs go in at once (the untouched release) and every test cell must
score 0. Scores use nbgrader's own rule (``determine_grade``).

By hand means by hand: for each exercise, its functions are replaced by ones that hand their
arguments to something else, and its test cell must score 0: each entry of its ``forbidden``
list (and the test's error must name the call), and every function or class that the locked
cells put in scope (a reference the notebook gives, a course helper it imports) - no list to
maintain by hand (names that visible test code defines count too: a reference there is readable).

Test cells are self-contained (see :mod:`autograder.lint`), so re-running them in the live
kernel is the same as grading a notebook broken in one place.
"""

from __future__ import annotations

import ast
import copy
import inspect
import json
import os
from dataclasses import dataclass, field
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbformat import NotebookNode

from autograder.assignments import Assignment, Exercise, nbgrader_meta, stub_source
from autograder.lint import defined_names, python_tree
from course import i18n
from course.byhand import label

__all__ = ["ContractReport", "check_contract", "provoke"]


@dataclass
class ContractReport:
    """Scores per test cell for the source, for each single broken exercise and for the release."""

    source: dict[str, float] = field(default_factory=dict)
    broken: dict[str, dict[str, float]] = field(default_factory=dict)
    release: dict[str, float] = field(default_factory=dict)
    shortcuts: dict[str, dict[str, tuple[float, bool]]] = field(default_factory=dict)
    """Solution id -> what its functions called instead -> (own test's score, the error names the call)."""
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
        declared = {ex.solution_id: ex.forbidden or () for ex in assignment.exercises}
        for solution_id, calls in self.shortcuts.items():
            for call, (s, named) in calls.items():
                if s != 0:
                    out.append(f"{solution_id}_test: {s:g} points for an answer that only calls {call}")
                elif call in declared[solution_id] and not named:
                    out.append(f"{solution_id}_test: fails an answer that calls {call} without naming the call")
        return out


def provoke(target: Any, args: tuple, kwargs: dict) -> Any:
    """Call `target` as a shortcut would: with the exercise's arguments, else fitted to its signature.

    Arguments that do not bind (two where it takes one) fail before the call starts, where no
    profiler sees it; cycling the exercise's arguments into the parameters it requires lets
    ``by_hand`` see the call, which is what the contract checks.
    """
    try:
        return target(*args, **kwargs)
    except TypeError:
        try:
            parameters = inspect.signature(target).parameters.values()
        except (TypeError, ValueError):
            raise
        positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        required = [p for p in parameters if p.kind in positional and p.default is inspect.Parameter.empty]
        values = list(args) + list(kwargs.values()) or [None]
        return target(*(values[i % len(values)] for i in range(len(required))))


def _delegating(solution: str, target: str) -> str | None:
    """The solution cell's functions, each replaced by one that hands its arguments to `target`."""
    tree = python_tree(solution)
    names = [n.name for n in (tree.body if tree else []) if isinstance(n, ast.FunctionDef)]
    if not names:
        return None
    call = "__import__('autograder.contract', fromlist=['provoke']).provoke"
    return "".join(f"def {n}(*args, **kwargs):\n    return {call}({target}, args, kwargs)\n\n" for n in names)


def _target(entry: str) -> str:
    """A Python expression for a forbidden entry: a notebook name as is, a dotted name resolved at run time."""
    return f"__import__('course.byhand', fromlist=['resolve']).resolve({entry!r})" if "." in entry else entry


def _shortcuts(exercise: Exercise, in_scope: list[str]) -> dict[str, str]:
    """What to call instead of writing the exercise -> the Python expression that calls it."""
    calls = {entry: _target(entry) for entry in exercise.forbidden or ()}
    return calls | {name: name for name in in_scope if name not in calls}


def _label(call: str, lang: str) -> str:
    """How the edition's messages name a forbidden call (course.byhand, in the language of `lang`)."""
    with i18n.speaking(lang):
        return label(call)


def _score(cell: NotebookNode) -> float:
    from nbgrader.utils import determine_grade

    return float(determine_grade(cell)[0] or 0.0)


def check_contract(assignment: Assignment, *, timeout: int = 300, every_pair: bool = True) -> ContractReport:
    """Run `assignment`'s source notebook in one kernel and score every test cell in every state.

    ``every_pair=False`` checks an edition of a notebook whose English source passed the whole
    contract: it runs top to bottom, and then, for each exercise, only its own test is scored
    with it stubbed and with each declared forbidden call (whose message must name the call in
    the edition's language). Test independence and the shortcuts through every function in scope
    depend on the code alone, which an edition shares token for token (:mod:`autograder.edition`).
    """
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

    def in_scope(before: str) -> list[str]:
        """Functions and classes of the notebook or the course package that a student's code could reach.

        Those bound by the locked cells before cell `before`, and by the visible part of any test
        cell (a test defines them before it calls the student's code; and students read them).
        """
        names: set[str] = set()
        for i, cell in enumerate(pristine):
            m = nbgrader_meta(cell)
            if cell.cell_type != "code" or not m.get("locked"):
                continue
            if m.get("grade"):
                source = cell.source.split("### BEGIN HIDDEN TESTS")[0]
            elif i < index[before]:
                source = cell.source
            else:
                continue
            if tree := python_tree(source):
                names |= defined_names(tree)
        probe = nbformat.v4.new_code_cell(
            f"import json as _j, types as _t\nprint(_j.dumps(sorted(n for n in {sorted(names)!r} "
            "if callable(_v := globals().get(n)) and not isinstance(_v, _t.ModuleType) "
            "and str(getattr(_v, '__module__', '')).split('.')[0] in ('course', '__main__'))))"
        )
        client.execute_cell(probe, len(nb.cells) - 1)
        text = "".join(o.get("text", "") for o in probe.outputs if o.output_type == "stream")
        return json.loads(text.strip().splitlines()[-1]) if text.strip() else []

    def try_shortcuts(ex: Exercise) -> dict[str, tuple[float, bool]]:
        solution = pristine[index[ex.solution_id]].source
        found = {}
        for call, target in _shortcuts(ex, in_scope(ex.solution_id) if every_pair else []).items():
            if (source := _delegating(solution, target)) is None:
                continue
            run(ex.solution_id, source)
            cell = run(ex.test_id)
            errors = " ".join(f"{o.ename}: {o.evalue}" for o in cell.outputs if o.output_type == "error")
            found[call] = (_score(cell), "ForbiddenCall" in errors and _label(call, assignment.lang) in errors)
        run(ex.solution_id)
        return found

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
            report.broken[ex.solution_id] = score_tests() if every_pair else {ex.test_id: _score(run(ex.test_id))}
            run(ex.solution_id)
        for ex in assignment.exercises:
            report.shortcuts[ex.solution_id] = try_shortcuts(ex)
        for ex in assignment.exercises:
            run(ex.solution_id, stub_source(pristine[index[ex.solution_id]].source))
        report.release = score_tests()
    return report
