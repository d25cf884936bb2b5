"""One friendly line, instead of a traceback, when a cell reaches an exercise not written yet.

The release leaves ``raise NotImplementedError()`` where each answer goes. In JupyterLab, a cell
that runs into one prints::

    NotImplementedError: sigmoid is not written yet: write it in its cell above, run that cell, then this one.

The cell still fails (a test scores nothing), and the test and demonstration cells that may fail
this way carry the ``raises-exception`` tag, so *Run All* goes on to the cells after them.
``import course`` installs the handler in an IPython kernel; under the autograder
(``NBGRADER_EXECUTION=autograde``) it stays out, so grading sees plain tracebacks.
"""

from __future__ import annotations

import os
import re
import sys
from types import TracebackType

from course.i18n import tr

__all__ = ["install", "unfinished_message"]

_CELL = re.compile(r"ipykernel_\d+|<ipython-input-")
"""File names IPython gives the code of notebook cells."""


def unfinished_message(error: BaseException, tb: TracebackType | None) -> str | None:
    """The friendly line for `error` if it is an exercise's stub, else None.

    A stub is a bare ``NotImplementedError()`` raised by code written in a notebook cell (not one a
    library raises with a message of its own).
    """
    if type(error) is not NotImplementedError or error.args or tb is None:
        return None
    while tb.tb_next is not None:
        tb = tb.tb_next
    code = tb.tb_frame.f_code
    if not _CELL.search(code.co_filename):
        return None
    if code.co_name == "<module>":
        return tr("this cell holds an exercise not written yet: replace `raise NotImplementedError()` with your code.")
    return tr(
        "{name} is not written yet: write it in its cell above, run that cell, then this one.", name=code.co_qualname
    )


def _show(shell, etype, value, tb, tb_offset=None) -> None:
    """IPython's custom exception handler: show the friendly line, or the usual traceback."""
    message = unfinished_message(value, tb)
    if message is not None:
        value._render_traceback_ = lambda: [f"NotImplementedError: {message}"]
    shell.showtraceback((etype, value, tb), tb_offset=tb_offset)


def install() -> None:
    """Show stubs as one line in the running IPython kernel (no-op outside IPython and under the grader)."""
    ipython = sys.modules.get("IPython")  # a kernel has imported it; a plain script need not pay for it
    if ipython is None or os.environ.get("NBGRADER_EXECUTION") == "autograde":
        return
    shell = ipython.get_ipython()
    if shell is not None and not shell.custom_exceptions:
        shell.set_custom_exc((NotImplementedError,), _show)
