"""Refuse introspection to submitted code in the clean room: a PEP 578 audit hook.

The clean room (:mod:`autograder.sandboxed.cleanroom`) runs the student's functions in the same
process as the tests that call them and the recorder that logs every check. Code that reaches
the caller's frame (``sys._getframe``, ``inspect``, ``traceback.tb_frame``, a generator's
``gi_frame``), installs a tracer or profiler, walks the garbage collector or loads C code through
``ctypes`` could rewrite what a check compares or what the recorder keeps. CPython raises an
audit event for each of these operations, whatever the spelling (names assembled at run time,
``getattr`` chains, library wrappers such as ``inspect.stack``), and an audit hook cannot be
removed once added.

:func:`install` adds, before any student code runs, a hook that refuses those events (it raises
:class:`Refused`, a ``ValueError``, which the standard library's optional uses of frames, in
``collections``, ``typing``, ``enum`` and ``logging``, already treat as "no frame available") whenever *submitted
code* is on the calling thread's stack. Submitted code is every code object the clean room
declares with :func:`submitted` (the solution cells, compiled by the clean room), the code they
nest, and every code object that runs through ``exec``, ``eval``, a new ``FunctionType`` or a
``__code__`` assignment while submitted code is on the stack, so code made at run time (with
any file name) stays submitted. The grader's own uses (the recorder's line numbers, the tests'
``course.byhand`` profiler, putting tracing back) run with no submitted code on the stack and
pass. The hook keeps its state in its closure and reaches nothing through module globals, so
patching this module or ``builtins`` after :func:`install` changes nothing.

CPython 3.11 raises no event for reading ``frame.f_back`` or ``f_locals`` (one needs a first
frame, which is refused), for a function's ``__closure__`` or ``__globals__``, or for
``ctypes.cast`` and ``ctypes.memmove`` on an address taken from ``id()``; the README's threat
model lists what that leaves open.
"""

from __future__ import annotations

import io
import marshal
import os
import sys
import types
from collections.abc import Callable

__all__ = ["EVENT", "FUNCTION_STATE", "REFUSED", "Refused", "install", "submitted", "warm_libraries"]

EVENT = "autograder.submitted"
"""The audit event that declares a code object (and those it nests) as submitted code."""

REFUSED = frozenset(
    {
        "sys._getframe",
        "sys._current_frames",
        "sys.settrace",
        "sys.setprofile",
        "sys.addaudithook",
        "gc.get_objects",
        "gc.get_referrers",
        "gc.get_referents",
    }
)
"""Events refused while submitted code is on the stack (besides ``ctypes.*`` and the ones below)."""

FRAME_ATTRIBUTES = frozenset({"tb_frame", "gi_frame", "cr_frame", "ag_frame"})
"""Attributes whose read (event ``object.__getattr__``) hands out a frame."""

_NEW_CODE = frozenset({"exec", "function.__new__"})
"""Events whose first argument is a code object about to run."""

FUNCTION_STATE = frozenset({"__code__", "__defaults__", "__kwdefaults__"})
"""A function's attributes that change what it does; CPython audits every set and delete of them."""

_SET_OR_DELETE = frozenset({"object.__setattr__", "object.__delattr__"})


class Refused(ValueError, RuntimeError):
    """An introspection event refused to submitted code.

    A ValueError, as ``sys._getframe`` raises when there is no such frame (the standard library's
    optional uses of frames catch it), and a RuntimeError, the kind that stops ``sys.addaudithook``.
    """


def submitted(code: types.CodeType) -> None:
    """Declare `code` (a compiled solution cell) as submitted code before running it."""
    sys.audit(EVENT, code)


def _refused(event: str, args: tuple, _refused=REFUSED, _frames=FRAME_ATTRIBUTES, _len=len, _str=str) -> str:
    """What `event` would hand to the caller ('' if it is not an introspection event).

    Everything it uses is bound when the module is imported (defaults), so that patching this
    module's globals or ``builtins`` later changes nothing.
    """
    if event in _refused or event.startswith("ctypes."):
        return event
    if event == "object.__getattr__" and _len(args) == 2 and args[1] in _frames:
        return f"the attribute {args[1]}"
    if event == "open" and args and _str(args[0]).rstrip("/").rsplit("/", 1)[-1] == "mem":
        return "opening a process's memory"
    return ""


def _read_only_roots() -> tuple[str, ...]:
    """Folders whose files student code cannot change in the sandbox: Python, the venv, course/ and autograder/."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    roots = {sys.prefix, sys.base_prefix, package, os.path.join(os.path.dirname(package), "course")}
    return tuple(os.path.realpath(root) + os.sep for root in roots)


def _genuine_library_code(roots: tuple[str, ...]) -> Callable[[types.CodeType], bool]:
    """A test: is a code object exactly the code of the read-only file its ``co_filename`` names?

    Libraries imported for the first time while submitted code runs (torch imports sympy lazily)
    run module code that is not the submission's; code compiled or unmarshalled by the
    submission under such a file name is not equal to it and stays the submission's. The file's
    cached bytecode is the reference (its source compiled when there is none). Everything is
    bound now, so that nothing patched later is called.
    """
    tag, reference = sys.implementation.cache_tag, {}
    _open, _loads, _compile = io.open, marshal.loads, compile

    def genuine(code: types.CodeType) -> bool:
        path = code.co_filename
        if not (path.startswith(roots) and path.endswith(".py") and "/../" not in path):
            return False
        if path not in reference:
            folder, _, name = path.rpartition("/")
            try:
                with _open(f"{folder}/__pycache__/{name[:-3]}.{tag}.pyc", "rb") as f:
                    reference[path] = _loads(f.read()[16:])
            except (OSError, ValueError, EOFError, TypeError):
                try:
                    with _open(path, "rb") as f:
                        reference[path] = _compile(f.read(), path, "exec", dont_inherit=True)
                except (OSError, SyntaxError, ValueError):
                    reference[path] = None
        return reference[path] is not None and reference[path] == code

    return genuine


def install(
    trusted: list[types.CodeType], on_function_change: Callable[[types.FunctionType, str], None] | None = None
) -> None:
    """Add the hook to this process (once, before any student code runs; it cannot be removed).

    Args:
        trusted: the grader's code that may read frames whatever is on the stack (the recorder's
            line finder, which a test's helper may reach from a student function); it must hand
            no frame back.
        on_function_change: called with (function, attribute) just before any code, submitted or
            not, sets or deletes one of a function's :data:`FUNCTION_STATE` attributes (the clean
            room's guard remembers the value it had).
    """
    import _thread

    marked: dict[int, types.CodeType] = {}
    genuine = _genuine_library_code(_read_only_roots())
    allowed = {id(code): code for code in trusted}
    busy: set[int] = set()

    def mark(code: types.CodeType, _id=id, _type=type, _code=types.CodeType) -> None:
        todo = [code]
        while todo:
            item = todo.pop()
            if _type(item) is _code and _id(item) not in marked:
                marked[_id(item)] = item  # kept alive: an id is never reused while it is marked
                todo.extend(item.co_consts)

    def on_stack(frame: types.FrameType, _id=id) -> bool:
        while frame is not None:
            if _id(frame.f_code) in marked:
                return True
            frame = frame.f_back
        return False

    def hook(
        event: str, args: tuple, _ident=_thread.get_ident, _getframe=sys._getframe, _id=id, _refused=_refused,
        _error=Refused, _type=type, _function=types.FunctionType, _changes=_SET_OR_DELETE, _state=FUNCTION_STATE,
    ) -> None:  # fmt: skip
        me = _ident()
        if me in busy:  # the hook's own frame and id() reads raise events too
            return
        new_code = event in _NEW_CODE or (event == "object.__setattr__" and args[1:2] == ("__code__",))
        busy.add(me)
        try:
            if event == EVENT:
                mark(args[0])
                return
            if event in _changes and on_function_change and _type(args[0]) is _function and args[1] in _state:
                on_function_change(args[0], args[1])
            what = _refused(event, args)
            if not (what or new_code):
                return
            caller = _getframe(1)  # the Python code that raised the event
            if not on_stack(caller) or (what and _id(caller.f_code) in allowed):
                return
            if new_code and not genuine(code := args[-1] if event == "object.__setattr__" else args[0]):
                mark(code)
        finally:
            busy.discard(me)
        if what:
            raise _error(f"the grader refuses {what} in submitted code (introspection of the checks)")

    sys.addaudithook(hook)


def warm_libraries() -> None:
    """Run, in the zygote, the one-time set-ups that libraries do on first use and that read frames.

    Done on a student's first call, they would have submitted code on the stack and be refused.
    Found by calibrating the course's nine solutions in the clean room: torch.func's forward
    mode registers ``torch.library`` decompositions and compiles TorchScript helpers (both read
    their caller's frame) the first time it runs.
    """
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.func.jacfwd(torch.nn.Linear(2, 2))(torch.ones(2))
