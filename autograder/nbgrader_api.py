"""nbgrader's Python API configured for the course (no CLI start-up per call)."""

from __future__ import annotations

import os
import sys
from functools import cache
from pathlib import Path

from autograder import paths

# nbgrader runs `alembic` as a command; find it beside this interpreter even if PATH lacks the venv.
os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")


def api(grading: bool = False):
    """An ``NbGraderAPI`` reading autograder/nbgrader_config.py; nbgrader's log goes to stderr.

    With `grading`, its submitted directory is the grader's cleaned copies (``paths.cleaned()``), which
    nbgrader's autograde reads; everything else (collect, the formgrader) sees the submissions as collected.
    """
    return _api(paths.work(), os.environ.get("AUTOGRADER_DB_URL", ""), grading)


@cache
def _api(work: Path, db_url: str, grading: bool):
    """One API per work folder and database (both may change within a process, as in the tests)."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    work.mkdir(parents=True, exist_ok=True)
    config = PyFileConfigLoader("nbgrader_config.py", str(paths.REPO / "autograder")).load_config()
    if grading:
        config.CourseDirectory.submitted_directory = str(paths.cleaned())
    return NbGraderAPI(CourseDirectory(config=config), config=config)


def checked(result: dict, what: str) -> None:
    """Raise with nbgrader's own log when an API call failed."""
    if not result.get("success"):
        raise RuntimeError(f"nbgrader {what} failed:\n{result.get('error', '')}\n{result.get('log', '')}")
