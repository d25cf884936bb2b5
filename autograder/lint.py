"""Check the source notebooks against the course's grading contract before anything is released.

Rules: valid nbformat and nbgrader metadata; grade id = cell id, unique; points on every test
cell; solution markers in every solution cell; every solution cell ``X`` followed by its test
cell ``X_test`` with hidden tests; outputs cleared; a key-terms table (English | 中文) in the
first cell; locked and solution cells use only names that they and the locked and solution
cells above them bind, and test cells only names from locked cells, their own solution cell
and themselves (so a grade needs no other cell); test cells do not end in a bare expression
(nbgrader would take it as partial credit), start with ``forbidden = [...]`` (what their
exercise must not call: importable dotted names, or names of locked cells) and call the
student's code through ``course.byhand.by_hand``; the only ``assert_*`` checks test cells
call are those the grader re-checks on the recorded values or judges in the clean room
(``autograder.verify``), so a new check cannot be trusted silently.
"""

from __future__ import annotations

import ast
import builtins
import re

import nbformat
from nbformat import NotebookNode

from autograder.assignments import Assignment, Exercise, graded_chain, nbgrader_meta

__all__ = ["defined_names", "lint_assignment", "python_tree"]

_TERMS_HEADER = re.compile(r"^\s*\|\s*English\s*\|\s*中文\s*\|", re.MULTILINE)
_BUILTINS = set(dir(builtins)) | {"get_ipython", "display", "__name__"}


def python_tree(source: str) -> ast.Module | None:
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return ast.parse(TransformerManager().transform_cell(source))
    except SyntaxError:
        return None


def defined_names(tree: ast.AST) -> set[str]:
    """Names a cell binds anywhere: assignments, defs, classes, imports, loop and with targets, args."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


def _used(tree: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def lint_assignment(assignment: Assignment) -> list[str]:
    """Problems found in one source notebook, as ``"<path>: <cell id>: <problem>"`` lines."""
    where = assignment.path.relative_to(assignment.path.parents[2])
    problems: list[str] = []

    def problem(cell_id: str, text: str) -> None:
        problems.append(f"{where}: {cell_id}: {text}")

    try:
        nb = nbformat.read(assignment.path, as_version=4)
        nbformat.validate(nb)
    except Exception as err:  # noqa: BLE001 - reported, not raised
        return [f"{where}: not a valid notebook: {err}"]
    try:
        from nbgrader.nbgraderformat import MetadataValidator

        MetadataValidator().validate_nb(nb)
    except Exception as err:  # noqa: BLE001
        problem("-", f"nbgrader metadata invalid: {err}")

    cells: list[NotebookNode] = nb.cells
    if not cells or cells[0].cell_type != "markdown" or not _TERMS_HEADER.search(cells[0].source):
        problem(
            cells[0].get("id", "?") if cells else "-",
            "the first cell needs a key-terms table with header | English | 中文 |",
        )

    grade_ids: dict[str, int] = {}
    for cell in cells:
        cid = cell.get("id", "?")
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count")):
            problem(cid, "outputs are not cleared")
        meta = nbgrader_meta(cell)
        if not meta:
            if "### BEGIN SOLUTION" in cell.source or "### BEGIN HIDDEN TESTS" in cell.source:
                problem(cid, "has solution or hidden-test markers but no nbgrader metadata")
            continue
        gid = meta.get("grade_id", "")
        grade_ids[gid] = grade_ids.get(gid, 0) + 1
        if gid != cid:
            problem(cid, f"grade id {gid!r} differs from the cell id")
        if meta.get("grade") and not float(meta.get("points") or 0) > 0:
            problem(cid, "a test cell needs points > 0")
        if meta.get("solution") and cell.cell_type == "code":
            if "### BEGIN SOLUTION" not in cell.source or "### END SOLUTION" not in cell.source:
                problem(cid, "solution cell lacks ### BEGIN SOLUTION / ### END SOLUTION")
        if meta.get("grade") and cell.cell_type == "code" and not meta.get("solution"):
            if "### BEGIN HIDDEN TESTS" not in cell.source or "### END HIDDEN TESTS" not in cell.source:
                problem(cid, "test cell has no hidden tests (### BEGIN HIDDEN TESTS / ### END HIDDEN TESTS)")
    for gid, count in grade_ids.items():
        if count > 1:
            problem(gid, f"grade id used by {count} cells")

    _lint_graded_chain(cells, problem)
    _lint_exercises(assignment, cells, problem)
    return problems


def _lint_graded_chain(cells: list[NotebookNode], problem) -> None:
    """Each locked or solution cell uses only names bound by itself and the locked or solution cells above it.

    With the rule for test cells below, this proves that a grade needs no other cell, so the grader
    runs none (:func:`autograder.assignments.graded_chain`) and the clean room runs the same cells.
    """
    bound: set[str] = set()
    for cell in filter(graded_chain, cells):
        tree = python_tree(cell.source)
        if tree is None or nbgrader_meta(cell).get("grade"):
            continue
        own = defined_names(tree)
        if foreign := sorted(_used(tree) - bound - own - _BUILTINS):
            problem(cell.get("id", "?"), f"uses names no locked or solution cell above binds: {', '.join(foreign)}")
        bound |= own


def _lint_exercises(assignment: Assignment, cells: list[NotebookNode], problem) -> None:
    locked_names: set[str] = set()
    for cell in cells:
        m = nbgrader_meta(cell)
        if cell.cell_type == "code" and m.get("locked") and not m.get("grade") and (tree := python_tree(cell.source)):
            locked_names |= defined_names(tree)
    position = {c.get("id"): i for i, c in enumerate(cells)}
    exercises = assignment.exercises
    if not exercises:
        problem("-", "no graded exercise")
    for i, ex in enumerate(exercises):
        if ex.test_id not in position:
            problem(ex.solution_id, f"no test cell {ex.test_id!r} for this solution cell")
            continue
        nxt = exercises[i + 1].solution_id if i + 1 < len(exercises) else None
        if position[ex.test_id] < position[ex.solution_id] or (nxt and position[ex.test_id] > position[nxt]):
            problem(ex.test_id, "the test cell must come after its solution cell and before the next exercise")
        solution_tree = python_tree(cells[position[ex.solution_id]].source)
        test_tree = python_tree(cells[position[ex.test_id]].source)
        if solution_tree is None or test_tree is None:
            problem(ex.test_id, "the exercise or its test is not valid Python")
            continue
        allowed = locked_names | defined_names(solution_tree) | defined_names(test_tree) | _BUILTINS
        foreign = sorted(_used(test_tree) - allowed)
        if foreign:
            problem(ex.test_id, f"uses names defined outside locked cells and its own exercise: {', '.join(foreign)}")
        last = test_tree.body[-1] if test_tree.body else None
        if isinstance(last, ast.Expr) and not isinstance(last.value, ast.Call):
            problem(ex.test_id, "ends in a bare expression, which nbgrader would read as partial credit")
        if "raises-exception" not in cells[position[ex.test_id]].metadata.get("tags", []):
            problem(ex.test_id, "lacks the raises-exception tag, so Run All would stop at an unfinished exercise")
        _lint_by_hand(ex, test_tree, locked_names, problem)
        _lint_checks(ex, test_tree, problem)


def _lint_by_hand(ex: Exercise, test_tree: ast.Module, locked_names: set[str], problem) -> None:
    """The exercise declares what it must not call (``forbidden = [...]`` first) and tests through by_hand."""
    from course.byhand import resolve

    first = test_tree.body[0] if test_tree.body else None
    if ex.forbidden is None or not (
        isinstance(first, ast.Assign) and getattr(first.targets[0], "id", "") == "forbidden"
    ):
        problem(
            ex.test_id, "must start with forbidden = [...]: what the exercise must not call (by hand means by hand)"
        )
        return
    if "by_hand" not in _used(test_tree):
        problem(ex.test_id, "never calls the student's code through by_hand(..., forbidden=forbidden)")
    for entry in ex.forbidden:
        if "." in entry and resolve(entry) is None:
            problem(ex.test_id, f"forbidden entry {entry!r} names nothing that can be imported")
        elif "." not in entry and entry not in locked_names:
            problem(ex.test_id, f"forbidden entry {entry!r} is not defined by a locked cell")


def _lint_checks(ex: Exercise, test_tree: ast.Module, problem) -> None:
    """Every ``assert_*`` the test calls is re-checked by the grader or judged in its clean room."""
    from autograder.verify import JUDGED_IN_CLEAN_ROOM, RECHECKED

    called = {n.attr for n in ast.walk(test_tree) if isinstance(n, ast.Attribute)} | _used(test_tree)
    for name in sorted(n for n in called if n.startswith("assert_")):
        if name not in RECHECKED | JUDGED_IN_CLEAN_ROOM:
            problem(
                ex.test_id,
                f"calls {name}, which the grader neither re-checks nor judges in its clean room "
                "(add it to autograder.verify.RECHECKED, or use a check that is there)",
            )
