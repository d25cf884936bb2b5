"""The red-team corpus (tests/redteam/corpus.py) graded in one batch through the CLI, in the bwrap sandbox.

Each case must get its rule's score and status; honest students must get in the batch exactly
what they get alone; no feedback file may show hidden-test text; nothing may be written
outside the sandbox or read over the network. Small limits (5 CPU seconds per cell, 60 per
notebook) keep the whole batch to a few minutes on 2 cores. The batch is graded with two CPU
hogs running beside it and the honest students alone on an idle machine: limits count CPU time,
so the grades are the same. A results table is printed (``pytest -s``).
"""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import CpuHogs
from redteam.corpus import CASES, Context, expected_score, write_case

from autograder import paths
from autograder.assignments import find_assignment
from autograder.report import hidden_test_lines
from autograder.sandbox import bwrap_problem
from autograder.verify import ONLY_BESIDE

NEURON = find_assignment("01_neuron")
HONEST = ("honest_complete", "honest_partial")
LIMITS = ["--timeout", "60", "--cell-timeout", "5", "--workers", "2"]
HOST_LEAKS = [
    Path("/tmp/redteam-leak.json"),
    Path("/tmp/_redteam_canary.txt"),
    paths.REPO / "course" / "_redteam_canary.py",
]

NO_SANDBOX = bwrap_problem()
pytestmark = [
    pytest.mark.xdist_group("grading"),
    pytest.mark.skipif(
        NO_SANDBOX is not None,
        reason=f"WARNING: no sandbox here ({NO_SANDBOX}); the red-team corpus needs bwrap: apt-get install bubblewrap",
    ),
]


def cli(work: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "AUTOGRADER_WORK": str(work)}
    command = [sys.executable, "-m", "autograder", *args]
    out = subprocess.run(command, capture_output=True, text=True, env=env, cwd=paths.REPO)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out


def results(work: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in (work / "results").glob(f"*/{NEURON.name}.json")}


class SolutionServer:
    """A TCP port on the host's loopback that hands the solutions to anyone who connects."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        answers = {c.get("id"): c.source for c in NEURON.nb.cells if c.cell_type == "code"}
        self.payload = json.dumps(answers).encode()
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self) -> None:
        while True:
            conn, _ = self.sock.accept()
            self.connections += 1
            with conn:
                conn.sendall(self.payload)


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    for leak in HOST_LEAKS:
        leak.unlink(missing_ok=True)
    root = tmp_path_factory.mktemp("redteam")
    server = SolutionServer()
    ctx = Context(NEURON, NEURON.released(), paths.REPO, root / "work", root / "canaries", server.port)
    ctx.canaries.mkdir()
    for case in CASES:
        write_case(case, root / "submissions", ctx)
        if case.name in HONEST:
            write_case(case, root / "alone", ctx)
    cli(root / "solo", "grade", "--submissions", str(root / "alone"), "--assignment", NEURON.name, *LIMITS)
    hogs = CpuHogs(2)
    try:
        graded = cli(ctx.work, "grade", "--submissions", str(root / "submissions"), "--assignment", NEURON.name,
                     *LIMITS)  # fmt: skip
    finally:
        hogs.stop()
    return ctx, server, root, graded.stdout


def test_every_case_gets_its_rule(batch):
    ctx, _, _, _ = batch
    got = results(ctx.work)
    rows, wrong = [], []
    for case in CASES:
        r = got.get(case.name)
        want = expected_score(case.rule, ctx)
        ok = r is not None and r["status"] == case.status and abs(r["score"] - want) < 1e-9
        rows.append((case.name, f"{case.status} {want:g} ({case.rule})", f"{r['status']} {r['score']:g}" if r else "-",
                     r["reason"] if r else "no result", "ok" if ok else "WRONG"))  # fmt: skip
        if not ok:
            wrong.append(case.name)
    width = max(len(r[0]) for r in rows)
    print(f"\n{'case':<{width}}  {'expected':<28}  {'got':<12}  verdict  reason")
    for name, want, have, reason, verdict in rows:
        print(f"{name:<{width}}  {want:<28}  {have:<12}  {verdict:<7}  {reason[:110]}")
    assert not wrong, f"wrong score or status: {wrong}"
    assert len(got) == len(CASES)


def test_reasons_say_what_happened(batch):
    ctx, _, _, _ = batch
    got = results(ctx.work)
    assert "sleeps" in got["sleeps_forever"]["reason"], got["sleeps_forever"]["reason"]
    assert "CPU time" in got["loop_ignores_interrupt"]["reason"], got["loop_ignores_interrupt"]["reason"]
    assert "calls torch.nn.functional.sigmoid" in got["library_shortcut"]["reason"], got["library_shortcut"]["reason"]
    assert not [name for name, r in got.items() if "grade again" in r["reason"]], "no failure may be the machine's"


def test_honest_students_get_what_they_get_alone(batch):
    _, _, root, _ = batch
    alone, together = results(root / "solo"), results(root / "work")
    for name in HONEST:
        assert together[name]["cells"] == alone[name]["cells"], name
        assert together[name]["flags"] == {} and alone[name]["status"] == "graded"


def _calibration() -> dict[str, dict]:
    """How each test of the batch's notebook runs in the clean room (test id -> its calibration)."""
    return json.loads(next(paths.calibrations().glob(f"{NEURON.name}-*-5s-*.json")).read_text())


def test_the_clean_room_says_what_it_undid_and_what_it_did_not_confirm(batch):
    """The tests run only in the clean room, after every patch the cells made is undone: the notes
    name the patches still in place then, and a test whose own run was tampered with scores 0 with
    the reason, for review."""
    ctx, _, _, _ = batch
    got = results(ctx.work)
    for name in ("patch_checks", "rebind_checks", "library_shortcut_unwatched"):
        assert any("undone before the tests were run" in note for note in got[name]["notes"]), name
    flags = got["calltime_patch"]["flags"]
    if _calibration()["sigmoid_test"]["split"]:
        # the checks run in the tester, which the disarm (in the student process) cannot reach:
        # the test simply fails on the wrong answers that follow the first call
        assert not flags and got["calltime_patch"]["cells"]["sigmoid_test"] == 0, flags
    else:
        assert list(flags) == ["sigmoid_test"] and "never ran" in flags["sigmoid_test"], flags


def test_a_split_test_passed_only_beside_the_submission_is_held_for_review(batch):
    """Answers right only where they can read the test run apart from it and fail in the tester: every
    split test runs again in one process, passes there, and is held for review with no points."""
    ctx, _, _, _ = batch
    got = results(ctx.work)["right_only_beside_tests"]
    split = [t for t, ref in _calibration().items() if ref["split"]]
    assert split and sorted(got["flags"]) == sorted(split), got["flags"]
    assert all(ONLY_BESIDE in why and "no test beside me" in why for why in got["flags"].values()), got["flags"]
    assert all(got["cells"][t] == 0 for t in split), got["cells"]


def test_feedback_never_shows_hidden_tests(batch):
    ctx, _, _, _ = batch
    cli(ctx.work, "feedback")  # raises (non-zero exit) if a file would show hidden-test text
    hidden = hidden_test_lines(NEURON)
    files = list((ctx.work / "feedback").glob(f"*/{NEURON.name}/*.html"))
    assert len(files) == sum(1 for r in results(ctx.work).values() if r["status"] == "graded")
    for f in files:
        text = " ".join(f.read_text(errors="replace").split())
        assert not [line for line in hidden if line in text], f.parent.parent.name


def test_nothing_escapes_the_sandbox(batch):
    ctx, server, _, _ = batch
    assert server.connections == 0
    assert not list(ctx.canaries.iterdir())
    assert not (ctx.work / "results" / "_redteam_canary.json").exists()
    assert [p for p in HOST_LEAKS if p.exists()] == []


def test_output_is_capped_and_csv_agrees(batch):
    ctx, _, _, _ = batch
    notebook = ctx.work / "autograded" / "huge_output" / NEURON.name / NEURON.path.name
    assert notebook.stat().st_size < 20 * 2**20
    cli(ctx.work, "export", "--to", str(ctx.work / "grades.csv"))
    rows = {r["student"]: r for r in csv.DictReader((ctx.work / "grades.csv").open())}
    for name, r in results(ctx.work).items():
        assert float(rows[name]["score"]) == pytest.approx(r["score"]) and rows[name]["status"] == r["status"]
