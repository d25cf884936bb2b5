"""What a submission cannot reach in the clean room: the records it writes, and the tests' variables.

The clean room runs in a subprocess here (no sandbox needed). Its records are sealed with the
run's key: a submission whose solution cell writes a perfect record itself (or replays an honest
run's) and exits is refused. And each test runs in a copy of the namespace, so the student's
functions cannot read a test's expected value from ``globals()``.
"""

import secrets
import subprocess
import sys

from autograder.protocol import CellKind, Plan, PlanCell, PlanTest, ProtocolError, seal, unseal
from autograder.verify import RECORDED, _judge, _TestReference, _unsealed

TEST = PlanTest("double_test", "checks.assert_close(double(1.0), 2.0, name='double(1)')")
SETUP = PlanCell("setup", CellKind.LOCKED, "from course import checks")


def _clean_room(tmp_path, solution: str, test: PlanTest = TEST) -> tuple[bytes | None, str]:
    """Run one plan in the clean room; (the test's record file as written, the run's key)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    out, key = tmp_path / "verify", secrets.token_hex(32)
    plan = Plan(
        cells=[SETUP, PlanCell("double", CellKind.SOLUTION, solution)],
        tests=[test],
        record=list(RECORDED),
        cell_timeout=30,
        allowed=[],
        careful=False,
        out=str(out),
        key=key,
    )
    (tmp_path / "plan.json").write_text(plan.to_json())
    run = [sys.executable, "-c", "import sys; from autograder.sandboxed import cleanroom; cleanroom.main(sys.argv[1:])"]
    done = subprocess.run([*run, str(tmp_path / "plan.json")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    record = out / f"{test.id}.json"
    return (record.read_bytes() if record.exists() else None), key


def test_seal_round_trip_and_refusals():
    key = secrets.token_hex(32)
    assert unseal(seal('{"a": 1}', key, "t").encode(), key, "t") == b'{"a": 1}'
    other_key, tampered = seal('{"a": 1}', secrets.token_hex(32), "t"), seal('{"a": 1}', key, "t") + " "
    other_test = seal('{"a": 1}', key, "u")
    for forged in (b'{"a": 1}', other_key.encode(), tampered.encode(), other_test.encode()):
        assert isinstance(_unsealed(forged, key, "t"), ProtocolError), forged


def test_a_record_the_submission_writes_itself_is_refused(tmp_path):
    honest, key = _clean_room(tmp_path / "honest", "def double(x):\n    return 2 * x")
    body = unseal(honest, key, TEST.id)
    reference = _TestReference(usable=True, sites=[("assert_close", 1)])
    assert _judge(body, reference) == "", "the honest record is accepted"

    forger = (
        "import os\n"
        "def double(x):\n    return 0.0\n"
        f"os.makedirs({str(tmp_path / 'forged' / 'verify')!r}, exist_ok=True)\n"
        f"with open({str(tmp_path / 'forged' / 'verify' / (TEST.id + '.json'))!r}, 'wb') as f:\n"
        f"    f.write({body!r})\n"
        "os._exit(0)\n"
    )
    forged, key = _clean_room(tmp_path / "forged", forger)
    assert forged == body, "the forgery reached the record file"
    assert _judge(body, reference) == "", "without the seal, the forged record would pass"
    assert "not written by the clean room" in _judge(_unsealed(forged, key, TEST.id), reference)


def test_a_students_function_cannot_read_the_tests_variables(tmp_path):
    test = PlanTest("double_test", "expected = 2.0\nchecks.assert_close(double(1.0), expected, name='double(1)')")
    peeking = "def double(x):\n    return globals().get('expected', 0.0)"
    record, key = _clean_room(tmp_path, peeking, test)
    why = _judge(unseal(record, key, test.id), _TestReference(usable=True, sites=[("assert_close", 2)]))
    assert why.startswith("it fails when re-run cleanly: AssertionError"), why


def test_a_students_function_cannot_swap_a_recorded_check_for_a_no_op(tmp_path):
    # assert_raises is judged in the clean room (it calls student code), so its recorder must hold.
    test = PlanTest("strict_test", "strict(1.0)\nchecks.assert_raises(ValueError, strict, -1.0, name='strict(-1)')")
    tampering = (
        "def strict(x):\n"
        "    import course.checks as c\n"
        "    for cell in getattr(c.assert_raises, '__closure__', None) or ():\n"
        "        if getattr(cell.cell_contents, '__name__', '') == 'assert_raises':\n"
        "            cell.cell_contents = lambda *args, **kwargs: None\n"
        "    return x\n"
    )
    record, key = _clean_room(tmp_path, tampering, test)
    why = _judge(unseal(record, key, test.id), _TestReference(usable=True, sites=[("assert_raises", 2)]))
    assert why.startswith("it fails when re-run cleanly: AssertionError: strict(-1) should raise"), why
