"""Where the course's files live. Generated grading files go under WORK (git-ignored).

``AUTOGRADER_WORK`` moves the work folder (tests use a temporary one so they never touch an
instructor's gradebook); ``AUTOGRADER_CALIBRATIONS`` moves the cache of the solution's clean-room
runs (the test suite shares one across its work folders).
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


def calibrations() -> Path:
    """Where the clean room's runs of the course's solution are cached (:func:`autograder.verify.reference`)."""
    return Path(os.environ.get("AUTOGRADER_CALIBRATIONS") or work() / "verify").resolve()


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
