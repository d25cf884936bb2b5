"""Time, memory and result figures of every notebook run top to bottom, against the 60 s / 1.5 GB promise.

Run from the repository root:

    .venv/bin/python bench/notebooks.py                  # every notebook in notebooks/
    .venv/bin/python bench/notebooks.py --only 01_neuron # one (folder name or notebook stem)
    .venv/bin/python bench/notebooks.py --hogs 2         # the same, with 2 CPU-burning processes beside it
    .venv/bin/python bench/notebooks.py --grader         # with NBGRADER_EXECUTION=autograde (small budgets)
    .venv/bin/python bench/notebooks.py --edition zh     # the 中文 edition, built from the same sources

Each source notebook runs in a fresh kernel with its default budgets (NBGRADER_EXECUTION and
COURSE_BUDGET_SCALE are removed from the environment), as a student runs it, or with the grader's
budgets under --grader. Every notebook gets its own child process, which runs the notebook with
nbclient; once the kernel has exited and been reaped, the child reads getrusage(RUSAGE_CHILDREN):
the kernel's CPU seconds (user + system, its descendants included) and its peak resident memory
(ru_maxrss, of the kernel or of its largest descendant), not counting the child itself. Wall
seconds include starting the kernel; the 60 s promise is for an idle 2-core machine, where wall
time is about CPU time (single-threaded work) or less.

The kernel's environment sets COURSE_RESULTS_FILE to a temporary file, so every figure a
demonstration reports with course.results.result is printed under the notebook's row. Budgets
count work, not seconds, so these figures must be the same with --hogs as without; only the
times may grow. This is a benchmark: it prints a table and exits 0 whatever it measures.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
MAX_SECONDS = 60
MAX_MB = 1536
"""1.5 GB, in MiB as ru_maxrss counts."""
HARD_LIMIT = 900
"""Seconds after which a notebook is stopped and reported as timed out."""


def notebooks() -> list[Path]:
    """notebooks/<folder>/<one notebook>.ipynb, sorted by folder."""
    found = []
    for folder in sorted(p for p in NOTEBOOKS.iterdir() if p.is_dir()):
        nbs = sorted(folder.glob("*.ipynb"))
        if len(nbs) == 1:
            found.append(nbs[0])
    return found


def child(path: Path, edition: str) -> None:
    """Run one notebook (in `edition`) in a fresh kernel; print one JSON line with the measurements."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    sys.path.insert(0, str(REPO))
    from autograder.assignments import Assignment

    nb = Assignment(path.parent.name, path, edition).nb
    client = NotebookClient(
        nb, timeout=HARD_LIMIT, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    status = "ok"
    start = time.perf_counter()
    try:
        client.execute()  # starts, runs and shuts down (and waits for) the kernel
    except CellExecutionError as e:
        status = "error: " + (str(e).strip().splitlines() or ["?"])[-1][:120]
    except Exception as e:  # a benchmark reports, it does not crash
        status = f"error: {type(e).__name__}: {e}"[:130]
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime
    print(json.dumps({"wall": wall, "cpu": cpu, "rss_mb": usage.ru_maxrss / 1024, "status": status}))  # KiB


def measure(path: Path, grader: bool, edition: str) -> dict:
    """Run one notebook in a child process: wall and CPU seconds, peak MB, status and result figures."""
    from course.results import read_results

    env = {k: v for k, v in os.environ.items() if k not in ("NBGRADER_EXECUTION", "COURSE_BUDGET_SCALE")}
    env.pop("MPLBACKEND", None)  # the kernel's own inline backend, as in JupyterLab
    if grader:
        env["NBGRADER_EXECUTION"] = "autograde"
    failed = {"wall": float("nan"), "cpu": float("nan"), "rss_mb": float("nan")}
    with tempfile.TemporaryDirectory() as tmp:
        env["COURSE_RESULTS_FILE"] = str(Path(tmp) / "results.jsonl")
        try:
            done = subprocess.run(
                [sys.executable, __file__, "--child", str(path), "--edition", edition],
                cwd=REPO,
                env=env,
                capture_output=True,
                text=True,
                timeout=HARD_LIMIT + 120,
            )
        except subprocess.TimeoutExpired:
            return failed | {"status": "timed out", "results": read_results(env["COURSE_RESULTS_FILE"])}
        results = read_results(env["COURSE_RESULTS_FILE"])
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return failed | {"status": f"error: {tail[:120]}", "results": results}
    return json.loads(lines[-1]) | {"results": results}


def burn() -> None:
    """A CPU hog: a plain busy loop, until terminated."""
    while True:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", metavar="NAME", help="one notebook: folder (01_neuron) or stem (neuron)")
    parser.add_argument("--hogs", type=int, default=0, metavar="N", help="N busy-loop processes run while measuring")
    parser.add_argument("--grader", action="store_true", help="run with NBGRADER_EXECUTION=autograde")
    parser.add_argument("--edition", default="en", choices=["en", "zh"], help="en (default) or zh (中文)")
    parser.add_argument("--child", metavar="PATH", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child), args.edition)
        return
    todo = notebooks()
    if args.only:
        todo = [p for p in todo if args.only in (p.parent.name, p.stem)]
        if not todo:
            print(f"no notebook named {args.only!r} in {NOTEBOOKS.relative_to(REPO)}/")
            return
    budgets = "grader budgets (NBGRADER_EXECUTION=autograde)" if args.grader else "default budgets"
    print(f"edition {args.edition}, {budgets}, {args.hogs} CPU hog(s) beside it; "
          f"'within' compares wall seconds with {MAX_SECONDS} s")  # fmt: skip
    header = f"{'notebook':<20} {'wall s':>7} {'CPU s':>7} {'peak RSS MB':>12}  within {MAX_SECONDS} s / 1.5 GB"
    print(header)
    print("-" * len(header))
    hogs = [multiprocessing.Process(target=burn, daemon=True) for _ in range(args.hogs)]
    for hog in hogs:
        hog.start()
    try:
        for path in todo:
            r = measure(path, args.grader, args.edition)
            ok = r["status"] == "ok" and r["wall"] <= MAX_SECONDS and r["rss_mb"] <= MAX_MB
            note = "" if r["status"] == "ok" else f"  ({r['status']})"
            print(
                f"{path.parent.name:<20} {r['wall']:>7.1f} {r['cpu']:>7.1f} {r['rss_mb']:>12.0f}  "
                f"{'yes' if ok else 'no'}{note}"
            )
            for name, value in r["results"].items():
                print(f"    {name}: {f'{int(value):,}' if float(value).is_integer() else f'{value:.6g}'}")
            sys.stdout.flush()
    finally:
        for hog in hogs:
            hog.terminate()
            hog.join()


if __name__ == "__main__":
    main()
