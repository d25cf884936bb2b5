"""The verification run inside the sandbox: the locked cells and the student's answers, then each test alone.

Forked by the zygote with ``argv = [plan]``, a :class:`autograder.protocol.Plan` written by
:mod:`autograder.verify` (read, then deleted before any student code runs). It is a plain Python process, not an
IPython kernel, so input transformers, patched kernels and forged execute replies do not
exist here; the cells arrive already translated from IPython syntax to Python.

1. Main pass: every locked cell (source text from the course, not the submission) and every
   solution cell (the student's text), in the submission's order, each with a time limit. The
   values that locked cells bind (``checks``, ``torch_ref``, ...) are remembered.
2. A fresh fork with one thread (student threads do not survive a fork) puts back every module
   attribute, class attribute, function code object and locked name that existed before the
   student's code ran: monkeypatches made while defining answers are undone (and named).
3. Each test cell runs from that state (see :func:`_tests`). Every ``assert_*`` call of the
   recorded modules (``course.checks``) is logged with the values it saw, encoded as plain data
   (:func:`autograder.protocol.encode`), and what it concluded; what a test changed in the
   guarded state is reported too. The
   grader re-runs those checks on the values in its own process (:mod:`autograder.verify`).

Outputs: a :class:`~autograder.protocol.TestRecord` per test (``<out>/<test id>.json``) and a
:class:`~autograder.protocol.Summary` (``<out>/summary.json``).

Tests that run *split* (``argv[1]``, a :class:`~autograder.protocol.TesterPlan`) run instead in
the tester, a process forked before anything else happens here, which never runs student code
(:mod:`autograder.sandboxed.split`); this process then only answers its calls (step 3 done).
"""

from __future__ import annotations

import builtins
import itertools
import operator
import os
import signal
import sys
import threading
import types
from collections.abc import Callable
from typing import Any

from autograder.protocol import (
    NO_TESTER,
    Budget,
    CellKind,
    CheckCall,
    Message,
    Outcome,
    Plan,
    PlanTest,
    Summary,
    TesterPlan,
    TestRecord,
    TestsDone,
    conceal,
    encode,
    seal,
)
from autograder.sandboxed import audit, split

__all__ = ["Guard", "main", "zygote_warm"]

MAX_ENCODED = 32 * 2**20
"""Characters of recorded values per test; larger values are not transferred (and fail)."""

ERROR_CHARS = 2000
"""Characters of a cell's or test's error kept: ``Name: message``, which the test's feedback shows."""

_MISSING = object()


def _is_guarded_callable(value: Any) -> bool:
    return callable(value) or isinstance(value, types.ModuleType)


class _Snapshot:
    """The keys and values of one module's or class's ``__dict__`` at one moment."""

    def __init__(self, label: str, owner: Any) -> None:
        self.label, self.owner = label, owner
        content = vars(owner)
        self.keys, self.values = list(content), list(content.values())

    def unchanged(self) -> bool:
        """Fast check (in C): every remembered value still in place, by identity."""
        current = vars(self.owner)
        n = len(self.values)
        return len(current) >= n and all(map(operator.is_, self.values, itertools.islice(current.values(), n)))

    def differences(self) -> list[tuple[str, Callable[[], None], Any, Any]]:
        current = vars(self.owner)
        found = []
        for key, old in zip(self.keys, self.values, strict=True):
            new = current.get(key, _MISSING)
            if new is not old:
                found.append((f"{self.label}.{key}", _putter(self.owner, key, old), old, new))
        return found


class Guard:
    """What student code could patch: module attributes, class attributes, function code, locked names.

    Module and class dictionaries are compared by identity, in C (about 30 ms for numpy, torch and
    matplotlib). Functions are not scanned: the audit hook reports every change of a tracked
    function's code, defaults or keyword defaults (:meth:`function_changing`), so a check reads
    only those. Reading tens of thousands of functions after a fork would copy their memory pages
    (reference counts are writes), which made every check cost about 0.2 s.
    """

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.dicts: list[_Snapshot] = []
        self.classes: set[int] = set()
        self.functions: list[types.FunctionType] = []  # kept alive, so that their ids stay theirs
        self.function_ids: set[int] = set()
        self.before: dict[tuple[int, str], tuple[types.FunctionType, str, Any]] = {}
        self.names: dict[str, Any] = {}

    def extend(self) -> None:
        """Remember the state of every module imported since the last call."""
        for name, module in list(sys.modules.items()):
            if isinstance(module, types.ModuleType) and name not in self.seen:
                self.seen.add(name)
                snapshot = _Snapshot(name, module)
                self.dicts.append(snapshot)
                for value in snapshot.values:
                    self._track(value, name)

    def _track(self, value: Any, module_name: str) -> None:
        if isinstance(value, types.FunctionType):
            self._function(value)
        elif (
            isinstance(value, type)
            and value.__flags__ & _HEAPTYPE
            and vars(value).get("__module__") == module_name
            and id(value) not in self.classes
        ):
            self.classes.add(id(value))
            snapshot = _Snapshot(f"{module_name}.{value.__qualname__}", value)
            self.dicts.append(snapshot)
            for member in snapshot.values:
                member = member.__func__ if isinstance(member, staticmethod | classmethod) else member
                if isinstance(member, types.FunctionType):
                    self._function(member)

    def _function(self, function: types.FunctionType) -> None:
        if id(function) not in self.function_ids:
            self.functions.append(function)
            self.function_ids.add(id(function))

    def function_changing(self, function: types.FunctionType, attr: str) -> None:
        """The audit hook's report: `attr` of `function` is about to change. Its first value is kept."""
        if id(function) in self.function_ids and (id(function), attr) not in self.before:
            self.before[id(function), attr] = (function, attr, getattr(function, attr))

    def remember_names(self, namespace: dict, before: dict[str, int]) -> None:
        """Remember the names a locked cell bound (`before`: id of each value before the cell)."""
        for key, value in namespace.items():
            if before.get(key) != id(value):
                self.names[key] = value

    def _dicts_unchanged(self) -> bool:
        """All module and class dictionaries at once, compared in C."""
        owners = [s.owner for s in self.dicts]
        lengths = [len(s.values) for s in self.dicts]
        values = map(operator.methodcaller("values"), map(vars, owners))
        current = itertools.chain.from_iterable(map(itertools.islice, values, itertools.repeat(0), lengths))
        remembered = itertools.chain.from_iterable(s.values for s in self.dicts)
        return all(map(operator.is_, remembered, current)) and all(
            len(vars(o)) >= n for o, n in zip(owners, lengths, strict=True)
        )

    def differences(self, namespace: dict) -> list[tuple[str, Callable[[], None], Any, Any]]:
        """(what, put back, original, current) for every guarded value that is not as remembered."""
        found = []
        if not self._dicts_unchanged():
            found = [d for snapshot in self.dicts if not snapshot.unchanged() for d in snapshot.differences()]
        for function, attr, old in list(self.before.values()):
            if (new := getattr(function, attr)) is not old:
                what = f"{attr} of {function.__module__}.{function.__qualname__}"
                found.append((what, _putter(function, attr, old), old, new))
        for key, old in self.names.items():
            new = namespace.get(key, _MISSING)
            if new is not old:
                found.append((f"the name {key}", _putter(namespace, key, old), old, new))
        if sys.gettrace() is not None or sys.getprofile() is not None:
            found.append(("sys.settrace/setprofile", _untrace, None, None))
        return found

    def restore(self, namespace: dict) -> tuple[list[str], list[str]]:
        """Put everything back. Returns (patches that came from the notebook's cells, every guarded change)."""
        patched, changed = [], []
        for what, put_back, old, new in self.differences(namespace):
            if _from_cells(new) or (what.startswith("the name") and _is_guarded_callable(old)) or "__code__" in what:
                patched.append(what)
            if what.startswith("sys.") or "__code__" in what or _is_guarded_callable(old) or _is_guarded_callable(new):
                changed.append(what)
            put_back()
        return patched, changed


_HEAPTYPE = 1 << 9
"""Py_TPFLAGS_HEAPTYPE: only classes created at run time can have their attributes changed."""


def _putter(owner: Any, key: str, old: Any) -> Callable[[], None]:
    def put_back() -> None:
        try:
            if isinstance(owner, dict):
                if old is _MISSING:
                    owner.pop(key, None)
                else:
                    owner[key] = old
            elif isinstance(owner, types.ModuleType):
                if old is _MISSING:
                    vars(owner).pop(key, None)
                else:
                    vars(owner)[key] = old
            elif old is _MISSING:
                delattr(owner, key)
            else:
                type.__setattr__(owner, key, old) if isinstance(owner, type) else setattr(owner, key, old)
        except (TypeError, AttributeError, ValueError):
            pass

    return put_back


def _untrace() -> None:
    sys.settrace(None)
    sys.setprofile(None)
    threading.settrace(None)
    threading.setprofile(None)


def _from_cells(value: Any) -> bool:
    """True for functions, classes and objects defined by the notebook's cells (module ``__main__``)."""
    module = (
        getattr(value, "__module__", None) if isinstance(value, types.FunctionType | type) else type(value).__module__
    )
    return module == "__main__"


# running cells ----------------------------------------------------------------------------------


class CellTimeout(BaseException):
    """A cell ran past its CPU-time limit (a BaseException, like KeyboardInterrupt, so `except Exception` misses it)."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise CellTimeout()


def _run(source: str, filename: str, namespace: dict, timeout: float, submitted: bool = False) -> str:
    """Execute one cell with `timeout` seconds of CPU time (this process's, all threads); '' or its error.

    Never raises. The timer is disarmed before the outer handlers run, so a time-out that fires
    while the cell's error unwinds (freeing gigabytes can take a second) is reported as one and
    does not escape. Describing the error may run the submission's code (its ``__str__``), so
    that too happens under the timer. A `submitted` cell's code is declared to the audit hook
    first (:mod:`autograder.sandboxed.audit`).
    """
    signal.signal(signal.SIGPROF, _on_alarm)
    try:
        try:
            signal.setitimer(signal.ITIMER_PROF, timeout)
            try:
                code = compile(source, filename, "exec")
                if submitted:
                    audit.submitted(code)
                exec(code, namespace)  # noqa: S102 - this is the point
                return ""
            except CellTimeout:
                raise
            except BaseException as err:  # noqa: BLE001 - the cell's error is data
                return f"{type(err).__name__}: {err}"[:ERROR_CHARS]
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)  # a time-out still pending is raised here: inside the outer try
    except CellTimeout:
        return f"CellTimeoutError: used more than {timeout:g} s of CPU time (the per-cell limit)"
    except BaseException:  # noqa: BLE001 - describing the error failed
        return "Exception: the cell raised an error that could not be described"


class _Shell:
    """Enough of ``get_ipython()`` for translated magics: line magics do nothing, cell magics run their body."""

    def run_line_magic(self, name: str, line: str, *args: Any) -> None:
        return None

    def run_cell_magic(self, name: str, line: str, cell: str) -> None:
        if name in ("time", "capture", "timeit"):
            exec(compile(cell, "<cell magic>", "exec"), sys._getframe(1).f_globals)  # noqa: S102

    def system(self, *args: Any) -> None:
        return None

    getoutput = system


def _write(folder: str, label: str, message: Message, key: str, secret: bool = False) -> None:
    """Seal `message` into ``<folder>/<label>.json``; `secret`: encrypted too (the tester's records)."""
    path = f"{folder}/{label}.json"
    with open(f"{path}.tmp", "wb") as f:
        f.write(conceal(message.to_json(), key, label) if secret else seal(message.to_json(), key, label).encode())
    os.replace(f"{path}.tmp", path)


def _record(state: tuple[str, Callable, list[CheckCall], Budget], *args: Any, **kwargs: Any) -> Any:
    """A recorded check: run it, and append what it concluded and its values to the test's calls."""
    name, original, calls, budget = state
    line = _test_line()
    # encoded before the check runs: what it calls (perhaps the submission's code) cannot change what is kept
    seen = encode(list(args), budget), encode(kwargs, budget)
    outcome = Outcome.ERROR
    try:
        result = original(*args, **kwargs)
        outcome = Outcome.PASS
        return result
    except AssertionError:
        outcome = Outcome.FAIL
        raise
    finally:
        calls.append(CheckCall(name, line, outcome, *seen))


def _recorder(name: str, original: Callable, calls: list[CheckCall], budget: Budget) -> Callable:
    """`original` recorded into `calls`, as a bound method of an immutable tuple.

    Not a closure: a closure's cells can be rewritten (``__closure__[i].cell_contents = ...``,
    which no audit event reports), so a submission could swap the check for a no-op. A bound
    method's ``__func__`` and ``__self__`` are read-only, and ``_record``'s code is guarded.
    """
    return types.MethodType(_record, (name, original, calls, budget))


def _test_line() -> int:
    """The line of the running test cell (0 if none): an int, never a frame (the audit hook lets it read them)."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename != "<test>":
        frame = frame.f_back
    return 0 if frame is None else frame.f_lineno


def _run_test(test: PlanTest, plan: Plan | TesterPlan, namespace: dict, calls: list[CheckCall]) -> str:
    """Run one test with the checks recorded into `calls`; '' or the error that stopped it."""
    budget = Budget(MAX_ENCODED)
    replaced: list[tuple[dict, str, Any]] = []
    for module_name in plan.record:
        module = sys.modules.get(module_name)
        if module is None:
            continue
        for attr, original in list(vars(module).items()):
            if attr.startswith("assert_") and callable(original):
                wrapper = _recorder(attr, original, calls, budget)
                for mapping, key in [(vars(module), attr)] + [
                    (namespace, k) for k, v in namespace.items() if v is original
                ]:
                    replaced.append((mapping, key, original))
                    mapping[key] = wrapper
    try:
        # In a copy of the namespace: the test's own variables (its expected values) are not
        # globals of the student's functions, so ``globals()`` inside them cannot find them.
        return _run(test.source, "<test>", dict(namespace), plan.cell_timeout)
    finally:
        for mapping, key, original in replaced:  # the recorders are ours, not changes made by the test
            mapping[key] = original


def _tests(
    plan: Plan, namespace: dict, guard: Guard, errors: dict[str, str], key: str, link: split.Link | None = None
) -> None:
    """Runs in a one-thread fork: undo the patches, then run the tests from that clean state.

    With a `link` to the tester (:mod:`autograder.sandboxed.split`), the student's names go to it
    first, then this process runs its own tests (those that do not run split), then it answers
    the tester's calls from restored state until the tester is done; what those calls changed in
    the guarded state goes into the summary.

    The tests run one after the other and the guarded state is compared once at the end (a
    comparison costs about 0.1 s). Only if something beyond what the course's own solution
    changes was changed do they run again, each from restored state and checked on its own,
    so that the change is pinned on the test that made it (``careful`` plans, used for the
    course's solution, do only that).
    """
    patched, _ = guard.restore(namespace)
    student = split.StudentSide(link, namespace, set(guard.names), plan.cell_timeout) if link else None
    if student is not None:
        student.send_names()
    results: dict[str, TestRecord] = {}
    changed: list[str] = ["(run each test on its own)"] if plan.careful else []
    if not changed:
        for test in plan.tests:
            calls: list[CheckCall] = []
            error = _run_test(test, plan, namespace, calls)
            results[test.id] = TestRecord(completed=not error, error=error, calls=calls, changed=[])
        _, changed = guard.restore(namespace)
    if not set(changed) <= set(plan.allowed):
        for test in plan.tests:
            calls = []
            error = _run_test(test, plan, namespace, calls)
            _, changed = guard.restore(namespace)
            results[test.id] = TestRecord(completed=not error, error=error, calls=calls, changed=changed)
    for test_id, record in results.items():
        _write(plan.out, test_id, record, key)
    split_changed: list[str] = []
    if student is not None:
        guard.restore(namespace)
        student.serve()
        _, split_changed = guard.restore(namespace)
    _write(plan.out, "summary", Summary(patched=patched, errors=errors, split_changed=split_changed), key)


def _tester(path: str, link: split.Link) -> None:
    """The tester's process (forked before any student code): the split tests, sealed with its own key.

    Runs no student code: every name the solution cells bound is a :class:`split.Remote` (or its
    value, as data); the locked cells it needs run here from the course's source.
    """
    with open(path) as f:
        plan = TesterPlan.from_json(f.read())
    os.unlink(path)
    key, plan.key = plan.key, ""
    link.send(split.TesterReady())
    names = link.receive((split.StudentNames,))
    assert isinstance(names, split.StudentNames)
    os.makedirs(plan.out, exist_ok=True)
    namespace: dict = {"__name__": "__main__", "__builtins__": builtins, "get_ipython": lambda: _Shell()}
    from IPython.display import display

    namespace["display"] = display
    client = split.Client(link, namespace, plan.cell_timeout)
    client.bind(names)
    import course.byhand
    import course.im2col_checks

    # the course's two functions that watch the student's code: it runs in the student process
    course.byhand.by_hand = client.by_hand(course.byhand.by_hand)
    course.im2col_checks.python_steps = client.python_steps(course.im2col_checks.python_steps)
    for cell in plan.cells:
        if error := _run(cell.source, f"<cell {cell.id}>", namespace, plan.cell_timeout):
            print(f"locked cell {cell.id}: {error}", file=sys.stderr)
    for test in plan.tests:
        calls: list[CheckCall] = []
        client.start_test()
        error = _run_test(test, plan, namespace, calls)
        record = TestRecord(completed=not error, error=error, calls=calls, changed=[])
        _write(plan.out, test.id, record, key, secret=True)  # the student process could read the file
    try:
        link.send(TestsDone())
    except split.LinkClosed:
        pass


def main(argv: list[str], baseline: Guard | None = None) -> None:
    """Entry point in the forked child: ``argv = [plan, tester plan (optional)]``.

    `baseline` is what :func:`zygote_warm` returned.

    With a tester plan, the tester is forked first, before this process reads anything of the run
    (:func:`split.start_tester`), and no cell runs before it has read and deleted its plan.
    The guard is held in this function's locals only: no module attribute leads student code to it.
    """
    link = split.start_tester(argv[1], _tester) if len(argv) > 1 else None
    if len(argv) > 1 and link is None:
        os.unlink(argv[0])
        sys.exit(NO_TESTER)
    with open(argv[0]) as f:
        plan = Plan.from_json(f.read())
    os.unlink(argv[0])
    key, plan.key = plan.key, ""  # kept in locals only: see protocol.seal
    os.makedirs(plan.out, exist_ok=True)
    guard = baseline or Guard()
    # before any student code: introspection by submitted code is refused, function changes reported
    audit.install(trusted=[_test_line.__code__], on_function_change=guard.function_changing)
    namespace: dict = {"__name__": "__main__", "__builtins__": builtins, "get_ipython": lambda: _Shell()}
    from IPython.display import display

    namespace["display"] = display
    guard.extend()
    errors = {}
    for cell in plan.cells:
        before = {k: id(v) for k, v in namespace.items()}
        if cell.kind is CellKind.SOLUTION:
            guard.extend()
        submitted = cell.kind is CellKind.SOLUTION
        if error := _run(cell.source, f"<cell {cell.id}>", namespace, plan.cell_timeout, submitted):
            errors[cell.id] = error
        if cell.kind is CellKind.LOCKED:
            guard.remember_names(namespace, before)
    pid = os.fork()
    if pid == 0:
        try:
            _tests(plan, namespace, guard, errors, key, link)
        finally:
            os._exit(0)
    if link is not None:
        link.close()  # only the tests' process talks to the tester: its end closes when that process ends
    os.waitpid(pid, 0)
    if link is not None:
        os.waitpid(link.pid, 0)


def zygote_warm() -> Guard:
    """Called once by the zygote after its imports: snapshot the libraries before any student code.

    The zygote hands the guard to :func:`main` in each clean-room child.
    """
    audit.warm_libraries()
    guard = Guard()
    guard.extend()
    return guard
