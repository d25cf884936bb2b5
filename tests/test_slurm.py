"""Grading through Slurm: a one-node cluster started here (Debian's slurm-wlm and munge), workers as ``srun`` steps.

The batch gets the scores the rules give (the same as local grading, ``tests/test_runner.py``), and
nothing it started on the cluster outlives the grader: not when it ends, not when it is killed.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from redteam.corpus import complete, expected_score
from services import slurm_cluster, slurm_missing
from test_runner import CLASS, LIMITS, NEURON, RULES, context, write_class

from autograder import paths

pytestmark = [
    pytest.mark.xdist_group("grading"),
    pytest.mark.skipif(bool(slurm_missing()), reason=slurm_missing() or "-"),
]

SRUN = "srun --quiet --ntasks=1 --cpus-per-task=1 --job-name=autograder " + shlex.quote(sys.executable)
SRUN += " -m autograder.worker"


@pytest.fixture(scope="module")
def cluster():
    with slurm_cluster() as env:
        yield env


class StepProcesses:
    """Every process that ran under a Slurm job step while watched (sampled in a thread): workers, sandboxes, kernels.

    Other tests may grade on this machine at the same time; only what ran under ``slurmstepd`` counts.
    """

    def __init__(self) -> None:
        self.seen: dict[tuple[int, float], str] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        while not self.stop.wait(0.1):
            for step in [p for p in psutil.process_iter(["name"]) if p.info["name"] == "slurmstepd"]:
                try:
                    for child in step.children(recursive=True):
                        self.seen[child.pid, child.create_time()] = " ".join(child.cmdline())[:120]
                except psutil.Error:
                    continue

    def close(self) -> None:
        self.stop.set()
        self.thread.join()

    def sandboxes(self) -> int:
        return sum("bwrap" in line for line in list(self.seen.values()))

    def alive(self) -> list[str]:
        left = []
        for (pid, created), line in list(self.seen.items()):
            try:
                if psutil.Process(pid).create_time() == created:
                    left.append(f"process {pid}: {line}")
            except psutil.Error:
                pass
        return left


def _left(env: dict[str, str], watched: StepProcesses, bound: float = 120.0) -> list[str]:
    """Jobs, steps and step processes still there once they had `bound` wall seconds to stop (polled)."""
    deadline = time.monotonic() + bound
    while True:
        queue = subprocess.run(["squeue", "-h", "-o", "%i %j %T"], capture_output=True, text=True, env=env).stdout
        steps = subprocess.run(["squeue", "-h", "-s", "-o", "%i %j"], capture_output=True, text=True, env=env).stdout
        left = [f"job {j}" for j in queue.splitlines() if j.strip()] + [
            f"step {s}" for s in steps.splitlines() if s.strip()
        ]
        left += watched.alive()
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.5)


def _grader(submissions: Path) -> list[str]:
    return [sys.executable, "-m", "autograder", "grade", "--submissions", str(submissions), *LIMITS,
            "--worker-command", SRUN]  # fmt: skip


@pytest.fixture
def watched():
    """The step-process watcher, stopped after the test (its thread must not outlive it)."""
    watcher = StepProcesses()
    yield watcher
    watcher.close()


def test_a_batch_through_srun_gets_the_local_scores_and_leaves_nothing(cluster, watched, tmp_path):
    work = tmp_path / "work"
    submissions = write_class(tmp_path)
    env = {**cluster, "AUTOGRADER_WORK": str(work)}
    out = subprocess.run(_grader(submissions), capture_output=True, text=True, env=env, cwd=paths.REPO)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert watched.sandboxes() > 0, "no sandbox ran under a job step"
    assert _left(cluster, watched) == [], "the grader ended but left work on the cluster"
    ctx = context(work)
    for student, answers in CLASS.items():
        result = json.loads((work / "results" / student / f"{NEURON.name}.json").read_text())
        assert result["status"] == "graded", result
        assert result["score"] == expected_score(RULES[answers], ctx), (student, result)


def test_killing_the_grader_ends_its_job_steps_and_sandboxes(cluster, watched, tmp_path):
    """Killed while a submission loops (its job would run for minutes): everything on the cluster ends with it."""
    work = tmp_path / "work"
    looping = complete(context(work))
    first = next(c for c in looping.cells if c.get("id") == NEURON.exercises[0].solution_id)
    first.source = "while True:\n    pass\n" + first.source
    (tmp_path / "submissions" / "loop" / NEURON.name).mkdir(parents=True)
    nbformat.write(looping, tmp_path / "submissions" / "loop" / NEURON.name / NEURON.path.name)
    env = {**cluster, "AUTOGRADER_WORK": str(work)}
    argv = [sys.executable, "-m", "autograder", "grade", "--submissions", str(tmp_path / "submissions"),
            "--cell-timeout", "300", "--timeout", "600", "--workers", "1", "--worker-command", SRUN]  # fmt: skip
    grader = subprocess.Popen(argv, env=env, cwd=paths.REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)  # fmt: skip
    try:
        while not watched.sandboxes():  # until a sandbox runs under a job step (or the batch ended: a failure)
            assert grader.poll() is None, "the batch ended before a sandbox was seen"
            time.sleep(0.2)
        os.kill(grader.pid, signal.SIGKILL)  # the grader alone: its srun process lives on in its own session
        grader.wait()
        assert _left(cluster, watched) == [], "a job step or sandbox outlived the killed grader"
    finally:
        if grader.poll() is None:
            grader.kill()
