"""GAN learning per CPU-minute: notebook 09's own code, trained with larger budgets, then scored.

Run from the repository root:

    .venv/bin/python bench/gan.py                 # 25, 60 and 180 s per GAN (about 10 minutes)
    .venv/bin/python bench/gan.py --seconds 90    # one budget

How: the notebook sets ``GAN_SECONDS = budget(25)`` (cell ``gan-budget``) and trains both of its
GANs (the DCGAN and the conditional DCGAN) for that long. For each requested budget S this
script starts a fresh Python process with ``COURSE_BUDGET_SCALE = S / 25``, reads the source
notebook ``notebooks/09_gan/gan.ipynb`` with nbformat and executes its code cells in order in one
namespace (the solution cells hold the reference answers; test cells run too and are fast;
figures go to matplotlib's Agg backend and are closed), exactly the code a student runs with
a larger ``GAN_SECONDS``. It then takes the two trained generators from the notebook's namespace
(``G_dcgan``, ``G_cond``) and scores 2,000 samples of each with ``course.sample_score`` (the
conditional one through the notebook's ``generate_digits``, 200 requests of each digit); the
notebook itself scores only 300 per snapshot, to stay within its time budget.

Columns: training wall seconds and CPU seconds (the notebook trains on one thread) and steps of
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


SAMPLES = 2000


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
    torch, score = ns["torch"], ns["score_samples"]
    G = ns["G_dcgan"].eval()
    with torch.no_grad():
        z = torch.randn(SAMPLES, ns["LATENT_DIM"], generator=torch.Generator().manual_seed(2024))
        uncond = score(G(z) / 2 + 0.5)
    images, labels = ns["generate_digits"](ns["G_cond"], range(10), per_digit=SAMPLES // 10, seed=2024)
    cond = score(images, requested=labels)
    for key, hist, last in [("dcgan", ns["gan_history"], uncond), ("cgan", ns["cgan_history"], cond)]:
        result[key] = {
            "seconds": hist["seconds"],
            "cpu_seconds": hist["cpu_seconds"],
            "steps": len(hist["d_loss"]),
            "epochs": hist["epoch"][-1],
            "confidence": last.confidence,
            "coverage": last.coverage,
            "conditional_accuracy": last.conditional_accuracy,
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--seconds", type=float, nargs="+", default=[25, 60, 180], help="training seconds per GAN (default: 25 60 180)"
    )
    parser.add_argument("--child", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print("RESULT " + json.dumps(run_notebook(args.child)), flush=True)
        return

    print(f"notebook: {NOTEBOOK.relative_to(REPO)}; {SAMPLES} samples per GAN scored by course.sample_score")
    header = (
        f"{'GAN_SECONDS':>11} | {'GAN':<17} | {'wall s':>6} | {'CPU s':>6} | {'steps':>6} | "
        f"{'epochs':>6} | {'confidence':>10} | {'coverage':>8} | {'cond. acc.':>10}"
    )
    print(header)
    print("-" * len(header))
    for seconds in args.seconds:
        proc = subprocess.run(
            [sys.executable, __file__, "--child", str(seconds)], cwd=REPO, capture_output=True, text=True
        )
        lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
        if proc.returncode != 0 or not lines:
            print(f"{seconds:>11g} | failed: {proc.stderr.strip().splitlines()[-1:]}")
            continue
        r = json.loads(lines[-1][len("RESULT ") :])
        for key, name in [("dcgan", "DCGAN"), ("cgan", "conditional DCGAN")]:
            m = r[key]
            acc = m["conditional_accuracy"]
            print(
                f"{r['budget']:>11.0f} | {name:<17} | {m['seconds']:>6.0f} | {m['cpu_seconds']:>6.0f} | "
                f"{m['steps']:>6} | {m['epochs']:>6.2f} | {m['confidence']:>10.3f} | {m['coverage']:>8.3f} | "
                + (f"{acc:>10.1%}" if acc is not None else f"{'':>10}")
            )
        print(f"{'':>11} | whole notebook: {r['notebook_seconds']:.0f} s")


if __name__ == "__main__":
    main()
