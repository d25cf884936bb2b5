"""Where the course's files live. Generated grading files go under WORK (git-ignored).

``AUTOGRADER_WORK`` moves the work folder (tests use a temporary one so they never touch an
instructor's gradebook).
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"
MYWORK = REPO / "mywork"


def work() -> Path:
    """Root of the generated grading files: release, submissions, results (and the gradebook, by default)."""
    return Path(os.environ.get("AUTOGRADER_WORK") or REPO / "autograder" / "work").resolve()


def release() -> Path:
    return work() / "release"


def submitted() -> Path:
    """Where ``nbgrader collect`` puts the students' submissions: graded as they are, never changed."""
    return work() / "submitted"


def cleaned() -> Path:
    """The grader's cleaned copy of each submission (:mod:`autograder.preflight`), which nbgrader autogrades."""
    return work() / "cleaned"


def autograded() -> Path:
    return work() / "autograded"


def feedback() -> Path:
    return work() / "feedback"


def results() -> Path:
    """One JSON status file per (student, assignment): the grader's record of what happened."""
    return work() / "results"
