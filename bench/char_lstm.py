"""Character-level LSTM, validation loss per CPU-minute: notebook 08's own code with a larger budget.

Run from the repository root:

    .venv/bin/python bench/char_lstm.py                  # one 180 s run (about 3.5 minutes)
    .venv/bin/python bench/char_lstm.py --seconds 30 180 # one fresh run per budget
    .venv/bin/python bench/char_lstm.py --threads 1      # torch threads (default: torch's own, 2 here)

How: the notebook sets ``CHAR_LSTM_SECONDS = budget(30)`` (cell ``char-budget``). For each
requested budget S this script starts a fresh Python process with ``COURSE_BUDGET_SCALE = S / 30``
(so ``budget(30)`` returns S), reads the source notebook ``notebooks/08_rnn_lstm/rnn_lstm.ipynb``
with nbformat and executes, in one namespace, exactly the cells that build and train the
character model: ``setup``, ``char-data``, ``char-model``, ``char-budget``, ``char-train`` and
``char-sample``. Nothing is copied: the hyper-parameters (hidden size, sequence length, batch,
learning rate, truncated BPTT) are the notebook's. The only change is that ``train_char_lstm``
evaluates more often (``--evaluations``) so that the curve has more points.

Columns: training seconds (wall clock, evaluations excluded: the notebook's own clock), the
validation cross-entropy in nats per character on the last 10% of the corpus, and bits per
character. The footer gives the steps, the process's CPU seconds and the load average: on a busy
machine a wall-clock budget buys fewer steps, so compare runs by steps there. Target: at most 1.8
nats/char within 180 s. This is a benchmark: it prints and exits 0 whatever it measures.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "08_rnn_lstm" / "rnn_lstm.ipynb"
BUDGET_CELL = "char-budget"
CELLS = ["setup", "char-data", "char-model", BUDGET_CELL, "char-train", "char-sample"]


def notebook_cells():
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    by_id = {cell.get("id"): cell for cell in nb.cells}
    missing = [cid for cid in CELLS if cid not in by_id]
    if missing:
        raise SystemExit(f"{NOTEBOOK} has no cell(s) {missing}: is this the source notebook?")
    return by_id


def default_seconds(by_id) -> float:
    """The N in ``CHAR_LSTM_SECONDS = budget(N)``."""
    match = re.search(r"CHAR_LSTM_SECONDS\s*=\s*budget\(\s*([0-9.]+)", by_id[BUDGET_CELL].source)
    if match is None:
        raise SystemExit(f"cell {BUDGET_CELL!r} does not set CHAR_LSTM_SECONDS = budget(N)")
    return float(match.group(1))


def child(evaluations: int, threads: int | None) -> dict:
    """Run the notebook's char-LSTM cells in this process; return the history and samples."""
    import contextlib
    import functools
    import io
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    warnings.filterwarnings("ignore")
    by_id = notebook_cells()
    ns: dict = {"__name__": "__notebook__"}
    cpu0, wall0 = time.process_time(), time.perf_counter()
    samples = io.StringIO()
    for cid in CELLS:
        if cid == "char-sample":
            with contextlib.redirect_stdout(samples):
                exec(compile(by_id[cid].source, f"<{cid}>", "exec"), ns)
            continue
        exec(compile(by_id[cid].source, f"<{cid}>", "exec"), ns)
        if cid == "setup" and threads:
            ns["torch"].set_num_threads(threads)
        if cid == "char-model":
            ns["train_char_lstm"] = functools.partial(ns["train_char_lstm"], evaluations=evaluations)
    h = ns["char_history"]
    return {
        "budget": ns["CHAR_LSTM_SECONDS"],
        "seconds": h["seconds"],
        "val": h["val"],
        "steps": h["steps"],
        "threads": ns["torch"].get_num_threads(),
        "cpu": time.process_time() - cpu0,
        "wall": time.perf_counter() - wall0,
        "samples": samples.getvalue(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, nargs="+", default=[180.0], help="training budgets (s)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--evaluations", type=int, default=12, help="validation points per run")
    parser.add_argument("--no-samples", action="store_true", help="do not print the sampled text")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print("RESULT " + json.dumps(child(args.evaluations, args.threads)))
        return
    base = default_seconds(notebook_cells())
    print(f"char-LSTM of {NOTEBOOK.relative_to(REPO)}: CHAR_LSTM_SECONDS = budget({base:g}), scaled per run")
    for seconds in args.seconds:
        env = {**os.environ, "COURSE_BUDGET_SCALE": repr(seconds / base)}
        env.pop("NBGRADER_EXECUTION", None)
        load0 = os.getloadavg()[0]
        cmd = [sys.executable, __file__, "--child", "--evaluations", str(args.evaluations)]
        if args.threads:
            cmd += ["--threads", str(args.threads)]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=REPO)
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
        if line is None:
            print(f"budget {seconds:g} s: the run failed\n{proc.stderr[-2000:]}")
            continue
        r = json.loads(line[len("RESULT ") :])
        print(f"\nbudget {r['budget']:.0f} s, {r['threads']} torch thread(s)")
        print(f"{'train s':>8} {'val nats/char':>14} {'bits/char':>10}")
        for s, v in zip(r["seconds"], r["val"], strict=True):
            print(f"{s:8.1f} {v:14.3f} {v / 0.6931471805599453:10.3f}")
        print(
            f"final: {r['val'][-1]:.3f} nats/char after {r['steps']} steps; process {r['cpu']:.0f} CPU s, "
            f"{r['wall']:.0f} wall s in all; load average {load0:.1f} -> {os.getloadavg()[0]:.1f}"
        )
        if not args.no_samples:
            print(r["samples"].rstrip())


if __name__ == "__main__":
    main()
