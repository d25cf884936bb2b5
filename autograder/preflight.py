"""Make a submitted notebook safe for nbgrader, or say clearly why it cannot be graded.

nbgrader aborts a whole batch on duplicated grade ids and fails a student's assignment on a
renamed or damaged file with messages students cannot act on. Preflight runs first, per
notebook: it finds the notebook (renamed copies too), decodes it (undecodable bytes are
replaced), parses and upgrades it, drops outputs (nbgrader recomputes them), removes duplicated
grade ids, and writes the cleaned notebook where nbgrader expects it. Code that reaches into the
grading machinery is named in the notes for review (:mod:`autograder.scan`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.validator import normalize

from autograder.assignments import Assignment, nbgrader_meta
from autograder.scan import suspicious

__all__ = ["MAX_BYTES", "MAX_CLEAN_BYTES", "Preflight", "prepare"]

MAX_BYTES = 200 * 2**20
"""Larger files are not read at all."""
MAX_CLEAN_BYTES = 5 * 2**20
"""Size limit once outputs are dropped: the course's notebooks are far smaller."""


@dataclass
class Preflight:
    """Outcome for one submitted notebook: ``ok`` or the reason it cannot be graded, plus notes."""

    ok: bool
    reason: str = ""
    notes: list[str] = field(default_factory=list)


def _find(folder: Path, stem: str) -> tuple[Path | None, str]:
    exact = folder / f"{stem}.ipynb"
    if exact.is_file():
        return exact, ""
    candidates = sorted(p for p in folder.glob("*.ipynb") if p.is_file()) if folder.is_dir() else []
    named = [p for p in candidates if stem in p.stem] or candidates
    if len(named) == 1:
        return named[0], f"graded {named[0].name} as {stem}.ipynb (the file was renamed)"
    if not named:
        return None, f"no notebook submitted (expected {stem}.ipynb)"
    return None, f"several notebooks and none named {stem}.ipynb: {', '.join(p.name for p in named)}"


def _dedupe(nb: nbformat.NotebookNode, notes: list[str]) -> None:
    """Keep the last cell of each grade id; earlier copies become ordinary cells."""
    last: dict[str, int] = {}
    for i, cell in enumerate(nb.cells):
        if gid := nbgrader_meta(cell).get("grade_id"):
            last[gid] = i
    for i, cell in enumerate(nb.cells):
        gid = nbgrader_meta(cell).get("grade_id")
        if gid and last[gid] != i:
            del cell.metadata["nbgrader"]
            notes.append(f"cell {gid!r} appeared more than once; graded the last copy")


def prepare(folder: Path, assignment: Assignment, dest: Path) -> Preflight:
    """Check the submission in `folder` and write the cleaned notebook to ``dest/<notebook>.ipynb``."""
    path, note = _find(folder, assignment.notebook)
    if path is None:
        return Preflight(False, note)
    notes = [note] if note else []
    size = path.stat().st_size
    if size > MAX_BYTES:
        return Preflight(False, f"{path.name} is {size / 2**20:.0f} MB, too large to be a course notebook", notes)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("utf-8", errors="replace")
        notes.append("bytes that are not UTF-8 were replaced by U+FFFD")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        return Preflight(
            False, f"{path.name} is not valid JSON (line {err.lineno}, column {err.colno}): the file is damaged", notes
        )
    if not isinstance(data, dict) or not isinstance(data.get("nbformat"), int):
        return Preflight(False, f"{path.name} is JSON but not a Jupyter notebook", notes)
    try:
        nb = nbformat.reads(json.dumps(data), as_version=4)
        if nb.nbformat != 4:
            raise ValueError(f"nbformat {data.get('nbformat')}")
        normalize(nb)
        nbformat.validate(nb)
    except Exception as err:  # noqa: BLE001 - any parse failure is the student's file, reported
        return Preflight(False, f"{path.name} is not a notebook nbformat 4 can read: {err}", notes)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    _dedupe(nb, notes)
    notes += suspicious(nb)
    cleaned = nbformat.writes(nb)
    if len(cleaned.encode()) > MAX_CLEAN_BYTES:
        return Preflight(
            False, f"{path.name} holds {len(cleaned) / 2**20:.0f} MB of code and text, too large to grade", notes
        )
    dest.mkdir(parents=True, exist_ok=True)
    for stale in dest.glob("*.ipynb"):
        stale.unlink()
    (dest / f"{assignment.notebook}.ipynb").write_text(cleaned, encoding="utf-8")
    return Preflight(True, notes=notes)
