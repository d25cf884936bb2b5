"""The course's source notebooks as assignments and graded exercises.

Each folder ``notebooks/NN_name/`` holds one source notebook; the folder name is the nbgrader
assignment id and the notebook's stem its notebook id. An exercise is a solution cell followed
by its test cell ``<solution id>_test``.
"""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from autograder import edition, paths
from course.selfcheck import graded_chain

__all__ = [
    "Assignment",
    "Exercise",
    "all_assignments",
    "declared_forbidden",
    "find_assignment",
    "graded_chain",
    "NOT_RUN",
    "nbgrader_meta",
    "stub_source",
]


def nbgrader_meta(cell: NotebookNode) -> dict:
    """The cell's nbgrader metadata, or {} for an ordinary cell."""
    return dict(cell.get("metadata", {}).get("nbgrader", {}) or {})


NOT_RUN = "not run when grading: no graded test depends on this cell (run it in your notebook)"
"""What the grader's outputs say in a code cell outside the graded chain."""


@dataclass(frozen=True)
class Exercise:
    """A graded exercise: the cell a student writes and the locked cell that tests it."""

    solution_id: str
    test_id: str
    points: float
    forbidden: tuple[str, ...] | None = None
    """What the exercise must not call, from its test cell's ``forbidden = [...]`` (None: not declared).

    Dotted names (``"torch.nn.functional.conv2d"``) name library or course functions; bare names
    (``"conv_reference"``) name functions of the notebook. Test cells call the student's code
    through ``course.byhand.by_hand(..., forbidden=forbidden)``."""


def declared_forbidden(test_source: str) -> tuple[str, ...] | None:
    """The entries of the top-level ``forbidden = [...]`` of a test cell (strings or names), or None."""
    try:
        tree = ast.parse(test_source)
    except SyntaxError:
        return None
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and [getattr(t, "id", None) for t in node.targets] == ["forbidden"]
            and isinstance(node.value, ast.List | ast.Tuple)
        ):
            entries = []
            for element in node.value.elts:
                if isinstance(element, ast.Constant) and isinstance(element.value, str):
                    entries.append(element.value)
                elif isinstance(element, ast.Name):
                    entries.append(element.id)
                else:
                    return None
            return tuple(entries)
    return None


@dataclass(frozen=True)
class Assignment:
    """One source notebook, ``notebooks/<name>/<notebook>.ipynb``."""

    name: str
    path: Path
    lang: str = "en"
    """The edition (:mod:`autograder.edition`): "en" is the source, any other is built from it."""

    @property
    def notebook(self) -> str:
        return self.path.stem

    @cached_property
    def nb(self) -> NotebookNode:
        if self.lang == "en":
            return nbformat.read(self.path, as_version=4)
        return copy.deepcopy(_edition_nb(self.path, self.lang, self.translation_path.stat().st_mtime_ns))

    @property
    def translation_path(self) -> Path:
        return edition.translation_path(self.path, self.lang)

    def in_edition(self, lang: str) -> Assignment:
        """This assignment in edition `lang` (same cells, grade ids and points; text translated)."""
        return Assignment(self.name, self.path, lang)

    def translation(self) -> edition.Translation:
        """This edition's translation file (FileNotFoundError for English or a missing file)."""
        return edition.Translation.of(self.path, self.lang)

    def cell(self, cell_id: str) -> NotebookNode:
        return next(c for c in self.nb.cells if c.get("id") == cell_id)

    @cached_property
    def test_cells(self) -> dict[str, NotebookNode]:
        """Test cell id -> the test cell (hidden tests included), in notebook order."""
        return {
            m["grade_id"]: c
            for c in self.nb.cells
            if c.cell_type == "code" and (m := nbgrader_meta(c)).get("grade") and not m.get("solution")
        }

    @cached_property
    def exercises(self) -> tuple[Exercise, ...]:
        """Solution cells paired with the test cell named ``<solution id>_test``."""
        tests = {test_id: float(nbgrader_meta(c)["points"]) for test_id, c in self.test_cells.items()}
        found = []
        for c in self.nb.cells:
            m = nbgrader_meta(c)
            if m.get("solution") and not m.get("grade"):
                test_id = m["grade_id"] + "_test"
                test = self.test_cells.get(test_id)
                forbidden = declared_forbidden(test.source) if test is not None else None
                found.append(Exercise(m["grade_id"], test_id, tests.get(test_id, 0.0), forbidden))
        return tuple(found)

    @property
    def max_points(self) -> float:
        return sum(float(m["points"]) for c in self.nb.cells if (m := nbgrader_meta(c)).get("grade"))

    def released(self) -> NotebookNode:
        """The notebook as students receive it: solution regions stubbed, hidden tests removed."""
        from nbgrader.preprocessors import ClearHiddenTests

        nb = copy.deepcopy(self.nb)
        for cell in nb.cells:
            if nbgrader_meta(cell).get("solution") and cell.cell_type == "code":
                cell.source = stub_source(cell.source)
        nb, _ = ClearHiddenTests().preprocess(nb, {})
        return nb


@lru_cache(maxsize=32)
def _edition_nb(path: Path, lang: str, _mtime: int) -> NotebookNode:
    return edition.translate(nbformat.read(path, as_version=4), edition.Translation.of(path, lang))


def stub_source(source: str) -> str:
    """`source` with its solution region replaced by nbgrader's release stub."""
    from nbgrader.preprocessors import ClearSolutions

    cell = nbformat.v4.new_code_cell(source)
    ClearSolutions()._replace_solution_region(cell, "python")
    return cell.source


def all_assignments(root: Path | None = None) -> list[Assignment]:
    """Every ``<root>/<folder>/<notebook>.ipynb``, sorted by folder (default root: notebooks/)."""
    found = []
    for folder in sorted((root or paths.NOTEBOOKS).iterdir()):
        notebooks = sorted(p for p in folder.glob("*.ipynb")) if folder.is_dir() else []
        if len(notebooks) == 1:
            found.append(Assignment(folder.name, notebooks[0]))
    return found


def find_assignment(name: str) -> Assignment:
    for a in all_assignments():
        if a.name == name:
            return a
    raise KeyError(f"no assignment {name!r} in {paths.NOTEBOOKS}")
