"""Grading throughput: this autograder vs plain serial ``nbgrader autograde``, on the same class.

Run from the repository root:

    .venv/bin/python bench/grading.py                 # 6 students (complete, partial, blank) x every notebook
    .venv/bin/python bench/grading.py --students 3    # a smaller class (about half as long)

The class is simulated from notebooks/: student ``i`` hands in, for every assignment, the
complete solution (i % 3 == 0), the first half of the exercises answered (1) or the release
untouched (2). Both graders get their own work folder with the same course configuration
(autograder/nbgrader_config.py) and a release made beforehand (not timed):

* ``ours``: ``python -m autograder grade`` (preflight, 2 workers, sandbox, tests in the clean
  room, results); the time includes starting the workers and, on this first run, calibrating
  the clean room on each notebook's solution.
* ``plain``: ``nbgrader autograde <assignment>`` once per assignment over all students, one after
  the other, as an instructor would type it. Its kernels get the same settings as ours that
  affect scores (``PYTHONWARNINGS=ignore``, ``MPLBACKEND=Agg``); torch keeps its default threads.
* ``plain, N processes``: the same commands, as many at once as ours has workers (one
  assignment each, in their own work folder), so that the ratio is per core.

Then the per-cell scores of the gradebooks are compared (they must be identical), where our
jobs' wall time went is split by phase (``autograder.worker.PHASES``, from the results), and
one whole-course submission (one student, every notebook) is timed with ours: cold (fresh work
folder, calibration included) and warm (graded again with ``--force``). Wall-clock figures
are printed; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from autograder.assignments import Assignment, all_assignments, nbgrader_meta  # noqa: E402
from autograder.worker import PHASES  # noqa: E402

KINDS = ("complete", "partial", "blank")


def submission(a: Assignment, released: nbformat.NotebookNode, kind: str) -> nbformat.NotebookNode:
    """The release with all, half or none of the solution cells answered from the source."""
    nb = nbformat.from_dict(released)
    solutions = [c for c in nb.cells if c.cell_type == "code" and nbgrader_meta(c).get("solution")]
    answered = {"complete": len(solutions), "partial": len(solutions) // 2, "blank": 0}[kind]
    for cell in solutions[:answered]:
        cell.source = a.cell(nbgrader_meta(cell)["grade_id"]).source
    return nb


def run(work: Path, *args: str, env: dict | None = None) -> float:
    """Wall seconds of one command with AUTOGRADER_WORK=work (it must succeed)."""
    start = time.perf_counter()
    out = subprocess.run(
        list(args), cwd=REPO, env={**os.environ, **(env or {}), "AUTOGRADER_WORK": str(work)},
        capture_output=True, text=True,
    )  # fmt: skip
    if out.returncode != 0 and "autograde" not in args:  # nbgrader autograde exits 1 when any student failed
        sys.exit(f"{' '.join(args)} failed:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return time.perf_counter() - start


def release(work: Path) -> None:
    run(work, sys.executable, "-m", "autograder", "release")


def cell_scores(work: Path) -> dict[tuple[str, str, str], float]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{work / 'gradebook.db'}") as gb:
        return {
            (s.student.id, s.assignment.name, g.name): float(g.score or 0)
            for a in gb.assignments
            for s in a.submissions
            for nb in s.notebooks
            for g in nb.grades
        }


def in_parallel(jobs: list[tuple[Path, list[str]]], processes: int, env: dict) -> float:
    """Wall seconds to run every (work folder, command), `processes` at a time."""
    from concurrent.futures import ThreadPoolExecutor

    start = time.perf_counter()
    with ThreadPoolExecutor(processes) as pool:
        list(pool.map(lambda job: run(job[0], *job[1], env=env), jobs))
    return time.perf_counter() - start


def phase_split(work: Path) -> dict[str, float]:
    """Our jobs' wall seconds by phase, summed over the batch; the rest of each job's time is start-up."""
    total = dict.fromkeys((*PHASES, "worker start-up and messages"), 0.0)
    for path in (work / "results").glob("*/*.json"):
        result = json.loads(path.read_text())
        phases = result.get("phases", {})
        for name, seconds in phases.items():
            total[name] += seconds
        total["worker start-up and messages"] += result.get("seconds", 0.0) - sum(phases.values())
    return total


def kernel_overhead(a: Assignment) -> dict[str, float]:
    """Seconds to run `a`'s source notebook: fresh plain kernel, and forked in each sandbox mode."""
    from nbclient import NotebookClient

    from autograder import kernel
    from autograder.sandbox import KERNEL_ENV, Sandbox, bwrap_problem

    os.environ.update(KERNEL_ENV, NBGRADER_EXECUTION="autograde")

    def median_run(sandbox: Sandbox | None = None, **kwargs) -> float:
        times = []
        for _ in range(3):
            if sandbox is not None:
                sandbox.wipe()  # as the worker does before each job
            nb = nbformat.read(a.path, as_version=4)
            client = NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                                    resources={"metadata": {"path": str(a.path.parent)}}, **kwargs)  # fmt: skip
            start = time.perf_counter()
            client.execute()
            times.append(time.perf_counter() - start)
        return sorted(times)[1]

    out = {"plain (jupyter_client starts python, imports)": median_run()}
    for mode in ("bwrap", "rlimits") if bwrap_problem() is None else ("rlimits",):
        sandbox = Sandbox(mode)
        sandbox.start()
        kernel.use(sandbox)
        out[f"{mode} (forked from the warm zygote)"] = median_run(
            sandbox, kernel_manager_class=kernel.SandboxKernelManager
        )
        sandbox.stop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    assignments = all_assignments()
    root = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    print(f"{len(assignments)} notebooks x {args.students} students; scratch in {root}")

    ours, plain = root / "ours", root / "plain"
    parallel = {a.name: root / f"plain-{a.name}" for a in assignments}
    for work in (ours, plain, *parallel.values()):
        release(work)
    submissions = root / "submissions"
    for i in range(args.students):
        kind = KINDS[i % 3]
        for a in assignments:
            released = nbformat.read(ours / "release" / a.name / a.path.name, as_version=4)
            student = f"s{i:03d}-{kind}"
            targets = (submissions, plain / "submitted", parallel[a.name] / "submitted")
            for folder in (target / student / a.name for target in targets):
                folder.mkdir(parents=True, exist_ok=True)
                nbformat.write(submission(a, released, kind), folder / a.path.name)

    t_ours = run(ours, sys.executable, "-m", "autograder", "grade", "--submissions", str(submissions),
                 "--workers", str(args.workers))  # fmt: skip
    kernel = {"PYTHONWARNINGS": "ignore", "MPLBACKEND": "Agg"}
    nbgrader = str(Path(sys.executable).parent / "nbgrader")
    t_plain = sum(run(plain, nbgrader, "autograde", a.name, env=kernel) for a in assignments)
    commands = [(parallel[a.name], [nbgrader, "autograde", a.name]) for a in assignments]
    t_parallel = in_parallel(commands, args.workers, kernel)

    mine, theirs = cell_scores(ours), cell_scores(plain)
    split = {k: v for work in parallel.values() for k, v in cell_scores(work).items()}
    cells = mine.keys() | theirs.keys() | split.keys()
    differ = sorted(k for k in cells if not mine.get(k) == theirs.get(k) == split.get(k))
    per_min = lambda seconds: args.students * 60 / seconds  # noqa: E731
    print(f"\nclass of {args.students} students, {len(assignments)} notebooks each ({len(mine)} graded cells)")
    for label, seconds in ((f"ours  ({args.workers} workers, sandbox, clean room)", t_ours),
                           ("plain (nbgrader autograde, serial)", t_plain),
                           (f"plain (nbgrader autograde, {args.workers} processes)", t_parallel)):  # fmt: skip
        print(f"  {label:<46} {seconds:7.1f} s  {per_min(seconds):6.2f} students/min")
    print(f"  ratio to serial: {t_plain / t_ours:.2f}x; per core (as many processes): {t_parallel / t_ours:.2f}x")
    print(f"  scores identical: {not differ}" + (f" (differences: {differ[:10]})" if differ else ""))
    split_seconds = phase_split(ours)
    total = max(sum(split_seconds.values()), 1e-9)
    jobs = len(list((ours / "results").glob("*/*.json")))
    print(f"\nwhere our jobs' time went (wall seconds summed over {jobs} jobs, {args.workers} at a time):")
    for name, seconds in split_seconds.items():
        print(f"  {name:<30} {seconds:7.1f} s  {100 * seconds / total:5.1f} %")

    print("\none notebook's run (01_neuron's source, median of 3), plain kernel vs this grader's kernels:")
    for label, seconds in kernel_overhead(assignments[0]).items():
        print(f"  {label:<44} {seconds:5.2f} s")

    course = root / "course"
    release(course)
    one = root / "one"
    shutil.copytree(submissions / "s000-complete", one / "s000-complete")
    grade = [sys.executable, "-m", "autograder", "grade", "--submissions", str(one), "--workers", str(args.workers)]
    cold = run(course, *grade)
    warm = run(course, *grade, "--force")
    print(f"\nwhole-course submission (1 student, {len(assignments)} notebooks), {args.workers} workers:")
    print(f"  cold (fresh work folder: workers start, clean room calibrated): {cold:.1f} s")
    print(f"  warm (graded again):                                             {warm:.1f} s")
    shutil.rmtree(root)


if __name__ == "__main__":
    main()
