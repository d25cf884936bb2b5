"""Grade a folder of submissions: preflight, parallel workers, a wall-clock limit, one status each.

For every (student, assignment) the grader writes ``results/<student>/<assignment>.json``
holding ``graded`` with the score, or ``failed`` with the reason; a failed notebook's rows are
removed from the gradebook, so no stale partial grade survives. Results are written atomically
after the gradebook, and a submission whose result matches its file's hash is not graded again,
so a batch killed half-way resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil
from tqdm.auto import tqdm

from autograder import paths
from autograder.assignments import Assignment, all_assignments
from autograder.preflight import prepare

__all__ = ["DEFAULT_TIMEOUT", "Result", "grade", "load_results"]

DEFAULT_TIMEOUT = 300.0
"""Seconds one notebook may take in all (nbgrader's own limit is per cell)."""

WORKER_ENV = {
    "OMP_NUM_THREADS": "1",  # one core per worker; the pool supplies the parallelism
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",  # numpy's BLAS threads thrash on many small products
    "PYTHONWARNINGS": "ignore",  # a warning on stderr would zero a passing test cell
    "MPLBACKEND": "Agg",
}


@dataclass
class Result:
    """What grading one student's notebook gave."""

    student: str
    assignment: str
    notebook: str
    status: str  # "graded" or "failed"
    score: float
    max_score: float
    reason: str = ""
    cells: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    submission_sha256: str = ""
    seconds: float = 0.0

    @property
    def path(self) -> Path:
        return paths.results() / self.student / f"{self.assignment}.json"

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=1))
        os.replace(tmp, self.path)


def load_results() -> list[Result]:
    """Every saved result, sorted by student and assignment."""
    found = [Result(**json.loads(p.read_text())) for p in sorted(paths.results().glob("*/*.json"))]
    return sorted(found, key=lambda r: (r.student, r.assignment))


class _Worker:
    """One ``python -m autograder.worker`` process, replaced whenever a job overruns or kills it."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.proc: subprocess.Popen | None = None

    def _start(self) -> None:
        env = {**os.environ, **WORKER_ENV}
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "autograder.worker"],
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

    def run(self, job: dict, timeout: float) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        try:
            self.proc.stdin.write(json.dumps(job) + "\n")
            self.proc.stdin.flush()
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            self.stop()
            return {"success": False, "error": f"TIMEOUT: the notebook ran longer than {timeout:.0f} s in all"}
        except BrokenPipeError:
            line = None
        if line is None:
            self.stop()
            return {"success": False, "error": "the grading worker died"}
        return json.loads(line)

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            family = psutil.Process(self.proc.pid).children(recursive=True) + [psutil.Process(self.proc.pid)]
        except psutil.NoSuchProcess:
            family = []
        for p in family:
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(family, timeout=5)
        self.proc = None


_REASONS = [
    (r"TIMEOUT: (.*)", "{0}: an endless loop that ignores interrupts?"),
    (
        r"DeadKernelError|Kernel died",
        "the kernel died while running the notebook (os._exit, a crash, or out of memory)",
    ),
    (
        r"CellTimeoutError|UnresponsiveKernelError|Timeout waiting for IOPub",
        "a cell kept running past the time limit and could not be interrupted",
    ),
    (r"the grading worker died", "the grading process died (out of memory?)"),
]


def _reason(error: str) -> str:
    for pattern, text in _REASONS:
        if m := re.search(pattern, error):
            return text.format(*m.groups())
    errors = [line for line in error.splitlines() if "ERROR" in line or "Error" in line]
    return (errors[-1].strip() if errors else error.strip().splitlines()[-1] if error.strip() else "unknown error")[
        :300
    ]


def _sha256(folder: Path) -> str:
    digest = hashlib.sha256()
    for p in sorted(folder.glob("*.ipynb")):
        digest.update(p.name.encode() + b"\0" + p.read_bytes())
    return digest.hexdigest()


def _gradebook_scores(student: str, assignment: Assignment) -> tuple[float, dict[str, float]]:
    from nbgrader.api import Gradebook

    with Gradebook("sqlite:///" + str(paths.gradebook())) as gb:
        nb = gb.find_submission_notebook(assignment.notebook, assignment.name, student)
        return float(nb.score), {g.name: float(g.score) for g in nb.grades}


def _forget(student: str, assignment: Assignment) -> None:
    """Remove a submission's rows from the gradebook (after a failure: no stale grades)."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook("sqlite:///" + str(paths.gradebook())) as gb:
        try:
            gb.remove_submission(assignment.name, student)
        except MissingEntry:
            pass


def ensure_released(assignments: Iterable[Assignment]) -> None:
    """Register every assignment in the gradebook (nbgrader's generate_assignment) if it is not yet."""
    from autograder.release import release

    missing = [a for a in assignments if not (paths.release() / a.name / a.path.name).is_file()]
    if missing or not paths.gradebook().is_file():
        release(missing or list(assignments))


def grade(
    submissions: Path,
    *,
    assignments: list[Assignment] | None = None,
    students: list[str] | None = None,
    workers: int = 2,
    timeout: float = DEFAULT_TIMEOUT,
    force: bool = False,
    progress: bool = True,
) -> list[Result]:
    """Grade ``submissions/<student>/<assignment>/<notebook>.ipynb`` and return one Result each.

    Args:
        submissions: the instructor's folder of submissions; never modified.
        assignments: only these (default: every assignment in notebooks/).
        students: only these (default: every folder in `submissions`).
        workers: notebooks graded at once (one core each).
        timeout: wall-clock seconds per notebook.
        force: grade again even when an up-to-date result exists.
    """
    submissions = submissions.resolve()
    if submissions == paths.submitted().resolve():
        raise ValueError(f"{submissions} is the grader's own copy; pass the folder students submitted to")
    assignments = assignments or all_assignments()
    ensure_released(assignments)
    paths.results().mkdir(parents=True, exist_ok=True)
    people = sorted(p.name for p in submissions.iterdir() if p.is_dir() and (students is None or p.name in students))

    pending: list[tuple[str, Assignment, str, list[str]]] = []
    done: list[Result] = []
    for student in people:
        for a in assignments:
            folder = submissions / student / a.name
            if not folder.is_dir():
                continue
            sha = _sha256(folder)
            old = Result(student, a.name, a.notebook, "", 0, 0).path
            if not force and old.is_file() and json.loads(old.read_text()).get("submission_sha256") == sha:
                done.append(Result(**json.loads(old.read_text())))
                continue
            check = prepare(folder, a, paths.submitted() / student / a.name)
            if (folder / "timestamp.txt").is_file():
                shutil.copy(folder / "timestamp.txt", paths.submitted() / student / a.name / "timestamp.txt")
            if not check.ok:
                _forget(student, a)
                result = Result(
                    student,
                    a.name,
                    a.notebook,
                    "failed",
                    0.0,
                    a.max_points,
                    check.reason,
                    notes=check.notes,
                    submission_sha256=sha,
                )
                result.save()
                done.append(result)
                continue
            pending.append((student, a, sha, check.notes))

    jobs: queue.Queue = queue.Queue()
    for item in pending:
        jobs.put(item)
    lock = threading.Lock()
    bar = tqdm(total=len(pending), desc="grading", unit="notebook", disable=not progress or not pending)
    log = paths.work() / "grader.log"

    def work() -> None:
        worker = _Worker(log)
        try:
            while True:
                try:
                    student, a, sha, notes = jobs.get_nowait()
                except queue.Empty:
                    return
                start = time.perf_counter()
                answer = worker.run({"assignment": a.name, "student": student}, timeout)
                if not answer["success"] and not answer.get("error", "").startswith("TIMEOUT"):
                    # once more: a kernel that could not start on a loaded machine is not the student's fault
                    answer = worker.run({"assignment": a.name, "student": student}, timeout)
                seconds = time.perf_counter() - start
                if answer["success"]:
                    score, cells = _gradebook_scores(student, a)
                    result = Result(
                        student,
                        a.name,
                        a.notebook,
                        "graded",
                        score,
                        a.max_points,
                        cells=cells,
                        notes=notes,
                        submission_sha256=sha,
                        seconds=seconds,
                    )
                else:
                    _forget(student, a)
                    result = Result(
                        student,
                        a.name,
                        a.notebook,
                        "failed",
                        0.0,
                        a.max_points,
                        _reason(answer.get("error", "")),
                        notes=notes,
                        submission_sha256=sha,
                        seconds=seconds,
                    )
                result.save()
                with lock:
                    done.append(result)
                    bar.update(1)
        finally:
            worker.stop()

    threads = [threading.Thread(target=work) for _ in range(max(1, min(workers, len(pending))))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bar.close()
    return sorted(done, key=lambda r: (r.student, r.assignment))
