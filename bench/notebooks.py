"""Time and memory of every notebook run top to bottom, against the 90 s / 1.5 GB promise.

Run from the repository root:

    .venv/bin/python bench/notebooks.py                  # every notebook in notebooks/
    .venv/bin/python bench/notebooks.py --only 01_neuron # one (folder name or notebook stem)

Each source notebook runs in a fresh kernel with its default budgets (NBGRADER_EXECUTION and
COURSE_BUDGET_SCALE are removed from the environment), as a student runs it. Every notebook gets
its own child process, which runs the notebook with nbclient; once the kernel has exited and
been reaped, the child reads getrusage(RUSAGE_CHILDREN).ru_maxrss: the peak resident memory of
the kernel (or of its largest descendant), not counting the child itself. Wall seconds include
starting the kernel. This is a benchmark: it prints a table and exits 0 whatever it measures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
MAX_SECONDS = 90
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


def child(path: Path) -> None:
    """Run one notebook in a fresh kernel; print one JSON line with the measurements."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
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
    rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"wall": wall, "rss_mb": rss_mb, "status": status}))


def measure(path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("NBGRADER_EXECUTION", "COURSE_BUDGET_SCALE")}
    env.pop("MPLBACKEND", None)  # the kernel's own inline backend, as in JupyterLab
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--child", str(path)],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=HARD_LIMIT + 120,
        )
    except subprocess.TimeoutExpired:
        return {"wall": float("nan"), "rss_mb": float("nan"), "status": "timed out"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"wall": float("nan"), "rss_mb": float("nan"), "status": f"error: {tail[:120]}"}
    return json.loads(lines[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", metavar="NAME", help="one notebook: folder (01_neuron) or stem (neuron)")
    parser.add_argument("--child", metavar="PATH", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child))
        return
    todo = notebooks()
    if args.only:
        todo = [p for p in todo if args.only in (p.parent.name, p.stem)]
        if not todo:
            print(f"no notebook named {args.only!r} in {NOTEBOOKS.relative_to(REPO)}/")
            return
    header = f"{'notebook':<20} {'wall s':>7} {'peak RSS MB':>12}  within {MAX_SECONDS} s / 1.5 GB"
    print(header)
    print("-" * len(header))
    for path in todo:
        r = measure(path)
        ok = r["status"] == "ok" and r["wall"] <= MAX_SECONDS and r["rss_mb"] <= MAX_MB
        note = "" if r["status"] == "ok" else f"  ({r['status']})"
        print(
            f"{path.parent.name:<20} {r['wall']:>7.1f} {r['rss_mb']:>12.0f}  {'yes' if ok else 'no'}{note}", flush=True
        )


if __name__ == "__main__":
    main()
