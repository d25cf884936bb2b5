"""The usual mistakes, named: wrong answers students really write, and right ones written another way.

One module per notebook, named after the notebook's folder with an ``n`` in front
(``n01_neuron.py`` for ``notebooks/01_neuron``). A module defines two names::

    NOTEBOOK = "01_neuron"          # the assignment, i.e. the folder under notebooks/

    CASES = [
        Wrong("sigmoid", "overflows", '''
            def sigmoid(z):
                return 1 / (1 + np.exp(-z))
        '''),
        Right("tanh", "from the exp formula", '''
            def tanh(z):
                ...
        '''),
    ]

``Wrong(exercise, says, code)``: `exercise` is the id of the solution cell; `code` runs right after
that (honest) cell, so it only defines the functions it changes. The visible part of the
exercise's test cell (the code before ``### BEGIN HIDDEN TESTS``) must then fail, and the error's
message must contain `says` (case-insensitive): the phrase that names the mistake.

``Right(exercise, why, code)``: a correct answer written another way (loops or vectorised, float32,
another valid order). The whole test cell, hidden tests included, must pass.

Most wrong answers differ from a neighbour by a line or a word. Such a case is written as a
mutation, not a copy: the neighbour's code is a module constant named after the exercise, set just
above that exercise's cases, and the case is ``edited(BASE, old, new, ...)``, the base with each
`old` (which must occur exactly once, else ValueError) replaced by its `new`::

    LAYER_SIZES = '''
    def layer_sizes(size, layers):
        ...
            sizes.append((sizes[-1] + 2 * p - k) // s + 1)
        ...
    '''

    CASES += [
        Wrong("layer_sizes", "should raise ValueError", LAYER_SIZES),
        Wrong("layer_sizes", "the +1 of the formula is missing", edited(LAYER_SIZES, "// s + 1", "// s")),
    ]

So the one change that makes the mistake is all a case spells out. A base is itself the code of
one of the cases next to it (the one its neighbours are closest to), so it is tested like any case.

Each case runs in a fresh namespace built the way the grader's kernel builds it: every locked
cell above the test cell (setup, given references, test helpers), in notebook order, with
``NBGRADER_EXECUTION=autograde`` set and the notebook's folder as working directory. A notebook's
corpus holds at least five `Wrong` cases. ``tests/test_mistakes.py`` runs every module of this
package: to cover another notebook, add a module; nothing else needs editing.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import textwrap
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import nbformat

HIDDEN = "### BEGIN HIDDEN TESTS"
ROOT = Path(__file__).resolve().parents[2]

__all__ = ["Right", "Wrong", "corpus", "edited", "outcome", "run_case"]


@dataclass(frozen=True)
class Wrong:
    """A wrong answer to `exercise`; the visible tests must fail with a message containing `says`."""

    exercise: str
    says: str
    code: str


@dataclass(frozen=True)
class Right:
    """A right answer to `exercise` written another way; every test of the exercise must pass."""

    exercise: str
    why: str
    code: str


def edited(base: str, old: str, new: str, *more: str) -> str:
    """`base` with its one occurrence of `old` replaced by `new`; further (old, new) pairs apply in turn.

    Raises ValueError when an `old` does not occur exactly once in the text it applies to, so that
    an edit cannot silently miss, or hit two places, once the base changes.
    """
    if len(more) % 2:
        raise ValueError("edited() takes (old, new) pairs")
    text = base
    for before, after in zip((old, *more[::2]), (new, *more[1::2]), strict=True):
        if (count := text.count(before)) != 1:
            raise ValueError(f"{before!r} occurs {count} times, not once, in:\n{text}")
        text = text.replace(before, after)
    return text


def corpus() -> dict[str, ModuleType]:
    """Module name -> module, for every corpus module of this package."""
    return {
        info.name: importlib.import_module(f"{__name__}.{info.name}")
        for info in pkgutil.iter_modules(__path__)
        if info.name.startswith("n")
    }


def _meta(cell: Any) -> dict:
    return dict(cell.get("metadata", {}).get("nbgrader", {}) or {})


@contextmanager
def _grader_like(folder: Path):
    """The grader's environment for the duration of a case; global state put back afterwards."""
    import numpy as np
    import torch

    env, cwd = dict(os.environ), os.getcwd()
    dtype, threads = torch.get_default_dtype(), torch.get_num_threads()
    printing, errors, np_state = np.get_printoptions(), np.geterr(), np.random.get_state()
    torch_state = torch.random.get_rng_state()
    os.environ["NBGRADER_EXECUTION"] = "autograde"
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
        torch.set_default_dtype(dtype)
        torch.set_num_threads(threads)
        np.set_printoptions(**printing)
        np.seterr(**errors)
        np.random.set_state(np_state)
        torch.random.set_rng_state(torch_state)


def run_case(case: Wrong | Right, notebook: Path) -> None:
    """Run `case` against the source notebook at `notebook`; raises what its test cell raises."""
    nb = nbformat.read(notebook, as_version=4)
    ids = [c.get("id") for c in nb.cells]
    solution = ids.index(case.exercise)
    test = ids.index(case.exercise + "_test")
    test_source = nb.cells[test].source
    if isinstance(case, Wrong):
        test_source = test_source.split(HIDDEN)[0]
    namespace: dict[str, Any] = {"__name__": "__main__"}
    with _grader_like(notebook.parent):
        for i, cell in enumerate(nb.cells[:test]):
            m = _meta(cell)
            if cell.cell_type == "code" and m.get("locked") and not m.get("grade"):
                exec(compile(cell.source, f"<{cell.get('id')}>", "exec"), namespace)
            elif i == solution:
                exec(compile(cell.source, f"<{case.exercise}>", "exec"), namespace)
                exec(compile(textwrap.dedent(case.code), f"<case {case.exercise}>", "exec"), namespace)
        exec(compile(test_source, f"<{case.exercise}_test>", "exec"), namespace)


def outcome(case: Wrong | Right, notebook: Path) -> str | None:
    """The error message a case ends with ("ExceptionName: message"), or None when the tests pass."""
    try:
        run_case(case, notebook)
    except Exception as err:  # noqa: BLE001 - any failure is an outcome to report
        return f"{type(err).__name__}: {err}"
    return None


def notebook_path(name: str) -> Path:
    """notebooks/<name>/<the one .ipynb in it>."""
    (path,) = sorted((ROOT / "notebooks" / name).glob("*.ipynb"))
    return path
