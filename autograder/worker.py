"""A long-lived grading worker: reads jobs as JSON lines on stdin, answers one JSON line each.

The lines are messages of :mod:`autograder.protocol`: at start :class:`~autograder.protocol.Ready`
(under Slurm, once the job step has left the queue); then per :class:`~autograder.protocol.Job`
(assignment, student) one :class:`~autograder.protocol.Answer`: graded (flags, notes, by_hand) or
failed with a :class:`~autograder.protocol.Failure` kind, whose ``machine`` property tells the
runner to grade it again later; ``cpu`` is the CPU time the submission's processes used.

Per job: nbgrader autograde (API, no CLI start-up) with every kernel forked inside this
worker's sandbox (:mod:`autograder.sandbox`, :mod:`autograder.kernel`). The kernel runs the
locked and solution cells; the test cells run once, in the clean room (:mod:`autograder.verify`),
whose verdicts become the test cells' outputs before nbgrader saves the grades. The autograded
notebook is then rewritten as the student may see it (:mod:`autograder.feedback`).
The sandbox is wiped before and after each run, so nothing a submission leaves behind reaches
the next one.

Limits count the CPU time of the submission's processes: per cell (:mod:`autograder.kernel`)
and per job (``--cpu-limit``, watched here, the clean room included). The parent
(:mod:`autograder.runner`) only holds a wall-clock backstop: it kills this process (and so the
sandbox) when a job hangs. The worker dies with its parent. Jobs and answers are
plain JSON lines on stdin/stdout, so the worker can run on another machine that shares the
course folder and the work folder (``--worker-command "ssh host ..."``; see the README).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import queue
import re
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple, TextIO

import nbformat

from autograder import feedback, paths
from autograder.assignments import Assignment, find_assignment
from autograder.edition import EDITIONS
from autograder.protocol import Answer, Failure, Job, Ready
from autograder.sandbox import MODES, MachineBusy, Sandbox, SandboxError, resolve_mode

DEFAULT_CPU_LIMIT = 300.0
"""CPU seconds one notebook's processes may use in all, the clean re-run included."""

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() == 1:  # the parent is already gone
        sys.exit(1)


def _pin(slot: int) -> None:
    """One core per worker: a submission that hogs the CPU slows only its own worker."""
    cores = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cores[slot % len(cores)]})


def _configure(cell_timeout: float | None) -> float:
    """Swap nbgrader's Execute for the sandboxed one; returns the per-cell timeout in force."""
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute

    from autograder.kernel import SandboxExecute
    from autograder.nbgrader_api import api

    config = api(grading=True).config
    steps = Autograde.class_traits()["autograde_preprocessors"].default()
    config.Autograde.autograde_preprocessors = [SandboxExecute if step is Execute else step for step in steps]
    if cell_timeout:
        config.Execute.timeout = int(cell_timeout)
    return float(config.Execute.get("timeout", 60))


_NBGRADER_FAILURES = [
    (r"Kernel died before replying to kernel_info", Failure.KERNEL_START),
    (r"Timeout waiting for IOPub output", Failure.LATE_OUTPUT),
    (r"DeadKernelError|Kernel died", Failure.KERNEL_DIED),
    (r"CellTimeoutError|UnresponsiveKernelError", Failure.CELL_TIMEOUT),
]
"""What nbclient's errors in nbgrader's log mean, most specific first (the kernel that died before any
cell ran, and output that arrived late, are the machine's failures)."""


def nbgrader_failure(log: str) -> Answer:
    """A failed autograde as an Answer: its kind read from nbgrader's log, or UNKNOWN with its last error line."""
    for pattern, kind in _NBGRADER_FAILURES:
        if re.search(pattern, log):
            return Answer.failed(kind, "", log)
    errors = [line for line in log.splitlines() if "ERROR" in line or "Error" in line]
    last = errors[-1].strip() if errors else log.strip().splitlines()[-1] if log.strip() else "unknown error"
    return Answer.failed(Failure.UNKNOWN, last, log)


def _forbidden_calls(path: Path) -> dict[str, str]:
    """Test cell id -> the ForbiddenCall message it failed with (an exercise not written by hand)."""
    found = {}
    for cell in nbformat.read(path, as_version=4).cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        for out in cell.get("outputs", []):
            if gid and out.get("output_type") == "error" and out.get("ename") == "ForbiddenCall":
                found[gid] = str(out.get("evalue", ""))[:300]
    return found


PHASES = ("sandbox", "execution", "nbgrader", "verification", "feedback")
"""Where a graded job's wall time goes: wiping (or starting) the sandbox; the kernel running the notebook's
cells; the rest of nbgrader's autograde (copying, parsing, its gradebook writes); the clean room running and
judging the tests (its calibration included, though its CPU time is not the job's); rewriting the notebook
for feedback."""


class _Phases:
    """A stopwatch that adds each lap to a named phase."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = dict.fromkeys(PHASES, 0.0)
        self.last = time.perf_counter()

    def lap(self, phase: str, **inside: float) -> None:
        """Add the time since the last lap to `phase`, less the seconds `inside` gives other phases."""
        now = time.perf_counter()
        self.seconds[phase] += now - self.last - sum(inside.values())
        for other, seconds in inside.items():
            self.seconds[other] += seconds
        self.last = now


class _Prepared(NamedTuple):
    assignment: Assignment
    tests: list[str]
    """The tests the clean room grades."""
    clock: _Phases


class Worker:
    """One sandbox, reused for every job; restarted when it dies."""

    def __init__(self, mode: str, slot: int, cell_timeout: float | None, cpu_limit: float = DEFAULT_CPU_LIMIT) -> None:
        self.mode, self.slot = mode, slot
        self.cell_timeout = _configure(cell_timeout)
        self.cpu_limit = cpu_limit
        self.sandbox: Sandbox | None = None
        self.env = {k: v for k, v in os.environ.items() if k.startswith("COURSE_")} | {
            "NBGRADER_EXECUTION": "autograde"
        }

    def _sandbox(self) -> Sandbox:
        from autograder import kernel

        if self.sandbox is None or not self.sandbox.alive():
            if self.sandbox is not None:
                self.sandbox.stop()
            self.sandbox = Sandbox(self.mode, log=paths.work() / f"sandbox-{self.slot}.log")
            self.sandbox.start()
            kernel.use(self.sandbox)
        return self.sandbox

    def close(self) -> None:
        """Stop the sandbox now (the worker is about to exit): without bubblewrap, its /tmp folder goes too."""
        if self.sandbox is not None:
            self.sandbox.stop()

    def warm(self) -> None:
        """Start the sandbox before the first job; a failure to start is reported by that job."""
        try:
            self._sandbox()
        except SandboxError:
            pass

    def prepare(self, job: Job) -> _Prepared:
        """The job's assignment and the tests the clean room grades (the course's solution calibrated, once per
        source): work for the grader, not the submission, so done before the job's CPU time is counted."""
        from autograder.verify import clean_room_tests

        clock = _Phases()
        assignment = find_assignment(job.assignment).in_edition(job.edition if job.edition in EDITIONS else "en")
        tests = clean_room_tests(self._sandbox(), assignment, self.cell_timeout, self.env)
        clock.lap("verification")
        return _Prepared(assignment, tests, clock)

    def grade(self, job: Job, prepared: _Prepared) -> Answer:
        from autograder.kernel import (
            CleanRoomTests,
            grade_edition,
            grade_tests_in_clean_room,
            take_execution_seconds,
            take_overruns,
            take_verdicts,
        )
        from autograder.nbgrader_api import api
        from autograder.verify import Verdicts, grade_tests

        assignment, tests, clock = prepared
        grade_edition(assignment.translation() if assignment.lang != "en" else None)
        sandbox = self._sandbox()
        sandbox.wipe()
        take_overruns()
        take_execution_seconds()
        clock.lap("sandbox")

        def in_clean_room(nb: nbformat.NotebookNode) -> Verdicts:
            return grade_tests(sandbox, assignment, nb, tests, self.cell_timeout, self.env)

        grade_tests_in_clean_room(CleanRoomTests(frozenset(tests), in_clean_room))
        try:
            result = api(grading=True).autograde(assignment.name, job.student, force=True, create=True)
        finally:
            grade_tests_in_clean_room(None)
            grade_edition(None)
        kernels, clean_room = take_execution_seconds()
        clock.lap("nbgrader", execution=kernels, verification=clean_room)
        verdicts = take_verdicts()  # raises what the clean room raised (MachineBusy: grade again)
        peak = sandbox.wipe()
        clock.lap("sandbox")
        if peak >= sandbox.limits.processes * 3 // 4:
            return Answer.failed(Failure.PROCESS_LIMIT, f"the notebook ran {peak} processes and threads at once")
        for overrun in take_overruns():
            what = overrun.describe(self.cell_timeout)
            if overrun.machine_busy:
                return Answer.failed(Failure.BUSY, what)
            if overrun.kind == "wall":
                return Answer.failed(Failure.WAITED, what)
            if overrun.kind == "cpu-ignored":
                return Answer.failed(Failure.ENDLESS_LOOP, what)
        if not result.get("success"):
            return nbgrader_failure((result.get("error") or "") + "\n" + (result.get("log") or ""))
        verdicts = verdicts or Verdicts()
        autograded = paths.autograded() / job.student / assignment.name / assignment.path.name
        by_hand = _forbidden_calls(autograded)  # read before the rewrite replaces the test cells' outputs
        feedback.rewrite(autograded, assignment, verdicts.failed)
        clock.lap("feedback")
        return Answer(success=True, flags=verdicts.failed, notes=verdicts.notes, by_hand=by_hand, phases=clock.seconds)

    def run(self, job: Job) -> Answer:
        """Grade one job within the CPU limit; the answer names the sandbox mode and the CPU time used."""
        try:
            sandbox = self._sandbox()
            prepared = self.prepare(job)
            start = sandbox.usage()[0]
        except Exception as err:  # noqa: BLE001 - no student code ran yet: the grader's problem, graded again
            if isinstance(err, SandboxError):
                answer = Answer.failed(Failure.SANDBOX_START, f"the sandbox could not start ({err})")
            else:  # the calibration failed
                answer = Answer.failed(Failure.UNKNOWN, f"{type(err).__name__}: {err}", traceback.format_exc())
            answer.sandbox = self.mode
            return answer
        over = threading.Event()
        done = threading.Event()

        def watch() -> None:  # the job's CPU limit: stop everything the submission runs once it is spent
            while not done.wait(0.5):
                try:
                    if sandbox.usage()[0] - start > self.cpu_limit:
                        over.set()
                        sandbox.kill_all()
                except SandboxError:
                    return

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            answer = self.grade(job, prepared)
        except MachineBusy as busy:
            answer = Answer.failed(Failure.BUSY, f"the clean re-run took {busy}")
        except SandboxError as err:
            if self.sandbox is not None:
                self.sandbox.stop()
            answer = Answer.failed(
                Failure.SANDBOX_DIED, f"the sandbox stopped while grading ({err}): killed by the notebook?"
            )
        except Exception as err:  # noqa: BLE001 - one job's failure must not end the worker
            answer = Answer.failed(Failure.UNKNOWN, f"{type(err).__name__}: {err}", traceback.format_exc())
        finally:
            done.set()
            watcher.join()
        if over.is_set():
            answer = Answer.failed(Failure.CPU_LIMIT, f"the notebook used more than {self.cpu_limit:g} s of CPU time")
        try:
            answer.cpu = sandbox.usage()[0] - start
        except SandboxError:  # the sandbox died with the job; its CPU time went with it
            answer.cpu = 0.0
        answer.sandbox = self.mode
        return answer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m autograder.worker", description=__doc__.splitlines()[0])
    parser.add_argument("--slot", type=int, default=0, help="worker number: its core and, as root, its sandbox uid")
    parser.add_argument("--sandbox", choices=MODES, default="auto")
    parser.add_argument("--cell-timeout", type=float, help="CPU seconds per cell (default: the course config)")
    parser.add_argument("--cpu-limit", type=float, default=DEFAULT_CPU_LIMIT, help="CPU seconds per notebook")
    args = parser.parse_args(argv)
    _die_with_parent()
    _pin(args.slot)
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints must not corrupt the protocol
    mode, warning = resolve_mode(args.sandbox)
    if warning:
        print(warning, file=sys.stderr)
    worker = Worker(mode, args.slot, args.cell_timeout, args.cpu_limit)
    protocol.write(Ready(os.getpid()).to_json() + "\n")
    jobs = _jobs(sys.stdin, at_end=worker.close)
    worker.warm()  # while the grader prepares the first job
    for job in jobs:
        protocol.write(worker.run(job).to_json() + "\n")


def _jobs(stream: TextIO, at_end: Callable[[], None]) -> Iterator[Job]:
    """The grader's jobs, one per line, read by a thread started now: at the end of the input the worker exits at once.

    The input ends when the grader stops the worker or is gone (killed too: under ``srun`` the job
    step's input closes with the grader's end of the pipe). Exiting mid-job is what ends the job step
    then; the sandbox and every kernel die with the worker (they are its children with a parent-death
    signal), so nothing outlives the grader by more than a moment. `at_end` runs first (it stops the
    sandbox, so a folder it used on the host goes with it).
    """
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in stream:
            lines.put(line)
        try:
            at_end()
        finally:
            sys.stderr.flush()
            os._exit(0)

    def jobs() -> Iterator[Job]:
        while True:
            yield Job.from_json(lines.get())

    threading.Thread(target=read, daemon=True).start()
    return jobs()


if __name__ == "__main__":
    main()
