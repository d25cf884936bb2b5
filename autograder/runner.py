"""Grade a folder of submissions: preflight, parallel workers, CPU-time limits, one status each.

For every (student, assignment) the grader writes ``results/<student>/<assignment>.json``
holding ``graded`` with the score, ``failed`` with the reason (the notebook's doing: its rows are
removed from the gradebook, so no stale partial grade survives), or ``not graded`` when the
machine failed it (a busy machine, a kernel or sandbox that could not start): such a job is
retried at the end of the batch, and if it fails again its result asks to grade again, keeps the
gradebook as it was and is graded anew by the next run, without ``--force``.

Limits that can cost points count the CPU time of the submission's processes (the worker
enforces them, see :mod:`autograder.worker`); the runner holds only a wall-clock backstop per
job, ``WALL_FACTOR`` times the CPU limit, for a worker that hangs, and it never counts the time a
worker waits to start (a Slurm queue): a job's clock starts once its worker said it is ready.

A job's old result is deleted before it is graded and the new one written atomically after the
gradebook, and a submission whose result matches its file's hash is not graded again: a batch
killed half-way (workers die with the grader) resumes where it stopped, and grading again
changes nothing.

Workers are ``python -m autograder.worker`` processes by default; ``worker_command`` replaces
that command (``ssh host ...``, ``srun ...``), the runner appending ``--slot N --sandbox MODE``.
"""

from __future__ import annotations

import json
import os
import queue
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from tqdm.auto import tqdm

from autograder import gradebook, paths
from autograder.assignments import Assignment, all_assignments
from autograder.nofollow import fingerprint
from autograder.preflight import MAX_BYTES, prepare
from autograder.protocol import Answer, Failure, Job, ProtocolError, Ready
from autograder.results import NOT_GRADED, Result
from autograder.sandbox import KERNEL_ENV, WALL_FACTOR, kill_family, resolve_mode
from autograder.worker import DEFAULT_CPU_LIMIT

__all__ = ["DEFAULT_CPU_LIMIT", "DEFAULT_WORKER", "WORKER_ENV", "grade"]

ATTEMPTS = 3
"""Tries per job when the machine fails it; later tries wait until the rest of the batch is done."""

DEFAULT_WORKER = f"{shlex.quote(sys.executable)} -m autograder.worker"

STOP_GRACE = 30.0
"""Wall seconds a stopped worker (and its job step under srun) gets to exit before it is killed."""

WORKER_ENV = KERNEL_ENV
"""The environment of grading kernels (one thread, warnings off, Agg); also used by the contract check."""


class _Worker:
    """One worker process (`command`), replaced whenever a job overruns or kills it."""

    def __init__(self, log: Path, command: list[str]) -> None:
        self.log = log
        self.command = command
        self.proc: subprocess.Popen | None = None
        self._starting: threading.Thread | None = None

    def _spawn(self) -> None:
        """Start the worker process; its lines are read by a thread from now on.

        The calling thread must outlive the worker: the worker asks the kernel to kill it when the
        thread that started it ends (``PR_SET_PDEATHSIG`` follows the thread, not the process).
        """
        env = {**os.environ, **WORKER_ENV}
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.proc = subprocess.Popen(
            self.command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log.open("ab"),
            text=True,
            env=env,
            cwd=paths.REPO,
            start_new_session=True,
        )
        proc = self.proc

        def read() -> None:
            for line in proc.stdout:
                self.lines.put(line)
            self.lines.put(None)

        threading.Thread(target=read, daemon=True).start()

    def _await_ready(self) -> None:
        """Wait, however long the worker's start is queued (srun), until it says it is ready."""
        line = self.lines.get()
        try:
            Ready.from_json(line or "")
        except ProtocolError:
            self.stop()
            raise OSError(f"the grading worker did not start: {self.command[0]} ... (see {self.log})") from None

    def _start(self) -> None:
        self._spawn()
        self._await_ready()

    def start_soon(self) -> None:
        """Start the worker now and wait for it in the background: its start-up overlaps the grader's preparation.

        Called from the thread that runs the whole batch (see :meth:`_spawn`).
        """
        try:
            self._spawn()
        except OSError:
            self.proc = None  # run() starts it again and reports the failure as the job's
            return
        self._starting = threading.Thread(target=self._ready_quietly, daemon=True)
        self._starting.start()

    def _ready_quietly(self) -> None:
        try:
            self._await_ready()
        except OSError:
            pass  # run() starts it again and reports the failure as the job's

    def _start_finished(self) -> None:
        """Wait for a start begun by :meth:`start_soon` (unless called from it)."""
        if self._starting is not None and self._starting is not threading.current_thread():
            self._starting.join()
            self._starting = None

    def run(self, job: Job, backstop: float) -> Answer:
        """The worker's answer to `job`; a hung or dead worker is the machine's failure."""
        self._start_finished()
        try:
            if self.proc is None or self.proc.poll() is not None:
                self._start()
            self.proc.stdin.write(job.to_json() + "\n")
            self.proc.stdin.flush()
            line = self.lines.get(timeout=backstop)
        except queue.Empty:
            self.stop()
            hung = f"the grading worker gave no answer within {backstop:.0f} s of wall time"
            return Answer.failed(Failure.HUNG, hung)
        except OSError as err:
            self.stop()
            return Answer.failed(Failure.WORKER_DIED, f"the grading worker died or did not start ({err})")
        if line is None:
            self.stop()
            return Answer.failed(Failure.WORKER_DIED, "the grading worker died")
        try:
            return Answer.from_json(line)
        except ProtocolError as err:
            self.stop()
            return Answer.failed(Failure.UNKNOWN, f"the grading worker's answer is unreadable ({err})", line)

    def stop(self) -> None:
        """End the worker: its input closes (it exits at once, ending a remote job step), then anything left is killed.

        Killing ``srun`` alone would leave its job step running on the node; closed input reaches
        the worker through it.
        """
        self._start_finished()
        if self.proc is not None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=STOP_GRACE)
            except (OSError, subprocess.TimeoutExpired):
                pass
            kill_family(self.proc.pid)
            self.proc = None


_REASONS = {
    Failure.CPU_LIMIT: "{} (the limit per notebook)",
    Failure.ENDLESS_LOOP: "{}: an endless loop?",
    Failure.WAITED: "{}: it sleeps, or waits for something that never comes",
    Failure.PROCESS_LIMIT: "{}, up to the process limit (a fork bomb?): not graded",
    Failure.SANDBOX_DIED: "{}",
    Failure.KERNEL_DIED: "the kernel died while running the notebook (os._exit, a crash, or out of memory)",
    Failure.CELL_TIMEOUT: "a cell kept running past the time limit and could not be interrupted",
    Failure.BUSY: "the machine was too busy: {}; not the notebook's fault: grade again",
    Failure.HUNG: "{} (a problem of the grading machine): grade again",
    Failure.SANDBOX_START: "{}",
    Failure.KERNEL_START: "the kernel could not start (the grading machine's problem, not the notebook's): grade again",
    Failure.LATE_OUTPUT: "a cell's output arrived late (a busy grading machine, not the notebook): grade again",
    Failure.WORKER_DIED: "the grading process died (out of memory?)",
    Failure.UNKNOWN: "{}",
}
"""How each kind of failure reads in the result, the table and the CSV; ``{}`` is the answer's detail."""


def _reason(answer: Answer) -> str:
    """The failure of `answer` in words for the instructor (and the student)."""
    return _REASONS[answer.failure or Failure.UNKNOWN].format(answer.detail)[:300]


def _failed(student: str, a: Assignment, sha: str, reason: str, notes: list[str], sandbox: str = "") -> Result:
    """A failed Result (score 0); the submission's rows leave the gradebook, so no stale grade survives."""
    gradebook.forget(student, a.name)
    return Result(student, a.name, a.notebook, "failed", 0.0, a.max_points, reason, notes=notes,
                  submission_sha256=sha, sandbox=sandbox)  # fmt: skip


def _outcome(student: str, a: Assignment, sha: str, notes: list[str], answer: Answer, mode: str) -> Result:
    """The Result of a worker's answer: gradebook scores and verification flags, or the failure.

    A failure's full log (nbgrader's, or the worker's error) is kept beside the result, as ``.log``.
    A failure of the machine is NOT_GRADED: the gradebook keeps what it had and no hash is kept,
    so the next run grades the submission again.
    """
    sandbox = answer.sandbox or mode
    if not answer.success:
        if answer.machine_failed:
            result = Result(student, a.name, a.notebook, NOT_GRADED, 0.0, a.max_points, _reason(answer), notes=notes,
                            sandbox=sandbox)  # fmt: skip
        else:
            result = _failed(student, a, sha, _reason(answer), notes, sandbox)
        result.path.parent.mkdir(parents=True, exist_ok=True)
        result.path.with_suffix(".log").write_text(f"{answer.detail}\n{answer.log}"[-50_000:])
        return result
    recorded = gradebook.scores(student, a.name, a.notebook)
    if recorded is None:  # removed while it was graded (another grader's run)
        lost = Answer.failed(Failure.UNKNOWN, "its scores are missing from the gradebook: grade again")
        return _outcome(student, a, sha, notes, lost, sandbox)
    flags, by_hand = answer.flags, answer.by_hand
    reasons = [f"verification set {len(flags)} test(s) to 0: {', '.join(sorted(flags))}"] if flags else []
    reasons += [f"{test} scored 0: {why}" for test, why in sorted(by_hand.items())]
    reason = "; ".join(reasons)
    notes = notes + answer.notes + [f"{test} scored 0: {why}" for test, why in sorted(flags.items())]
    result = Result(student, a.name, a.notebook, "graded", recorded.total, a.max_points, reason, recorded.cells, notes,
                    submission_sha256=sha, flags=flags, sandbox=sandbox)  # fmt: skip
    result.path.with_suffix(".log").unlink(missing_ok=True)
    return result


def ensure_released(assignments: Iterable[Assignment]) -> None:
    """Register every assignment in the gradebook (nbgrader's generate_assignment) if it is not yet.

    A source notebook changed since its release is released again, so that nbgrader's tests (read
    from the gradebook) and the verification's (read from the source) are the same.
    """
    from autograder.release import release

    def stale(a: Assignment) -> bool:
        released = paths.release() / a.name / a.path.name
        return not released.is_file() or released.stat().st_mtime < a.path.stat().st_mtime

    registered = gradebook.registered()
    missing = [a for a in assignments if stale(a) or a.name not in registered]
    if missing:
        release(missing)


def _typical_seconds() -> dict[str, float]:
    """Median seconds of grading work per job of each assignment so far (from the saved results).

    The work is the sum of a job's phases: the first job of each worker also waited for the
    worker to start, which says nothing about the assignment.
    """
    times: dict[str, list[float]] = {}
    for p in paths.results().glob("*/*.json"):
        try:
            r = json.loads(p.read_text())
        except (OSError, ValueError):
            continue
        if r.get("status") == "graded" and (work := sum(r.get("phases", {}).values()) or r.get("seconds")):
            times.setdefault(r["assignment"], []).append(work)
    return {a: sorted(t)[len(t) // 2] for a, t in times.items()}


def _commands(
    count: int, worker_command: str | None, sandbox: str, cell_timeout: float | None, cpu_limit: float
) -> tuple[list[list[str]], str]:
    """The command line of each worker slot, and the sandbox mode (``auto``: each worker decides)."""
    if worker_command is None or sandbox == "rlimits":  # local workers: decide (and warn) here, once
        sandbox, warning = resolve_mode(sandbox)
        if warning:
            print(warning, file=sys.stderr)
    extra = ["--sandbox", sandbox, "--cpu-limit", f"{cpu_limit:g}"]
    extra += ["--cell-timeout", f"{cell_timeout:g}"] if cell_timeout else []
    base = shlex.split(worker_command or DEFAULT_WORKER)
    return [base + ["--slot", str(slot)] + extra for slot in range(count)], sandbox


def grade(
    submissions: Path,
    *,
    assignments: list[Assignment] | None = None,
    students: list[str] | None = None,
    workers: int = 2,
    cpu_limit: float = DEFAULT_CPU_LIMIT,
    force: bool = False,
    progress: bool = True,
    sandbox: str = "auto",
    worker_command: str | None = None,
    cell_timeout: float | None = None,
) -> list[Result]:
    """Grade ``submissions/<student>/<assignment>/<notebook>.ipynb`` and return one Result each.

    Args:
        submissions: the folder of submissions, e.g. ``nbgrader collect``'s (``paths.submitted()``); never modified.
        assignments: only these (default: every assignment in notebooks/).
        students: only these (default: every folder in `submissions`).
        workers: notebooks graded at once (one core each).
        cpu_limit: CPU seconds the processes of one notebook may use, the clean re-run included.
        force: grade again even when an up-to-date result exists.
        sandbox: ``auto`` (bwrap if it works here, else rlimits with a warning), ``bwrap`` or ``rlimits``.
        worker_command: the worker's command line (default: this Python, ``-m autograder.worker``).
        cell_timeout: CPU seconds per cell (default: nbgrader's Execute.timeout in autograder/nbgrader_config.py).
    """
    submissions = submissions.resolve()
    assignments = assignments or all_assignments()
    paths.results().mkdir(parents=True, exist_ok=True)
    people = sorted(p.name for p in submissions.iterdir() if p.is_dir() and (students is None or p.name in students))
    typical = _typical_seconds()  # read before this run deletes the results it replaces
    commands, mode = _commands(workers, worker_command, sandbox, cell_timeout, cpu_limit)
    log = paths.work() / "grader.log"
    started: list[_Worker] = []  # one per job to grade, up to `workers`

    pending: list[tuple[Job, Assignment, str, list[str]]] = []
    done: list[Result] = []
    for student in people:
        for a in assignments:
            folder = submissions / student / a.name
            if not folder.is_dir():
                continue
            sha = fingerprint(folder, MAX_BYTES)  # never follows a link nor opens a pipe
            old = Result(student, a.name, a.notebook, "", 0, 0).path
            if not force and old.is_file() and (kept := json.loads(old.read_text())).get("submission_sha256") == sha:
                done.append(Result(**kept))
                continue
            old.unlink(missing_ok=True)  # from here until the new result is saved, the job counts as not graded
            check = prepare(folder, a, paths.cleaned() / student / a.name)
            if not check.ok:
                result = _failed(student, a, sha, check.reason, check.notes)
                result.save()
                done.append(result)
                continue
            pending.append((Job(a.name, student, check.edition), a, sha, check.notes))
            if len(started) < len(commands):  # a worker for it starts now, while the rest is prepared
                started.append(_Worker(log, commands[len(started)]))
                started[-1].start_soon()

    if not pending:
        for worker in started:  # every submission failed its preflight
            worker.stop()
        return sorted(done, key=lambda r: (r.student, r.assignment))
    ensure_released(assignments)  # while the workers start
    pending.sort(key=lambda job: -typical.get(job[1].name, float("inf")))  # longest first (unknown ones too)
    backstop = WALL_FACTOR * cpu_limit
    jobs: queue.Queue = queue.Queue()
    for item in pending:
        jobs.put((*item, 1))
    retries: list = []  # jobs the machine failed, graded again once the queue is empty
    lock = threading.Lock()
    bar = tqdm(total=len(pending), desc="grading", unit="notebook", disable=not progress)

    def work(worker: _Worker) -> None:
        try:
            while True:
                try:
                    job, a, sha, notes, attempt = jobs.get_nowait()
                except queue.Empty:
                    with lock:
                        if not retries:
                            return
                        job, a, sha, notes, attempt = retries.pop(0)
                start = time.perf_counter()
                answer = worker.run(job, backstop)
                if answer.machine_failed and attempt < ATTEMPTS:
                    with lock:  # not the notebook's failure: never kept as its result; try again later
                        retries.append((job, a, sha, notes, attempt + 1))
                    continue
                result = _outcome(job.student, a, sha, notes, answer, mode)
                result.seconds = time.perf_counter() - start
                result.cpu_seconds = answer.cpu
                result.phases = answer.phases
                result.save()
                with lock:
                    done.append(result)
                    bar.update(1)
        finally:
            worker.stop()

    threads = [threading.Thread(target=work, args=(worker,)) for worker in started]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bar.close()
    return sorted(done, key=lambda r: (r.student, r.assignment))
