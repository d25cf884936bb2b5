"""The split clean room: tests run in a process (the tester) that never runs student code.

No sandbox is needed: the calls between the tester and the student process are tested over
pipes in this process (a thread plays the student process), and the clean room itself runs in a
subprocess. The red-team case reads raw memory with numpy (no audit event, no ctypes): it finds
the hidden test and the sealing key when the tests run beside student code, and nothing when
they run split.
"""

import secrets
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest
import torch
from redteam.heap_scan import HEAP_SCAN
from split_ends import open_ends

from autograder.protocol import (
    NO_TESTER,
    Budget,
    CellKind,
    Plan,
    PlanCell,
    PlanTest,
    ProtocolError,
    RemoteCall,
    RemoteResult,
    Summary,
    TesterPlan,
    TestRecord,
    conceal,
    decode,
    encode,
    seal,
    unseal,
)
from autograder.sandboxed import split
from autograder.verify import RECORDED, _judge, _TestReference, calibrate, needed_cells, read_records
from course.byhand import ForbiddenCall

# the calls, over pipes -------------------------------------------------------------------------------

STUDENT = """
import numpy as np

def double(x):
    return 2 * x

def scale_in_place(x, factor):
    x *= factor

def fails(kind):
    raise {"value": ValueError, "key": KeyError, "custom": type("MyError", (Exception,), {}),
           "shape": type("ShapeError", (ValueError,), {})}[kind]("said so")

def uses_tanh(z):
    return np.tanh(z)

def apply(f, z):
    return f(z) + 1

class Counter:
    def __init__(self):
        self.n = 0
    def __call__(self):
        self.n += 1
        return self.n

def make_counter():
    return Counter()

def call_it(c):
    return c()

threshold = 0.5
"""


@pytest.fixture
def client():
    """A tester's client wired to a student side (on a thread) that runs STUDENT's names."""
    with open_ends("import numpy as np", STUDENT) as (client, _):
        client.ns = client.namespace
        yield client


def test_the_student_names_cross_as_remote_functions_and_data(client):
    assert sorted(n for n, v in client.ns.items() if isinstance(v, split.Remote)) == [
        "Counter", "apply", "call_it", "double", "fails", "make_counter", "scale_in_place", "uses_tanh",
    ]  # fmt: skip
    assert client.ns["threshold"] == 0.5
    assert client.ns["np"] is np, "a locked name is the tester's own (from its locked cell), never the student's"


def test_data_crosses_both_ways_exactly(client):
    double = client.ns["double"]
    assert double(21) == 42
    out = double(np.arange(3.0))
    assert isinstance(out, np.ndarray) and out.tolist() == [0.0, 2.0, 4.0]
    t = double(torch.ones(2, dtype=torch.float64))
    assert isinstance(t, torch.Tensor) and t.dtype == torch.float64 and t.tolist() == [2.0, 2.0]
    assert double((1, "a")) == (1, "a", 1, "a")


def test_exceptions_come_back_as_builtin_types_with_their_message(client):
    fails = client.ns["fails"]
    with pytest.raises(ValueError, match="said so"):
        fails("value")
    with pytest.raises(KeyError):
        fails("key")
    with pytest.raises(Exception, match="said so") as caught:
        fails("custom")
    assert type(caught.value) is Exception
    with pytest.raises(ValueError, match="said so"):  # assert_raises(ValueError, ...) passes, as in one process
        fails("shape")
    forged = split._exception("HiddenTestLeak", "said so")  # a name no sender sends: a plain Exception
    assert type(forged) is Exception and str(forged) == "said so"


def test_by_hand_runs_in_the_student_process_with_the_forbidden_list(client):
    by_hand = client.by_hand(lambda *a, **k: pytest.fail("the tester's by_hand is never called for a Remote"))
    z = np.linspace(-1, 1, 5)
    assert np.allclose(by_hand(client.ns["uses_tanh"], z, forbidden=["torch.tanh"]), np.tanh(z))
    with pytest.raises(ForbiddenCall, match="uses_tanh calls numpy.tanh"):
        by_hand(client.ns["uses_tanh"], z, forbidden=["numpy.tanh"])


def test_arguments_changed_in_place_are_changed_in_the_tester_too(client):
    x = np.ones(3)
    assert client.ns["scale_in_place"](x, 3.0) is None
    assert x.tolist() == [3.0, 3.0, 3.0]


def test_a_function_of_the_test_is_called_back_in_the_tester(client):
    seen = []

    def activation(z):
        seen.append(z.copy())
        return z * 10

    assert client.ns["apply"](activation, np.array([1.0, 2.0])).tolist() == [11.0, 21.0]
    assert [s.tolist() for s in seen] == [[1.0, 2.0]], "the tester's function ran here, on the data"
    assert client.ns["apply"](np.exp, np.array([0.0])).tolist() == [2.0], "library functions cross by name"


def test_a_result_that_is_not_data_stays_behind_as_a_handle(client):
    counter = client.ns["make_counter"]()
    assert isinstance(counter, split.Remote)
    assert client.ns["call_it"](counter) == 1 and counter() == 2, "the same object, called there"
    assert counter.n == 2, "its attributes are read there (tests/test_split_objects.py)"


def test_an_object_that_cannot_cross_fails_the_call():
    with pytest.raises(TypeError, match="cannot be passed"):
        split._Peer(None, {}, 30, 30).encode_arguments([threading.Lock()], {})


def test_the_tester_never_resolves_names_the_student_process_sends(client):
    for tag in ("ref", "name"):
        with pytest.raises(ProtocolError):
            client.decode({tag: "os.system"})
    client.namespace["helper"] = lambda: "the tester's"
    answer = client.answer(RemoteCall(1, "helper", {"list": []}, {"dict": []}))
    assert answer.error_type == "RuntimeError" and not answer.value, "only handles the tester sent can be called"


def test_a_concealed_record_reads_back_only_under_its_key_and_label():
    key, text = secrets.token_hex(32), '{"expected": 0.25}'
    raw = conceal(text, key, "t")
    assert b"expected" not in raw and unseal(raw, key, "t") == text.encode()
    mac, _, body = raw.partition(b"\n")
    for forged in (conceal(text, secrets.token_hex(32), "t"), conceal(text, key, "u"), mac + b"\n" + body[:-1] + b"x"):
        with pytest.raises(ProtocolError):
            unseal(forged, key, "t")


def test_the_new_tags_are_refused_in_records():
    for tag in ("remote", "tester", "ref", "name"):
        with pytest.raises(ProtocolError):
            decode({"list": [{tag: "x"}]})
    handles = []
    assert encode([object()], Budget(100), lambda v: handles.append(v) or {"remote": "#0"}) == {
        "list": [{"remote": "#0"}]
    }


def test_the_messages_round_trip():
    call = RemoteCall(3, "double", {"list": [1]}, {"dict": []}, True, ["numpy.tanh"], ["step"])
    assert RemoteCall.from_json(call.to_json()) == call
    result = RemoteResult(3, value=2, written={"0": {"list": []}}, cpu=0.5)
    assert RemoteResult.from_json(result.to_json()) == result
    plan = TesterPlan(cells=[PlanCell("a", CellKind.LOCKED, "x = 1")], tests=[], record=[], cell_timeout=1.0)
    assert TesterPlan.from_json(plan.to_json()) == plan
    with pytest.raises(ProtocolError):
        RemoteResult.from_json(call.to_json())


# what the grader plans and accepts ---------------------------------------------------------------


def test_the_tester_runs_only_the_locked_cells_its_tests_read():
    cells = [
        PlanCell("setup", CellKind.LOCKED, "import numpy as np\nfrom course import checks"),
        PlanCell("helpers", CellKind.LOCKED, "def ref(z):\n    return np.tanh(z)"),
        PlanCell("demo", CellKind.LOCKED, "losses = train(model)\nplt.plot(losses)"),
        PlanCell("plot", CellKind.LOCKED, "plt.show()"),
        PlanCell("star", CellKind.LOCKED, "from math import *"),
    ]
    kept = needed_cells(cells, ["checks.assert_close(yours(f, 1), ref(1))"])
    assert [c.id for c in kept] == ["setup", "helpers", "star"]


def _record(completed: bool = True) -> bytes:
    return TestRecord(completed=completed, error="", calls=[], changed=[]).to_json().encode()


def test_a_test_runs_split_when_the_solution_passes_it_there():
    records = {"a": _record(), "b": _record()}
    in_tester = {"a": _record(), "b": _record(completed=False)}
    ref = calibrate(records, in_tester, ["a", "b"], split_changed=["torch.x"])
    assert ref.split() == ["a"] and ref.usable("b") and not ref.tests["b"].split
    assert ref.tests["a"].changed == ["torch.x"]


def _failed(error: str) -> bytes:
    return TestRecord(completed=False, error=error, calls=[], changed=[]).to_json().encode()


def test_a_split_failure_that_one_process_does_not_confirm_is_held_for_review_with_no_points():
    from autograder.verify import ONLY_BESIDE, _passed_only_beside

    torch_wrapper = TestRecord(completed=True, error="", calls=[], changed=["torch.nn.functional.x"])
    beside_solution = {"a": torch_wrapper.to_json().encode()}  # what the solution changes beside the test
    ref = calibrate(beside_solution, {t: _record() for t in "abcdef"}, list("abcdef"))
    assert ref.tests["a"].beside_changed == ["torch.nn.functional.x"] and ref.tests["a"].changed == []
    records = {
        "a": _failed("AttributeError: the tester hands no private attribute"),  # passes beside: held
        "b": _failed("ValueError: wrong shape"),  # fails beside too: keeps its error
        "c": _failed("NotImplementedError: "),  # the stub: not run again
        "d": _record(),  # passed split
        "e": None,  # did not finish: not run again
        "f": _failed("CellTimeoutError: used more than 5 s of CPU time (the per-cell limit)"),  # nor out of time
    }
    asked = []

    def beside(tests: list[str]) -> dict:
        asked.extend(tests)
        return {"a": torch_wrapper.to_json().encode(), "b": _failed("ValueError: wrong shape")}

    held = _passed_only_beside(records, list("abcdef"), ref, beside)
    assert asked == ["a", "b"]
    assert held == {"a": f"{ONLY_BESIDE} it failed with AttributeError: the tester hands no private attribute"}
    replaced = TestRecord(completed=True, error="", calls=[], changed=["course.checks.assert_close"])
    forged = {"a": replaced.to_json().encode()}
    assert _passed_only_beside(records, ["a"], ref, lambda tests: forged) == {}, "what one process does not confirm"
    assert _passed_only_beside({"d": _record()}, ["d"], ref, beside) == {} and asked == ["a", "b"], "no failure, no run"


def test_a_split_tests_record_is_accepted_only_under_the_testers_key():
    key, tester_key = secrets.token_hex(32), secrets.token_hex(32)
    body = TestRecord(completed=True, error="", calls=[], changed=[]).to_json()
    files = {
        "verify/t.json": seal(body, key, "t").encode(),  # the student process holds `key`
        "tester/t.json": seal(body, key, "t").encode(),
        "verify/summary.json": seal(Summary().to_json(), key, "summary").encode(),
    }
    records, _ = read_records(files.get, ["t"], key, tester_key, ["t"])
    assert isinstance(records["t"], ProtocolError), "forged with the student process's key"
    files["tester/t.json"] = seal(body, tester_key, "t").encode()
    records, _ = read_records(files.get, ["t"], key, tester_key, ["t"])
    assert records["t"] == body.encode()
    records, _ = read_records(files.get, ["t"], key, "", ["t"])
    assert isinstance(records["t"], ProtocolError), "no tester key, no split record"


# the clean room, and the red-team case ----------------------------------------------------------------

SETUP = PlanCell(
    "setup", CellKind.LOCKED, "import numpy as np\nfrom course import checks\nfrom course.byhand import by_hand"
)
SECRET = "0.8807970779778823"
TEST = PlanTest(
    "sigmoid_test",
    textwrap.dedent(f"""\
        forbidden = []
        yours = lambda fn, *args, **kwargs: by_hand(fn, *args, forbidden=forbidden, **kwargs)
        checks.assert_close(yours(sigmoid, np.array([0.0])), np.array([0.5]), name="sigmoid(0)")
        ### BEGIN HIDDEN TESTS
        checks.assert_close(yours(sigmoid, np.array([2.0])), np.array([{SECRET}]), name="hidden sigmoid(2)")
        ### END HIDDEN TESTS
        """),
)

MEMORY_SCAN = (
    HEAP_SCAN
    + """
import numpy as np

def sigmoid(z):
    lines, keys = _heap_scan()
    if lines:  # the test's error line is the student's to write: it shows in the feedback
        raise ValueError(f"hidden: {lines[0]} | keys: {' '.join(sorted(keys))}")
    return 1 / (1 + np.exp(-np.asarray(z, dtype=float)))
"""
)


def _clean_room(tmp_path, solution: str, test: PlanTest, split_mode: bool) -> tuple[TestRecord, dict[str, str]]:
    """Run one test on `solution` in the clean room (split or not); its record, unsealed, and the run's keys."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    plan = Plan(
        cells=[SETUP, PlanCell("sigmoid", CellKind.SOLUTION, solution)],
        tests=[] if split_mode else [test],
        record=list(RECORDED),
        cell_timeout=60,
        allowed=[],
        careful=False,
        out=str(tmp_path / "verify"),
        key=secrets.token_hex(32),
    )
    keys, argv = {"student": plan.key}, [str(tmp_path / "plan.json")]
    if split_mode:
        tester = TesterPlan(
            cells=[SETUP], tests=[test], record=list(RECORDED), cell_timeout=60,
            out=str(tmp_path / "tester"), key=secrets.token_hex(32),
        )  # fmt: skip
        (tmp_path / "tester.json").write_text(tester.to_json())
        keys["tester"] = tester.key
        argv.append(str(tmp_path / "tester.json"))
    (tmp_path / "plan.json").write_text(plan.to_json())
    run = [sys.executable, "-c", "import sys; from autograder.sandboxed import cleanroom; cleanroom.main(sys.argv[1:])"]
    done = subprocess.run([*run, *argv], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert not (tmp_path / "tester.json").exists() and not (tmp_path / "plan.json").exists(), "plans are deleted"

    def read(path: str) -> bytes | None:
        file = tmp_path / path
        return file.read_bytes() if file.exists() else None

    every = [test.id]
    if split_mode:
        assert b"hidden sigmoid(2)" not in read(f"tester/{test.id}.json"), "the tester's records are encrypted"
    records, _ = read_records(read, every, keys["student"], keys.get("tester", ""), every if split_mode else [])
    raw = records[test.id]
    assert isinstance(raw, bytes), raw
    return TestRecord.from_json(raw), keys


def test_a_memory_scan_reads_the_hidden_test_and_key_beside_student_code_but_not_when_split(tmp_path):
    record, keys = _clean_room(tmp_path / "one", MEMORY_SCAN, TEST, split_mode=False)
    assert not record.completed and SECRET in record.error, "the attack is real: the hidden line leaked"
    assert keys["student"] in record.error, "and so did the key that seals the record"

    record, keys = _clean_room(tmp_path / "split", MEMORY_SCAN, TEST, split_mode=True)
    assert SECRET not in record.error and keys["tester"] not in record.error
    assert record.completed and not record.error, "nothing found: the student's sigmoid answered honestly"
    assert {c.fn for c in record.calls} == {"assert_close"} and len(record.calls) == 2
    reference = _TestReference(usable=True, sites=[("assert_close", 3), ("assert_close", 5)])
    assert _judge(record.to_json().encode(), reference) == ""


def test_a_split_test_fails_as_it_would_beside_student_code(tmp_path):
    wrong = "import numpy as np\ndef sigmoid(z):\n    raise ValueError('not yet')"
    record, _ = _clean_room(tmp_path / "wrong", wrong, TEST, split_mode=True)
    assert not record.completed and record.error.startswith("ValueError: not yet")
    forbidden = TEST.source.replace("forbidden = []", 'forbidden = ["numpy.exp"]')
    honest = "import numpy as np\ndef sigmoid(z):\n    return 1 / (1 + np.exp(-z))"
    record, _ = _clean_room(tmp_path / "forbidden", honest, PlanTest(TEST.id, forbidden), split_mode=True)
    assert record.error.startswith("ForbiddenCall: sigmoid calls numpy.exp"), record.error


def test_patching_the_checks_in_the_student_process_cannot_touch_a_split_test():
    from autograder.verify import _matters_to_split_tests

    assert not _matters_to_split_tests("course.checks.assert_close")
    assert not _matters_to_split_tests("__code__ of course.checks.assert_close")
    assert _matters_to_split_tests("course.byhand._Watch.match")
    assert _matters_to_split_tests("numpy.tanh") and _matters_to_split_tests("the name conv_reference")


def test_a_tester_that_dies_before_it_is_ready_is_the_graders_failure_and_no_cell_runs(tmp_path):
    """No wall clock waits for the tester; if it dies first (here: its plan is unreadable), the clean
    room runs nothing and exits with NO_TESTER, which the worker reports as a failure to grade again."""
    canary = tmp_path / "ran"
    solution = f"open({str(canary)!r}, 'w').close()\ndef sigmoid(z):\n    return z"
    plan = Plan(
        cells=[SETUP, PlanCell("sigmoid", CellKind.SOLUTION, solution)], tests=[], record=list(RECORDED),
        cell_timeout=60, allowed=[], careful=False, out=str(tmp_path / "verify"), key=secrets.token_hex(32),
    )  # fmt: skip
    (tmp_path / "plan.json").write_text(plan.to_json())
    run = [sys.executable, "-c", "import sys; from autograder.sandboxed import cleanroom; cleanroom.main(sys.argv[1:])"]
    done = subprocess.run([*run, str(tmp_path / "plan.json"), str(tmp_path / "missing.json")], capture_output=True)
    assert done.returncode == NO_TESTER, done.stderr[-2000:]
    assert not canary.exists() and not (tmp_path / "plan.json").exists() and not (tmp_path / "verify").exists()
