"""GAN learning per CPU-minute: notebook 09's own code, trained with larger budgets, then scored.

Run from the repository root:

    .venv/bin/python bench/gan.py                 # 30, 60 and 180 s per GAN (about 10 minutes)
    .venv/bin/python bench/gan.py --seconds 90    # one budget

How: the notebook sets ``GAN_SECONDS = budget(30)`` (cell ``gan-budget``) and trains both of its
GANs (the MLP GAN and the conditional DCGAN) for that long. For each requested budget S this
script starts a fresh Python process with ``COURSE_BUDGET_SCALE = S / 30``, reads the source
notebook ``notebooks/09_gan/gan.ipynb`` with nbformat and executes its code cells in order in one
namespace (the solution cells hold the reference answers; test cells run too and are fast;
figures go to matplotlib's Agg backend and are closed), exactly the code a student runs with
a larger ``GAN_SECONDS``. It then reads the notebook's own results: ``gan_history`` (the MLP
GAN's last snapshot, 500 samples from fixed noise) and ``cgan_score`` (the conditional DCGAN's
10 x 10 grid, ten samples of each requested digit) plus ``cgan_history`` (500 samples, 50 per
digit), all scored by ``course.sample_score`` with the pretrained classifier.

Columns: training wall seconds and CPU seconds (both of the notebook's 2 threads) and steps of
each GAN; the scores: confidence (mean max softmax probability), coverage (entropy of the
predicted-digit histogram / log 10) and conditional accuracy (fraction read as the requested
digit). Targets for 180 s: coverage >= 0.95, confidence >= 0.9, conditional accuracy >= 90%.
Wall-clock budgets buy fewer steps on a busy machine: compare runs by steps and CPU seconds
there. This is a benchmark: it prints a table and exits 0 whatever it measures.
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
NOTEBOOK = REPO / "notebooks" / "09_gan" / "gan.ipynb"
BUDGET_CELL = "gan-budget"


def default_seconds(nb) -> float:
    """The N in ``GAN_SECONDS = budget(N)`` of the notebook's budget cell."""
    cell = next(c for c in nb.cells if c.get("id") == BUDGET_CELL)
    match = re.search(r"GAN_SECONDS\s*=\s*budget\(\s*([0-9.]+)", cell.source)
    if match is None:
        raise SystemExit(f"cell {BUDGET_CELL!r} does not set GAN_SECONDS = budget(N)")
    return float(match.group(1))


def run_notebook(seconds: float) -> dict:
    """Child process: execute the notebook's code cells with GAN_SECONDS = `seconds`; return figures."""
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import nbformat

    warnings.filterwarnings("ignore")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    os.environ.pop("NBGRADER_EXECUTION", None)
    os.environ["COURSE_BUDGET_SCALE"] = repr(seconds / default_seconds(nb))
    namespace: dict = {"__name__": "__main__"}
    start = time.perf_counter()
    for cell in nb.cells:
        if cell.cell_type == "code":
            exec(compile(cell.source, f"<cell {cell.get('id')}>", "exec"), namespace)  # noqa: S102
            plt.close("all")
    ns = namespace
    result = {"budget": ns["GAN_SECONDS"], "notebook_seconds": time.perf_counter() - start}
    for key, hist in [("mlp", ns["gan_history"]), ("cgan", ns["cgan_history"])]:
        last = hist["scores"][-1]
        result[key] = {
            "seconds": hist["seconds"],
            "cpu_seconds": hist["cpu_seconds"],
            "steps": len(hist["d_loss"]),
            "epochs": hist["epoch"][-1],
            "confidence": last.confidence,
            "coverage": last.coverage,
            "conditional_accuracy": last.conditional_accuracy,
        }
    grid = ns["cgan_score"]
    result["cgan_grid"] = {"confidence": grid.confidence, "coverage": grid.coverage,
                           "conditional_accuracy": grid.conditional_accuracy}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, nargs="+", default=[30, 60, 180],
                        help="training seconds per GAN (default: 30 60 180)")
    parser.add_argument("--child", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print("RESULT " + json.dumps(run_notebook(args.child)), flush=True)
        return

    print(f"notebook: {NOTEBOOK.relative_to(REPO)}; scores by course.sample_score")
    header = (f"{'GAN_SECONDS':>11} | {'GAN':<17} | {'wall s':>6} | {'CPU s':>6} | {'steps':>6} | "
              f"{'epochs':>6} | {'confidence':>10} | {'coverage':>8} | {'cond. acc.':>10}")
    print(header)
    print("-" * len(header))
    for seconds in args.seconds:
        proc = subprocess.run([sys.executable, __file__, "--child", str(seconds)], cwd=REPO,
                              capture_output=True, text=True)
        lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
        if proc.returncode != 0 or not lines:
            print(f"{seconds:>11g} | failed: {proc.stderr.strip().splitlines()[-1:]}")
            continue
        r = json.loads(lines[-1][len("RESULT "):])
        for key, name in [("mlp", "MLP GAN"), ("cgan", "conditional DCGAN")]:
            m = r[key]
            acc = m["conditional_accuracy"]
            print(f"{r['budget']:>11.0f} | {name:<17} | {m['seconds']:>6.0f} | {m['cpu_seconds']:>6.0f} | "
                  f"{m['steps']:>6} | {m['epochs']:>6.2f} | {m['confidence']:>10.3f} | {m['coverage']:>8.3f} | "
                  + (f"{acc:>10.1%}" if acc is not None else f"{'':>10}"))
        g = r["cgan_grid"]
        print(f"{'':>11} | {'  10x10 grid':<17} | {'':>6} | {'':>6} | {'':>6} | {'':>6} | {g['confidence']:>10.3f} | "
              f"{g['coverage']:>8.3f} | {g['conditional_accuracy']:>10.1%}")
        print(f"{'':>11} | whole notebook: {r['notebook_seconds']:.0f} s")


if __name__ == "__main__":
    main()
