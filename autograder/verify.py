"""Re-grade the tests nbgrader passed in a clean room, and judge the results in this trusted process.

nbgrader runs the whole submission in one kernel, so a submission can patch what its tests use
(``np.allclose``, ``course.checks``, IPython's input transformers, ``torch`` itself) and pass
tests its answers fail. For every test cell nbgrader gave points, :func:`verify` runs
:mod:`autograder.sandboxed.cleanroom` in the sandbox: the course's locked cells, the student's solution
cells, then that test alone after every patch has been undone. Each ``course.checks.assert_*``
call there is recorded with its values as plain data, and this process re-runs the check on
them with its own ``course.checks``. A test passes verification only if

* it completed, and every re-checked call concluded here what it concluded there;
* no value it compared was an object that cannot cross as data (``__eq__`` tricks);
* its run changed no library function, class or locked name (patching *while* testing);
* every check the course's own solution reaches was reached (no lines skipped).

A test that nbgrader scored but that fails verification scores 0, with the reason as a note.
The verdicts are calibrated on the course's solution (:func:`reference`, cached per source):
a test the solution cannot pass cleanly is never used against students, and noise the
solution's run shows (values a check cannot transfer, library state a test changes) is allowed.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import secrets
from dataclasses import asdict, dataclass, field

from nbformat import NotebookNode

from autograder import paths
from autograder.assignments import Assignment, nbgrader_meta
from autograder.protocol import (
    CellKind,
    CheckCall,
    ChildKind,
    Outcome,
    Plan,
    PlanCell,
    PlanTest,
    ProtocolError,
    Summary,
    TestRecord,
    decode,
    opaque_in,
    unseal,
)
from autograder.sandbox import Sandbox

__all__ = ["JUDGED_IN_CLEAN_ROOM", "RECHECKED", "RECORDED", "Reference", "Verdicts", "reference", "verify"]

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


Record = bytes | ProtocolError | None
"""A test's record as the clean room wrote it (unsealed), why it cannot be trusted, or None if missing."""


def _unsealed(raw: bytes | None, key: str, label: str) -> Record:
    try:
        return None if raw is None else unseal(raw, key, label)
    except ProtocolError as err:
        return err


def _run(sandbox: Sandbox, plan: Plan, env: dict[str, str]) -> tuple[dict[str, Record], Summary]:
    """Run `plan` in a wiped sandbox; (test id -> its record, unsealed; summary)."""
    sandbox.wipe()
    plan.out = sandbox.inside("run/verify")
    plan.key = secrets.token_hex(32)
    sandbox.write("run/plan.json", plan.to_json().encode())
    pid = sandbox.spawn(ChildKind.VERIFY, [sandbox.inside("run/plan.json")], env, "run/verify.log")
    sandbox.wait_cpu(pid, (len(plan.cells) + len(plan.tests) + 2) * (plan.cell_timeout + 5))
    sandbox.kill_all()  # the run itself if it overran, and whatever the student's code left behind

    def opened(label: str) -> Record:
        return _unsealed(sandbox.read(f"run/verify/{label}.json", MAX_RESULT_BYTES), plan.key, label)

    records = {t.id: opened(t.id) for t in plan.tests}
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


@dataclass
class Reference:
    """How each test behaves in the clean room on the course's own solution."""

    tests: dict[str, _TestReference]

    def usable(self, test: str) -> bool:
        return test in self.tests and self.tests[test].usable


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
    return hashlib.sha256(assignment.path.read_bytes()).hexdigest()[:16]


_REFERENCES: dict[str, Reference] = {}


def reference(sandbox: Sandbox, assignment: Assignment, cell_timeout: float, env: dict[str, str]) -> Reference:
    """The clean-room behaviour of the course's solution (cached in memory and under work/verify/)."""
    key = f"{assignment.name}-{_source_key(assignment)}-{cell_timeout:g}s"
    if key in _REFERENCES:
        return _REFERENCES[key]
    cache = paths.work() / "verify" / f"{key}.json"
    if cache.is_file():
        data = json.loads(cache.read_text())
        ref = Reference({t: _TestReference(**v) for t, v in data.items()})
    else:
        tests = list(assignment.test_cells)
        records, _ = _run(sandbox, _plan(assignment, assignment.nb, tests, cell_timeout), env)
        ref = Reference({test: _calibrated(records.get(test)) for test in tests})
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({t: asdict(v) for t, v in ref.tests.items()}))
        os.replace(tmp, cache)
    _REFERENCES[key] = ref
    return ref


@dataclass
class Verdicts:
    """Tests nbgrader passed that the clean room does not confirm (id -> reason), plus notes."""

    failed: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def verify(
    sandbox: Sandbox,
    assignment: Assignment,
    submission: NotebookNode,
    scores: dict[str, float],
    cell_timeout: float,
    env: dict[str, str],
) -> Verdicts:
    """Verify the tests with a positive nbgrader score in `scores` (test id -> points)."""
    out = Verdicts()
    if not any(s > 0 for s in scores.values()):
        return out
    ref = reference(sandbox, assignment, cell_timeout, env)
    tests = [t for t, s in scores.items() if s > 0 and ref.usable(t)]
    unverifiable = sorted(t for t, s in scores.items() if s > 0 and t in ref.tests and not ref.usable(t))
    if unverifiable:
        out.notes.append(
            f"not verified (the course's solution fails them in the clean room): {', '.join(unverifiable)}"
        )
    if not tests:
        return out
    allowed = sorted({c for t in tests for c in ref.tests[t].changed})
    records, summary = _run(sandbox, _plan(assignment, submission, tests, cell_timeout, allowed), env)
    for test in tests:
        if why := _judge(records.get(test), ref.tests[test]):
            out.failed[test] = why
    if summary.patched:
        names = ", ".join(summary.patched[:5])
        out.notes.append(f"the submission replaced {names}; undone before the tests were re-run")
    return out
