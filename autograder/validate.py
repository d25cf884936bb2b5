"""nbgrader's Validate button, answered with one summary instead of every failing test's source.

This module is also a Jupyter server extension: ``make lab`` and Binder's ``postBuild`` enable it by
copying ``autograder/jupyter_server_config.json`` into the environment's
``etc/jupyter/jupyter_server_config.d/``. It serves nbgrader's ``/assignments/validate`` route
with the summary; extensions load in alphabetical order, so its route is registered before
nbgrader's own and answers first (tests/test_browser.py clicks Validate).

nbgrader's ``Validator`` executes the notebook (here only the cells the grader runs,
:func:`course.selfcheck.graded_chain`), then lists each failing graded cell with its full
source and traceback: for a fresh notebook that is every test, hundreds of lines. ``StudentSummary``
runs last among the ``Validator.preprocessors`` that ``SummaryValidateHandler`` sets, on Validate's in-memory
copy (nothing is saved): it leaves exactly one failing cell, whose source is the summary table of
:func:`course.selfcheck.summary` (each exercise passed, failed with its first message, or not
started; the points) and whose error is one line. When every test passes it changes nothing, and
nbgrader says "Success!". A notebook whose locked cells were edited is left alone, so Validate
still reports the edit.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from jupyter_server.utils import url_path_join
from nbgrader.preprocessors import CheckCellMetadata, ClearOutput, Execute, NbGraderPreprocessor
from nbgrader.server_extensions.validate_assignment.handlers import ValidateAssignmentHandler
from nbgrader.utils import compute_checksum, is_grade, is_locked
from nbgrader.validator import Validator
from tornado import web

from autograder.edition import edition_of
from course import i18n
from course.selfcheck import graded_chain, graded_results, summary, verdict

__all__ = ["GradedChainOnly", "StudentSummary", "SummaryValidateHandler"]


def _edited(cell: nbformat.NotebookNode) -> bool:
    checksum = cell.metadata.get("nbgrader", {}).get("checksum")
    return (is_grade(cell) or is_locked(cell)) and checksum is not None and compute_checksum(cell) != checksum


class GradedChainOnly(NbGraderPreprocessor):
    """Leave out the code cells the grader does not run (a demonstration, a cell the student added)."""

    def preprocess(self, nb: nbformat.NotebookNode, resources: dict) -> tuple[nbformat.NotebookNode, dict]:
        nb.cells = [cell for cell in nb.cells if cell.cell_type != "code" or graded_chain(cell)]
        return nb, resources


class StudentSummary(NbGraderPreprocessor):
    """Fold Validate's failures into one entry: the summary table and a one-line verdict."""

    def preprocess(self, nb: nbformat.NotebookNode, resources: dict) -> tuple[nbformat.NotebookNode, dict]:
        results = graded_results(nb)
        if all(r.passed for r in results) or any(_edited(cell) for cell in nb.cells):
            return nb, resources
        graded = [c for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")]
        for cell in graded:
            cell.outputs = []  # counted as passing by Validate: only the summary cell is listed
        with i18n.speaking(edition_of(nb)):  # the notebook's edition: English or 中文
            text = verdict(results)
            table = summary(results)
        head = graded[0]
        head.source = table
        head.outputs = [nbformat.v4.new_output("error", ename="Summary", evalue=text, traceback=[text])]
        head.metadata.nbgrader["checksum"] = compute_checksum(head)
        return nb, resources


class SummaryValidateHandler(ValidateAssignmentHandler):
    """nbgrader's Validate handler, with ``StudentSummary`` after the run."""

    def validate_notebook(self, path: str) -> dict:
        root = Path(self.root_dir).resolve()
        target = (root / path).resolve()
        if not target.is_relative_to(root):
            raise web.HTTPError(403, "Access denied: path outside allowed directory")
        validator = Validator(config=self.load_config())
        validator.preprocessors = [CheckCellMetadata, ClearOutput, GradedChainOnly, Execute, StudentSummary]
        try:
            return {"success": True, "value": validator.validate(str(target))}
        except Exception as error:  # shown in Validate's dialog, as nbgrader does
            self.log.exception("validating %s", target)
            return {"success": False, "value": f"{type(error).__name__}: {error}"}


def _jupyter_server_extension_points() -> list[dict]:
    return [{"module": "autograder.validate"}]


def _load_jupyter_server_extension(serverapp) -> None:
    webapp = serverapp.web_app
    webapp.settings["root_dir"] = serverapp.root_dir
    route = url_path_join(webapp.settings["base_url"], "assignments/validate")
    webapp.add_handlers(".*$", [(route, SummaryValidateHandler)])
