"""Character-level LSTM, validation loss per CPU-minute: notebook 08's own code with more steps.

Run from the repository root:

    .venv/bin/python bench/char_lstm.py                 # one run of 2,400 steps (about 2 CPU-minutes)
    .venv/bin/python bench/char_lstm.py --steps 600 2400 # one fresh run per step budget
    .venv/bin/python bench/char_lstm.py --threads 2      # torch threads (default: the notebook's one)

How: the notebook sets ``CHAR_LSTM_STEPS = budget(N)`` (cell ``char-budget``). For each requested
step budget S this script starts a fresh Python process with ``COURSE_BUDGET_SCALE = S / N`` (so
``budget(N)`` returns S), reads the source notebook ``notebooks/08_rnn_lstm/rnn_lstm.ipynb`` with
nbformat and executes, in one namespace, exactly the cells that build, train and measure the
character model: ``setup``, ``char-data``, ``char-model``, ``char-loop``, ``char-budget``,
``char-train``, ``char-pretrained`` and ``char-sample``. Nothing is copied: the model, the
hyper-parameters (sequence length, batch, learning rate and its schedule, truncated BPTT) and the
bounded validation (the first ``VAL_CHARS`` validation characters) are the notebook's. The only
change is that ``train_char_lstm`` evaluates more often (``--evaluations``) so that the curve has
more points.

Columns: training step, CPU seconds since training began (evaluations included), the validation
cross-entropy in nats per character and in bits per character. The footer gives the pretrained
model's loss on the same characters (``data/char_lstm.pt``, trained by the same recipe for
``PRETRAINED_STEPS`` steps), the process's CPU and wall seconds and the load average. The losses
depend only on the step budget, so runs on busy and idle machines agree; the seconds do not.
This is a benchmark: it prints and exits 0 whatever it measures.
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
CELLS = ["setup", "char-data", "char-model", "char-loop", BUDGET_CELL, "char-train", "char-pretrained", "char-sample"]
LN2 = 0.6931471805599453


def notebook_cells():
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    by_id = {cell.get("id"): cell for cell in nb.cells}
    missing = [cid for cid in CELLS if cid not in by_id]
    if missing:
        raise SystemExit(f"{NOTEBOOK} has no cell(s) {missing}: is this the source notebook?")
    return by_id


def default_steps(by_id) -> int:
    """The N in ``CHAR_LSTM_STEPS = budget(N)``."""
    match = re.search(r"CHAR_LSTM_STEPS\s*=\s*budget\(\s*([0-9_]+)", by_id[BUDGET_CELL].source)
    if match is None:
        raise SystemExit(f"cell {BUDGET_CELL!r} does not set CHAR_LSTM_STEPS = budget(N)")
    return int(match.group(1))


def child(evaluations: int, threads: int | None) -> dict:
    """Run the notebook's char-LSTM cells in this process; return the curve, timings and a sample."""
    import contextlib
    import io
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    warnings.filterwarnings("ignore")
    by_id = notebook_cells()
    ns: dict = {"__name__": "__notebook__"}
    cpu0, wall0 = time.process_time(), time.perf_counter()
    cpu_at: dict[int, float] = {}
    train_start = {"cpu": cpu0}
    for cid in CELLS:
        if cid == "char-train":
            train_start["cpu"] = time.process_time()
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(by_id[cid].source, f"<{cid}>", "exec"), ns)
        if cid == "setup" and threads:
            ns["torch"].set_num_threads(threads)
        if cid == "char-model":
            # time each evaluation as it happens, without changing what is evaluated
            notebook_val_loss = ns["val_loss"]

            def timed_val_loss(model, _inner=notebook_val_loss):
                loss = _inner(model)
                cpu_at[len(cpu_at) + 1] = time.process_time() - train_start["cpu"]
                return loss

            ns["val_loss"] = timed_val_loss
        if cid == "char-loop":
            inner = ns["train_char_lstm"]
            ns["train_char_lstm"] = lambda model, steps, _inner=inner: _inner(model, steps, evaluations=evaluations)
    h = ns["char_history"]
    return {
        "steps": h["steps"],
        "val": h["val"],
        "cpu_at": [cpu_at[k + 1] for k in range(len(h["steps"]))],
        "pretrained_val": ns["pretrained_val"],
        "pretrained_steps": ns["PRETRAINED_STEPS"],
        "val_chars": ns["VAL_CHARS"],
        "threads": ns["torch"].get_num_threads(),
        "cpu": time.process_time() - cpu0,
        "wall": time.perf_counter() - wall0,
        "sample": ns["sample"](ns["char_model"], "ROMEO:\n", 300, 0.8),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[2400], help="training steps per run")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: the notebook's)")
    parser.add_argument("--evaluations", type=int, default=12, help="validation points per run")
    parser.add_argument("--no-samples", action="store_true", help="do not print the sampled text")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print("RESULT " + json.dumps(child(args.evaluations, args.threads)))
        return
    base = default_steps(notebook_cells())
    print(f"char-LSTM of {NOTEBOOK.relative_to(REPO)}: CHAR_LSTM_STEPS = budget({base}), scaled per run")
    for steps in args.steps:
        env = {**os.environ, "COURSE_BUDGET_SCALE": repr(steps / base)}
        env.pop("NBGRADER_EXECUTION", None)
        env.pop("COURSE_RESULTS_FILE", None)
        load0 = os.getloadavg()[0]
        cmd = [sys.executable, __file__, "--child", "--evaluations", str(args.evaluations)]
        if args.threads:
            cmd += ["--threads", str(args.threads)]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=REPO)
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
        if line is None:
            print(f"{steps} steps: the run failed\n{proc.stderr[-2000:]}")
            continue
        r = json.loads(line[len("RESULT ") :])
        print(f"\n{r['steps'][-1]} steps, {r['threads']} torch thread(s), validation on {r['val_chars']:,} characters")
        print(f"{'step':>6} {'CPU s':>7} {'val nats/char':>14} {'bits/char':>10}")
        for s, c, v in zip(r["steps"], r["cpu_at"], r["val"], strict=True):
            print(f"{s:6d} {c:7.1f} {v:14.3f} {v / LN2:10.3f}")
        print(
            f"pretrained ({r['pretrained_steps']:,} steps): {r['pretrained_val']:.3f} nats/char on the same characters"
        )
        print(
            f"process {r['cpu']:.0f} CPU s, {r['wall']:.0f} wall s in all "
            f"({r['steps'][-1] / r['cpu_at'][-1] * 60:.0f} training steps per CPU-minute, evaluations included); "
            f"load average {load0:.1f} -> {os.getloadavg()[0]:.1f}"
        )
        if not args.no_samples:
            print("sample at temperature 0.8:\n" + r["sample"].rstrip())


if __name__ == "__main__":
    main()
