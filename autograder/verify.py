"""Grade the test cells in a clean room, and judge each run in this trusted process.

nbgrader would run the tests in the student's kernel, after the student's cells, so a submission
could patch what its tests use (``np.allclose``, ``course.checks``, IPython's input transformers,
``torch`` itself) and pass tests its answers fail. Here the kernel runs only the locked and
solution cells; the test cells run once, in :mod:`autograder.sandboxed.cleanroom` in the sandbox:
the course's locked cells, the student's solution cells, then the tests after every patch has been
undone. Each ``course.checks.assert_*`` call there is recorded with its values as plain data, and
this process re-runs the check on them with its own ``course.checks``. :func:`grade_tests` says,
for each test:

* failed, with the error name and message a kernel would have shown (the check's explanation),
  or that it did not finish (code it called slept, crashed or ran out of time);
* not confirmed, with the reason, when its run does not hold up: a re-checked call concluded
  here other than there, a compared value was an object that cannot cross as data (``__eq__``
  tricks), the run changed a library function, class or locked name (patching *while* testing),
  or a check the course's own solution reaches was skipped. Such a test scores 0 and the result
  is held for review;
* else passed.

A test that the course's solution passes *split* runs in the tester, a process of the clean room
that never runs student code (:mod:`autograder.sandboxed.split`): its source, its expected values
and the key that seals its record never exist in a process that runs student code.

:mod:`autograder.kernel` turns these verdicts into the test cells' outputs before nbgrader saves
the grades. The verdicts are calibrated on the course's solution (:func:`reference`, cached per
source): a test the solution cannot pass cleanly is left to the kernel (:func:`clean_room_tests`),
and noise the solution's run shows (values a check cannot transfer, library state a test changes)
is allowed.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib
import json
import os
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace

from nbformat import NotebookNode

from autograder import paths
from autograder.assignments import Assignment, nbgrader_meta
from autograder.protocol import (
    NO_TESTER,
    CellKind,
    CheckCall,
    ChildKind,
    Outcome,
    Plan,
    PlanCell,
    PlanTest,
    ProtocolError,
    Summary,
    TesterPlan,
    TestRecord,
    decode,
    opaque_in,
    unseal,
)
from autograder.sandbox import WALL_FACTOR, Sandbox

__all__ = [
    "DID_NOT_FINISH",
    "JUDGED_IN_CLEAN_ROOM",
    "RECHECKED",
    "RECORDED",
    "Reference",
    "Verdicts",
    "clean_room_tests",
    "grade_tests",
    "reference",
]

RECORDED = ("course.checks",)
"""Modules whose ``assert_*`` calls are recorded in the clean room and re-checked here."""
RECHECKED = frozenset({"assert_close", "assert_equal", "assert_shape", "assert_true"})
"""Checks whose verdict depends only on the values passed: re-run here on the recorded values."""
JUDGED_IN_CLEAN_ROOM = frozenset({"assert_raises"})
"""Checks that call student code, so their verdict is the clean room's (after every patch was undone).
Any other ``assert_*`` is refused in test cells by :mod:`autograder.lint`."""
MAX_RESULT_BYTES = 64 * 2**20


def _transform(source: str) -> str:
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def _locked_or_solution(assignment: Assignment) -> dict[str, tuple[CellKind, NotebookNode]]:
    """grade id -> (locked or solution, source cell) for the source's code cells that are not tests."""
    found = {}
    for cell in assignment.nb.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type != "code" or not meta.get("grade_id") or meta.get("grade"):
            continue
        if meta.get("solution"):
            found[meta["grade_id"]] = (CellKind.SOLUTION, cell)
        elif meta.get("locked"):
            found[meta["grade_id"]] = (CellKind.LOCKED, cell)
    return found


def _plan(
    assignment: Assignment,
    submission: NotebookNode,
    tests: list[str],
    cell_timeout: float,
    allowed: list[str] | None = None,
) -> Plan:
    """Locked cells as the course wrote them and solution cells as submitted, in the submission's order."""
    known = _locked_or_solution(assignment)
    cells = []
    for cell in submission.cells:
        gid = nbgrader_meta(cell).get("grade_id")
        if cell.cell_type != "code" or gid not in known:
            continue
        kind, source_cell = known[gid]
        text = source_cell.source if kind is CellKind.LOCKED else cell.source
        cells.append(PlanCell(gid, kind, _transform(text)))
    return Plan(
        cells=cells,
        tests=[PlanTest(t, _transform(assignment.test_cells[t].source)) for t in tests],
        record=list(RECORDED),
        cell_timeout=cell_timeout,
        allowed=allowed or [],
        careful=allowed is None,
    )


def _bound_and_read(source: str) -> tuple[set[str], set[str]] | None:
    """(names a cell may bind, names it reads), over-approximated; None if it cannot be analysed."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    bound, read = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                if alias.name == "*":
                    return None
                bound.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.Global | ast.Nonlocal):
            bound.update(node.names)
    return bound, read


def needed_cells(cells: list[PlanCell], tests: list[str]) -> list[PlanCell]:
    """The locked `cells` whose names the `tests` (sources) read, directly or through other locked cells.

    A cell that cannot be analysed (``import *``, a syntax error) is kept; one that binds nothing
    a test needs (a plot, a demo, a training run) is left out of the tester's run.
    """
    analysed = [(cell, _bound_and_read(cell.source)) for cell in cells]
    needed: set[str] = set()
    for source in tests:
        found = _bound_and_read(source)
        needed |= found[1] if found else set()
    keep = {id(cell) for cell, names in analysed if names is None}
    changed = True
    while changed:
        changed = False
        for cell, names in analysed:
            if id(cell) not in keep and names is not None and names[0] & needed:
                keep.add(id(cell))
                needed |= names[1]
                changed = True
    return [cell for cell in cells if id(cell) in keep]


def _tester_plan(plan: Plan, split: list[str]) -> tuple[Plan, TesterPlan | None]:
    """`plan` cut in two: the tests in `split` go to the tester (with the locked cells they need)."""
    if not split:
        return plan, None
    tests = [t for t in plan.tests if t.id in split]
    locked = [c for c in plan.cells if c.kind is CellKind.LOCKED]
    tester = TesterPlan(
        cells=needed_cells(locked, [t.source for t in tests]),
        tests=tests,
        record=plan.record,
        cell_timeout=plan.cell_timeout,
    )
    plan.tests = [t for t in plan.tests if t.id not in split]
    return plan, tester


Record = bytes | ProtocolError | None
"""A test's record as the clean room wrote it (unsealed), why it cannot be trusted, or None if missing."""


def _unsealed(raw: bytes | None, key: str, label: str) -> Record:
    try:
        return None if raw is None else unseal(raw, key, label)
    except ProtocolError as err:
        return err


def _run(
    sandbox: Sandbox, plan: Plan, env: dict[str, str], split: list[str] | None = None
) -> tuple[dict[str, Record], Summary]:
    """Run `plan` in a wiped sandbox, the tests in `split` in the tester; (test id -> its record, unsealed; summary).

    The tester's records are sealed with a key of its own, which the student process never
    holds: a split test's record is accepted only under that key.
    """
    sandbox.wipe()
    every = [t.id for t in plan.tests]
    plan, tester = _tester_plan(plan, split or [])
    plan.out = sandbox.inside("run/verify")
    plan.key = secrets.token_hex(32)
    argv = [sandbox.inside("run/plan.json")]
    if tester is not None:
        tester.out, tester.key = sandbox.inside("run/tester"), secrets.token_hex(32)
        sandbox.write("run/tester.json", tester.to_json().encode())
        argv.append(sandbox.inside("run/tester.json"))
    sandbox.write("run/plan.json", plan.to_json().encode())
    pid = sandbox.spawn(ChildKind.VERIFY, argv, env, "run/verify.log")
    # a cell or test that sleeps is stopped as the kernel's would be: after WALL_FACTOR cell limits
    budget = (len(plan.cells) + len(every) + 2) * (plan.cell_timeout + 5)
    status = sandbox.wait_cpu(pid, budget, slept=WALL_FACTOR * plan.cell_timeout)
    sandbox.kill_all()  # the run itself if it overran, and whatever the student's code left behind
    if status == NO_TESTER:  # before any student code ran: the worker reports a failure to retry
        raise RuntimeError("the clean room's tester process died before it was ready")

    def read(path: str) -> bytes | None:
        return sandbox.read(f"run/{path}", MAX_RESULT_BYTES)

    records, summary = read_records(read, every, plan.key, tester.key if tester else "", split or [])
    return records, summary


def read_records(
    read: Callable[[str], bytes | None], tests: list[str], key: str, tester_key: str, split: list[str]
) -> tuple[dict[str, Record], Summary]:
    """The records of a run, unsealed: a split test's from the tester's folder under the tester's key only.

    The student process holds `key` (it seals the other tests' records and the summary), never `tester_key`.
    """

    def opened(label: str) -> Record:
        if label in split:
            if len(tester_key) < 64:
                return ProtocolError("no tester key")
            return _unsealed(read(f"tester/{label}.json"), tester_key, label)
        return _unsealed(read(f"verify/{label}.json"), key, label)

    records = {t: opened(t) for t in tests}
    summary = opened("summary")
    try:
        summary = Summary.from_json(summary) if isinstance(summary, bytes) else Summary()
    except ProtocolError:
        summary = Summary()
    return records, summary


def _recheck(call: CheckCall) -> tuple[Outcome, str]:
    """The check re-run here on the recorded values: its outcome (or OPAQUE) and the detail.

    Raises:
        ProtocolError: the recorded values are not an encoding (a damaged or forged record).
    """
    module = next(m for m in (importlib.import_module(n) for n in RECORDED) if hasattr(m, call.fn))
    args, kwargs = decode(call.args), decode(call.kwargs)
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        raise ProtocolError(f"{call.fn}: arguments are not a list and a dict")
    if isinstance(kwargs.get("mistakes"), dict):  # only used to word the message
        kwargs["mistakes"] = {k: v for k, v in kwargs["mistakes"].items() if not opaque_in(v)}
    if what := opaque_in(args) or opaque_in(kwargs):
        return Outcome.OPAQUE, what
    try:
        getattr(module, call.fn)(*args, **kwargs)
    except AssertionError as err:
        return Outcome.FAIL, str(err)
    except Exception as err:  # noqa: BLE001 - a check that crashes on the data is a disagreement
        return Outcome.ERROR, f"{type(err).__name__}: {err}"
    return Outcome.PASS, ""


@dataclass
class _TestReference:
    usable: bool
    sites: list[tuple[str, int]] = field(default_factory=list)
    opaque: list[tuple[str, int]] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    why: str = ""
    split: bool = False
    """Runs in the tester, a process without student code (the course's solution passes it there)."""
    split_why: str = ""
    """Why not, when it does not: how the course's solution fails it in the tester."""
    beside_changed: list[str] = field(default_factory=list)
    """Of a split test: what the course's solution changed when the test ran in one process beside it
    (allowed when the test is run there again: :func:`_passed_only_beside`)."""


@dataclass
class Reference:
    """How each test behaves in the clean room on the course's own solution."""

    tests: dict[str, _TestReference]

    def usable(self, test: str) -> bool:
        return test in self.tests and self.tests[test].usable

    def split(self) -> list[str]:
        """The tests that run in the tester."""
        return [t for t, ref in self.tests.items() if ref.usable and ref.split]


def _judge(raw: Record, ref: _TestReference) -> str:
    """'' if the clean run of one test (its record as written in the sandbox) confirms nbgrader's pass, else why not."""
    if raw is None:
        return "its clean re-run did not finish (time limit, crash or killed)"
    if isinstance(raw, ProtocolError):
        return f"its clean re-run left an unreadable record ({raw})"[:400]
    try:
        return _judge_record(TestRecord.from_json(raw), ref)
    except ProtocolError as err:  # the record was written in the sandbox
        return f"its clean re-run left an unreadable record ({err})"[:400]


def _judge_record(record: TestRecord, ref: _TestReference) -> str:
    if not record.completed:
        return f"it fails when re-run cleanly: {record.error}"
    if extra := sorted(set(record.changed) - set(ref.changed)):
        return f"while it ran, the submission's code replaced {', '.join(extra[:3])}"
    reached = {(c.fn, c.line) for c in record.calls}
    if skipped := sorted({tuple(s) for s in ref.sites} - reached):
        return f"checks at line(s) {', '.join(str(line) for _, line in skipped[:5])} of the test never ran"
    opaque_ok = {tuple(s) for s in ref.opaque}
    for call in record.calls:
        if call.fn not in RECHECKED:
            continue
        verdict, detail = _recheck(call)
        if verdict is Outcome.OPAQUE:
            if (call.fn, call.line) not in opaque_ok:
                return f"{call.fn} at line {call.line} compared a {detail}, which is not plain data"
        elif verdict is not call.outcome:
            said = f"{call.fn} at line {call.line} said {call.outcome.value} in the kernel"
            return f"{said}, {verdict.value} on its values: {detail}"[:400]
    return ""


def _calibrated(raw: Record) -> _TestReference:
    """How the course's solution fares on one test (its record as written in the sandbox).

    The checks it reaches must be reached by every submission; values it cannot transfer and
    guarded state it changes are allowed; a test it does not pass cleanly is not usable.
    """
    try:
        record = TestRecord.from_json(raw) if isinstance(raw, bytes) else None
        calls = record.calls if record else []
        opaque = {(c.fn, c.line) for c in calls if c.fn in RECHECKED and _recheck(c)[0] is Outcome.OPAQUE}
    except ProtocolError:
        record, calls, opaque = None, [], set()
    found = _TestReference(
        usable=True,
        sites=sorted({(c.fn, c.line) for c in calls}),
        opaque=sorted(opaque),
        changed=sorted(record.changed) if record else [],
    )
    found.why = _judge(raw, found)
    found.usable = not found.why
    return found


def _source_key(assignment: Assignment) -> str:
    text = assignment.path.read_bytes()
    if assignment.lang != "en":
        text += assignment.lang.encode() + assignment.translation_path.read_bytes()
    return hashlib.sha256(text).hexdigest()[:16]


_REFERENCES: dict[str, Reference] = {}


def calibrate(
    records: dict[str, Record],
    split_records: dict[str, Record] | None,
    tests: list[str],
    split_changed: list[str] | None = None,
) -> Reference:
    """The reference from the solution's runs: in one process (`records`), and every test in the tester.

    A test the solution passes in the tester runs there (split); else, if it passes in one process,
    there. What the solution's code changed in the guarded state while serving the tester's calls
    (`split_changed`) is allowed for the split tests.
    """
    found = {}
    for test in tests:
        ref = _calibrated(records.get(test))
        if split_records is not None:
            in_tester = _calibrated(split_records.get(test))
            if in_tester.usable:
                ref, beside = in_tester, ref
                ref.split, ref.changed, ref.beside_changed = True, sorted(split_changed or []), beside.changed
            else:
                ref.split_why = in_tester.why
        found[test] = ref
    return Reference(found)


@functools.cache
def _grader_key() -> str:
    """A hash of the code the calibration runs: the course package and the grader's (a cache an older
    grader wrote is not reused after an update)."""
    digest = hashlib.sha256()
    for pattern in ("course/**/*.py", "autograder/*.py", "autograder/sandboxed/*.py"):
        for path in sorted(paths.REPO.glob(pattern)):
            digest.update(str(path.relative_to(paths.REPO)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def reference(sandbox: Sandbox, assignment: Assignment, cell_timeout: float, env: dict[str, str]) -> Reference:
    """The clean-room behaviour of the course's solution (cached in memory and in `paths.calibrations()`)."""
    key = f"{assignment.name}-{_source_key(assignment)}-{cell_timeout:g}s-{sandbox.mode}-{_grader_key()}"
    if key in _REFERENCES:
        return _REFERENCES[key]
    cache = paths.calibrations() / f"{key}.json"
    if cache.is_file():
        data = json.loads(cache.read_text())
        ref = Reference({t: _TestReference(**v) for t, v in data.items()})
    else:
        tests = list(assignment.test_cells)
        records, _ = _run(sandbox, _plan(assignment, assignment.nb, tests, cell_timeout), env)
        split_records, summary = _run(sandbox, _plan(assignment, assignment.nb, tests, cell_timeout), env, tests)
        ref = calibrate(records, split_records, tests, summary.split_changed)
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({t: asdict(v) for t, v in ref.tests.items()}))
        os.replace(tmp, cache)
    _REFERENCES[key] = ref
    return ref


@dataclass
class Verdicts:
    """The clean room's grades of the tests it ran.

    ``errors``: tests that failed there (id -> error name and message, as a kernel would show them);
    ``failed``: tests whose run does not hold up (id -> why: records that disagree with their
    values, checks skipped, library state replaced while they ran, a split test that passes only
    beside the submission's code), set to 0 and held for review; every other test it ran passed.
    """

    errors: dict[str, tuple[str, str]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


DID_NOT_FINISH = "the test did not finish: code it called slept, crashed, called os._exit or ran out of time"


def clean_room_tests(sandbox: Sandbox, assignment: Assignment, cell_timeout: float, env: dict[str, str]) -> list[str]:
    """The tests the clean room grades: every test the course's solution passes there (the kernel skips them)."""
    ref = reference(sandbox, assignment, cell_timeout, env)
    return [t for t in assignment.test_cells if ref.usable(t)]


def _failure(raw: Record) -> tuple[str, str] | None:
    """(error name, message) of a test that did not pass in the clean room; None if it completed (or is unreadable)."""
    if raw is None:
        return "RuntimeError", DID_NOT_FINISH
    if not isinstance(raw, bytes):
        return None
    try:
        record = TestRecord.from_json(raw)
    except ProtocolError:
        return None
    if record.completed:
        return None
    name, _, message = record.error.partition(": ")
    return (name, message) if name.isidentifier() else ("Exception", record.error)


def _matters_to_split_tests(change: str) -> bool:
    """Whether a guarded change in the student process can affect a split test's verdict.

    The checks run in the tester, so a change to the recorded modules (``course.checks``) there
    cannot; anything else can (``by_hand`` resolves its forbidden list in the student process).
    """
    return not any(change.startswith(f"{m}.") or f" of {m}." in change for m in RECORDED)


ONLY_BESIDE = "the test passes only when it runs in the same process as the submission's code; in a process of its own"
"""How a split test that fails in the tester but passes beside the submission's code is held (no points, reviewed)."""


def _passed_only_beside(
    records: dict[str, Record], split: list[str], ref: Reference, beside: Callable[[list[str]], dict[str, Record]]
) -> dict[str, str]:
    """The split tests that failed in the tester but pass beside the submission's code (test id -> why it is held).

    The tester carries what the course's solution needs; a different honest answer may need more
    (an object that does not cross the way the test uses it). Such a failure is the grader's, not the
    student's: the failed tests run again in one process (`beside`: test ids -> their records), and
    one that passes there is held for review with no points, since beside the test student code can
    also read it (a same-process run never gives a score). A test that fails both ways keeps its error.
    """
    failures = {t: f for t in split if records.get(t) is not None and (f := _failure(records[t]))}
    # a stub fails both ways, and code out of CPU time runs out of the same budget beside the test
    retry = [t for t, (name, _) in failures.items() if name not in ("NotImplementedError", "CellTimeoutError")]
    if not retry:
        return {}
    again = beside(retry)
    return {
        test: f"{ONLY_BESIDE} it failed with {': '.join(failures[test])}"[:400]
        for test in retry
        if _failure(again.get(test)) is None and not _judge(again.get(test), _beside(ref.tests[test]))
    }


def _beside(ref: _TestReference) -> _TestReference:
    """A split test's reference for a run in one process: what the solution changed there is allowed."""
    return replace(ref, split=False, changed=ref.beside_changed)


def grade_tests(
    sandbox: Sandbox,
    assignment: Assignment,
    submission: NotebookNode,
    tests: list[str],
    cell_timeout: float,
    env: dict[str, str],
) -> Verdicts:
    """Run `tests` (from :func:`clean_room_tests`) on `submission` in the clean room and judge each here."""
    out = Verdicts()
    ref = reference(sandbox, assignment, cell_timeout, env)
    if unverifiable := sorted(t for t in assignment.test_cells if not ref.usable(t)):
        out.notes.append(f"graded in the kernel only (the course's solution fails them in the clean room): "
                         f"{', '.join(unverifiable)}")  # fmt: skip
    if not tests:
        return out
    allowed = sorted({c for t in tests for c in ref.tests[t].changed})
    split = [t for t in tests if ref.tests[t].split]
    records, summary = _run(sandbox, _plan(assignment, submission, tests, cell_timeout, allowed), env, split)
    extra = sorted(c for c in set(summary.split_changed) - set(allowed) if _matters_to_split_tests(c))

    def beside(retry: list[str]) -> dict[str, Record]:
        allowed_beside = sorted({c for t in retry for c in ref.tests[t].beside_changed})
        return _run(sandbox, _plan(assignment, submission, retry, cell_timeout, allowed_beside), env)[0]

    apart = _passed_only_beside(records, split, ref, beside)
    for test in tests:
        raw = records.get(test)
        if test in apart:
            out.failed[test] = apart[test]
        elif failure := _failure(raw):
            out.errors[test] = failure
        elif why := _judge(raw, ref.tests[test]):
            out.failed[test] = why
        elif extra and test in split:
            out.failed[test] = f"while the tests ran, the submission's code replaced {', '.join(extra[:3])}"
    if summary.patched:
        names = ", ".join(summary.patched[:5])
        out.notes.append(f"the submission replaced {names}; undone before the tests were run")
    if unfinished := sorted(t for t in tests if records.get(t) is None):
        out.notes.append(f"{DID_NOT_FINISH}: {', '.join(unfinished)}")
    return out
