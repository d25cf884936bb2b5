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

import base64
import hashlib
import importlib
import io
import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any

from nbformat import NotebookNode

from autograder import paths
from autograder.assignments import Assignment, nbgrader_meta
from autograder.sandbox import Sandbox

__all__ = ["RECORDED", "Reference", "Verdicts", "reference", "verify"]

RECORDED = ("course.checks",)
"""Modules whose ``assert_*`` calls are recorded in the clean room and re-checked here."""
RECHECKED = frozenset({"assert_close", "assert_equal", "assert_shape", "assert_true"})
"""Checks whose verdict depends only on the values passed (``assert_raises`` calls student code)."""
MAX_RESULT_BYTES = 64 * 2**20


class _Opaque:
    """A value that did not cross the sandbox boundary as plain data."""

    def __init__(self, what: str) -> None:
        self.what = what


def _transform(source: str) -> str:
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def _locked_or_solution(assignment: Assignment) -> dict[str, tuple[str, NotebookNode]]:
    """grade id -> ("locked" | "solution", source cell) for the source's code cells that are not tests."""
    found = {}
    for cell in assignment.nb.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type != "code" or not meta.get("grade_id") or meta.get("grade"):
            continue
        if meta.get("solution"):
            found[meta["grade_id"]] = ("solution", cell)
        elif meta.get("locked"):
            found[meta["grade_id"]] = ("locked", cell)
    return found


def _plan(
    assignment: Assignment,
    submission: NotebookNode,
    tests: list[str],
    cell_timeout: float,
    allowed: list[str] | None = None,
) -> dict:
    """Locked cells as the course wrote them and solution cells as submitted, in the submission's order."""
    known = _locked_or_solution(assignment)
    cells = []
    for cell in submission.cells:
        gid = nbgrader_meta(cell).get("grade_id")
        if cell.cell_type != "code" or gid not in known:
            continue
        kind, source_cell = known[gid]
        text = source_cell.source if kind == "locked" else cell.source
        cells.append({"id": gid, "kind": kind, "source": _transform(text)})
    return {
        "cells": cells,
        "tests": [{"id": t, "source": _transform(assignment.test_cells[t].source)} for t in tests],
        "record": list(RECORDED),
        "cell_timeout": cell_timeout,
        "allowed": allowed or [],
        "careful": allowed is None,
    }


def _run(sandbox: Sandbox, plan: dict, env: dict[str, str]) -> tuple[dict[str, dict | None], dict]:
    """Run `plan` in a wiped sandbox; (test id -> its record or None, summary)."""
    sandbox.wipe()
    plan = {**plan, "out": sandbox.inside("run/verify")}
    sandbox.write("run/plan.json", json.dumps(plan).encode())
    pid = sandbox.spawn("verify", [sandbox.inside("run/plan.json")], env, "run/verify.log")
    sandbox.wait_cpu(pid, (len(plan["cells"]) + len(plan["tests"]) + 2) * (plan["cell_timeout"] + 5))
    sandbox.kill_all()  # the run itself if it overran, and whatever the student's code left behind
    records = {t["id"]: _loads(sandbox.read(f"run/verify/{t['id']}.json", MAX_RESULT_BYTES)) for t in plan["tests"]}
    return records, _loads(sandbox.read("run/verify/summary.json", MAX_RESULT_BYTES)) or {}


def _loads(raw: bytes | None) -> dict | None:
    """A JSON object written in the sandbox, or None (missing, too large, not an object)."""
    try:
        data = json.loads(raw) if raw is not None else None
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    ((tag, payload),) = value.items()
    if tag == "list":
        return [_decode(v) for v in payload]
    if tag == "tuple":
        return tuple(_decode(v) for v in payload)
    if tag == "dict":
        return {_decode(k): _decode(v) for k, v in payload}
    if tag == "int":
        return int(payload)
    if tag == "float":
        return float(payload)
    if tag == "complex":
        return complex(float(payload[0]), float(payload[1]))
    if tag == "set":
        return {_decode(v) for v in payload}
    if tag == "dtype":
        import numpy as np

        return np.dtype(payload)
    if tag == "torch_dtype":
        import torch

        return getattr(torch, payload)
    if tag in ("ndarray", "scalar", "tensor"):
        import numpy as np

        array = np.lib.format.read_array(io.BytesIO(base64.b64decode(payload)), allow_pickle=False)
        if tag == "scalar":
            return array[()]
        if tag == "tensor":
            import torch

            return torch.from_numpy(array)
        return array
    return _Opaque(str(payload))


def _opaque_in(value: Any) -> str:
    if isinstance(value, _Opaque):
        return value.what
    if isinstance(value, list | tuple):
        return next((w for v in value if (w := _opaque_in(v))), "")
    if isinstance(value, dict):
        return next((w for k, v in value.items() if (w := _opaque_in(k) or _opaque_in(v))), "")
    return ""


def _recheck(call: dict) -> tuple[str, str]:
    """('pass' | 'fail' | 'error' | 'opaque', detail): the check re-run here on the recorded values."""
    module = next(m for m in (importlib.import_module(n) for n in RECORDED) if hasattr(m, call["fn"]))
    args, kwargs = _decode(call["args"]), _decode(call["kwargs"])
    if isinstance(kwargs.get("mistakes"), dict):  # only used to word the message
        kwargs["mistakes"] = {k: v for k, v in kwargs["mistakes"].items() if not _opaque_in(v)}
    if what := _opaque_in(args) or _opaque_in(kwargs):
        return "opaque", what
    try:
        getattr(module, call["fn"])(*args, **kwargs)
    except AssertionError as err:
        return "fail", str(err)
    except Exception as err:  # noqa: BLE001 - a check that crashes on the data is a disagreement
        return "error", f"{type(err).__name__}: {err}"
    return "pass", ""


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


def _judge(record: dict | None, ref: _TestReference) -> str:
    """'' if the clean run of one test confirms nbgrader's pass, else the reason it does not."""
    try:
        return _judge_record(record, ref)
    except (KeyError, TypeError, ValueError, AttributeError) as err:  # the record was written in the sandbox
        return f"its clean re-run left an unreadable record ({type(err).__name__})"


def _judge_record(record: dict | None, ref: _TestReference) -> str:
    if record is None:
        return "its clean re-run did not finish (time limit, crash or killed)"
    if not record["completed"]:
        return f"it fails when re-run cleanly: {record['error']}"
    if extra := sorted(set(record["changed"]) - set(ref.changed)):
        return f"while it ran, the submission's code replaced {', '.join(extra[:3])}"
    reached = {(c["fn"], c["line"]) for c in record["calls"]}
    if skipped := sorted({tuple(s) for s in ref.sites} - reached):
        return f"checks at line(s) {', '.join(str(line) for _, line in skipped[:5])} of the test never ran"
    opaque_ok = {tuple(s) for s in ref.opaque}
    for call in record["calls"]:
        if call["fn"] not in RECHECKED:
            continue
        verdict, detail = _recheck(call)
        if verdict == "opaque":
            if (call["fn"], call["line"]) not in opaque_ok:
                return f"{call['fn']} at line {call['line']} compared a {detail}, which is not plain data"
        elif verdict != call["outcome"]:
            said = f"{call['fn']} at line {call['line']} said {call['outcome']} in the kernel"
            return f"{said}, {verdict} on its values: {detail}"[:400]
    return ""


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
        ref = Reference({})
        for test in tests:
            record = records.get(test) or {"calls": [], "changed": []}
            calls = [c for c in record["calls"] if c["fn"] in RECHECKED]
            found = _TestReference(
                usable=True,
                sites=sorted({(c["fn"], c["line"]) for c in record["calls"]}),
                opaque=sorted({(c["fn"], c["line"]) for c in calls if _recheck(c)[0] == "opaque"}),
                changed=sorted(record["changed"]),
            )
            found.why = _judge(records.get(test), found)
            found.usable = not found.why
            ref.tests[test] = found
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
    if isinstance(patched := summary.get("patched"), list) and patched:
        names = ", ".join(str(p) for p in patched[:5])
        out.notes.append(f"the submission replaced {names}; undone before the tests were re-run")
    return out
