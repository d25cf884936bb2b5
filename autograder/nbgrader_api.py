"""nbgrader's Python API configured for the course (no CLI start-up per call)."""

from __future__ import annotations

import os
import sys
from functools import cache
from pathlib import Path

from autograder import paths

# nbgrader runs `alembic` as a command; find it beside this interpreter even if PATH lacks the venv.
os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")


def api():
    """An ``NbGraderAPI`` reading autograder/nbgrader_config.py; nbgrader's log goes to stderr."""
    return _api(paths.work())


@cache
def _api(work: Path):
    """One API per work folder (``AUTOGRADER_WORK`` may change within a process, as in the tests)."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    work.mkdir(parents=True, exist_ok=True)
    config = PyFileConfigLoader("nbgrader_config.py", str(paths.REPO / "autograder")).load_config()
    return NbGraderAPI(CourseDirectory(config=config), config=config)


def checked(result: dict, what: str) -> None:
    """Raise with nbgrader's own log when an API call failed."""
    if not result.get("success"):
        raise RuntimeError(f"nbgrader {what} failed:\n{result.get('error', '')}\n{result.get('log', '')}")
