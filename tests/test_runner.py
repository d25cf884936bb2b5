"""The runner as an instructor uses it: killed mid-batch and resumed, graded again, without bwrap, via a wrapper."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from redteam.corpus import CASES, Context, complete, expected_score, partial, write_case, zeros

from autograder import paths
from autograder.assignments import find_assignment
from autograder.protocol import Answer, Failure
from autograder.results import Result
from autograder.runner import _reason
from autograder.sandbox import resolve_mode
from autograder.worker import nbgrader_failure

NEURON = find_assignment("01_neuron")
LIMITS = ["--assignment", NEURON.name, "--timeout", "90", "--cell-timeout", "10", "--workers", "2"]
CLASS = {"ada": complete, "bob": partial, "cy": zeros, "dee": complete}
RULES = {complete: "full", partial: "full-minus:first", zeros: "zero"}

pytestmark = pytest.mark.xdist_group("grading")


def env(work: Path) -> dict[str, str]:
    return {**os.environ, "AUTOGRADER_WORK": str(work)}


def cli(work: Path, *args: str) -> subprocess.CompletedProcess:
    out = subprocess.run([sys.executable, "-m", "autograder", *args], capture_output=True, text=True, env=env(work),
                         cwd=paths.REPO)  # fmt: skip
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out


def results(work: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in (work / "results").glob(f"*/{NEURON.name}.json")}


def context(work: Path) -> Context:
    return Context(NEURON, NEURON.released(), paths.REPO, work, work.parent / "canaries", 9)


def write_class(root: Path) -> Path:
    ctx = context(root / "work")
    for student, answers in CLASS.items():
        folder = root / "submissions" / student / NEURON.name
        folder.mkdir(parents=True)
        nbformat.write(answers(ctx), folder / NEURON.path.name)
    return root / "submissions"


def gradebook_scores(work: Path) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{work / 'gradebook.db'}") as gb:
        return {s.student.id: float(s.score) for s in gb.find_assignment(NEURON.name).submissions}


def test_killed_mid_batch_resumes_without_losing_or_duplicating_grades(tmp_path):
    submissions, work = write_class(tmp_path), tmp_path / "work"
    grader = subprocess.Popen(
        [sys.executable, "-m", "autograder", "grade", "--submissions", str(submissions), *LIMITS],
        env=env(work), cwd=paths.REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 240
    while len(results(work)) < 2 and grader.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    family = psutil.Process(grader.pid).children(recursive=True)
    os.killpg(grader.pid, signal.SIGKILL)  # the grader's process group; workers run in their own sessions
    grader.wait()
    before = results(work)
    assert 2 <= len(before) < len(CLASS), "the kill should land mid-batch"
    gone, alive = psutil.wait_procs(family, timeout=15)
    assert not alive, f"workers or sandboxes outlived the grader: {[p.pid for p in alive]}"

    cli(work, "grade", "--submissions", str(submissions), *LIMITS)
    after = results(work)
    ctx = context(work)
    for student, answers in CLASS.items():
        assert after[student]["status"] == "graded"
        assert after[student]["score"] == expected_score(RULES[answers], ctx), student
    for student, r in before.items():  # graded before the kill: kept, not graded again
        assert after[student] == r
    assert gradebook_scores(work) == {s: r["score"] for s, r in after.items()}
    cli(work, "export", "--to", str(work / "grades.csv"))
    rows = list(csv.DictReader((work / "grades.csv").open()))
    assert sorted(r["student"] for r in rows) == sorted(CLASS)
    assert {r["student"]: float(r["score"]) for r in rows} == gradebook_scores(work)

    again = cli(work, "grade", "--submissions", str(submissions), *LIMITS)  # up to date: nothing graded again
    assert results(work) == after and "grading" not in again.stderr
    cli(work, "grade", "--submissions", str(submissions), *LIMITS, "--force", "--student", "ada", "bob")
    regraded = results(work)
    assert {s: r["cells"] for s, r in regraded.items()} == {s: r["cells"] for s, r in after.items()}
    assert gradebook_scores(work) == {s: r["score"] for s, r in regraded.items()}


def test_without_bwrap_it_warns_and_still_grades_and_verifies(tmp_path):
    """Resource limits only (--sandbox rlimits), through a wrapper command as ssh or srun would be."""
    ctx = context(tmp_path / "work")
    names = ("honest_complete", "patch_checks", "memory_bomb", "os_exit", "huge_output")
    chosen = [c for c in CASES if c.name in names]
    for case in chosen:
        write_case(case, tmp_path / "submissions", ctx)
    worker = f"env AUTOGRADER_VIA_WRAPPER=1 {sys.executable} -m autograder.worker"
    out = cli(ctx.work, "grade", "--submissions", str(tmp_path / "submissions"), *LIMITS, "--sandbox", "rlimits",
              "--worker-command", worker)  # fmt: skip
    assert "WARNING" in out.stderr and "resource limits only" in out.stderr
    got = results(ctx.work)
    for case in chosen:
        assert (got[case.name]["status"], got[case.name]["score"]) == (case.status, expected_score(case.rule, ctx))
        assert got[case.name]["sandbox"] == "rlimits"


def test_a_missing_bwrap_degrades_with_a_warning(monkeypatch):
    from autograder import sandbox

    sandbox.bwrap_problem.cache_clear()
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    try:
        mode, warning = resolve_mode("auto")
        assert mode == "rlimits" and "bubblewrap" in warning and "WITHOUT a sandbox" in warning
        with pytest.raises(sandbox.SandboxError):
            resolve_mode("bwrap")
    finally:
        sandbox.bwrap_problem.cache_clear()


def test_failure_reasons_are_worded_for_instructors():
    def reason(kind: Failure, detail: str = "") -> str:
        return _reason(Answer.failed(kind, detail))

    assert "endless loop" in reason(Failure.ENDLESS_LOOP, "cell 3 used more than 60 s of CPU time")
    many_cells = reason(Failure.CPU_LIMIT, "the notebook used more than 300 s of CPU time")
    assert "limit per notebook" in many_cells and "endless loop" not in many_cells
    assert "sleeps" in reason(Failure.WAITED, "cell 3 ran 600 s of wall time using 0.1 s of CPU time")
    assert "too busy" in reason(Failure.BUSY, "cell 3 ran 600 s of wall time using 20 s of CPU time")
    assert "kernel died" in reason(Failure.KERNEL_DIED)
    assert "fork bomb" in reason(Failure.PROCESS_LIMIT, "the notebook ran 127 processes and threads at once")
    assert "could not start" in reason(Failure.KERNEL_START)
    assert all(reason(kind, "what happened") for kind in Failure)  # every kind has its wording


def test_nbgraders_errors_are_read_once_into_failure_kinds():
    assert nbgrader_failure("RuntimeError: Kernel died before replying to kernel_info").failure is Failure.KERNEL_START
    assert nbgrader_failure("CellTimeoutError: Timeout waiting for IOPub output").failure is Failure.LATE_OUTPUT
    assert nbgrader_failure("nbclient.exceptions.DeadKernelError: Kernel died").failure is Failure.KERNEL_DIED
    unknown = nbgrader_failure("[ERROR] boom\nzmq.error.ZMQError: Address already in use\n")
    assert (unknown.failure, unknown.detail) == (Failure.UNKNOWN, "zmq.error.ZMQError: Address already in use")


def test_only_failures_that_are_not_the_notebooks_are_graded_again():
    machine = {Failure.KERNEL_START, Failure.LATE_OUTPUT, Failure.BUSY, Failure.HUNG, Failure.UNKNOWN}
    notebook = {Failure.KERNEL_DIED, Failure.CPU_LIMIT, Failure.ENDLESS_LOOP, Failure.WAITED, Failure.PROCESS_LIMIT}
    assert all(Answer.failed(kind, "").machine_failed for kind in machine)
    assert not any(Answer.failed(kind, "").machine_failed for kind in notebook)
    assert not Answer(success=True).machine_failed


def test_results_written_before_these_fields_still_load(tmp_path):
    old = {"student": "a", "assignment": "x", "notebook": "n", "status": "graded", "score": 1.0, "max_score": 2.0}
    assert Result(**old).flags == {} and Result(**old).sandbox == ""


def test_a_worker_started_early_is_the_one_that_grades(tmp_path, monkeypatch):
    """The worker started while the grader prepares stays alive: it asks to die with the thread that
    started it (PR_SET_PDEATHSIG), so a short-lived starting thread would get it killed and started twice."""
    from autograder.runner import _Worker

    monkeypatch.setenv("AUTOGRADER_WORK", str(tmp_path / "work"))
    (tmp_path / "work").mkdir()
    command = [sys.executable, "-m", "autograder.worker", "--slot", "0", "--sandbox", "rlimits"]
    worker = _Worker(tmp_path / "worker.log", command)
    worker.start_soon()
    worker._start_finished()  # the background wait for "ready" is over, and its thread has ended
    first = worker.proc
    try:
        time.sleep(1)  # the kernel's parent-death signal would have arrived by now
        assert first is not None and first.poll() is None, f"the early worker died: {first and first.returncode}"
    finally:
        worker.stop()
