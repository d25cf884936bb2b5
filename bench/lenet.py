"""Learning per CPU-minute: test accuracy of the modern LeNet-5 against the amount of training.

Run from the repository root:

    .venv/bin/python bench/lenet.py                      # 1, 2, 4, 8 and 16 epochs on 1 thread (~1.5 CPU-min)
    .venv/bin/python bench/lenet.py --epochs 4 8 --threads 2
    .venv/bin/python bench/lenet.py --quick              # 1 and 2 epochs (a smoke test)

The network and the training recipe are not copied here: the cells `setup`, `modern_lenet`
(the solution cell of the exercise), `recipe` (learning rate, batch size, the linear
learning-rate decay over the planned steps, the data loader) and `budget` (the notebook's default
number of epochs) are read from the source notebook notebooks/05_lenet/lenet.ipynb and executed,
so the benchmark trains exactly the notebook's model the way the notebook does. Each row starts
from the same seed and does a fixed number of epochs, the learning rate falling linearly to zero
over that row's steps; the row for the notebook's default is the notebook's own run. Accuracy is
on all 10,000 MNIST test digits, training on the course's 20,000 training digits.

The accuracies are the same on any machine with the same thread count (the work is fixed); only
the times vary. CPU seconds are the process's own, so they hardly depend on what else runs;
the table also gives wall seconds and warns when the CPU/wall ratio shows that the threads did
not get their cores.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

# Before torch loads OpenMP: threads waiting for work sleep instead of spinning (matters on a
# shared machine when --threads is above 1).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "05_lenet" / "lenet.ipynb"
CELLS = ["setup", "modern_lenet", "recipe", "budget"]
TARGET = 0.985


def load_notebook_code() -> dict:
    """Execute the notebook's setup, ModernLeNet solution, recipe and budget cells; return their namespace."""
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    by_id = {cell.get("id"): cell for cell in nb.cells}
    missing = [cid for cid in CELLS if cid not in by_id]
    if missing:
        sys.exit(f"{NOTEBOOK} has no cell(s) {missing}: is this the source notebook?")
    if "raise NotImplementedError" in by_id["modern_lenet"].source:
        sys.exit("the notebook's ModernLeNet is a stub: run the benchmark on the source notebook")
    namespace: dict = {"__name__": "lenet_notebook"}
    for cid in CELLS:
        exec(compile(by_id[cid].source, f"{NOTEBOOK.name}[{cid}]", "exec"), namespace)  # noqa: S102
    return namespace


def train_once(nb: dict, epochs: int, threads: int, data) -> dict:
    """Train a fresh ModernLeNet for `epochs` epochs with the notebook's recipe; measure and evaluate it."""
    import torch

    x_train, y_train, x_test, y_test = data
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = nb["ModernLeNet"]()
    optimizer = torch.optim.Adam(model.parameters(), lr=nb["LEARNING_RATE"])
    nb["decay_linearly"](optimizer, epochs * -(-len(x_train) // nb["BATCH_SIZE"]))
    cpu = time.process_time()
    history = nb["fit"](
        model, (x_train, y_train), optimizer=optimizer, epochs=epochs, batch_size=nb["BATCH_SIZE"], progress=False
    )
    cpu = time.process_time() - cpu
    _, accuracy = nb["evaluate"](model, x_test, y_test)
    steps = history.steps[-1]
    return {
        "epochs": epochs,
        "steps": steps,
        "wall": history.seconds[-1],
        "cpu": cpu,
        "images_per_cpu_s": steps * nb["BATCH_SIZE"] / max(cpu, 1e-9),
        "accuracy": accuracy,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, nargs="+", default=[1, 2, 4, 8, 16], help="epochs per row")
    parser.add_argument("--threads", type=int, default=1, help="torch threads while training (the notebook uses 1)")
    parser.add_argument("--quick", action="store_true", help="1 and 2 epochs only")
    args = parser.parse_args(argv)
    rows_epochs = [1, 2] if args.quick else args.epochs

    nb = load_notebook_code()
    x_train, y_train = nb["mnist_tensors"]("train")
    x_test, y_test = nb["mnist_tensors"]("test")
    data = (x_train, y_train, x_test, y_test)
    import torch

    print(
        f"modern LeNet-5 (notebook recipe: Adam lr {nb['LEARNING_RATE']:g} decayed linearly to 0 over the run, "
        f"batch {nb['BATCH_SIZE']}), {len(x_train):,} training digits, {len(x_test):,} test digits"
    )
    print(
        f"torch {torch.__version__}, {args.threads} thread(s), {os.cpu_count()} CPUs, "
        f"load average before: {os.getloadavg()[0]:.2f}"
    )
    header = (
        f"{'epochs':>6} {'steps':>6} {'CPU s':>7} {'wall s':>7} {'CPU/wall':>8} {'img/CPU-s':>9} {'test acc %':>10}"
    )
    print(header)
    print("-" * len(header))
    rows = []
    for epochs in rows_epochs:
        r = train_once(nb, epochs, args.threads, data)
        rows.append(r)
        print(
            f"{r['epochs']:>6} {r['steps']:>6} {r['cpu']:>7.1f} {r['wall']:>7.1f} {r['cpu'] / r['wall']:>8.2f} "
            f"{r['images_per_cpu_s']:>9.0f} {100 * r['accuracy']:>10.2f}",
            flush=True,
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    starved = [r["epochs"] for r in rows if r["cpu"] / r["wall"] < 0.8 * args.threads]
    if starved:
        print(
            f"note: CPU/wall below {0.8 * args.threads:.1f} for {starved} epochs: other processes took cores, "
            "so those wall-clock figures overstate the time on an idle machine (the CPU seconds do not)."
        )
    default = [r for r in rows if r["epochs"] == nb["EPOCHS"]]
    if default:
        r = default[0]
        print(
            f"notebook default ({nb['EPOCHS']} epochs, {r['cpu']:.0f} CPU s): target >= {TARGET:.1%} test accuracy "
            f"{'met' if r['accuracy'] >= TARGET else 'NOT met'} ({r['accuracy']:.2%})"
        )


if __name__ == "__main__":
    main()
