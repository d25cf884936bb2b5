"""The gradebook, where nbgrader has it: every read and write of the grader goes through here.

The database is nbgrader's ``CourseDirectory.db_url`` as the course's configuration sets it
(``autograder/nbgrader_config.py``: SQLite in the work folder; a PostgreSQL URL for a class
graded on several machines), opened as nbgrader's own apps open it: ``Gradebook(db_url,
course_id)``. Nothing here assumes a file.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from autograder.nbgrader_api import api

if TYPE_CHECKING:
    from nbgrader.api import Gradebook

__all__ = ["Scores", "forget", "registered", "scores", "url"]


def url() -> str:
    """The database URL nbgrader uses (``CourseDirectory.db_url``)."""
    return api().coursedir.db_url


@contextmanager
def _opened() -> Iterator[Gradebook]:
    from nbgrader.api import Gradebook

    with Gradebook(url(), api().coursedir.course_id) as gb:
        yield gb


@dataclass(frozen=True)
class Scores:
    """One submitted notebook's scores: the total and each graded cell's (grade id -> points)."""

    total: float
    cells: dict[str, float]


def scores(student: str, assignment: str, notebook: str) -> Scores | None:
    """The scores nbgrader recorded for a submitted notebook, or None if the gradebook has none."""
    from nbgrader.api import MissingEntry

    with _opened() as gb:
        try:
            nb = gb.find_submission_notebook(notebook, assignment, student)
        except MissingEntry:
            return None
        return Scores(float(nb.score or 0), {g.name: float(g.score or 0) for g in nb.grades})


def forget(student: str, assignment: str) -> None:
    """Remove a submission's rows (after a failure: no stale grade survives)."""
    from nbgrader.api import MissingEntry

    with _opened() as gb:
        try:
            gb.remove_submission(assignment, student)
        except MissingEntry:
            pass


def registered() -> set[str]:
    """Names of the assignments the gradebook knows (released with nbgrader's generate_assignment)."""
    with _opened() as gb:
        return {a.name for a in gb.assignments}
