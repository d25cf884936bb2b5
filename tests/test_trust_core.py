"""The grader's trust core without bubblewrap: the wire, the judge, the guard, the limits, the boundary.

Everything here runs in this process (no sandbox, no kernel): what crosses the sandbox boundary
(:mod:`autograder.protocol`), how the grader judges the records written there, including forged
ones (:mod:`autograder.verify`), how the clean room puts back what student code patched
(:class:`autograder.sandboxed.cleanroom.Guard`), the resource limits the zygote applies, which
checks are trusted, and the rule that sandbox-side code imports nothing of the grader but the
protocol.
"""

from __future__ import annotations

import ast
import base64
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import traceback
import types
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
from test_lint_assignments import _broken_copy, _cell

import course.checks
from autograder import paths
from autograder.lint import lint_assignment
from autograder.protocol import (
    Answer,
    Budget,
    CellKind,
    CheckCall,
    ChildJob,
    ChildKind,
    Exit,
    Failure,
    Job,
    Opaque,
    Outcome,
    Plan,
    PlanCell,
    PlanTest,
    ProtocolError,
    Reply,
    Spawn,
    TestRecord,
    ZygoteConfig,
    decode,
    encode,
    parse,
)
from autograder.sandbox import Limits
from autograder.sandboxed import audit, cleanroom, zygote
from autograder.sandboxed.cleanroom import Guard
from autograder.verify import (
    DID_NOT_FINISH,
    JUDGED_IN_CLEAN_ROOM,
    RECHECKED,
    _calibrated,
    _failure,
    _judge,
    _TestReference,
)

# the codec ------------------------------------------------------------------------------------


def crossed(value, budget: int = 2**20):
    """`value` after the full trip: encoded in the sandbox, written as JSON, read and decoded here."""
    return decode(json.loads(json.dumps(encode(value, Budget(budget)))))


def test_plain_values_cross_exactly():
    values = [None, True, 3, 2**70, 0.1, float("nan"), float("-inf"), 1 + 2j, "ü", (1, 2), [1, [2.5]], {3}]
    for value in values:
        back = crossed(value)
        assert type(back) is type(value) and (back == value or value != value), value
    assert crossed({"a": (1, [2]), (1, 2): None}) == {"a": (1, [2]), (1, 2): None}


@pytest.mark.parametrize(
    "array",
    [
        np.arange(12.0).reshape(3, 4),
        np.array([[1, 2]], dtype=np.int8),
        np.array(True),
        np.zeros((0, 3)),
        np.asfortranarray(np.eye(3)),
        np.arange(10)[::3],
    ],  # fmt: skip
)
def test_arrays_cross_with_dtype_shape_and_values(array):
    back = crossed(array)
    assert type(back) is np.ndarray and back.dtype == array.dtype and back.shape == array.shape
    assert np.array_equal(back, array)


def test_numpy_scalars_dtypes_and_torch_cross_as_what_they_are():
    assert type(crossed(np.float32(1.5))) is np.float32 and crossed(np.float32(1.5)) == 1.5
    assert crossed(np.dtype("int16")) == np.dtype("int16")
    tensor = torch.arange(6, dtype=torch.float64).reshape(2, 3)
    back = crossed(tensor)
    assert isinstance(back, torch.Tensor) and torch.equal(back, tensor)
    assert crossed(torch.float16) is torch.float16
    assert crossed(torch.Size([2, 3])) == (2, 3)


class _AlwaysEqual:
    def __eq__(self, other):
        return True


class _Float(float):
    def __eq__(self, other):
        return True


@pytest.mark.parametrize(
    "value", [_AlwaysEqual(), _Float(1.0), np.array([_AlwaysEqual()], dtype=object), lambda: 1, [1, _AlwaysEqual()]]
)
def test_objects_that_could_lie_arrive_opaque(value):
    back = crossed(value)
    found = back[1] if isinstance(back, list) else back
    assert isinstance(found, Opaque)


def test_values_past_the_budget_arrive_opaque():
    big = np.zeros(10_000)
    assert isinstance(crossed(big, budget=1000), Opaque)
    assert "too large" in crossed(big, budget=1000).what
    shared = Budget(len(json.dumps(encode(big, Budget(2**30)))) + 10)
    first, second = encode(big, shared), encode(big, shared)  # one test's values share its budget
    assert isinstance(decode(first), np.ndarray) and isinstance(decode(second), Opaque)


def _pickled_npy() -> str:
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    return base64.b64encode(buffer.getvalue()).decode()


@pytest.mark.parametrize(
    "forged",
    [
        {"tag": "x"},
        [1, 2],  # encode tags every list
        {"list": [1], "tuple": [2]},
        {"torch_dtype": "load"},  # an attribute of torch that is not a dtype
        {"ndarray": "bm90IGFuIGFycmF5"},
        {"ndarray": _pickled_npy()},  # never unpickled
        {"set": [{"list": []}]},  # unhashable
    ],
)
def test_forged_encodings_are_protocol_errors(forged):
    with pytest.raises(ProtocolError):
        decode(forged)


# typed messages ---------------------------------------------------------------------------------


def test_messages_round_trip_with_their_types():
    plan = Plan([PlanCell("setup", CellKind.LOCKED, "x = 1")], [PlanTest("t", "assert x")], ["course.checks"], 5,
                "/tmp/out", allowed=[], careful=True)  # fmt: skip
    assert Plan.from_json(plan.to_json()) == plan
    answer = Answer.failed(Failure.ENDLESS_LOOP, "cell 3", "log")
    answer.cpu = 2  # an int on the wire is still a float here
    back = Answer.from_json(answer.to_json())
    assert back == answer and back.failure is Failure.ENDLESS_LOOP and type(back.cpu) is float
    assert Job.from_json(Job("01_neuron", "ada", "zh").to_json()) == Job("01_neuron", "ada", "zh")
    spawn = Spawn(7, ChildJob(ChildKind.VERIFY, ["p"], {"A": "1"}, "/tmp/job", "/tmp/log"))
    assert parse(spawn.to_json(), Spawn, Reply) == spawn
    assert parse(Exit(5, -9).to_json(), Reply, Exit) == Exit(5, -9)


@pytest.mark.parametrize(
    "text",
    [
        '{"completed": "yes", "error": "", "calls": [], "changed": []}',
        '{"completed": true, "error": "", "calls": [], "changed": [], "score": 1}',
        '{"completed": true, "error": "", "calls": []}',
        '{"completed": true, "error": "", "calls": [{"fn": "assert_close", "line": "3", "outcome": "pass",'
        ' "args": {"list": []}, "kwargs": {"dict": []}}], "changed": []}',
        '{"completed": true, "error": "", "calls": [{"fn": "assert_close", "line": 3, "outcome": "maybe",'
        ' "args": {"list": []}, "kwargs": {"dict": []}}], "changed": []}',
        "[]",
        "not json",
    ],
)
def test_a_record_of_the_wrong_shape_is_refused(text):
    with pytest.raises(ProtocolError):
        TestRecord.from_json(text)


def test_a_message_of_another_type_is_refused():
    with pytest.raises(ProtocolError):
        parse(Exit(1, 0).to_json(), Reply)
    with pytest.raises(ProtocolError):
        Reply.from_json(Exit(1, 0).to_json())


# judging records written in the sandbox -----------------------------------------------------------


def call(fn: str, line: int, outcome: Outcome, *args, **kwargs) -> CheckCall:
    budget = Budget(2**20)
    return CheckCall(fn, line, outcome, encode(list(args), budget), encode(kwargs, budget))


def record(*calls: CheckCall, completed: bool = True, error: str = "", changed: tuple[str, ...] = ()) -> bytes:
    return TestRecord(completed, error, list(calls), list(changed)).to_json().encode()


HONEST = [
    call("assert_close", 4, Outcome.PASS, np.array([0.5, 0.7310585786300049]), np.array([0.5, 0.7310585786300049])),
    call("assert_shape", 5, Outcome.PASS, np.zeros((2, 3)), (2, 3)),
    call("assert_true", 6, Outcome.PASS, True, "sums to one"),
]
REF = _TestReference(usable=True, sites=[("assert_close", 4), ("assert_shape", 5), ("assert_true", 6)])


def test_an_honest_record_is_confirmed():
    assert _judge(record(*HONEST), REF) == ""


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (None, "did not finish"),
        (b"\x00garbage", "unreadable record"),
        (record(*HONEST, completed=False, error="NameError: sigmoid"), "fails when re-run cleanly: NameError"),
        (record(*HONEST, changed=("numpy.allclose",)), "replaced numpy.allclose"),
        (record(*HONEST[:2]), "line(s) 6 of the test never ran"),
        # forged outcomes: the values say otherwise
        (
            record(call("assert_close", 4, Outcome.PASS, np.array([0.1, 0.2]), np.array([0.5, 0.73])), *HONEST[1:]),
            "said pass in the kernel, fail on its values",
        ),  # fmt: skip
        (record(*HONEST[:2], call("assert_true", 6, Outcome.PASS, False, "sums to one")), "fail on its values"),
        (
            record(*HONEST[:1], call("assert_shape", 5, Outcome.PASS, np.zeros((3, 2)), (2, 3)), *HONEST[2:]),
            "fail on its values",
        ),  # fmt: skip
        # a value that could not cross as data
        (record(call("assert_close", 4, Outcome.PASS, _AlwaysEqual(), np.array([0.5])), *HONEST[1:]), "not plain data"),
        # forged payloads that break the decoder
        (
            record(CheckCall("assert_close", 4, Outcome.PASS, {"ndarray": "AAAA"}, {"dict": []}), *HONEST[1:]),
            "unreadable record",
        ),  # fmt: skip
        (record(CheckCall("assert_close", 4, Outcome.PASS, {"dict": []}, {"list": []}), *HONEST[1:]), "unreadable"),
    ],
)
def test_a_record_that_does_not_hold_up_is_refused_with_the_reason(raw, why):
    assert why in _judge(raw, REF)


@pytest.mark.parametrize(
    ("raw", "failure"),
    [
        (None, ("RuntimeError", DID_NOT_FINISH)),
        (
            record(completed=False, error="AssertionError: sigmoid(0): 0.4 != 0.5"),
            ("AssertionError", "sigmoid(0): 0.4 != 0.5"),
        ),
        (
            record(completed=False, error="ForbiddenCall: sigmoid calls torch.sigmoid"),
            ("ForbiddenCall", "sigmoid calls torch.sigmoid"),
        ),
        (record(completed=False, error="no name: here"), ("Exception", "no name: here")),
        (record(*HONEST), None),  # completed: judged by _judge
        (b"{not json", None),  # unreadable: judged by _judge, which refuses it
    ],
)
def test_a_test_that_failed_in_the_clean_room_reads_as_the_kernel_would_show_it(raw, failure):
    assert _failure(raw) == failure


def test_a_failure_recorded_as_failure_is_consistent_and_unchecked_calls_are_not_rerun():
    failing = call("assert_close", 4, Outcome.FAIL, np.array([0.1]), np.array([0.5]))
    raises = CheckCall("assert_raises", 7, Outcome.PASS, {"opaque": "function"}, {"dict": []})
    ref = _TestReference(usable=True, sites=[*REF.sites, ("assert_raises", 7)])
    assert _judge(record(failing, *HONEST[1:], raises), ref) == ""  # judged in the clean room, not here


def test_calibration_allows_what_the_solution_itself_cannot_transfer():
    opaque = call("assert_close", 4, Outcome.PASS, _AlwaysEqual(), _AlwaysEqual())
    ref = _calibrated(record(opaque, *HONEST[1:], changed=("torch.nn.Module._lazy",)))
    assert ref.usable and ref.opaque == [("assert_close", 4)] and ref.changed == ["torch.nn.Module._lazy"]
    student = record(opaque, *HONEST[1:], changed=("torch.nn.Module._lazy",))
    assert _judge(student, ref) == ""
    assert not _calibrated(None).usable and "did not finish" in _calibrated(None).why


# the clean room's guard -------------------------------------------------------------------------


def _alone(test) -> None:
    """Run `test` in a forked child, its only thread: no other thread of pytest can change a module it guards."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            test()
        except BaseException:
            traceback.print_exc()
            code = 1
        sys.stderr.flush()
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the child failed: its traceback is in the captured stderr"


def test_the_guard_puts_back_everything_student_code_patched():
    _alone(_the_guard_puts_back_everything)


def _the_guard_puts_back_everything() -> None:
    library = types.ModuleType("fake_checks")
    library_source = """
        def close(a, b):
            return a == b

        class Tensor:
            def add(self):
                return 1

        TOL = 1e-6
    """
    exec(textwrap.dedent(library_source), vars(library))
    sys.modules["fake_checks"] = library
    try:
        guard = Guard()
        guard.extend()
        audit.install(trusted=[], on_function_change=guard.function_changing)  # as the clean room does
        close, code, add = library.close, library.close.__code__, library.Tensor.add
        namespace: dict = {"__name__": "__main__"}
        before = {k: id(v) for k, v in namespace.items()}
        namespace["checks"] = library  # what a locked cell binds
        guard.remember_names(namespace, before)
        student = (
            "import sys, fake_checks\n"
            "fake_checks.close.__code__ = (lambda a, b: True).__code__\n"
            "fake_checks.close = lambda a, b: True\n"
            "fake_checks.Tensor.add = lambda self: 2\n"
            "fake_checks.TOL = 1.0\n"
            "checks = None\n"
            "sys.settrace(lambda *a: None)\n"
        )
        exec(compile(student, "<cell sigmoid>", "exec"), namespace)
        patched, changed = guard.restore(namespace)
        assert library.close is close and close.__code__ is code and library.Tensor.add is add
        assert library.TOL == 1e-6 and namespace["checks"] is library and sys.gettrace() is None
        assert {"fake_checks.close", "fake_checks.Tensor.add", "the name checks"} <= set(patched)
        assert "__code__ of fake_checks.close" in changed and "sys.settrace/setprofile" in changed
        assert guard.differences(namespace) == []
    finally:
        sys.settrace(None)
        del sys.modules["fake_checks"]


_SLOW_STR = """
import time
class Slow(Exception):
    def __str__(self):
        start = time.process_time()
        while time.process_time() - start < 2:
            pass
        return "slow"
raise Slow()
"""
_TIMED_OUT = "CellTimeoutError: used more than 0.3 s of CPU time (the per-cell limit)"
_FAILING_STR = "class Odd(Exception):\n    def __str__(self):\n        raise KeyError('no')\nraise Odd()"


@pytest.mark.parametrize(
    ("source", "said"),
    [
        ("x = 1", ""),
        ("raise ValueError('wrong')", "ValueError: wrong"),
        ("while True:\n    pass", _TIMED_OUT),
        ("hog = [bytearray(2**20) for _ in range(10**9)]", _TIMED_OUT),
        (_SLOW_STR, _TIMED_OUT),  # its error, described, runs the submission's code
        (_FAILING_STR, "Exception: the cell raised an error that could not be described"),
    ],
)
def test_a_clean_room_cell_reports_its_error_or_time_out_and_never_raises(source, said):
    """A time-out firing while an error unwinds or is described once escaped and lost every test."""
    handler = signal.getsignal(signal.SIGPROF)
    try:
        assert cleanroom._run(source, "<cell>", {}, 0.3) == said
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, handler)


def test_a_stopped_run_leaves_no_test_with_points(monkeypatch):
    """Test cells left for the clean room have no outputs; if a cell's overrun stopped the job, nbgrader
    must not score them as passed (a machine failure keeps the gradebook's rows until graded again)."""
    from nbgrader.preprocessors import Execute

    from autograder import kernel

    nb = nbformat.v4.new_notebook()
    test = nbformat.v4.new_code_cell("checks.assert_true(False, 'x')")
    test.metadata["nbgrader"] = {"grade": True, "grade_id": "t_test", "points": 1, "solution": False, "locked": True}
    nb.cells = [nbformat.v4.new_code_cell("x = 1"), test]
    monkeypatch.setattr(Execute, "preprocess", lambda self, nb, resources=None, km=None: (nb, resources))
    graded = []
    kernel.grade_tests_in_clean_room(kernel.CleanRoomTests(frozenset({"t_test"}), graded.append))
    kernel.take_overruns()
    kernel._OVERRUNS.append(kernel.Overrun(0, "wall", cpu=0.0, queued=0.0, wall=50.0))
    try:
        kernel.SandboxExecute().preprocess(nb, {})
    finally:
        kernel.grade_tests_in_clean_room(None)
        kernel.take_overruns()
    assert graded == [], "the clean room ran after the job was stopped"
    assert [(o.output_type, o.evalue) for o in nb.cells[1].outputs] == [("error", kernel.STOPPED)]
    assert kernel.take_verdicts() is None


# limits and the zygote's resource limits ----------------------------------------------------------


def test_every_limit_the_zygote_receives_maps_to_a_resource_limit():
    assert set(Limits().rlimits(61999)) == set(zygote._RLIMITS)


def test_a_zygote_given_an_unmapped_limit_refuses_to_start_and_says_which():
    config = ZygoteConfig("/tmp", False, {**Limits().rlimits(61999), "gpu_seconds": 1}, [], [], {})
    command = [sys.executable, "-m", "autograder.sandboxed.zygote"]
    out = subprocess.run(command, input=config.to_json() + "\n", capture_output=True, text=True, cwd=paths.REPO,
                         timeout=120)  # fmt: skip
    assert out.returncode != 0 and "gpu_seconds" in out.stderr


# which checks are trusted -----------------------------------------------------------------------


def test_every_check_of_the_course_is_rechecked_or_judged_in_the_clean_room():
    checks = {name for name in dir(course.checks) if name.startswith("assert_")}
    assert checks <= RECHECKED | JUDGED_IN_CLEAN_ROOM, checks - RECHECKED - JUDGED_IN_CLEAN_ROOM
    assert not RECHECKED & JUDGED_IN_CLEAN_ROOM


def test_lint_refuses_a_test_that_calls_a_check_the_grader_does_not_know(tmp_path):
    def edit(nb):
        cell = _cell(nb, "tanh_test")
        cell.source += "\nchecks.assert_between(tanh(0.0), -1, 1)\n"

    problems = lint_assignment(_broken_copy(tmp_path, edit))
    assert any("assert_between" in p and "neither re-checks" in p for p in problems), problems


# the boundary in the tree -----------------------------------------------------------------------


def _grader_imports(path: Path) -> set[str]:
    """Modules of the grader that `path` imports: any of ``autograder`` but the protocol and the sandboxed package."""
    imported = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level:
            imported.add("(a relative import)")  # hides what crosses the boundary
        elif isinstance(node, ast.ImportFrom) and node.module == "autograder":
            imported |= {f"autograder.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module)
    allowed = ("autograder.protocol", "autograder.sandboxed")
    return {
        name
        for name in imported
        if name.startswith("(") or (name.split(".")[0] == "autograder" and not name.startswith(allowed))
    }


SANDBOXED = sorted((paths.REPO / "autograder" / "sandboxed").glob("*.py"))


@pytest.mark.parametrize("path", SANDBOXED, ids=lambda p: p.name)
def test_sandboxed_code_imports_nothing_of_the_grader_but_the_protocol(path):
    assert _grader_imports(path) == set()


@pytest.mark.parametrize(
    "line",
    [
        "from autograder import verify",
        "import autograder.sandbox",
        "from autograder.paths import REPO",
        "from . import protocol",
        "import autograder",
    ],  # fmt: skip
)
def test_the_import_rule_catches_every_spelling_of_a_grader_import(tmp_path, line):
    leaky = tmp_path / "leaky.py"
    leaky.write_text(f"from autograder.protocol import encode\nfrom autograder import protocol\n{line}\n")
    assert _grader_imports(leaky)
    assert {p.name for p in SANDBOXED} >= {"zygote.py", "cleanroom.py"}
