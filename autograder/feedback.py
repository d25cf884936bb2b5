"""The autograded notebook made fit to be shown to the student as feedback.

nbgrader's feedback shows a notebook as the student's kernel left it, so whatever student code
printed, displayed or raised would reach the page: while a hidden test calls it, a student's
function can read the test's source (``In[-1]``, frames) and print it in any encoding; a
``display_id`` lets a test-time call rewrite an earlier cell's output; any cell after a test
cell can read the test from the kernel's history; markdown and HTML outputs can carry script.
So the page is rebuilt from what the grader knows, never from what the kernel chose to emit:

* a test cell shows one line: ``passed``, or ``failed:`` with the error's name (a built-in or
  course exception, else "an error") and the first line of its message (the course's checks
  explain the mistake there), capped and with hidden-test lines removed; or, for a test whose
  clean-room run did not hold up, why it was not confirmed;
* a code cell outside the graded chain (:func:`~autograder.assignments.graded_chain`) was not
  run, and says so;
* a code cell that ran before any hidden test keeps its printed text and errors (nothing
  hidden existed in the kernel yet, and nothing later can append to them); rich outputs
  (HTML, JavaScript, images, markdown) are dropped everywhere, since a later ``display_id``
  update can rewrite them; a cell that ran after a hidden test keeps only that it raised;
* a markdown cell identical to the course's cell of the same id renders as written; any other
  is shown as its source text in a code block (no HTML, links or script of the student's);
* raw cells are not shown; cell and notebook metadata are reduced to what nbgrader reads.
"""

from __future__ import annotations

import builtins
import re
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from autograder.assignments import NOT_RUN, Assignment, graded_chain, nbgrader_meta

__all__ = ["DISTINCTIVE", "ERROR_LINE", "for_feedback", "hidden_test_lines", "localize_page", "rewrite"]

DISTINCTIVE = 30
"""Characters a hidden-test line needs before it counts as a leak (`mistakes = {` is found anywhere)."""
ERROR_LINE = 300
"""Characters of an error message a test cell's feedback shows."""
_HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.DOTALL)
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_KNOWN_ERRORS = {n for n, v in vars(builtins).items() if isinstance(v, type) and issubclass(v, BaseException)} | {
    "ForbiddenCall",  # course.byhand
    "CellTimeoutError",  # nbclient, a cell past its time limit
    "DeadKernelError",
}
_KEPT_OUTPUTS = ("stream", "error")
_NB_METADATA = ("kernelspec", "language_info", "dlcourse")
GRADER = "[grader] "
SAID = {
    "zh": {
        "passed": "通过",
        "failed: {error}": "未通过：{error}",
        "0 points: not confirmed when run in the clean room: {why}": "0 分：在隔离环境中重新运行时未能确认：{why}",
        NOT_RUN: "评分时未运行：没有计分的测试依赖这个单元格（请在你自己的笔记本中运行它）",
        "this cell raised {error}": "这个单元格抛出了 {error}",
        "an error": "一个错误",
        "[a hidden test line was removed]": "[已删去一行隐藏测试]",
    }
}
"""What the feedback says, in each edition other than English (English template -> translation)."""


PAGE = {
    "zh": [
        (r"\(Score: ([0-9.]+) / ([0-9.]+)\)", r"（得分：\1 / \2）"),
        (r"Score: ([0-9.]+) / ([0-9.]+)", r"得分：\1 / \2"),
        (r">Test cell<", ">测试单元格<"),
        (r">\(Top\)<", ">（回到顶部）<"),
        (r"<b>Comments:</b>", "<b>评语：</b>"),
        (r">Comment<", ">评语<"),
    ]
}
"""The words of nbgrader's feedback page, in each edition other than English (pattern -> replacement)."""


def _say(lang: str, template: str, **fields: str) -> str:
    return SAID.get(lang, {}).get(template, template).format(**fields)


def localize_page(html: str, lang: str) -> str:
    """nbgrader's feedback page `html` with its own words (scores, links) in `lang`."""
    for pattern, replacement in PAGE.get(lang, []):
        html = re.sub(pattern, replacement, html)
    return html


def hidden_test_lines(assignment: Assignment) -> set[str]:
    """Lines of the hidden tests that appear nowhere in the release (what feedback must never show)."""
    hidden = set()
    for cell in assignment.nb.cells:
        if nbgrader_meta(cell).get("grade"):
            for block in _HIDDEN.findall(cell.source):
                hidden |= {s for line in block.splitlines() if len(s := " ".join(line.split())) >= DISTINCTIVE}
    public = {" ".join(line.split()) for cell in assignment.released().cells for line in cell.source.splitlines()}
    return hidden - public


def _note(text: str) -> NotebookNode:
    return nbformat.v4.new_output("stream", name="stdout", text=GRADER + text + "\n")


def _error_name(ename: str, lang: str) -> str:
    return ename if ename in _KNOWN_ERRORS else _say(lang, "an error")


def _first_line(text: str, hidden: set[str], lang: str) -> str:
    line = next((s for s in _ANSI.sub("", text).splitlines() if s.strip()), "").strip()[:ERROR_LINE]
    squeezed = " ".join(line.split())
    return _say(lang, "[a hidden test line was removed]") if any(h in squeezed for h in hidden) else line


def _verdict(outputs: list[NotebookNode], hidden: set[str], flag: str | None, lang: str) -> list[NotebookNode]:
    """A test cell's outputs: passed, failed with the error line, or not confirmed by the clean room."""
    if flag:
        why = _first_line(flag, hidden, lang)
        return [_note(_say(lang, "0 points: not confirmed when run in the clean room: {why}", why=why))]
    errors = [o for o in outputs if o.get("output_type") == "error"]
    if not errors:
        return [_note(_say(lang, "passed"))]
    message = _first_line(str(errors[0].get("evalue", "")), hidden, lang)
    error = _error_name(str(errors[0].get("ename", "")), lang) + (f": {message}" if message else "")
    return [_note(_say(lang, "failed: {error}", error=error))]


def _own_outputs(outputs: list[NotebookNode], after_hidden: bool, lang: str) -> list[NotebookNode]:
    """A non-test code cell's outputs: printed text and errors if it ran before any hidden test."""
    if after_hidden:
        errors = [o for o in outputs if o.get("output_type") == "error"]
        raised = _error_name(str(errors[0].get("ename", "")), lang) if errors else ""
        return [_note(_say(lang, "this cell raised {error}", error=raised))] if errors else []
    return [o for o in outputs if o.get("output_type") in _KEPT_OUTPUTS]


def _as_text(source: str) -> str:
    """Markdown that shows `source` verbatim: a fenced code block no line of it can close."""
    runs = [len(run) for run in re.findall(r"`+", source)]
    fence = "`" * max(3, max(runs, default=0) + 1)
    return f"{fence}text\n{source}\n{fence}"


def for_feedback(nb: NotebookNode, assignment: Assignment, flags: dict[str, str]) -> NotebookNode:
    """Rewrite the autograded notebook `nb` in place as the student may see it (see the module).

    `assignment` is in the submission's edition: its markdown is what renders, and the grader's
    notes speak its language.
    """
    hidden = hidden_test_lines(assignment)
    lang = assignment.lang
    course = {c.get("id"): c for c in assignment.nb.cells}
    after_hidden = False
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        cell.metadata = {"nbgrader": cell.metadata["nbgrader"]} if meta else {}
        mine = course.get(cell.get("id"))
        if cell.cell_type == "markdown":
            trusted = mine is not None and mine.cell_type == "markdown" and mine.source == cell.source
            cell.pop("attachments", None)
            if trusted and "attachments" in mine:
                cell.attachments = mine.attachments
            if not trusted:
                cell.source = _as_text(cell.source)
        elif cell.cell_type == "code":
            test = assignment.test_cells.get(meta.get("grade_id", "")) if meta.get("grade") else None
            if test is not None:
                cell.outputs = _verdict(cell.outputs, hidden, flags.get(meta["grade_id"]), lang)
                after_hidden = after_hidden or bool(_HIDDEN.search(test.source))
            elif not graded_chain(cell):
                cell.outputs = [_note(_say(lang, NOT_RUN))]
            else:
                cell.outputs = _own_outputs(cell.outputs, after_hidden, lang)
        else:
            cell.metadata = {}  # a raw cell without a mime type is not rendered
    nb.metadata = {k: v for k, v in nb.metadata.items() if k in _NB_METADATA}
    return nb


def rewrite(path: Path, assignment: Assignment, flags: dict[str, str]) -> None:
    """:func:`for_feedback` on the notebook file at `path`."""
    nb = nbformat.read(path, as_version=4)
    nbformat.write(for_feedback(nb, assignment, flags), path)
