"""Build the student release with nbgrader, and a student workspace that never loses work."""

from __future__ import annotations

import shutil
from pathlib import Path

from autograder import paths
from autograder.assignments import Assignment, all_assignments
from autograder.nbgrader_api import api, checked

__all__ = ["release", "workspace"]


def release(assignments: list[Assignment] | None = None) -> list[Path]:
    """Run nbgrader generate_assignment for each assignment; return the released notebooks.

    This also registers the assignments, their cells and hidden tests in the gradebook.
    """
    out = []
    for a in assignments or all_assignments():
        checked(api().generate_assignment(a.name, force=True, create=True), f"generate_assignment {a.name}")
        out.append(paths.release() / a.name / a.path.name)
    return out


def workspace(dest: Path = paths.MYWORK) -> tuple[list[Path], list[Path]]:
    """Copy the release into `dest` for a student, keeping every notebook already there.

    Only the assignments missing from `dest` are released, so a second call with nothing to do
    runs no nbgrader at all.

    Returns:
        (copied, kept): notebooks newly copied and existing ones left untouched.
    """
    targets = {a: dest / a.name / a.path.name for a in all_assignments()}
    kept = [t for t in targets.values() if t.exists()]
    missing = [a for a, t in targets.items() if not t.exists()]
    copied = []
    for a, notebook in zip(missing, release(missing) if missing else [], strict=True):
        targets[a].parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(notebook, targets[a])
        copied.append(targets[a])
    return copied, kept
