"""Build the student release with nbgrader, and a student workspace that never loses work."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
from nbgrader.utils import compute_checksum

from autograder import paths
from autograder.assignments import Assignment, all_assignments, nbgrader_meta
from autograder.nbgrader_api import api, checked

__all__ = ["release", "workspace"]


def release(assignments: list[Assignment] | None = None, lang: str = "en") -> list[Path]:
    """Run nbgrader generate_assignment for each assignment; return the released notebooks.

    This also registers the assignments, their cells and hidden tests in the gradebook (always
    the English source: every edition is graded against it). With `lang`, the released notebook
    is then that edition, so ``nbgrader release_assignment`` hands it out.
    """
    out = []
    for a in assignments or all_assignments():
        checked(api().generate_assignment(a.name, force=True, create=True), f"generate_assignment {a.name}")
        notebook = paths.release() / a.name / a.path.name
        if lang != "en":
            _translate_release(notebook, a.in_edition(lang))
        out.append(notebook)
    return out


def _translate_release(notebook: Path, edition: Assignment) -> None:
    """Translate a released notebook in place; its nbgrader checksums match the translated cells."""
    from autograder.edition import translate

    nb = translate(nbformat.read(notebook, as_version=4), edition.translation())
    for cell in nb.cells:
        if "checksum" in nbgrader_meta(cell):
            cell.metadata.nbgrader["checksum"] = compute_checksum(cell)
    nbformat.write(nb, notebook)


def workspace(dest: Path = paths.MYWORK, lang: str = "en") -> tuple[list[Path], list[Path]]:
    """Copy the release in edition `lang` into `dest` for a student, keeping every notebook already there.

    Only the assignments missing from `dest` are released, so a second call with nothing to do
    runs no nbgrader at all. Each edition has a folder of its own (``mywork/``, ``mywork/zh/``),
    so switching never touches the other's work.

    Returns:
        (copied, kept): notebooks newly copied and existing ones left untouched.
    """
    targets = {a: dest / a.name / a.path.name for a in all_assignments()}
    kept = [t for t in targets.values() if t.exists()]
    missing = [a for a, t in targets.items() if not t.exists()]
    copied = []
    for a, notebook in zip(missing, release(missing, lang) if missing else [], strict=True):
        targets[a].parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(notebook, targets[a])
        copied.append(targets[a])
    return copied, kept
