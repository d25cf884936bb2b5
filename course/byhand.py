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
"""

from __future__ import annotations

import importlib
import inspect
import sys
import threading
import types
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from course.i18n import tr

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
    return ForbiddenCall(
        tr("{name} calls {label}; this exercise asks you to write it yourself.", name=name, label=label)
    )


ALWAYS = ("sys.setprofile", "sys.settrace", "threading.setprofile", "threading.settrace")
"""Forbidden in every exercise: they would switch the watch off."""


class _Watch:
    """What to recognise: Python code objects, builtin objects, and methods by (class, name)."""

    def __init__(self, forbidden: Iterable[Any]) -> None:
        self.codes: dict[int, str] = {}
        self.objects: dict[int, str] = {}
        self.methods: dict[str, list[tuple[type, str]]] = {}
        for entry in [*forbidden, *ALWAYS]:
            obj = resolve(entry) if isinstance(entry, str) else entry
            if obj is not None:
                self._add(obj, label(entry))

    def _add(self, obj: Any, label: str) -> None:
        if isinstance(obj, type):  # a class: constructing or calling it runs its own or inherited methods
            for cls in obj.__mro__:
                if cls.__module__ in ("torch.nn.modules.module", "builtins"):
                    break  # what every torch module or object shares
                for member in ("__init__", "__call__", "forward", "apply"):
                    if member in vars(cls):
                        self._add(vars(cls)[member], label)
            return
        if isinstance(obj, (staticmethod, classmethod)):
            obj = obj.__func__
        self.objects[id(obj)] = label
        target = inspect.unwrap(obj) if callable(obj) else obj
        code = getattr(target, "__code__", None)
        if isinstance(code, types.CodeType):
            self.codes[id(code)] = label
        owner = getattr(obj, "__objclass__", None)  # a method descriptor such as torch.Tensor.unfold
        if isinstance(owner, type):
            self.methods.setdefault(obj.__name__, []).append((owner, label))

    def match(self, frame: types.FrameType, event: str, arg: Any) -> str | None:
        if event == "call":
            return self.codes.get(id(frame.f_code))
        if event != "c_call":
            return None
        if (label := self.objects.get(id(arg))) is not None:
            return label
        owner = getattr(arg, "__self__", None)
        for cls, label in self.methods.get(getattr(arg, "__name__", ""), ()):
            if isinstance(owner, cls):
                return label
        return None


@contextmanager
def _ufuncs_reported(forbidden: list[Any], fn: Any, report: Callable[[str], None]) -> Iterator[None]:
    """While inside, each forbidden numpy ufunc is rebound to a stand-in that calls ``report(label)`` first.

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

    def stand_in(ufunc: np.ufunc, name: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            report(name)
            return ufunc(*args, **kwargs)

        return call

    try:
        for space in {id(s): s for s in spaces if s is not None}.values():
            for key, value in list(space.items()):
                if id(value) in ufuncs and value is ufuncs[id(value)][0]:
                    rebound.append((space, key, value))
                    space[key] = stand_in(*ufuncs[id(value)])
        yield
    finally:
        for space, key, value in reversed(rebound):
            space[key] = value


def by_hand(fn: Callable[..., Any], *args: Any, forbidden: Iterable[Any], **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``, failing with :class:`ForbiddenCall` if it calls anything in `forbidden`.

    Calls made by threads the function starts are watched too. The check is exact: a call made
    outside the function (in the test itself) is not counted.
    """
    forbidden = list(forbidden)
    watch = _Watch(forbidden)
    name = getattr(fn, "__name__", None) or type(fn).__name__  # a function, or a module instance by its class
    found: list[str] = []

    def report(label: str) -> None:
        if not found:
            found.append(label)
        raise _forbidden(name, label)

    watching = [True]

    def hook(frame: types.FrameType, event: str, arg: Any) -> None:
        # Noted, not raised: a profiler that raises is removed by CPython itself (a sys.setprofile
        # with the student's function on the stack, which the grader's clean room refuses).
        if watching[0] and not found and (label := watch.match(frame, event, arg)) is not None:
            found.append(label)
            watching[0] = False

    previous = sys.getprofile()
    previous_threads = threading.getprofile()
    threading.setprofile(hook)
    sys.setprofile(hook)
    try:
        with _ufuncs_reported(forbidden, fn, report):
            result = fn(*args, **kwargs)
    except Exception:
        if not found:
            raise
    finally:
        watching[0] = False
        sys.setprofile(previous)
        threading.setprofile(previous_threads)
    if found:  # whatever the function did after the call (returned, raised, swallowed our error)
        raise _forbidden(name, found[0])
    return result
