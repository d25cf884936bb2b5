"""The split clean room: the tests run in a process (the *tester*) that never runs student code.

Raw memory reads raise no audit event in CPython (``ctypes.c_char_p(address).value``, numpy's
``__array_interface__`` on an address), so student code that runs in the process of a test can
read the test's source, its expected values and the key that seals its record. Here those exist
only in the tester:

* the clean-room child forks the tester *before* it reads its own plan or runs any cell; the
  tester makes itself non-dumpable (no ptrace, no ``/proc/<pid>/mem`` for the student process),
  reads its :class:`~autograder.protocol.TesterPlan` (the split tests, its own sealing key) from a
  file of its own, deletes it, and says :class:`~autograder.protocol.TesterReady`; only then does
  the student process run cells;
* after the main pass and the restore, the student process sends the names its solution cells
  bound (:class:`~autograder.protocol.StudentNames`): in the tester each callable becomes a
  :class:`Remote`, data crosses as data. The tester runs the locked cells it needs itself (course
  source), then each split test, recording its checks and sealing the records with its key;
* a test's ``by_hand(fn, ...)`` with a :class:`Remote` `fn` (and a call of a :class:`Remote`)
  is one :class:`~autograder.protocol.RemoteCall`: the student process runs it under ``by_hand``
  with the forbidden list and a CPU timer, and answers with a
  :class:`~autograder.protocol.RemoteResult`: the value as data (or a handle to what is not data),
  or the exception's type name and message, and the arguments the call changed in place.

What crosses, each way, is data or a handle (:class:`Remote`), never code:

* the tester uses a student object by messages only: a call, an attribute read, an item,
  iteration, ``next``, ``len``, ``bool`` (the `op` of a :class:`~autograder.protocol.RemoteCall`,
  under the student process's CPU timer like a call); dunder names are never asked. A handle's
  class crosses as MRO names, and the tester gives it the nearest class of an already imported
  trusted library (:func:`_nearest_class`), so that ``isinstance(m, nn.Conv2d)`` judges it;
* random generators (numpy's, torch's) cross as their state, and come back advanced;
* a call's arguments cross as data (a tensor that requires grad as a leaf with its ``.grad``);
  a call's result that records its graph crosses as data joined to the caller's graph
  (:func:`_joined`), whose backward is one call into the process that ran it, where the graph
  stays until the caller lets go. Both ways: a test back-propagates through a student's model,
  and a student's training step through a test's model and loss;
* a parameter in a call's result (of a student's module that the test reads, or of a test's
  module that student code reads) crosses once, as a copy linked to it (:class:`_Link`): what
  either end does to its copy or to the parameter (an optimizer's step, ``zero_grad``,
  ``requires_grad_``, a backward that fills ``.grad``) reaches the other with the next message;
* a module made only of torch's own layers crosses as a copy when it is a call's argument or
  result (:mod:`autograder.sandboxed.layers`; the tester rebuilds it of its own torch), and a
  module argument the call changed is written back into the caller's own (:func:`_written`);
  one of torch's optimizers over such copies' parameters crosses with them, and its state comes
  back (:mod:`autograder.sandboxed.optimizers`);
  a part of an object read by ``getattr`` stays a handle, so hooks on it fire where it runs;
* what a test changes in place in a tensor it read from a student object (``model.weight.fill_``)
  is copied into the student's object before the next call (:meth:`Client.attribute`); a call
  runs on the caller's default device (``with torch.device("meta")``);
* a test's own objects and functions cross as handles: student code calls them, and reads only
  their *public* attributes (never ``_private`` or dunder ones: ``__globals__``, ``__code__``,
  ``__self__``, ``__dict__`` would lead to the hidden test; of a test's ``nn.Module``, the
  registries torch's code reads, :data:`MODULE_STATE`), and never gets a handle to a module,
  frame, code object, traceback or coroutine (:data:`NEVER_HANDED`); a test's generator crosses as
  an iterator over its items. Student code can still call what the test hands it, with any data;
* an argument that a call returns (or holds in a list, tuple or dict it returns) comes back as
  the caller's own object (:func:`_by_reference`), and the steps a test's ``python_steps``
  counts are counted where the student's code runs (:meth:`Client.python_steps`).

A test that needs more (a hook of the student's on a test's tensor, a test's tensor argument that
the student's code keeps and changes after the call) fails in split mode, and the grader's
calibration then keeps it in the same-process clean room (none of the course's tests does today).
"""

from __future__ import annotations

import builtins
import contextlib
import ctypes
import functools
import json
import operator
import os
import select
import signal
import struct
import sys
import threading
import time
import types
import weakref
from collections.abc import Callable, Iterator
from typing import Any

from autograder.protocol import (
    Budget,
    Message,
    ProtocolError,
    RemoteCall,
    RemoteResult,
    StudentNames,
    TesterReady,
    TestsDone,
    decode,
    encode,
    opaque_encoded,
    parse,
)
from autograder.sandboxed import layers, optimizers

__all__ = ["Client", "Link", "LinkClosed", "Remote", "StudentNames", "StudentSide", "TesterReady", "start_tester"]

MAX_MESSAGE = 256 * 2**20
"""Bytes of one message between the tester and the student process."""

MAX_VALUE = 32 * 2**20
"""Characters of encoded values per call, each way."""

ERROR_CHARS = 2000

_PR_SET_PDEATHSIG = 1
_PR_SET_DUMPABLE = 4


class LinkClosed(Exception):
    """The other process closed its end, or did not answer in time."""


class Link:
    """Length-prefixed JSON messages over a pair of pipes."""

    def __init__(self, rfd: int, wfd: int, pid: int = 0) -> None:
        self.rfd, self.wfd, self.pid = rfd, wfd, pid

    def send(self, message: Message) -> None:
        data = message.to_json().encode()
        view = memoryview(struct.pack("<Q", len(data)) + data)
        try:
            while view:
                view = view[os.write(self.wfd, view) :]
        except OSError as err:
            raise LinkClosed(f"the other process is gone ({err.strerror})") from None

    def _read(self, size: int, deadline: float | None) -> bytes:
        parts, left = [], size
        while left:
            if deadline is not None:
                wait = deadline - time.monotonic()
                if wait <= 0 or not select.select([self.rfd], [], [], wait)[0]:
                    raise LinkClosed("no answer in time")
            chunk = os.read(self.rfd, min(left, 1 << 20))
            if not chunk:
                raise LinkClosed("the other process ended")
            parts.append(chunk)
            left -= len(chunk)
        return b"".join(parts)

    def receive(self, kinds: tuple[type[Message], ...], timeout: float | None = None) -> Message:
        """The next message, of one of `kinds` (ProtocolError otherwise); LinkClosed on EOF or time-out."""
        deadline = None if timeout is None else time.monotonic() + timeout
        (size,) = struct.unpack("<Q", self._read(8, deadline))
        if size > MAX_MESSAGE:
            raise ProtocolError(f"a message of {size} bytes")
        return parse(self._read(size, deadline), *kinds)

    def close(self) -> None:
        for fd in (self.rfd, self.wfd):
            try:
                os.close(fd)
            except OSError:
                pass


def _prctl(option: int, value: int) -> None:
    ctypes.CDLL(None).prctl(option, value, 0, 0, 0)


def start_tester(path: str, tester: Callable[[str, Link], None]) -> Link | None:
    """Fork the tester, which reads the plan at `path` (and deletes it) and runs `tester(path, link)`.

    Returns the student side's link once the tester said it has deleted its plan; None if it died
    first (the caller then exits with :data:`~autograder.protocol.NO_TESTER`: the grader's failure).
    Call before reading anything else of the run and before any student code runs: the tester's
    memory is the zygote's, and the student process never holds what the tester reads. There is no
    wall clock here: a machine too busy to start the tester is told apart by the grader's backstop
    (``Sandbox.wait_cpu``), and no student code has run yet.
    """
    tester_reads, student_writes = os.pipe()
    student_reads, tester_writes = os.pipe()
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            os.close(student_writes)
            os.close(student_reads)
            _prctl(_PR_SET_DUMPABLE, 0)  # the student process cannot ptrace it or read /proc/<pid>/mem
            _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
            tester(path, Link(tester_reads, tester_writes))
            status = 0
        except BaseException:  # noqa: BLE001 - report and leave
            import traceback

            traceback.print_exc()
        finally:
            os._exit(status)
    os.close(tester_reads)
    os.close(tester_writes)
    link = Link(student_reads, student_writes, pid)
    try:
        link.receive((TesterReady,))
    except (LinkClosed, ProtocolError):
        link.close()
        try:
            os.unlink(path)  # never read here: only removed, so that student code cannot read it
        except OSError:
            pass
        return None
    return link


# the tester's side ---------------------------------------------------------------------------------


class Remote:
    """An object of the other process: called, read, iterated or passed back to it, never run here.

    In the tester: a student object (a function of the solution cells, or a result that is not
    data). In the student process: an object of the tester (a test's function or object passed as
    an argument). Each use is one :class:`~autograder.protocol.RemoteCall` (its `op`): a call, an
    attribute read (``model.features``), an item, iteration (the items, as a list), ``next``,
    ``len``, ``bool``; what comes back is data, or another handle. Dunder names are never asked of
    the other process: they are how libraries turn an object into memory (``__array_interface__``,
    ``__array__``, ``__dlpack__``), and an answer from the other process would choose what is read.
    A handle whose object's class is known here as a trusted one (:func:`_nearest_class`) is an
    instance of a subclass of this class named like it, whose ``__class__`` is it: ``isinstance``
    and ``type(m).__name__`` judge it as the object itself.
    """

    __slots__ = ("_peer", "_target")

    def __init__(self, peer: _Peer, target: str) -> None:
        object.__setattr__(self, "_peer", peer)
        object.__setattr__(self, "_target", target)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        peer = object.__getattribute__(self, "_peer")
        return peer.call(object.__getattribute__(self, "_target"), args, kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(f"{name}: not asked of an object of the other process")
        return object.__getattribute__(self, "_peer").attribute(self, name)

    def __iter__(self) -> Any:
        return iter(_do(self, "iter"))

    def __next__(self) -> Any:
        return _do(self, "next")

    def __len__(self) -> int:
        return _do(self, "len")

    def __getitem__(self, key: Any) -> Any:
        return _do(self, "getitem", key)

    def __bool__(self) -> bool:
        return _do(self, "bool")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("an object of the other process cannot be changed in the split clean room")

    def __repr__(self) -> str:
        return f"<object {object.__getattribute__(self, '_target')} of the other process>"

    @property
    def __name__(self) -> str:  # noqa: PLW3201 - by_hand and messages name a function so
        return object.__getattribute__(self, "_target")


def _do(remote: Remote, op: str, *args: Any) -> Any:
    """`op` (one of :data:`~autograder.protocol.REMOTE_OPS`) on `remote`'s object, in the other process."""
    return object.__getattribute__(remote, "_peer").call(_target(remote), args, {}, op=op)


_OPS: dict[str, Callable[..., Any]] = {
    "getattr": getattr,
    "getitem": operator.getitem,
    "iter": list,
    "next": next,
    "len": len,
    "bool": bool,
    "backward": lambda graph, grad: graph.backward(grad),
    "assign": lambda obj, name, value: _copy_into(getattr(obj, name), value),
}
"""How the answering side does each op of :data:`~autograder.protocol.REMOTE_OPS` but a call."""


def _operation(obj: Any, op: str) -> Callable[..., Any]:
    """What to call with a :class:`RemoteCall`'s arguments to do its `op` on `obj`."""
    if op == "call":
        return obj
    if op not in _OPS:
        raise ProtocolError(f"an unknown operation {op!r}")
    return functools.partial(_OPS[op], obj)


TRUSTED_LIBRARIES = ("builtins", "collections", "numpy", "torch", "course")
"""Top-level modules whose classes a handle may take as its ``__class__`` (:func:`_nearest_class`)."""


def _mro_names(cls: type) -> list[str]:
    """`cls`'s MRO as ``"module:qualname"`` strings: what a message's `classes` says of a new handle."""
    names = []
    for c in cls.__mro__:
        module, qualname = getattr(c, "__module__", None), getattr(c, "__qualname__", None)
        if isinstance(module, str) and isinstance(qualname, str):
            names.append(f"{module}:{qualname}")
    return names


def _nearest_class(mro: list[str], notebook: dict | None = None) -> type | None:
    """The first class of `mro` (``"module:qualname"`` strings from the other process) trusted here.

    A bounded exception to "nothing is looked up by a name the other process sends": only a class
    of a module of :data:`TRUSTED_LIBRARIES` *already imported* here (:func:`layers.imported_class`:
    found through each ``__dict__``, no import, no module ``__getattr__``, no descriptor runs), whose
    own ``__module__`` and ``__qualname__`` are the names sent, and which is not a metaclass. The
    class found is this process's own object, used only as the handle's ``__class__``; a student
    who names a library class that his object is not gains what subclassing it would give him.
    With `notebook` (the student process only, which trusts nothing it holds anyway) a class of
    the notebook (``__main__``, such as a locked cell's ``Conv``) is also looked up there.
    """
    for entry in mro:
        module, _, qualname = entry.partition(":")
        if module == "__main__" and notebook is not None:
            found = notebook.get(qualname)
            if isinstance(found, type) and (found.__module__, found.__qualname__) == (module, qualname):
                return found
        elif module.split(".")[0] in TRUSTED_LIBRARIES and (found := layers.imported_class(entry)) is not None:
            return found
    return None


@functools.cache
def _remote_type(cls: type) -> type[Remote]:
    """A subclass of :class:`Remote` named like `cls`, whose instances say `cls` as their ``__class__``."""
    return type(cls.__name__, (Remote,), {"__slots__": (), "__class__": property(lambda self: cls)})


def _target(remote: Remote) -> str:
    return object.__getattribute__(remote, "_target")


class CellTimeoutError(BaseException):
    """The student's code used up the test's CPU time, or did not answer (stops the test, like a time-out)."""


def _kind(err: BaseException) -> str:
    """The name the other process raises `err` as: its class's, or its nearest built-in base's.

    A student's ``class ShapeError(ValueError)`` crosses as ``ValueError``, so that
    ``assert_raises(ValueError, ...)`` judges it as in one process.
    """
    for cls in type(err).__mro__:
        if getattr(builtins, cls.__name__, None) is cls or (cls.__name__, cls.__module__) == _FORBIDDEN:
            return cls.__name__
    return "Exception"


_FORBIDDEN = ("ForbiddenCall", "course.byhand")


def _exception(name: str, message: str) -> BaseException:
    """The exception to raise for one the other process raised: a built-in of that name, or the
    course's ``ForbiddenCall`` (the only names :func:`_kind` sends); else, for a forged name, a
    plain ``Exception``."""
    if name == "ForbiddenCall":
        from course.byhand import ForbiddenCall

        return ForbiddenCall(message)
    kind = getattr(builtins, name, None)
    if isinstance(kind, type) and issubclass(kind, Exception):
        try:
            return kind(message)
        except Exception:  # noqa: BLE001 - a built-in that takes other arguments
            pass
    return Exception(message)


class _Timeout(BaseException):
    pass


def _on_alarm(signum: int, frame: Any) -> None:
    raise _Timeout()


class _Peer:
    """One end of the calls: sends :class:`RemoteCall`, and answers the other end's while it waits.

    Calls nest: while the tester waits for a student function, that function may call a function
    the test passed to it, which runs in the tester (and may call the student's code again).
    """

    OTHER = "remote"
    """The tag under which this end receives the other end's objects."""
    MINE = "tester"
    """The tag under which this end sends its own objects (kept in `handles`)."""

    def __init__(self, link: Link, namespace: dict, cell_timeout: float, wall: float | None) -> None:
        self.link, self.namespace, self.cell_timeout, self.wall = link, namespace, cell_timeout, wall
        self.handles: list[Any] = []
        self.next_id = 0
        self.dead = ""
        self.classes: dict[str, list[str]] = {}
        """The classes (MROs) of the other end's handles, as its messages said."""
        self.new_classes: dict[str, list[str]] = {}
        """The classes of this end's handles made since its last message (sent with the next one)."""
        self.handle_of: dict[int, str] = {}
        self.inputs: list[list[Any]] = []
        """Per call in progress (innermost last): its arguments' tensors that require grad, in order.
        In the tester, those a student result's backward returns gradients for (:func:`_joined`);
        in the student process, their leaf copies, which that backward fills (:class:`_Graph`)."""
        self.remotes: dict[str, Remote] = {}
        """One :class:`Remote` per handle of the other end."""
        self.released: list[str] = []
        """Handles of the other end's graphs no longer held here (sent with the next call)."""
        self.as_data: Budget | None = None
        """While encoding what may hold torch's own layers as data (a call's arguments or result), its budget."""
        self.arrived: list[dict[int, tuple[Any, dict[str, Any] | None]]] = []
        """Per call in progress (innermost last): the modules that arrived as data, with their parts
        then (``layers.parts``), to tell in the write-back what the call replaced; and the optimizers
        that arrived over their parameters (parts None)."""
        self.sent: list[Any] = []
        """While encoding a call's arguments: the parameters of the modules sent as copies so far."""
        self.answering = False
        """While encoding a call's result: a parameter crosses linked, a tensor with a graph as a graph."""
        self.owned: dict[str, _Link] = {}
        """This end's parameters that the other end holds linked copies of (under their handles)."""
        self.copies: dict[str, _Link] = {}
        """This end's linked copies of the other end's parameters (under the other end's handles)."""
        self.joined: dict[int, tuple[weakref.ref, str]] = {}
        """id of a tensor joined to a graph of the other end's -> (the tensor, the graph's handle)."""

    def _handle(self, value: Any) -> dict:
        """`value` kept here, under one handle however often it crosses (``is`` holds on the other side)."""
        target = self.handle_of.get(id(value))  # kept in `handles` for good: its id is not reused
        if target is None:
            self.handles.append(value)
            target = self.handle_of[id(value)] = f"#{len(self.handles) - 1}"
            self.new_classes[target] = _mro_names(type(value))
        return {self.MINE: target}

    def _release(self, target: str) -> None:
        """Free the graph kept under `target` (only a :class:`_Graph`: every other handle is for good)."""
        index = int(target[1:]) if target[1:].isdigit() else -1
        if 0 <= index < len(self.handles) and isinstance(graph := self.handles[index], _Graph):
            self.handles[index] = None
            del self.handle_of[id(graph)]

    def _tensor(self, value: Any) -> dict | None:
        """A tensor that is more than data (a parameter that requires grad, or a result that records
        its graph), as it crosses: a copy of the other end's parameter as that parameter; in a call's
        result, a parameter of this end's as a handle its copy stays linked to (:class:`_Link`), and a
        graph as a handle (:class:`_Graph`); a result of the other end's as it came, as its graph
        there (so one backward there goes through all of it, as in one process). Else None: a leaf
        (a call's arguments cross as leaves, and what the call changes in them comes back by
        :func:`_written`)."""
        joined = self.joined.get(id(value))
        if joined is not None and joined[0]() is value:  # handed back as it came: the other end's own
            return {self.OTHER: joined[1]}
        if value.grad_fn is None:
            linked = [target for target, link in self.copies.items() if link.tensor is value]
            if linked:
                return {self.OTHER: linked[0]}
            if not self.answering:
                return None
            tagged = self._handle(value)
            self.owned.setdefault(tagged[self.MINE], _Link(value))
            return tagged
        if not self.answering:
            return None
        return self._handle(_Graph(value, self.inputs[-1] if self.inputs else []))

    def _linked_copy(self, state: Any, target: str) -> Any:
        """This end's copy of the other end's parameter under the handle `target`, linked to it: one
        copy per parameter (``is`` holds as in one process), brought up to date with its :func:`_state`."""
        import torch

        link = self.copies.get(target)
        if link is None:
            link = self.copies[target] = _Link(torch.nn.Parameter(torch.empty(0)))
        _refresh(link.tensor, state)
        link.note()
        return link.tensor

    def _links_out(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """What changed here in linked parameters since the other end last heard: this end's own
        (``linked``) and this end's copies of the other's (``synced``), each as its :func:`_state`."""
        out: tuple[dict[str, Any], dict[str, Any]] = ({}, {})
        for moved, links in zip(out, (self.owned, self.copies), strict=True):
            for target, link in links.items():
                if link.changed():
                    moved[target] = encode(_state(link.tensor), Budget(MAX_VALUE))
                    link.note()
        return out

    def _links_in(self, linked: dict[str, Any], synced: dict[str, Any]) -> None:
        """Take what the other end changed: in its parameters (`linked`, into this end's copies) and in
        its copies of this end's parameters (`synced`, into the parameters themselves)."""
        for moved, links in ((linked, self.copies), (synced, self.owned)):
            for target, raw in moved.items():
                link = links.get(target)
                if link is None:
                    raise ProtocolError("a change of no linked parameter")
                _refresh(link.tensor, decode(raw))
                link.note()

    def _take_classes(self) -> dict[str, list[str]]:
        classes, self.new_classes = self.new_classes, {}
        return classes

    def _notebook(self) -> dict | None:
        """Where :func:`_nearest_class` may find a notebook's class (None: nowhere)."""
        return None

    def _lookup(self, target: str) -> Any:
        if target.startswith("#"):
            return self.handles[int(target[1:])]
        return self.namespace[target]

    def _reference(self, value: Any) -> dict | None:
        """`value` as the other end knows it: its own object (or an argument it passed), or a library
        object by name (else None)."""
        if isinstance(value, _Argument):
            return {"arg": value.key}
        if isinstance(value, Remote) and object.__getattribute__(value, "_peer") is self:
            return {self.OTHER: _target(value)}
        import numpy as np

        if isinstance(value, np.ufunc) and getattr(np, value.__name__, None) is value:
            return {"ref": f"numpy.{value.__name__}"}
        module, qualname = getattr(value, "__module__", None), getattr(value, "__qualname__", None)
        if isinstance(module, str) and isinstance(qualname, str) and module != "__main__":
            from course.byhand import resolve

            if resolve(f"{module}.{qualname}") is value:
                return {"ref": f"{module}.{qualname}"}
        return None

    def _outgoing(self, value: Any) -> dict | None:
        """How encoding passes what is not data (None: opaque, and a call refuses it); the ends override it."""
        return self._reference(value)

    def _layers(self, value: Any) -> dict | None:
        """`value` as a copy (``{"layers": ...}``) if it is a module made only of torch's own layers and
        crosses as an argument or a call's result (a part of an object read by ``getattr``, or one
        already handed, stays a handle: hooks on it fire where its object runs); else None."""
        torch = sys.modules.get("torch")
        if self.as_data is None or torch is None or id(value) in self.handle_of:
            return None
        return layers.describe(value, self.as_data, sent=self.sent) if isinstance(value, torch.nn.Module) else None

    def _encode(
        self, value: Any, budget: Budget, as_data: bool, sent: list[Any] | None = None, answering: bool = False
    ) -> Any:
        """`value` encoded for the other end, torch's own layers as copies if `as_data` (their parameters
        added to `sent`, for an optimizer over them), as a call's result if `answering` (:meth:`_tensor`)."""
        self.as_data, self.sent = (budget if as_data else None), [] if sent is None else sent
        self.answering = answering
        try:
            return encode(value, budget, self._outgoing)
        finally:
            self.as_data, self.answering = None, False

    def _incoming(self, tag: str, payload: Any) -> Any:
        if tag == "graph":  # a result of the other end's, its graph left there: joined to this end's
            data, graph = payload
            if _is_tensor(graph):  # this end's own result, handed back (the handle's lookup gave its tensor)
                return graph
            if not isinstance(graph, Remote) or not _is_tensor(data):
                raise ProtocolError("a graph that is not a tensor and a handle")
            release = _Release(self, _target(graph))
            joined = _joined(data, graph, self.inputs[-1] if self.inputs else [], release)
            release.key = id(joined)
            self.joined[release.key] = (weakref.ref(joined), release.target)
            return joined
        if tag == "param":  # a parameter of the other end's (a linked copy), or this end's own handed back
            state, param = payload
            if isinstance(param, Remote):
                return self._linked_copy(state, _target(param))
            if not any(link.tensor is param for link in self.owned.values()):
                raise ProtocolError("a parameter that is neither the other end's nor linked")
            return param
        if tag == "layers":
            module = layers.rebuild(payload)
            if self.arrived:
                self.arrived[-1][id(module)] = (module, layers.parts(module))
            return module
        if tag == "optimizer":  # over the parameters of the modules that arrived before it in this call
            if not self.arrived:
                raise ProtocolError("an optimizer that is not a call's argument")
            sent = [p for m, parts in self.arrived[-1].values() if parts is not None for p in layers.parameters(m)]
            optimizer = optimizers.rebuild(payload, sent)
            self.arrived[-1][id(optimizer)] = (optimizer, None)
            return optimizer
        if tag == self.OTHER:
            if payload not in self.remotes:
                cls = _nearest_class(self.classes.get(payload, []), self._notebook())
                self.remotes[payload] = (Remote if cls in (None, object) else _remote_type(cls))(self, payload)
            return self.remotes[payload]
        if tag == self.MINE:  # this end's object handed back; of a graph, its tensor
            own = self._lookup(payload)
            return own.tensor if isinstance(own, _Graph) else own
        if tag == "ref":
            from course.byhand import resolve

            return resolve(payload)
        return self.namespace[payload]

    def decode(self, data: Any) -> Any:
        return decode(data, self._incoming)

    def encode_arguments(self, args: tuple | list, kwargs: dict) -> tuple[Any, Any]:
        budget, sent = Budget(MAX_VALUE), []
        wire_args, wire_kwargs = self._encode(list(args), budget, True, sent), self._encode(kwargs, budget, True, sent)
        if what := opaque_encoded(wire_args) or opaque_encoded(wire_kwargs):
            raise TypeError(f"a {what} cannot be passed to the other process (the split clean room passes data)")
        return wire_args, wire_kwargs

    def _message(self, target: str, args: tuple, kwargs: dict, op: str, **options: Any) -> RemoteCall:
        """The call of `op` on `target`, in the caller's gradient mode, with what this end has to tell
        (`options`: more fields of :class:`RemoteCall`)."""
        wire = self.encode_arguments(args, kwargs)
        message = RemoteCall(0, target, *wire, op=op, grad=_grad_enabled(), device=_default_device(), **options)
        message.classes, message.released, self.released = self._take_classes(), self.released, []
        message.linked, message.synced = self._links_out()
        return message

    def call(self, target: str, args: tuple, kwargs: dict, op: str = "call") -> Any:
        return self._ask(self._message(target, args, kwargs, op), args, kwargs)

    def _ask(self, message: RemoteCall, args: tuple, kwargs: dict) -> Any:
        """Send the call `message` of `args` and `kwargs`; its result (a graph joined to their tensors
        that require grad, :func:`_joined`), or its error raised here."""
        self.inputs.append(_requiring_grad([list(args), kwargs]))
        try:
            answer = self.request(message)
            self._count(answer)
            return self._result(answer, args, kwargs)
        finally:
            self.inputs.pop()

    def _count(self, answer: RemoteResult) -> None:
        """What this end counts of the other end's answer (the tester: CPU time and Python steps)."""

    def attribute(self, remote: Remote, name: str) -> Any:
        """``remote.name``: one attribute read in the other process."""
        return _do(remote, "getattr", name)

    def request(self, message: RemoteCall) -> RemoteResult:
        """Send `message` (numbered here) and wait for its result, answering the other end's calls meanwhile."""
        if self.dead:
            raise CellTimeoutError(self.dead)
        self.next_id += 1
        message.id = self.next_id
        try:
            self.link.send(message)
            while True:
                answer = self.link.receive((RemoteResult, RemoteCall), self.wall)
                if isinstance(answer, RemoteCall):
                    self.link.send(self.answer(answer))
                elif answer.id == message.id:
                    self.classes.update(answer.classes)
                    self._links_in(answer.linked, answer.synced)
                    return answer
                elif answer.id > message.id:
                    raise ProtocolError("a result out of turn")
                # else: the late result of a call whose test was stopped: dropped
        except (LinkClosed, ProtocolError) as err:
            self.dead = f"the other process did not answer ({err})"
            raise CellTimeoutError(self.dead) from None

    def _result(self, answer: RemoteResult, args: tuple, kwargs: dict) -> Any:
        for key, data in answer.written.items():  # arguments changed in place there, changed here too
            original = args[int(key)] if key.isdigit() and int(key) < len(args) else kwargs.get(key)
            _assign(original, self.decode(data))
        if answer.error_type:
            if answer.error_type == "CellTimeoutError":
                raise CellTimeoutError(answer.error)
            raise _exception(answer.error_type, answer.error)

        def incoming(tag: str, payload: Any) -> Any:
            return _argument(payload, args, kwargs) if tag == "arg" else self._incoming(tag, payload)

        return decode(answer.value, incoming)

    def serve(self) -> None:
        """Answer calls until the other end is done (or gone)."""
        try:
            while True:
                message = self.link.receive((RemoteCall, TestsDone))
                if isinstance(message, TestsDone):
                    return
                self.link.send(self.answer(message))
        except (LinkClosed, ProtocolError):
            return

    def _invoke(self, fn: Any, args: list, kwargs: dict, call: RemoteCall) -> Any:
        return _operation(fn, call.op)(*args, **kwargs)

    def answer(self, call: RemoteCall) -> RemoteResult:
        """Run one call of the other end; its result, error, and the arguments it changed in place."""
        self.classes.update(call.classes)
        for target in call.released:
            self._release(target)
        self.arrived.append({})
        try:
            self._links_in(call.linked, call.synced)
            fn = self._lookup(call.target)
            args, kwargs = self.decode(call.args), self.decode(call.kwargs)
            if not isinstance(args, list) or not isinstance(kwargs, dict):
                raise ProtocolError("arguments are not a list and a dict")
        except (ProtocolError, KeyError, IndexError, ValueError) as err:
            self.arrived.pop()
            return RemoteResult(call.id, error_type="RuntimeError", error=f"the split clean room's call failed: {err}")
        out = RemoteResult(call.id)
        own = [link.tensor for link in self.owned.values()]  # and non-leaves: this end's graphs handed back
        inputs = _requiring_grad([args, kwargs])
        self.inputs.append([None if not t.is_leaf or any(t is p for p in own) else t for t in inputs])
        try:
            with _grad_mode(call.grad), _on_device(call.device):
                value = self._invoke(fn, args, kwargs, call)
            value = _by_reference(value, args, kwargs)
            out.value = self._encode(value, Budget(MAX_VALUE), call.op == "call", answering=True)
            out.written = _written(call, args, kwargs, self.arrived[-1])
        except Exception as err:  # noqa: BLE001 - the error is data
            out.error_type, out.error = _kind(err), str(err)[:ERROR_CHARS]
        finally:
            self.inputs.pop()
            self.arrived.pop()
        out.classes = self._take_classes()
        out.linked, out.synced = self._links_out()
        return out


class Client(_Peer):
    """The tester's end: calls into the student process, counting the CPU time it used per test."""

    OTHER, MINE = "remote", "tester"

    def __init__(self, link: Link, namespace: dict, cell_timeout: float, wall: float | None = None) -> None:
        """`wall`: seconds to wait for an answer (tests only). The grader sets none: a student process
        that sleeps is stopped by the clean room's own backstop (``Sandbox.wait_cpu``), which tells a
        sleeping submission from a busy machine (graded again), as a wall clock here could not."""
        super().__init__(link, namespace, cell_timeout, wall)
        self.cpu = 0.0
        self.forbidden: list[list[Any]] = []  # by_hand calls in progress in the tester (innermost last)
        self.steps: list[int] = []  # python_steps counts in progress in the tester (innermost last)
        self.mirrors: list[_Mirror] = []  # tensor attributes of student objects, as the tester read them

    def start_test(self) -> None:
        self.cpu = 0.0

    def _lookup(self, target: str) -> Any:
        """Only the tester's own handles: the student process cannot call a name of the tester's namespace."""
        if not target.startswith("#"):
            raise KeyError(target)
        return super()._lookup(target)

    def _incoming(self, tag: str, payload: str) -> Any:
        """Only handles cross into the tester: it never imports or looks up a name the student process
        sends (but for the bounded exception of a handle's class: :func:`_nearest_class`)."""
        if tag not in (self.OTHER, self.MINE, "graph", "param", "layers"):  # layers: ``layers.rebuild``
            raise ProtocolError(f"a {tag!r} value from the student process")
        return super()._incoming(tag, payload)

    def _outgoing(self, value: Any) -> dict | None:
        """What student code may hold of the tester's: a student object or library object as before,
        a generator as an iterator over its items (listed here: its ``gi_frame`` would lead to the
        tester's locals), and a handle to anything else but what leads to the tester's code, frames
        or modules (:data:`NEVER_HANDED`, which stays opaque: not passed)."""
        if (tagged := self._reference(value)) is not None:
            return tagged
        if _is_tensor(value):
            return self._tensor(value)
        if isinstance(value, NEVER_HANDED):
            return None
        if (copy := self._layers(value)) is not None or (copy := self._optimizer(value)) is not None:
            return copy
        if isinstance(value, types.GeneratorType):
            value = iter(list(value))
        return self._handle(value)

    def _optimizer(self, value: Any) -> dict | None:
        """`value` as a copy (``{"optimizer": ...}``) if it is one of torch's optimizers over parameters of
        modules sent as copies earlier in the same call's arguments (:mod:`~autograder.sandboxed.optimizers`)."""
        torch = sys.modules.get("torch")
        if self.as_data is None or torch is None or id(value) in self.handle_of:
            return None
        if not isinstance(value, torch.optim.Optimizer):
            return None
        return optimizers.describe(value, self.as_data, self.sent)

    def _invoke(self, fn: Any, args: list, kwargs: dict, call: RemoteCall) -> Any:
        """A call of the student's code on an object of the tester: only its public attributes are read
        (and, of a test's ``nn.Module``, the registries torch's own code reads: :data:`MODULE_STATE`)."""
        if call.op == "assign" or (call.op == "backward") != isinstance(fn, _Graph):  # a graph only back-propagates
            raise TypeError(f"student code cannot ask that of the tester's objects: {call.op}")
        if call.op == "getattr" and not (args and isinstance(args[0], str) and _readable(fn, args[0])):
            name = args[0] if args else ""
            raise AttributeError(f"{name}: student code reads only public attributes of the tester's objects")
        return super()._invoke(fn, args, kwargs, call)

    def bind(self, names: StudentNames) -> None:
        """Put the student's names into the tester's namespace: callables as :class:`Remote`, the rest decoded."""
        self.classes.update(names.classes)
        for name in names.callables:
            self.namespace[name] = Remote(self, name)
        for name, value in names.values.items():
            try:
                self.namespace[name] = self.decode(value)
            except Exception:  # noqa: BLE001 - a value that does not decode is missing (its tests fail)
                pass

    def _name_of(self, value: Any) -> str | None:
        return next((k for k, v in self.namespace.items() if v is value and not k.startswith("_")), None)

    def _forbidden(self, entries: list[Any]) -> tuple[list[str], list[str]]:
        """by_hand's entries as dotted names and notebook names (the student process resolves both)."""
        dotted, names = [], []
        for entry in entries:
            if isinstance(entry, str):
                dotted.append(entry)
            elif isinstance(entry, Remote):
                names.append(_target(entry))
            elif (ref := self._reference(entry)) is not None and "ref" in ref:
                dotted.append(ref["ref"])
            elif (name := self._name_of(entry)) is not None:
                names.append(name)
            else:
                raise TypeError(f"by_hand: {entry!r} cannot be named to the student process")
        return dotted, names

    def call(self, target: str, args: tuple, kwargs: dict, forbidden: list[Any] | None = None, op: str = "call") -> Any:
        """`target(*args, **kwargs)` (or `op` on `target`) in the student process (under by_hand if
        `forbidden` or a by_hand is running), counting its CPU time against the test's."""
        tracer = sys.gettrace()
        if tracer is not None and not self.steps:  # it would count nothing of the student's code here
            raise RuntimeError("a tracer cannot watch the student's code from the split clean room")
        sys.settrace(None)  # the split's own machinery (encoding, the pipe) is not the student's steps
        try:
            return self._call(target, args, kwargs, forbidden, op, counting=tracer is not None)
        finally:
            sys.settrace(tracer)

    def _call(
        self, target: str, args: tuple, kwargs: dict, forbidden: list[Any] | None, op: str, counting: bool
    ) -> Any:
        self._write_through()
        if forbidden is None and self.forbidden:
            forbidden = self.forbidden[-1]
        dotted, names = self._forbidden(forbidden or [])
        by_hand = {"by_hand": forbidden is not None, "forbidden": dotted, "forbidden_names": names}
        return self._ask(self._message(target, args, kwargs, op, count_steps=counting, **by_hand), args, kwargs)

    def _count(self, answer: RemoteResult) -> None:
        """The student's CPU time the call used, against the test's limit; its Python steps, if counted."""
        if self.steps:
            self.steps[-1] += answer.steps
        self.cpu += max(answer.cpu, 0.0)
        if self.cpu > self.cell_timeout:
            raise CellTimeoutError(f"used more than {self.cell_timeout:g} s of CPU time (the per-cell limit)")

    def attribute(self, remote: Remote, name: str) -> Any:
        """``remote.name``; a tensor is the test's copy, and what the test changes in it in place
        (``model.weight.fill_(1.0)``) is copied into the student's before the next call."""
        value = super().attribute(remote, name)
        if _is_tensor(value) and not any(link.tensor is value for link in self.copies.values()):
            self.mirrors.append(_Mirror(_target(remote), name, value))
        return value

    def _write_through(self) -> None:
        """Copy into the student's tensors what the test changed in place in its copies of them (its
        linked copies of parameters: with the call, :meth:`_links_out`)."""
        changed = [(mirror, mirror.seen()) for mirror in self.mirrors if mirror.changed()]
        for mirror in self.mirrors:
            mirror.held = None
        self.mirrors = [mirror for mirror in self.mirrors if mirror.alive()]
        for mirror, tensor in changed:
            args = (mirror.name, tensor.detach())
            self._ask(self._message(mirror.target, args, {}, "assign"), args, {})

    def by_hand(self, original: Callable[..., Any]) -> Callable[..., Any]:
        """``course.byhand.by_hand`` for the tester: a :class:`Remote` runs under by_hand in the student process."""

        def by_hand(fn: Callable[..., Any], *args: Any, forbidden: Any, **kwargs: Any) -> Any:
            forbidden = list(forbidden)
            if isinstance(fn, Remote):
                return self.call(_target(fn), args, kwargs, forbidden)
            self.forbidden.append(forbidden)  # the tester's own function may call student code
            try:
                return original(fn, *args, forbidden=forbidden, **kwargs)
            finally:
                self.forbidden.pop()

        by_hand.__doc__, by_hand.__wrapped__ = original.__doc__, original
        return by_hand

    def python_steps(self, original: Callable[..., int]) -> Callable[..., int]:
        """``course.im2col_checks.python_steps`` for the tester: the student's code, run by the calls
        `fn` makes, is counted in the student process (:attr:`RemoteCall.count_steps`)."""

        def python_steps(fn: Callable[..., Any], *args: Any) -> int:
            self.steps.append(0)
            try:
                here = original(fn, *args)
            finally:
                there = self.steps.pop()
            return here + there

        python_steps.__doc__, python_steps.__wrapped__ = original.__doc__, original
        return python_steps


MODULE_STATE = frozenset({"_parameters", "_buffers", "_modules", "_non_persistent_buffers_set"})
"""What torch's ``nn.Module`` code in the student process reads of a test's module it holds as a
submodule (``parameters()``, ``named_modules()``, ``state_dict()``): its parameters, buffers and
submodules, which its public methods give too. Never its hooks (the test's functions)."""


def _readable(obj: Any, name: str) -> bool:
    """Whether student code may read attribute `name` of the tester's `obj`."""
    if not name.startswith("_"):
        return True
    torch = sys.modules.get("torch")
    return name in MODULE_STATE and torch is not None and isinstance(obj, torch.nn.Module)


NEVER_HANDED = (
    types.ModuleType,
    types.FrameType,
    types.CodeType,
    types.TracebackType,
    types.CoroutineType,
    types.AsyncGeneratorType,
    types.CellType,
)
"""What the tester never hands to student code, even as a handle: each leads to the tester's globals,
locals or code (``f_globals``, ``co_consts``, ``tb_frame``, ``cr_frame``) by public attributes."""


def _is_tensor(value: Any) -> bool:
    """Whether `value` really is a tensor (a handle's ``__class__`` may name one: its type does not)."""
    torch = sys.modules.get("torch")
    return torch is not None and issubclass(type(value), torch.Tensor)


def _gradient(value: Any) -> bool:
    """Whether `value` may be a gradient an input receives: a tensor, or None (no gradient)."""
    return value is None or _is_tensor(value)


def _requiring_grad(value: Any) -> list[Any]:
    """The tensors that require grad in `value`'s lists, tuples and dicts, in the order they cross."""
    if type(value) in (list, tuple):
        return [t for v in value for t in _requiring_grad(v)]
    if type(value) is dict:
        return [t for v in value.values() for t in _requiring_grad(v)]
    return [value] if _is_tensor(value) and value.requires_grad else []


class _Graph:
    """A call's result that records its graph, kept where the call ran: the caller back-propagates through it."""

    def __init__(self, tensor: Any, leaves: list[Any | None]) -> None:
        self.tensor, self.leaves = tensor, leaves
        """`leaves`: the leaf copies of the caller's tensors that require grad in the call's arguments
        (None for what the caller handed back of this end's own, a parameter or a graph: the
        backward goes on through it here)."""

    def backward(self, grad: Any) -> list[Any]:
        """``tensor.backward(grad)`` (this end's parameters accumulate, as in one process): the leaves' gradients."""
        for leaf in self.leaves:
            if leaf is not None:
                leaf.grad = None
        self.tensor.backward(grad, retain_graph=True)  # the caller may go through it again
        return [None if leaf is None else leaf.grad for leaf in self.leaves]


class _Release:
    """Held by the graph node of a result joined to the other end's graph: when autograd frees the
    node, the other end may free its graph too (told with the next call)."""

    def __init__(self, peer: _Peer, target: str) -> None:
        self.peer, self.target = peer, target
        self.key: int | None = None  # the joined tensor's id, once it exists (:attr:`_Peer.joined`)

    def __del__(self) -> None:
        self.peer.released.append(self.target)
        self.peer.remotes.pop(self.target, None)
        if self.peer.joined.get(self.key, (None, None))[1] == self.target:
            del self.peer.joined[self.key]


def _joined(data: Any, graph: Remote, inputs: list[Any], release: _Release) -> Any:
    """A student result (`data`, its `graph` left in the student process) joined to the tester's graph.

    Its backward is one call into the student process (:class:`_Graph`), which gives the
    gradients of the call's `inputs`; an anchor makes it require grad when no input does
    (a model's parameters are the student's).
    """
    import torch

    anchor = torch.zeros((), requires_grad=True)
    return _remote_backward().apply(graph, data, anchor, release, *inputs)


@functools.cache
def _remote_backward() -> Any:
    import torch

    class RemoteBackward(torch.autograd.Function):
        """Back-propagation through a result of the other end's: a call into the other process."""

        @staticmethod
        def forward(ctx: Any, graph: Remote, data: Any, anchor: Any, release: _Release, *inputs: Any) -> Any:
            ctx.graph, ctx.count, ctx.release = graph, len(inputs), release
            ctx.set_materialize_grads(False)  # no gradient reached it (its input went back by reference)
            return data.clone()

        @staticmethod
        def backward(ctx: Any, grad: Any) -> Any:
            if grad is None:  # nothing to send: the other end's hooks must not fire for a zero
                return (None,) * (4 + ctx.count)
            grads = _do(ctx.graph, "backward", grad)
            if not isinstance(grads, list) or len(grads) != ctx.count or not all(map(_gradient, grads)):
                raise RuntimeError("the other process gave no gradient for each input")
            return (None, None, None, None, *grads)

    return RemoteBackward


def _grad_enabled() -> bool:
    """Whether torch records gradients here now (what a call says, so that the other side does the same)."""
    torch = sys.modules.get("torch")
    return torch is None or torch.is_grad_enabled()


def _grad_mode(enabled: bool) -> Any:
    """Run a call in the caller's gradient mode (``torch.no_grad()`` around a call holds across)."""
    torch = sys.modules.get("torch")
    return contextlib.nullcontext() if torch is None else torch.set_grad_enabled(enabled)


def _default_device() -> str:
    """The device torch creates tensors on here now (what a call says, so that the other side does the same)."""
    torch = sys.modules.get("torch")
    return "cpu" if torch is None else str(torch.get_default_device())


def _on_device(device: str) -> Any:
    """Run a call on the caller's default device: ``cpu`` or ``meta`` (shapes without memory)."""
    if device == "cpu":
        return contextlib.nullcontext()
    if device != "meta":
        raise ProtocolError(f"a call on the device {device!r}")
    import torch

    return torch.device("meta")


def _assign(original: Any, new: Any) -> None:
    import numpy as np

    torch = sys.modules.get("torch")
    if isinstance(original, np.ndarray) and isinstance(new, np.ndarray) and original.shape == new.shape:
        original[...] = new
    elif torch is not None and isinstance(original, torch.Tensor) and isinstance(new, torch.Tensor):
        with torch.no_grad():  # unchanged: no in-place write (it would bump a tensor saved for backward)
            if original.shape == new.shape and not torch.equal(original, new.to(original.dtype)):
                original.copy_(new)
    elif isinstance(original, np.random.Generator) and isinstance(new, np.random.Generator):
        original.bit_generator.state = new.bit_generator.state
    elif torch is not None and isinstance(original, torch.Generator) and isinstance(new, torch.Generator):
        original.set_state(new.get_state())
    elif torch is not None and isinstance(original, torch.nn.Module) and isinstance(new, torch.nn.Module):
        layers.assign(original, new)
    elif torch is not None and isinstance(original, torch.optim.Optimizer):
        optimizers.assign(original, new)
    elif type(original) is list and isinstance(new, list):
        original[:] = new
    elif type(original) is dict and isinstance(new, dict):
        original.clear()
        original.update(new)


def _as_data(value: Any) -> None:
    """The `other` of an encoding that passes data only, as a call's arguments cross (no handle)."""
    return None


class _Mirror:
    """A tensor attribute of a student object, as the tester read it (``model.weight``).

    Held until the next call (``model.weight.zero_()`` leaves no other reference to it), then only
    as long as the test holds it.
    """

    def __init__(self, target: str, name: str, tensor: Any) -> None:
        self.target, self.name, self.version = target, name, tensor._version
        self.held: Any = tensor
        self.tensor = weakref.ref(tensor)

    def alive(self) -> bool:
        return self.tensor() is not None

    def changed(self) -> bool:
        """Whether the test changed the tensor in place since it was read (or last copied back)."""
        tensor = self.tensor()
        return tensor is not None and tensor._version != self.version

    def seen(self) -> Any:
        """The tensor, its current version noted as copied back."""
        tensor = self.tensor()
        self.version = tensor._version
        return tensor


class _Link:
    """A parameter and the other end's copy of it, linked: what either end changes in place (values,
    ``.grad``, ``requires_grad``) goes to the other with the next message (``linked``, ``synced``).

    On each end it notes the state last exchanged; :meth:`changed` tells whether its tensor moved on
    since (an optimizer's step, ``zero_grad``, a backward that filled ``.grad``). Both ends hold
    their tensor for the run, as each holds every handle's object: a test's
    ``list(model.parameters())[0].mul_(0.0)`` keeps no reference, yet its change must reach the student.
    """

    def __init__(self, tensor: Any) -> None:
        self.tensor = tensor
        self.note()

    def _now(self) -> tuple[Any, int, bool, int]:
        grad = self.tensor.grad
        return grad, self.tensor._version, self.tensor.requires_grad, -1 if grad is None else grad._version

    def note(self) -> None:
        self.state = self._now()

    def changed(self) -> bool:
        """Whether its tensor moved on since :meth:`note` (its ``.grad`` compared by identity, not by value)."""
        grad, *now = self._now()
        return grad is not self.state[0] or now != list(self.state[1:])


def _state(param: Any) -> tuple[Any, Any, bool]:
    """What a linked parameter's copy holds of it: (values, ``.grad`` or None, ``requires_grad``)."""
    return param.detach(), None if param.grad is None else param.grad.detach(), param.requires_grad


def _refresh(param: Any, state: Any) -> None:
    """Put the other end's :func:`_state` of a linked parameter into `param`, in place (outside autograd)."""
    import torch

    if type(state) is not tuple or len(state) != 3:
        raise ProtocolError("a linked parameter's state that is not (values, grad, requires_grad)")
    values, grad, requires_grad = state
    if not _is_tensor(values) or not (grad is None or _is_tensor(grad)) or type(requires_grad) is not bool:
        raise ProtocolError("a linked parameter's state that is not (values, grad, requires_grad)")
    try:
        with torch.no_grad():
            if (param.shape, param.dtype, param.device) != (values.shape, values.dtype, values.device) or param.is_meta:
                param.data = values
            elif not torch.equal(param, values):
                param.copy_(values)
        param.grad = grad
        param.requires_grad_(requires_grad)
    except (TypeError, RuntimeError) as err:  # a gradient of another shape, say
        raise ProtocolError(f"a linked parameter's state that does not fit it ({err})") from None


def _copy_into(tensor: Any, value: Any) -> None:
    """``tensor.copy_(value)`` outside autograd (the student process: a test's in-place change)."""
    import torch

    if not isinstance(tensor, torch.Tensor) or not isinstance(value, torch.Tensor):
        raise TypeError("only a tensor attribute takes a tensor's values")
    with torch.no_grad():
        tensor.copy_(value)


class _Steps:
    """A count of Python events (calls, lines, returns, as ``python_steps`` counts them)."""

    def __init__(self) -> None:
        self.count = 0

    def tracer(self, frame: Any, event: str, arg: Any) -> Any:
        self.count += 1
        return self.tracer


@contextlib.contextmanager
def _counting(on: bool) -> Iterator[_Steps]:
    """The Python events the block runs, counted if `on`."""
    steps = _Steps()
    previous = sys.gettrace()
    if on:
        sys.settrace(steps.tracer)
    try:
        yield steps
    finally:
        if on:
            sys.settrace(previous)


class _Argument:
    """An argument of the call, found in what the call returns: it crosses as ``{"arg": key}``."""

    __slots__ = ("key",)

    def __init__(self, key: str) -> None:
        self.key = key


def _by_reference(value: Any, args: list, kwargs: dict) -> Any:
    """`value` with each argument of the call that it is or holds (in its lists, tuples and dicts)
    as an :class:`_Argument`: the caller gets its own object back, as in one process."""
    import numpy as np

    torch = sys.modules.get("torch")
    mutable = (list, dict, np.ndarray) + ((torch.Tensor, torch.nn.Module) if torch else ())
    passed = {id(v): str(i) for i, v in enumerate(args) if isinstance(v, mutable)}
    passed |= {id(v): k for k, v in kwargs.items() if isinstance(v, mutable)}
    seen: set[int] = set()

    def walk(item: Any) -> Any:
        if (key := passed.get(id(item))) is not None:
            return _Argument(key)
        if type(item) not in (list, tuple, dict) or id(item) in seen:
            return item
        seen.add(id(item))
        if type(item) is dict:
            return {k: walk(v) for k, v in item.items()}
        return type(item)(walk(v) for v in item)

    return walk(value) if passed else value


def _argument(key: Any, args: tuple | list, kwargs: dict) -> Any:
    """The argument `key` (a position or a keyword) of the call this end made."""
    if isinstance(key, str) and key.isdigit() and int(key) < len(args):
        return args[int(key)]
    if isinstance(key, str) and key in kwargs:
        return kwargs[key]
    raise ProtocolError(f"no argument {key!r} in the call")


def _written(call: RemoteCall, args: list, kwargs: dict, arrived: dict[int, tuple[Any, dict | None]]) -> dict[str, Any]:
    """The arguments (arrays, tensors, generators, lists, dicts, modules that crossed as copies: in
    `arrived`) whose content the call changed: their new value."""
    import numpy as np

    torch = sys.modules.get("torch")
    mutable = (np.ndarray, np.random.Generator, list, dict) + ((torch.Tensor, torch.Generator) if torch else ())
    sent = dict(enumerate(call.args.get("list", []))) if isinstance(call.args, dict) else {}
    sent_kw = dict(call.kwargs.get("dict", [])) if isinstance(call.kwargs, dict) else {}
    written = {}
    for key, value, before in [(str(i), v, sent.get(i)) for i, v in enumerate(args)] + [
        (k, v, sent_kw.get(k)) for k, v in kwargs.items()
    ]:
        now, copy = None, arrived.get(id(value))
        if copy is not None and copy[0] is value and copy[1] is None:  # an optimizer: its state
            now = optimizers.state(value, Budget(MAX_VALUE))
        elif copy is not None and copy[0] is value:  # as it was sent, with what the call replaced
            now = layers.describe(value, Budget(MAX_VALUE), copy[1])
        elif isinstance(value, mutable):
            now = encode(value, Budget(MAX_VALUE), _as_data)  # as it was sent (a leaf as a leaf)
        if now is not None and not opaque_encoded(now) and json.dumps(now) != json.dumps(before):
            written[key] = now
    return written


# the student's side ---------------------------------------------------------------------------------


class StudentSide(_Peer):
    """The student process's end: tell the tester the student's names, then run its calls until it is done."""

    OTHER, MINE = "tester", "remote"

    def __init__(self, link: Link, namespace: dict, locked: set[str], cell_timeout: float) -> None:
        from course.byhand import by_hand

        super().__init__(link, namespace, cell_timeout, None)
        self.locked = locked
        self.by_hand = by_hand  # bound now, from the restored state
        self.depth = 0
        self.steps: dict[int, _Steps] = {}  # call id -> its Python steps, when it asked to count them

    def _outgoing(self, value: Any) -> dict | None:
        """What is not data stays here: a handle (the tester can only use it by calls or pass it back);
        a result that records its graph crosses as data, the graph staying here (:meth:`_tensor`)."""
        if isinstance(value, _Argument) or (
            isinstance(value, Remote) and object.__getattribute__(value, "_peer") is self
        ):
            return self._reference(value)
        if _is_tensor(value):
            return self._tensor(value)
        return self._layers(value) or self._handle(value)

    def _notebook(self) -> dict | None:
        return self.namespace

    def names(self) -> StudentNames:
        callables, values = [], {}
        for name, value in list(self.namespace.items()):
            if name in self.locked or name.startswith("__") or name in ("get_ipython", "display"):
                continue
            if callable(value):
                callables.append(name)
            else:
                values[name] = encode(value, Budget(MAX_VALUE), self._outgoing)
        return StudentNames(callables, values, self._take_classes())

    def send_names(self) -> None:
        try:
            self.link.send(self.names())
        except LinkClosed:
            pass

    def _invoke(self, fn: Any, args: list, kwargs: dict, call: RemoteCall) -> Any:
        forbidden = list(call.forbidden) + [self.namespace[n] for n in call.forbidden_names if n in self.namespace]
        fn = _operation(fn, call.op)
        with _counting(call.count_steps) as self.steps[call.id]:
            if call.by_hand:
                return self.by_hand(fn, *args, forbidden=forbidden, **kwargs)
            return fn(*args, **kwargs)

    def answer(self, call: RemoteCall) -> RemoteResult:
        """The call under a CPU timer, with the Python steps it ran if it asked to count them."""
        out = self._timed(call)
        counted = self.steps.pop(call.id, None)
        out.steps = counted.count if counted is not None else 0
        return out

    def _timed(self, call: RemoteCall) -> RemoteResult:
        """The call under a CPU timer (the outermost one only: the tester's functions it calls back run there)."""
        if self.depth or threading.current_thread() is not threading.main_thread():  # a timer needs the main thread
            self.depth += 1
            try:
                return super().answer(call)
            finally:
                self.depth -= 1
        start = time.process_time()
        signal.signal(signal.SIGPROF, _on_alarm)
        self.depth = 1
        try:
            try:
                signal.setitimer(signal.ITIMER_PROF, self.cell_timeout)
                try:
                    out = self._answer(call)
                finally:
                    signal.setitimer(signal.ITIMER_PROF, 0)
            except _Timeout:
                out = RemoteResult(call.id, error_type="CellTimeoutError")
                out.error = f"used more than {self.cell_timeout:g} s of CPU time (the per-cell limit)"
            except BaseException as err:  # noqa: BLE001 - SystemExit and the like: data too
                out = RemoteResult(call.id, error_type=_kind(err), error="")
        finally:
            self.depth = 0
        out.cpu = time.process_time() - start
        return out

    def _answer(self, call: RemoteCall) -> RemoteResult:
        try:
            return super().answer(call)
        except _Timeout:
            raise
        except BaseException as err:  # noqa: BLE001 - describing the error may fail too
            return RemoteResult(call.id, error_type=_kind(err), error="")
