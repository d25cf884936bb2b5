"""What the instructor reads: the grade table, the CSV export and the students' feedback."""

from __future__ import annotations

import csv
import html
import multiprocessing
import re
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat

from autograder import gradebook, paths
from autograder.activecontent import executable_content
from autograder.assignments import find_assignment
from autograder.edition import edition_of
from autograder.feedback import hidden_test_lines, localize_page
from autograder.nbgrader_api import api, checked
from autograder.results import NOT_GRADED, Result, load_results

__all__ = ["export_csv", "grade_table", "hidden_test_lines", "selected", "up_to_date", "write_feedback"]

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


def selected(students: list[str] | None = None, assignments: list[str] | None = None) -> list[Result]:
    """The saved results, only of these students and assignments when given."""
    return [
        r
        for r in load_results()
        if (students is None or r.student in students) and (assignments is None or r.assignment in assignments)
    ]


def export_csv(to: Path, results: list[Result]) -> Path:
    """One row per result, with a status column; graded scores read from the gradebook."""
    to.parent.mkdir(parents=True, exist_ok=True)
    with to.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["student", "assignment", "notebook", "score", "max_score", "status", "reason"])
        for r in results:
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


def _feedback_path(r: Result) -> Path:
    return paths.feedback() / r.student / r.assignment / f"{r.notebook}.html"


def up_to_date(r: Result) -> bool:
    """Whether `r`'s feedback file was written after its result (grading again rewrites the result)."""
    page = _feedback_path(r)
    return page.is_file() and page.stat().st_mtime >= r.path.stat().st_mtime


def _one_feedback(r: Result) -> Path:
    """Write and check one feedback file (runs in a pool process)."""
    checked(
        api().generate_feedback(r.assignment, r.student, force=True),
        f"generate_feedback {r.assignment} {r.student}",
    )
    path = _feedback_path(r)
    submission = nbformat.read(paths.cleaned() / r.student / r.assignment / f"{r.notebook}.ipynb", as_version=4)
    if (lang := edition_of(submission)) != "en":
        path.write_text(localize_page(path.read_text(encoding="utf-8"), lang), encoding="utf-8")
    if active := executable_content(path.read_text(encoding="utf-8", errors="replace")):
        path.unlink()
        raise RuntimeError(f"feedback for {r.student}/{r.assignment} would run code: {active[:3]}")
    visible = _visible_lines(path)
    # A line the student wrote themselves (their solution may match a hidden reference) is no leak.
    own = {" ".join(line.split()) for cell in submission.cells for line in cell.source.splitlines()}
    source = find_assignment(r.assignment)
    hidden = hidden_test_lines(source) | hidden_test_lines(source.in_edition(lang))
    leaks = [line for line in hidden - own if line in visible]
    if leaks:
        path.unlink()
        raise RuntimeError(f"feedback for {r.student}/{r.assignment} would show hidden tests: {leaks[:3]}")
    return path


def write_feedback(results: list[Result], workers: int = 2, force: bool = False) -> tuple[list[Path], int]:
    """HTML feedback for the graded notebooks among `results`, checked to show no hidden-test text and run no script.

    Only results graded since their feedback was written are rebuilt (all with `force`), by
    `workers` processes at once. The notebook a page is made from was rewritten by
    :mod:`autograder.feedback` (test cells show only their verdict); the checks here make sure
    nothing slipped through before a file is kept.

    Returns:
        The pages written, and how many were already up to date.

    Raises:
        RuntimeError: a feedback file would show hidden tests or hold executable content (it is deleted).
    """
    graded = [r for r in results if r.status == "graded"]
    todo = [r for r in graded if force or not up_to_date(r)]
    if len(todo) <= 1 or workers <= 1:
        return [_one_feedback(r) for r in todo], len(graded) - len(todo)
    context = multiprocessing.get_context("spawn")  # nbgrader's API is not fork-safe once it has threads
    with ProcessPoolExecutor(min(workers, len(todo)), mp_context=context) as pool:
        written = list(pool.map(_one_feedback, todo, chunksize=max(1, len(todo) // (4 * workers))))
    return written, len(graded) - len(todo)
