"""By hand means by hand: run a student's function and fail if it calls what the exercise forbids.

An exercise that asks for a convolution written by hand cannot be passed by calling
``torch.nn.functional.conv2d``. Its test cell calls the student's function through
:func:`by_hand`, naming what the function must not call::

    out = by_hand(conv_forward, x, w, b, forbidden=["torch.nn.functional.conv2d", "numpy.convolve"])

The rule holds at run time, not by reading the text: a profiler hook watches every call the
function makes while it runs, so aliases (``from torch.nn.functional import conv2d as c``),
``getattr``, ``importlib``, methods reached through an object (``x.unfold(...)`` for
``"torch.Tensor.unfold"``) and wrapped Python functions are all the same call to it. Forbidding
``"torch.Tensor.backward"`` catches autograd used for a backward pass.

A forbidden call raises :class:`ForbiddenCall`, an ``AssertionError`` whose message names the
function, what it called and what the exercise asks::

    ForbiddenCall: conv_forward calls torch.nn.functional.conv2d; this exercise asks you to write it yourself.

Entries of `forbidden` are dotted names (resolved when the check runs) or the objects themselves
(e.g. a reference function defined in the notebook). Names that do not resolve here (a library
that is not installed) are skipped.

numpy's ufuncs (``numpy.tanh``, ``numpy.exp``...) are called without any event a profiler sees, so
while the function runs, a forbidden ufunc is rebound (in numpy, and wherever the function's
globals or the notebook name it) to a stand-in that reports the call.

The function under check can reach the watch (``sys.getprofile()``, ``threading._profile_hook``,
a stand-in), so the watch holds nothing it could switch off: a tuple of read-only tables and an
``itertools.count`` of the forbidden calls seen, which only goes up. Starting a thread or a process
is always forbidden: the watch would not follow it.
"""

from __future__ import annotations

import importlib
import inspect
import itertools
import sys
import threading
import types
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from tqdm import std as tqdm_std

from course.i18n import tr

tqdm_std.tqdm.monitor_interval = 0
"""tqdm's monitor is a thread, started whenever a progress bar opens while no other is open: under
the watch, a function that shows a bar (the course's training loops do) would fail for starting it."""

__all__ = ["ALWAYS", "ForbiddenCall", "by_hand", "label", "resolve"]


class ForbiddenCall(AssertionError):
    """The function called something its exercise asks the student to write."""


def resolve(name: str) -> Any | None:
    """The object a dotted name such as ``"torch.Tensor.unfold"`` refers to, or None if it does not resolve."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


def _labels() -> dict[str, str]:
    """How a message names an entry that is an implementation detail, in the current language.

    Every autograd route runs through the one function on the left, so forbidding it forbids them all.
    """
    return {"torch.autograd.graph._engine_run_backward": tr("autograd (.backward() or torch.autograd.grad)")}


def label(entry: Any) -> str:
    """How a message names a forbidden entry (a dotted name, or an object by its qualified name)."""
    if isinstance(entry, str):
        return _labels().get(entry, entry)
    return getattr(entry, "__qualname__", repr(entry))


def _forbidden(name: str, label: str) -> ForbiddenCall:
    if label in THREADS:
        return ForbiddenCall(tr("{name} starts a thread ({label}); the check cannot follow it: compute in one thread.",
                                name=name, label=label))  # fmt: skip
    if label in PROCESSES:
        return ForbiddenCall(tr("{name} starts a process ({label}); the check cannot follow it: compute in this one.",
                                name=name, label=label))  # fmt: skip
    return ForbiddenCall(
        tr("{name} calls {label}; this exercise asks you to write it yourself.", name=name, label=label)
    )


THREADS = ("_thread.start_new_thread", "_thread.start_new")
"""How Python starts a thread (``threading.Thread.start`` too): code there would run unwatched."""

PROCESSES = ("os.fork", "os.forkpty", "os.system", "os.posix_spawn", "os.posix_spawnp", "subprocess.Popen")
"""How Python starts a process (``multiprocessing`` and ``os.popen`` too): its calls would go unseen."""

ALWAYS = ("sys.setprofile", "sys.settrace", "threading.setprofile", "threading.settrace", *THREADS, *PROCESSES)
"""Forbidden in every exercise: they would switch the watch off or run code it cannot see."""


class _Watch(tuple):
    """What to recognise, as read-only tables: (Python code ids, builtin object ids, methods by name
    as (class, label) pairs), each id or name to the label a message shows."""

    __slots__ = ()

    def __new__(cls, forbidden: Iterable[Any]) -> _Watch:
        codes: dict[int, str] = {}
        objects: dict[int, str] = {}
        methods: dict[str, list[tuple[type, str]]] = {}
        for entry in [*forbidden, *ALWAYS]:
            obj = resolve(entry) if isinstance(entry, str) else entry
            if obj is not None:
                _add(obj, label(entry), codes, objects, methods)
        frozen = {name: tuple(pairs) for name, pairs in methods.items()}
        return super().__new__(cls, map(types.MappingProxyType, (codes, objects, frozen)))

    def match(self, frame: types.FrameType, event: str, arg: Any) -> str | None:
        if event == "call":
            return self[0].get(id(frame.f_code))
        if event != "c_call":
            return None
        if (label := self[1].get(id(arg))) is not None:
            return label
        owner = getattr(arg, "__self__", None)
        for cls, label in self[2].get(getattr(arg, "__name__", ""), ()):
            if isinstance(owner, cls):
                return label
        return None


def _add(obj: Any, label: str, codes: dict, objects: dict, methods: dict) -> None:
    """Put what recognises a call of `obj` into the tables of a :class:`_Watch`."""
    if isinstance(obj, type):  # a class: constructing or calling it runs its own or inherited methods
        for cls in obj.__mro__:
            if cls.__module__ in ("torch.nn.modules.module", "builtins"):
                break  # what every torch module or object shares
            for member in ("__init__", "__call__", "forward", "apply"):
                if member in vars(cls):
                    _add(vars(cls)[member], label, codes, objects, methods)
        return
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    objects[id(obj)] = label
    target = inspect.unwrap(obj) if callable(obj) else obj
    code = getattr(target, "__code__", None)
    if isinstance(code, types.CodeType):
        codes[id(code)] = label
    owner = getattr(obj, "__objclass__", None)  # a method descriptor such as torch.Tensor.unfold
    if isinstance(owner, type):
        methods.setdefault(obj.__name__, []).append((owner, label))


class _Profiler(tuple):
    """The watch of one call: (the watch's ``match``, the count of forbidden calls seen, their labels,
    the function's name). A tuple, so that the code under watch, which can reach it, cannot rewrite
    what it holds; the count only goes up (the labels only name what it counted)."""

    __slots__ = ()

    def __new__(cls, forbidden: Iterable[Any], name: str) -> _Profiler:
        return super().__new__(cls, (_Watch(forbidden).match, itertools.count(), [], name))

    def event(self, frame: types.FrameType, event: str, arg: Any) -> None:
        """The profiler hook. A forbidden call is noted, not raised: a profiler that raises is removed
        by CPython itself (a sys.setprofile with the student's function on the stack, which the
        grader's clean room refuses). The :func:`by_hand` call that watches puts the watch away."""
        if (label := self[0](frame, event, arg)) is not None and not self._mine(frame):
            self.note(label)

    def _mine(self, frame: types.FrameType) -> bool:
        """Whether `frame` is the :func:`by_hand` call this watch belongs to (not one the function makes)."""
        return frame.f_code is _BY_HAND and frame.f_locals.get("profiler") is self

    def note(self, label: str) -> None:
        next(self[1])
        self[2].append(label)

    def report(self, label: str) -> None:
        """A stand-in's call: noted, and raised in the function (which may swallow it: it stays noted)."""
        self.note(label)
        raise _forbidden(self[3], label)

    def verdict(self) -> str | None:
        """What the function called first that it must not (None: nothing)."""
        return (self[2][:1] or [tr("a forbidden function")])[0] if next(self[1]) else None


class _StandIn(tuple):
    """A forbidden ufunc while the check runs: (the profiler, the label); calling it reports the call."""

    __slots__ = ()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self[0].report(self[1])


@contextmanager
def _ufuncs_reported(forbidden: list[Any], fn: Any, profiler: _Profiler) -> Iterator[None]:
    """While inside, each forbidden numpy ufunc is rebound to a stand-in that reports the call to `profiler`.

    Rebound in numpy itself and in the namespaces the function reads names from (its globals and
    the notebook's), so ``np.tanh(z)`` and an alias such as ``t = np.tanh`` both reach the stand-in.
    """
    ufuncs = {}
    for entry in forbidden:
        obj = resolve(entry) if isinstance(entry, str) else entry
        if isinstance(obj, np.ufunc):
            ufuncs[id(obj)] = (obj, label(entry))
    function = getattr(fn, "__func__", fn)  # a bound method's function
    main = sys.modules.get("__main__")
    spaces = (vars(np), getattr(function, "__globals__", None), getattr(main, "__dict__", None))
    rebound: list[tuple[dict, str, Any]] = []
    try:
        for space in {id(s): s for s in spaces if s is not None}.values():
            for key, value in list(space.items()):
                if id(value) in ufuncs and value is ufuncs[id(value)][0]:
                    rebound.append((space, key, value))
                    space[key] = _StandIn((profiler, ufuncs[id(value)][1]))
        yield
    finally:
        for space, key, value in reversed(rebound):
            space[key] = value


def by_hand(fn: Callable[..., Any], *args: Any, forbidden: Iterable[Any], **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``, failing with :class:`ForbiddenCall` if it calls anything in `forbidden`.

    Starting a thread or a process is forbidden too (the watch could not follow it). The check is
    exact: a call made outside the function (in the test itself) is not counted.
    """
    forbidden = list(forbidden)
    name = getattr(fn, "__name__", None) or type(fn).__name__  # a function, or a module instance by its class
    profiler = _Profiler(forbidden, name)
    previous = sys.getprofile()
    previous_threads = threading.getprofile()
    threading.setprofile(profiler.event)
    sys.setprofile(profiler.event)
    try:
        with _ufuncs_reported(forbidden, fn, profiler):
            result = fn(*args, **kwargs)
    except Exception:
        error = sys.exc_info()[1]
    else:
        error = None
    finally:
        sys.setprofile(previous)  # first: the watch ignores this call, made by its own by_hand
        threading.setprofile(previous_threads)
    if (called := profiler.verdict()) is not None:  # whatever the function did after (returned, raised, swallowed it)
        raise _forbidden(name, called)
    if error is not None:
        raise error
    return result


_BY_HAND = by_hand.__code__
"""Its code, as the watch knows its own call (the grader may wrap the module's ``by_hand``)."""
