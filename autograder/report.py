"""What the instructor reads: the grade table, the CSV export and the students' feedback."""

from __future__ import annotations

import csv
import html
import re
from pathlib import Path

import nbformat

from autograder import gradebook, paths
from autograder.activecontent import executable_content
from autograder.assignments import all_assignments
from autograder.feedback import hidden_test_lines
from autograder.nbgrader_api import api, checked
from autograder.results import NOT_GRADED, Result, load_results

__all__ = ["export_csv", "grade_table", "hidden_test_lines", "write_feedback"]

_TRACEBACK_PREFIX = re.compile(r"^(-*>)?\s*\d+\s")


def grade_table(results: list[Result]) -> str:
    """Students as rows, assignments as columns, then a total; failures listed with reasons."""
    names = sorted({r.assignment for r in results})
    by = {(r.student, r.assignment): r for r in results}
    students = sorted({r.student for r in results})
    width = max([len("student"), *map(len, students)])
    header = f"{'student':<{width}}  " + "  ".join(f"{n[:10]:>10}" for n in names) + f"  {'total':>13}"
    lines = [header, "-" * len(header)]
    for s in students:
        cells, score, top = [], 0.0, 0.0
        for n in names:
            r = by.get((s, n))
            if r is None:
                cells.append(f"{'-':>10}")
                continue
            score += r.score
            top += r.max_score
            shown = {"failed": "FAILED", NOT_GRADED: "RETRY"}.get(r.status, f"{r.score:>4g}/{r.max_score:<5g}")
            cells.append(f"{shown:>10}")
        lines.append(f"{s:<{width}}  " + "  ".join(cells) + f"  {score:>6g}/{top:<6g}")
    failures = [r for r in results if r.status == "failed"]
    if failures:
        lines += ["", "Failed (scored 0):"] + [f"  {r.student} / {r.assignment}: {r.reason}" for r in failures]
    machine = [r for r in results if r.status == NOT_GRADED]
    if machine:
        lines += ["", "Not graded, the machine's fault (run grade again):"]
        lines += [f"  {r.student} / {r.assignment}: {r.reason}" for r in machine]
    notes = [(r, n) for r in results for n in r.notes]
    if notes:
        lines += ["", "Notes:"] + [f"  {r.student} / {r.assignment}: {n}" for r, n in notes]
    return "\n".join(lines)


def export_csv(to: Path) -> Path:
    """One row per student and notebook, with a status column; graded scores read from the gradebook."""
    to.parent.mkdir(parents=True, exist_ok=True)
    with to.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["student", "assignment", "notebook", "score", "max_score", "status", "reason"])
        for r in load_results():
            score = 0.0
            if r.status == "graded":
                if (recorded := gradebook.scores(r.student, r.assignment, r.notebook)) is not None:
                    score = recorded.total
                else:
                    r.status, r.reason = "failed", "missing from the gradebook: grade again"
            out.writerow([r.student, r.assignment, r.notebook, f"{score:g}", f"{r.max_score:g}", r.status, r.reason])
    return to


def _visible_lines(path: Path) -> set[str]:
    """The lines a reader of an HTML feedback file sees, whitespace-normalised."""
    text = html.unescape(re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8", errors="replace")))
    lines = {" ".join(line.split()) for line in text.splitlines()}
    return lines | {_TRACEBACK_PREFIX.sub("", line) for line in lines}  # "---> 12 code" quotes "code"


def write_feedback(results: list[Result] | None = None) -> list[Path]:
    """HTML feedback for every graded notebook, checked to show no hidden-test text and run no script.

    The notebook it is made from was rewritten by :mod:`autograder.feedback` (test cells show
    only their verdict); these checks make sure nothing slipped through before a file is kept.

    Raises:
        RuntimeError: a feedback file would show hidden tests or hold executable content (it is deleted).
    """
    written = []
    by_name = {a.name: a for a in all_assignments()}
    for r in results if results is not None else load_results():
        if r.status != "graded":
            continue
        checked(
            api().generate_feedback(r.assignment, r.student, force=True),
            f"generate_feedback {r.assignment} {r.student}",
        )
        path = paths.feedback() / r.student / r.assignment / f"{r.notebook}.html"
        if active := executable_content(path.read_text(encoding="utf-8", errors="replace")):
            path.unlink()
            raise RuntimeError(f"feedback for {r.student}/{r.assignment} would run code: {active[:3]}")
        visible = _visible_lines(path)
        # A line the student wrote themselves (their solution may match a hidden reference) is no leak.
        submission = nbformat.read(paths.submitted() / r.student / r.assignment / f"{r.notebook}.ipynb", as_version=4)
        own = {" ".join(line.split()) for cell in submission.cells for line in cell.source.splitlines()}
        leaks = [line for line in hidden_test_lines(by_name[r.assignment]) - own if line in visible]
        if leaks:
            path.unlink()
            raise RuntimeError(f"feedback for {r.student}/{r.assignment} would show hidden tests: {leaks[:3]}")
        written.append(path)
    return written
