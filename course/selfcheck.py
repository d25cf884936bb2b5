"""Check a whole notebook in one call: which exercises pass, which fail and why, and the points.

From a notebook (after saving it)::

    from course.selfcheck import check_notebook
    check_notebook("neuron.ipynb")

or from a terminal: ``python -m course.selfcheck mywork/01_neuron/neuron.ipynb``.

The saved notebook runs top to bottom in a fresh kernel, as the grader would run it (training
demonstrations use their short grader budgets), and each test cell scores its points when it
runs without error. Only the visible tests run here; the grader also runs hidden ones.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

__all__ = ["ExerciseResult", "check_notebook"]


@dataclass(frozen=True)
class ExerciseResult:
    """One test cell's outcome."""

    test_id: str
    points: float
    score: float
    message: str

    @property
    def passed(self) -> bool:
        return self.score == self.points


def _outcome(cell: nbformat.NotebookNode) -> tuple[bool, str]:
    for out in cell.get("outputs", []):
        if out.output_type == "error":
            return False, f"{out.ename}: {out.evalue}".strip().rstrip(":")
        if out.output_type == "stream" and out.name == "stderr":
            return False, "the test printed to stderr: " + out.text.strip().splitlines()[0][:200]
    return True, ""


def check_notebook(path: str | os.PathLike, *, timeout: int = 300, show: bool = True) -> list[ExerciseResult]:
    """Run the saved notebook at `path` in a fresh kernel and score each test cell.

    Returns:
        one result per graded test cell, in notebook order; a summary table is printed if `show`.
    """
    from nbclient import NotebookClient

    path = Path(path).resolve()
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute(env={**os.environ, "NBGRADER_EXECUTION": "validate"})  # grader-sized budgets
    results = []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade"):
            ok, message = _outcome(cell)
            points = float(meta.get("points", 0))
            results.append(ExerciseResult(meta["grade_id"], points, points if ok else 0.0, message))
    if show:
        print(summary(results))
    return results


def summary(results: list[ExerciseResult]) -> str:
    """A table of the results and the total."""
    width = max([len("exercise"), *(len(r.test_id) for r in results)])
    lines = [f"{'exercise':<{width}}  points  result"]
    for r in results:
        verdict = "passed" if r.passed else f"FAILED  {r.message}"
        lines.append(f"{r.test_id:<{width}}  {r.score:>2g}/{r.points:<3g}  {verdict}")
    total, top = sum(r.score for r in results), sum(r.points for r in results)
    lines.append(
        f"visible tests: {total:g} of {top:g} points ({sum(r.passed for r in results)} of {len(results)} passed)"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m course.selfcheck NOTEBOOK.ipynb")
    sys.exit(0 if all(r.passed for r in check_notebook(sys.argv[1])) else 1)
