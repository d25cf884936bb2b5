"""Red-team cases against the submission itself and the feedback made from it.

Links and special files in place of the notebook or its folder (the grader must never read
through them), a notebook saved in another encoding, nbgrader metadata stripped or forged (the
honest answers must be graded as they earn, forged points ignored), and answers that, while the
hidden tests call them, print, display or raise copies of the calling cell, or put script into
the feedback. The feedback test of ``tests/test_redteam.py`` runs ``python -m autograder feedback``
on every graded case, which refuses a page that shows hidden-test text or holds executable content.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from redteam.corpus import Case, Context, _append, _cell, _function_names, _notebook_case, _text_of, complete

__all__ = ["CASES"]


def _link_to_source(folder: Path, ctx: Context) -> None:
    folder.mkdir(parents=True)
    (folder / ctx.assignment.path.name).symlink_to(ctx.assignment.path)


def _linked_folder(folder: Path, ctx: Context) -> None:
    folder.parent.mkdir(parents=True)
    folder.symlink_to(ctx.assignment.path.parent, target_is_directory=True)


def _link_to_proc(folder: Path, ctx: Context) -> None:
    folder.mkdir(parents=True)
    (folder / ctx.assignment.path.name).symlink_to("/proc/self/fd/0")


def _fifo(folder: Path, ctx: Context) -> None:
    folder.mkdir(parents=True)
    os.mkfifo(folder / ctx.assignment.path.name)


def _utf16(folder: Path, ctx: Context) -> None:
    folder.mkdir(parents=True)
    (folder / ctx.assignment.path.name).write_bytes(_text_of(complete(ctx)).encode("utf-16"))


def _stripped(ctx: Context) -> NotebookNode:
    nb = complete(ctx)
    for cell in nb.cells:
        cell.metadata.pop("nbgrader", None)
    return nb


def _forged(ctx: Context) -> NotebookNode:
    """Right answers; a solution cell marked as graded, a test worth 1000, and a 1000-point bonus cell."""
    nb = complete(ctx)
    _cell(nb, ctx.first.solution_id).metadata["nbgrader"].update(grade=True, points=1000)
    _cell(nb, ctx.first.test_id).metadata["nbgrader"]["points"] = 1000
    bonus = {"schema_version": 3, "grade": True, "solution": False, "locked": True, "grade_id": "bonus", "points": 1000}
    nb.cells.append(nbformat.v4.new_code_cell("assert True", metadata={"nbgrader": bonus}))
    return nb


_SHOW_CALLER = """
import base64 as _b64
from IPython.display import HTML as _HTML, Javascript as _JS, display as _display

_shown = _display(_HTML("my figure"), display_id=True)

def _show_caller():
    try:
        _source = get_ipython().user_ns["In"][-1]
    except Exception:  # the clean room runs plain Python (no IPython history): nothing to show there
        return
    print(_source)  # plain: the feedback check would find any hidden line
    print(_b64.b64encode(_source.encode()).decode())
    print(_source[::-1])
    _shown.update(_HTML("<pre>" + _source + "</pre>"))  # rewrites this cell's output from the test
    _display(_JS("alert(document.cookie)"))
"""


def _leak_encoded(ctx: Context) -> NotebookNode:
    """Right answers that print, display and rewrite copies of the cell calling them (hidden tests included)."""
    names = _function_names(ctx.assignment.cell(ctx.first.solution_id).source)
    wrappers = "\n".join(
        f"_orig_{n} = {n}\n\ndef {n}(*args, **kwargs):\n    _show_caller()\n    return _orig_{n}(*args, **kwargs)\n"
        for n in names
    )
    return _append(complete(ctx), ctx.first.solution_id, _SHOW_CALLER + "\n" + wrappers)


_RAISE_LATER = """
def _history():
    return "\\n".join(get_ipython().user_ns["In"])

print(_history())
raise ValueError(_history())
"""


def _after_tests(ctx: Context) -> NotebookNode:
    """Right answers, and a last cell that prints and raises the kernel's history (every test cell's source)."""
    nb = complete(ctx)
    nb.cells.append(nbformat.v4.new_code_cell(textwrap.dedent(_RAISE_LATER)))
    return nb


_XSS = '<script>alert(1)</script><img src=x onerror="alert(2)"> [link](javascript:alert(3)) <javascript:alert(4)>'


def _script_in_feedback(ctx: Context) -> NotebookNode:
    """Right answers; script in a markdown cell and in HTML, JavaScript and markdown outputs."""
    nb = complete(ctx)
    nb.cells.append(nbformat.v4.new_markdown_cell(_XSS))
    display = f"from IPython.display import HTML, Javascript, Markdown, display\n" \
              f"display(HTML({_XSS!r}), Javascript('alert(5)'), Markdown({_XSS!r}))"  # fmt: skip
    nb.cells.insert(1, nbformat.v4.new_code_cell(display))
    nb.cells[0].source += "\n\n" + _XSS
    return nb


def _cases() -> list[Case]:
    return [
        Case("link_to_source", "the notebook is a symbolic link to the course's source notebook", _link_to_source,
             "failed", "zero"),
        Case("linked_folder", "the assignment folder is a symbolic link to the course's source folder",
             _linked_folder, "failed", "zero"),
        Case("link_to_proc", "the notebook is a symbolic link to /proc/self/fd/0", _link_to_proc, "failed", "zero"),
        Case("fifo_notebook", "the notebook is a named pipe", _fifo, "failed", "zero"),
        Case("utf16_notebook", "right answers saved as UTF-16 (with a byte-order mark)", _utf16, "graded", "full"),
        Case("stripped_metadata", "right answers, every cell's nbgrader metadata stripped",
             _notebook_case(_stripped), "graded", "full"),
        Case("forged_metadata", "right answers; a graded solution cell, 1000-point test and bonus cells",
             _notebook_case(_forged), "graded", "full"),
        Case("leak_encoded_hidden", "right answers that print and display the calling cell, plain, base64, reversed",
             _notebook_case(_leak_encoded), "graded", "full"),
        Case("leak_after_tests", "right answers; a last cell prints and raises every test cell's source",
             _notebook_case(_after_tests), "graded", "full"),
        Case("script_in_feedback", "right answers; script in markdown and in HTML, JavaScript, markdown outputs",
             _notebook_case(_script_in_feedback), "graded", "full"),
    ]  # fmt: skip


CASES = _cases()
