"""Check a whole notebook in one call: which exercises pass, which fail and why, and the points.

From a notebook (after saving it)::

    from course.selfcheck import check_notebook
    check_notebook("neuron.ipynb")

or from a terminal: ``python -m course.selfcheck mywork/01_neuron/neuron.ipynb``.

The saved notebook's locked, answer and test cells run top to bottom in a fresh kernel, as the
grader runs them (:func:`graded_chain`: a demonstration, or a cell you added, is not run), and
each test cell scores its points when it runs without error. Only the visible tests run here;
the grader also runs hidden ones.
"""

from __future__ import annotations

import os
import sys
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import nbformat

from course.i18n import LANGUAGES, tr, use

__all__ = [
    "ExerciseResult",
    "check_notebook",
    "exercise_result",
    "graded_chain",
    "graded_results",
    "summary",
    "verdict",
]


NOT_STARTED = "not started"


def graded_chain(cell: nbformat.NotebookNode) -> bool:
    """A locked, answer (solution) or test code cell: the only cells the grader runs.

    The course's lint proves that no grade needs another cell. A demonstration, or a cell a student
    adds, is not run when grading, so code an answer needs belongs in its answer cell.
    """
    meta = cell.get("metadata", {}).get("nbgrader", {}) or {}
    return cell.cell_type == "code" and bool(meta.get("locked") or meta.get("solution") or meta.get("grade"))


@dataclass(frozen=True)
class ExerciseResult:
    """One test cell's outcome: ``status`` is "passed", "failed" or "not started"."""

    test_id: str
    points: float
    score: float
    message: str
    status: str

    @property
    def passed(self) -> bool:
        return self.status == "passed"


def exercise_result(cell: nbformat.NotebookNode) -> ExerciseResult:
    """Score an executed graded test cell: its points unless it raised or wrote to stderr.

    A test that ran into a bare ``NotImplementedError`` (the release's stub) is "not started";
    any other error fails it, with its first line as the message.
    """
    meta = cell.metadata["nbgrader"]
    points = float(meta.get("points", 0))
    for out in cell.get("outputs", []):
        if out.output_type == "error":
            if out.ename == "NotImplementedError" and not out.evalue:
                return ExerciseResult(meta["grade_id"], points, 0.0, "", NOT_STARTED)
            return ExerciseResult(meta["grade_id"], points, 0.0, f"{out.ename}: {out.evalue}".strip(), "failed")
        if out.output_type == "stream" and out.name == "stderr":
            first = out.text.strip().splitlines()[0][:200] if out.text.strip() else ""
            message = tr("the test printed to stderr: {first}", first=first)
            return ExerciseResult(meta["grade_id"], points, 0.0, message, "failed")
    return ExerciseResult(meta["grade_id"], points, points, "", "passed")


def graded_results(nb: nbformat.NotebookNode) -> list[ExerciseResult]:
    """The results of every graded code cell of an executed notebook, in order."""
    return [
        exercise_result(cell)
        for cell in nb.cells
        if cell.cell_type == "code" and cell.get("metadata", {}).get("nbgrader", {}).get("grade")
    ]


def check_notebook(path: str | os.PathLike, *, timeout: int = 300, show: bool = True) -> list[ExerciseResult]:
    """Run the saved notebook at `path` in a fresh kernel, as the grader would, and score each test cell.

    Returns:
        one result per graded test cell, in notebook order; a summary table is printed if `show`.
    """
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    path = Path(path).resolve()
    nb = nbformat.read(path, as_version=4)
    nb.cells = [cell for cell in nb.cells if cell.cell_type != "code" or graded_chain(cell)]
    with tempfile.TemporaryDirectory(prefix="selfcheck-") as run:
        # Local sockets (ipc), not TCP: nothing listens on the network, and the kernel does not warn.
        km = KernelManager(kernel_name="python3", transport="ipc", connection_file=str(Path(run) / "kernel.json"))
        client = NotebookClient(
            nb, km=km, timeout=timeout, allow_errors=True, resources={"metadata": {"path": str(path.parent)}}
        )
        client.execute(env={**os.environ, "NBGRADER_EXECUTION": "validate"})  # grader-sized budgets
    results = graded_results(nb)
    if show:
        print(summary(results))
    return results


def verdict(results: list[ExerciseResult]) -> str:
    """One line: how many exercises pass the visible tests (nbgrader's Validate shows it)."""
    done = sum(r.passed for r in results)
    return tr("{done} of {total} exercises pass the visible tests; the grader also runs hidden tests.",
              done=done, total=len(results))  # fmt: skip


def summary(results: list[ExerciseResult]) -> str:
    """A table of the results (each exercise: passed, failed with its message, or not started) and the total."""
    words = {"passed": tr("passed"), "failed": tr("failed"), NOT_STARTED: tr("not started")}
    width = max([_columns(tr("exercise")), *(_columns(r.test_id) for r in results)])
    lines = [f"{_pad(tr('exercise'), width)}  {_pad(tr('points'), 6)}  {tr('result')}"]
    for r in results:
        verdict = tr("failed: {message}", message=r.message) if r.status == "failed" else words[r.status]
        lines.append(f"{_pad(r.test_id, width)}  {r.score:>2g}/{r.points:<3g}  {verdict}")
    total, top = sum(r.score for r in results), sum(r.points for r in results)
    counts = tr(", ").join(
        tr("{count} {status}", count=n, status=words[status])
        for status in ("passed", "failed", NOT_STARTED)
        if (n := _count(results, status))
    )
    lines.append(tr("visible tests: {total:g} of {top:g} points ({counts})", total=total, top=top, counts=counts))
    return "\n".join(lines)


def _columns(text: str) -> int:
    """How many columns `text` takes in a terminal or a monospaced font (a CJK character takes two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    """`text` followed by spaces up to `width` columns."""
    return text + " " * (width - _columns(text))


def _count(results: list[ExerciseResult], status: str) -> int:
    return sum(r.status == status for r in results)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m course.selfcheck NOTEBOOK.ipynb")
    edition = nbformat.read(sys.argv[1], as_version=4).metadata.get("dlcourse", {}).get("edition")
    use(edition if edition in LANGUAGES else "en")  # the summary in the notebook's language
    sys.exit(0 if all(r.passed for r in check_notebook(sys.argv[1])) else 1)
