"""GAN learning per CPU-minute: notebook 09's own code, trained for more steps, then scored.

Run from the repository root:

    .venv/bin/python bench/gan.py                  # the notebook's steps and 1,500 per GAN (a few CPU-minutes)
    .venv/bin/python bench/gan.py --steps 3000     # one budget

How: the notebook sets ``GAN_STEPS = budget(N)`` (cell ``gan-budget``) and trains both of its
GANs (the DCGAN and the conditional DCGAN) for that many steps. For each requested number of
steps S this script starts a fresh Python process with ``COURSE_BUDGET_SCALE = S / N``, reads
the source notebook ``notebooks/09_gan/gan.ipynb`` with nbformat and executes its code cells in
order in one namespace (the solution cells hold the reference answers; test cells run too and
are fast; figures go to matplotlib's Agg backend and are closed), exactly the code a student runs
with a larger ``GAN_STEPS``. The two training cells are timed in CPU seconds (the notebook trains
on one thread). It then takes the two trained generators from the notebook's namespace
(``G_dcgan``, ``G_cond``) and scores 2,000 samples of each with ``course.sample_score`` (the
conditional one through the notebook's ``generate_digits``, 200 requests of each digit); the
notebook itself scores 300 per snapshot and 500 for the pretrained generator. A last row scores
the pretrained conditional generator that ships in ``data/cgan_generator.pt`` (trained by the same
code for ``course.gan_weights.PRETRAINED_STEPS`` steps) on the same 2,000 requests.

Columns: steps and epochs (passes over the 20,000 training digits) of each GAN, the CPU seconds of
its training cell, and the scores: confidence (mean max softmax probability), coverage (entropy of
the predicted-digit histogram / log 10) and conditional accuracy (fraction read as the requested
digit). The runs are seeded: the scores are the same on a busy machine as on an idle one, only the
CPU seconds vary a little. This is a benchmark: it prints a table and exits 0 whatever it measures.
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
TRAINING_CELLS = {"train-dcgan": "dcgan", "train-cdcgan": "cgan"}
SAMPLES = 2000


def default_steps(nb) -> int:
    """The N in ``GAN_STEPS = budget(N)`` of the notebook's budget cell."""
    cell = next(c for c in nb.cells if c.get("id") == BUDGET_CELL)
    match = re.search(r"GAN_STEPS\s*=\s*budget\(\s*([0-9]+)", cell.source)
    if match is None:
        raise SystemExit(f"cell {BUDGET_CELL!r} does not set GAN_STEPS = budget(N)")
    return int(match.group(1))


def run_notebook(steps: int) -> dict:
    """Child process: execute the notebook's code cells with GAN_STEPS = `steps`; return figures."""
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import nbformat

    warnings.filterwarnings("ignore")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    os.environ.pop("NBGRADER_EXECUTION", None)
    os.environ.pop("COURSE_RESULTS_FILE", None)
    os.environ["COURSE_BUDGET_SCALE"] = repr(steps / default_steps(nb))
    ns: dict = {"__name__": "__main__"}
    cpu = {}
    for cell in nb.cells:
        if cell.cell_type == "code":
            start = time.process_time()
            exec(compile(cell.source, f"<cell {cell.get('id')}>", "exec"), ns)  # noqa: S102
            cpu[cell.get("id")] = time.process_time() - start
            plt.close("all")
    torch, score, generate = ns["torch"], ns["score_samples"], ns["generate_digits"]
    with torch.no_grad():
        z = torch.randn(SAMPLES, ns["LATENT_DIM"], generator=torch.Generator().manual_seed(2024))
        uncond = score(ns["G_dcgan"].eval()(z) / 2 + 0.5)
    scores = {"dcgan": uncond, "cgan": score(*generate(ns["G_cond"], range(10), SAMPLES // 10, seed=2024))}
    scores["pretrained"] = score(*generate(ns["G_pretrained"], range(10), SAMPLES // 10, seed=2024))
    result = {"steps": ns["GAN_STEPS"], "epochs": ns["GAN_STEPS"] * 64 / len(ns["real_images"])}
    for key, s in scores.items():
        result[key] = {
            "confidence": s.confidence,
            "coverage": s.coverage,
            "conditional_accuracy": s.conditional_accuracy,
        }
    for cell_id, key in TRAINING_CELLS.items():
        result[key]["cpu_seconds"] = cpu[cell_id]
    result["pretrained_steps"] = ns["PRETRAINED_STEPS"]
    return result


def row(steps: int, name: str, epochs: float, cpu: float | None, m: dict) -> str:
    acc = m["conditional_accuracy"]
    return (
        f"{steps:>6} | {name:<22} | {epochs:>6.2f} | {'' if cpu is None else f'{cpu:.0f}':>6} | "
        f"{m['confidence']:>10.3f} | {m['coverage']:>8.3f} | " + (f"{acc:>10.1%}" if acc is not None else f"{'':>10}")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--steps", type=int, nargs="+", help="training steps per GAN (default: the notebook's GAN_STEPS and 1500)"
    )
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print("RESULT " + json.dumps(run_notebook(args.child)), flush=True)
        return

    import nbformat

    steps_list = args.steps or [default_steps(nbformat.read(NOTEBOOK, as_version=4)), 1500]
    print(f"notebook: {NOTEBOOK.relative_to(REPO)}; {SAMPLES} samples per GAN scored by course.sample_score")
    header = (
        f"{'steps':>6} | {'GAN':<22} | {'epochs':>6} | {'CPU s':>6} | "
        f"{'confidence':>10} | {'coverage':>8} | {'cond. acc.':>10}"
    )
    print(header)
    print("-" * len(header))
    pretrained = None
    for steps in steps_list:
        proc = subprocess.run(
            [sys.executable, __file__, "--child", str(steps)], cwd=REPO, capture_output=True, text=True
        )
        lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
        if proc.returncode != 0 or not lines:
            print(f"{steps:>6} | failed: {proc.stderr.strip().splitlines()[-1:]}")
            continue
        r = json.loads(lines[-1][len("RESULT ") :])
        for key, name in [("dcgan", "DCGAN"), ("cgan", "conditional DCGAN")]:
            print(row(r["steps"], name, r["epochs"], r[key]["cpu_seconds"], r[key]))
        pretrained = r
    if pretrained is not None:
        n = pretrained["pretrained_steps"]
        epochs = n * pretrained["epochs"] / pretrained["steps"]
        print(row(n, "pretrained cond. DCGAN", epochs, None, pretrained["pretrained"]))
        print("(pretrained: data/cgan_generator.pt, made by `python -m course.gan_weights`; not timed here)")


if __name__ == "__main__":
    main()
