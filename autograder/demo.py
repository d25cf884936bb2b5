"""The instructor's tour: release every notebook, grade three sample students, show the table.

The samples are made from the release and the source notebooks, so they follow every change:
- ``complete``: every exercise answered (the source's solutions pasted into the release);
- ``untouched``: the release as handed out;
- ``one_wrong``: complete, except that one exercise per notebook returns None.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import nbformat

from autograder import paths
from autograder.assignments import Assignment, all_assignments, nbgrader_meta, stub_source
from autograder.release import release

__all__ = ["expected_scores", "make_samples", "own_work_folder", "samples_dir", "wrong_exercise"]

SAMPLES = ("complete", "untouched", "one_wrong")


def wrong_exercise(a: Assignment):
    """The exercise the ``one_wrong`` student gets wrong: the middle one."""
    return a.exercises[len(a.exercises) // 2]


def _answered(released: nbformat.NotebookNode, a: Assignment, wrong: str | None) -> nbformat.NotebookNode:
    nb = copy.deepcopy(released)
    for cell in nb.cells:
        gid = nbgrader_meta(cell).get("grade_id")
        if nbgrader_meta(cell).get("solution") and cell.cell_type == "code":
            source = a.cell(gid).source
            if gid == wrong:
                source = stub_source(source).replace("raise NotImplementedError()", "return None")
            cell.source = source
    return nb


def make_samples(dest: Path) -> Path:
    """Write ``dest/<sample>/<assignment>/<notebook>.ipynb`` for the three sample students."""
    for a, notebook in zip(all_assignments(), release(), strict=True):
        released = nbformat.read(notebook, as_version=4)
        versions = {
            "complete": _answered(released, a, None),
            "untouched": released,
            "one_wrong": _answered(released, a, wrong_exercise(a).solution_id),
        }
        for student, nb in versions.items():
            out = dest / student / a.name / notebook.name
            out.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, out)
    return dest


def expected_scores() -> dict[tuple[str, str], float]:
    """(student, assignment) -> the score each sample must get."""
    out = {}
    for a in all_assignments():
        out["complete", a.name] = a.max_points
        out["untouched", a.name] = 0.0
        out["one_wrong", a.name] = a.max_points - wrong_exercise(a).points
    return out


def own_work_folder() -> Path:
    """Move this process's work folder and gradebook (and its workers') to ``<work>/demo``; return it.

    The sample students then never reach a class's gradebook (whatever database its configuration
    names), results, feedback or CSV.
    """
    folder = paths.work() / "demo"
    os.environ["AUTOGRADER_WORK"] = str(folder)
    os.environ["AUTOGRADER_DB_URL"] = f"sqlite:///{folder / 'gradebook.db'}"
    return folder


def samples_dir() -> Path:
    return paths.work() / "samples"
