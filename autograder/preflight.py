"""Make a submitted notebook safe for nbgrader, or say clearly why it cannot be graded.

nbgrader aborts a whole batch on duplicated grade ids and fails a student's assignment on a
renamed or damaged file with messages students cannot act on. Preflight runs first, per
notebook: it finds the notebook (renamed copies too) without following links or opening
anything but regular files (:mod:`autograder.nofollow`), decodes it (UTF-8, or UTF-16/32 as
some editors save JSON; undecodable bytes are replaced), parses and upgrades it, drops outputs
(nbgrader recomputes them), gives every cell the nbgrader metadata of the source notebook's
cell with the same id (:mod:`autograder.realign`), and writes the cleaned notebook where
nbgrader expects it. Code that reaches into the grading machinery is named in the notes for
review (:mod:`autograder.scan`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.validator import normalize

from autograder.assignments import Assignment
from autograder.edition import edition_of
from autograder.nofollow import FILE, Refused, SubmissionFolder
from autograder.realign import realign
from autograder.scan import suspicious

__all__ = ["EXCHANGE_FILES", "MAX_BYTES", "MAX_CLEAN_BYTES", "Preflight", "prepare"]

MAX_BYTES = 200 * 2**20
"""Larger files are not read at all."""
MAX_CLEAN_BYTES = 5 * 2**20
"""Size limit once outputs are dropped: the course's notebooks are far smaller."""
EXCHANGE_FILES = {"timestamp.txt": "a submission time", "submission_secret.txt": "a submission secret"}
"""What nbgrader's exchange writes beside a submitted notebook, copied along: the time counts for late
penalties, the secret names the feedback file that ``release_feedback`` hands back to that student."""
_MAX_EXCHANGE_FILE = 1024
_ENCODINGS = {"utf-8-sig": "UTF-8 with a byte-order mark"} | {
    f"utf-{bits}{end}": f"UTF-{bits}" for bits in (16, 32) for end in ("", "-le", "-be")
}
"""Encodings JSON may be written in (RFC 7159) that are not plain UTF-8, as a student would name them."""


@dataclass
class Preflight:
    """Outcome for one submitted notebook: ``ok`` or the reason it cannot be graded, plus notes."""

    ok: bool
    reason: str = ""
    notes: list[str] = field(default_factory=list)
    edition: str = "en"
    """The language the notebook was released in (:func:`autograder.edition.edition_of`)."""


def _find(entries: dict[str, str], stem: str) -> tuple[str | None, str]:
    if f"{stem}.ipynb" in entries:
        return f"{stem}.ipynb", ""
    candidates = sorted(name for name in entries if name.endswith(".ipynb"))
    named = [name for name in candidates if stem in name.removesuffix(".ipynb")] or candidates
    if len(named) == 1:
        return named[0], f"graded {named[0]} as {stem}.ipynb (the file was renamed)"
    if not named:
        return None, f"no notebook submitted (expected {stem}.ipynb)"
    return None, f"several notebooks and none named {stem}.ipynb: {', '.join(named)}"


def _decode(raw: bytes, name: str, notes: list[str]) -> str:
    """The text of `raw`: UTF-8, or the UTF-16/32 that JSON allows, named in a note."""
    encoding = json.detect_encoding(raw)
    label = _ENCODINGS.get(encoding, "UTF-8")
    if encoding in _ENCODINGS:
        notes.append(f"{name} was saved as {label} (Jupyter saves UTF-8); it was read as {label}")
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        notes.append(f"bytes that are not {label} were replaced by U+FFFD")
        return raw.decode(encoding, errors="replace")


def _read(sub: SubmissionFolder, name: str, notes: list[str]) -> nbformat.NotebookNode | str:
    """The notebook in `name`, or the reason it cannot be graded."""
    raw = sub.read(name, MAX_BYTES)
    if len(raw) > MAX_BYTES:
        return f"{name} is over {MAX_BYTES / 2**20:.0f} MB, too large to be a course notebook"
    text = _decode(raw, name, notes)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        saved = f"{_ENCODINGS[enc]} text but " if (enc := json.detect_encoding(raw)) in _ENCODINGS else ""
        return f"{name} is {saved}not valid JSON (line {err.lineno}, column {err.colno}): the file is damaged"
    if not isinstance(data, dict) or not isinstance(data.get("nbformat"), int):
        return f"{name} is JSON but not a Jupyter notebook"
    try:
        nb = nbformat.reads(json.dumps(data), as_version=4)
        if nb.nbformat != 4:
            raise ValueError(f"nbformat {data.get('nbformat')}")
        normalize(nb)
        nbformat.validate(nb)
    except Exception as err:  # noqa: BLE001 - any parse failure is the student's file, reported
        return f"{name} is not a notebook nbformat 4 can read: {err}"
    return nb


def _exchange_files(sub: SubmissionFolder, entries: dict[str, str]) -> dict[str, bytes]:
    """The exchange's files beside the notebook, by name (a link or a pipe there is refused)."""
    found = {}
    for name, what in EXCHANGE_FILES.items():
        if name in entries:
            found[name] = sub.read(name, _MAX_EXCHANGE_FILE)
            if len(found[name]) > _MAX_EXCHANGE_FILE:
                raise Refused(f"{name} is over {_MAX_EXCHANGE_FILE} bytes, not {what}")
    return found


def prepare(folder: Path, assignment: Assignment, dest: Path) -> Preflight:
    """Check the submission in `folder`; write the cleaned notebook (and the exchange's files) to `dest`."""
    notes: list[str] = []
    try:
        with SubmissionFolder(folder) as sub:
            entries = sub.entries()
            name, note = _find(entries, assignment.notebook)
            if name is None:
                return Preflight(False, note)
            notes += [note] if note else []
            if entries[name] != FILE:
                return Preflight(False, f"{name} is {entries[name]}, not a file; submit the file itself", notes)
            extras = _exchange_files(sub, entries)
            nb = _read(sub, name, notes)
    except Refused as refused:
        return Preflight(False, refused.reason, notes)
    if isinstance(nb, str):
        return Preflight(False, nb, notes)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    aligned = realign(nb, assignment.nb)
    notes += aligned.notes
    if assignment.exercises and not aligned.solutions_found:
        reason = (f"{name} has none of the exercise cells of {assignment.name} (their cell ids and nbgrader "
                  "metadata do not match it): submit the notebook you were given, with your answers in it")  # fmt: skip
        return Preflight(False, reason, notes)
    notes += suspicious(nb)
    cleaned = nbformat.writes(nb)
    if len(cleaned.encode()) > MAX_CLEAN_BYTES:
        size = len(cleaned) / 2**20
        return Preflight(False, f"{name} holds {size:.0f} MB of code and text, too large to grade", notes)
    dest.mkdir(parents=True, exist_ok=True)
    for stale in [*dest.glob("*.ipynb"), *(dest / name for name in EXCHANGE_FILES)]:
        stale.unlink(missing_ok=True)
    (dest / f"{assignment.notebook}.ipynb").write_text(cleaned, encoding="utf-8")
    for name, content in extras.items():
        (dest / name).write_bytes(content)
    return Preflight(True, notes=notes, edition=edition_of(nb))
