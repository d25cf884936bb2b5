"""Convolution benchmark: loops vs im2col (loop) vs im2col (strided view) vs torch conv2d.

Run from the repository root:

    .venv/bin/python bench/conv.py              # 1 thread, then 2 threads (a couple of minutes)
    .venv/bin/python bench/conv.py --threads 2  # one configuration only
    .venv/bin/python bench/conv.py --quick      # smaller batches and fewer rounds (a smoke test)

The numpy implementations are not copied here: they are read from the source notebook
notebooks/04_im2col/im2col.ipynb (the cells `setup`, `conv-reference`, `conv_forward_loops`, `im2col`, `im2col_strided`
and `conv_forward`) and executed, so the benchmark measures exactly the notebook's code. All
layers run in float32 on the CPU. GFLOP/s count 2 operations per multiply-add (bias ignored).

Timing does a fixed amount of work, whatever the clock says: each measurement repeats a call
until it has done at least `--min-gflop` GFLOP (a count fixed by the layer's size, the same for
every implementation), and the implementations take turns for `--rounds` rounds, each keeping
its best round, so that load from other processes on a shared machine hits all of them alike;
the ratios to torch come from the same run. With one thread the clock is the process's CPU time
(time.process_time), which other processes on a shared machine barely disturb; with more threads
it is wall time, so those numbers are only meaningful on an otherwise idle machine.

The four-loop version would take minutes on the large layers: there it is timed on one image and
as many filters as give about `--loop-outputs` output values, and scaled up by the number of
(image, filter) pairs; those rows say `est.` (for LeNet C1 the loops are also measured in full,
and both numbers are printed to show how good the estimate is).
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "04_im2col" / "im2col.ipynb"
CELLS = ["setup", "conv-reference", "conv_forward_loops", "im2col", "im2col_strided", "conv_forward"]

# name, batch N, input (C, H, W), filters F, kernel k, stride, pad; square images and kernels
LAYERS = [
    ("LeNet-5 C1", 64, (1, 32, 32), 6, 5, 1, 0),
    ("LeNet-5 C3", 64, (6, 14, 14), 16, 5, 1, 0),
    ("AlexNet conv1", 16, (3, 227, 227), 96, 11, 4, 0),
    ("VGG-16 conv1_2", 2, (64, 224, 224), 64, 3, 1, 1),
    ("VGG-16 conv3_2", 4, (256, 56, 56), 256, 3, 1, 1),
    ("VGG-16 conv5_2", 8, (512, 14, 14), 512, 3, 1, 1),
]
IMPLS = ["loops", "im2col (loop)", "im2col (strided)", "torch"]


def load_notebook_code() -> dict:
    """Execute the notebook's setup and solution cells; return their namespace."""
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    by_id = {cell.get("id"): cell for cell in nb.cells}
    missing = [cid for cid in CELLS if cid not in by_id]
    if missing:
        sys.exit(f"{NOTEBOOK} has no cell(s) {missing}: is this the source notebook?")
    namespace: dict = {"__name__": "im2col_notebook"}
    for cid in CELLS:
        exec(compile(by_id[cid].source, f"{NOTEBOOK.name}[{cid}]", "exec"), namespace)  # noqa: S102
    return namespace


CLOCK = time.perf_counter  # set by run(): process CPU time when single-threaded


def calls_for(flops: float, min_gflop: float) -> int:
    """Calls per measurement: enough to do at least `min_gflop` GFLOP of work, at least one."""
    return max(1, math.ceil(min_gflop * 1e9 / flops))


def best_of_rounds(fns: dict, rounds: int, calls: int) -> dict:
    """{name: fn} -> {name: best seconds per call}; one warm-up call each, then the functions take
    turns round by round, `calls` calls per turn: a fixed amount of work, however long it takes."""
    for fn in fns.values():
        fn()  # warm-up
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(rounds):
        for name, fn in fns.items():
            start = CLOCK()
            for _ in range(calls):
                fn()
            best[name] = min(best[name], (CLOCK() - start) / calls)
    return best


def run(threads: int, quick: bool, rounds: int, min_gflop: float, loop_outputs: int, clock: str) -> int:
    global CLOCK
    if clock == "auto":
        clock = "cpu" if threads == 1 else "wall"
    CLOCK = time.process_time if clock == "cpu" else time.perf_counter
    # Thread counts must be fixed before numpy (OpenBLAS) and torch start their pools.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    os.environ.setdefault("MPLBACKEND", "Agg")
    import numpy as np
    import torch

    from course.timing import conv2d_flops, gflops

    torch.set_num_threads(threads)
    ns = load_notebook_code()
    loops, im2col, im2col_strided = ns["conv_forward_loops"], ns["im2col"], ns["im2col_strided"]
    conv_forward_im2col = ns["conv_forward_im2col"]

    print(
        f"\n=== {threads} thread(s): numpy {np.__version__}, torch {torch.__version__} "
        f"(torch.get_num_threads() = {torch.get_num_threads()}), float32, CPU, "
        f"clock: {'process CPU time' if clock == 'cpu' else 'wall time'} ==="
    )
    rows = []
    rng = np.random.default_rng(0)
    for name, n, (c, h, w_), f, k, s, p in LAYERS:
        if quick:
            n = max(1, n // 4)
        ho = (h + 2 * p - k) // s + 1
        wo = (w_ + 2 * p - k) // s + 1
        flops = conv2d_flops(n, c, ho, wo, f, k, k)
        x = rng.standard_normal((n, c, h, w_), dtype=np.float32)
        w = (rng.standard_normal((f, c, k, k), dtype=np.float32) / np.sqrt(c * k * k)).astype(np.float32)
        b = np.zeros(f, np.float32)
        xt, wt, bt = torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b)
        with torch.no_grad():
            ref = torch.nn.functional.conv2d(xt, wt, bt, stride=s, padding=p).numpy()
        errors = {}
        for label, fn in (("im2col (loop)", im2col), ("im2col (strided)", im2col_strided)):
            out = np.asarray(conv_forward_im2col(x, w, b, s, p, im2col_fn=fn)[0])
            errors[label] = float(np.max(np.abs(out - ref)) / np.max(np.abs(ref)))

        def torch_conv(xt=xt, wt=wt, bt=bt, s=s, p=p):
            with torch.no_grad():
                return torch.nn.functional.conv2d(xt, wt, bt, stride=s, padding=p)

        fns = {
            "im2col (loop)": lambda x=x, w=w, b=b, s=s, p=p: conv_forward_im2col(x, w, b, s, p, im2col_fn=im2col),
            "im2col (strided)": lambda x=x, w=w, b=b, s=s, p=p: conv_forward_im2col(
                x, w, b, s, p, im2col_fn=im2col_strided
            ),
            "torch": torch_conv,
        }
        best = best_of_rounds(fns, rounds, calls_for(flops, min_gflop))

        # The loop version: one image and the filters that give about `loop_outputs` values, scaled up.
        n_filters = min(f, max(1, loop_outputs // (ho * wo)))
        start = CLOCK()
        loops(x[:1], w[:n_filters], b[:n_filters], s, p)
        estimate = (CLOCK() - start) / n_filters * n * f
        loop_note = f"est. from 1 image x {n_filters} filter(s)"
        measured_full = None
        if name == "LeNet-5 C1":  # small enough to measure in full once, to check the estimate
            start = CLOCK()
            loops(x, w, b, s, p)
            measured_full = CLOCK() - start
        best["loops"] = measured_full if measured_full is not None else estimate
        rows.append(
            (name, n, (c, h, w_), f, k, s, p, (ho, wo), flops, best, estimate, measured_full, loop_note, errors)
        )
        print(
            f"  done {name:15s} N={n:<3d} x {(n, c, h, w_)} w {(f, c, k, k)} stride {s} pad {p} -> "
            f"{(n, f, ho, wo)}; max rel. error vs torch: "
            + ", ".join(f"{key} {val:.1e}" for key, val in errors.items()),
            flush=True,
        )

    print()
    header = (
        f"{'layer':15s} {'N':>3s} {'input CxHxW':>12s} {'filters':>12s} {'s/p':>4s} {'GFLOP':>7s} | "
        f"{'loops':>13s} {'im2col(loop)':>12s} {'im2col(strd)':>12s} {'torch':>8s} | "
        f"{'strd/torch':>10s} {'loop/torch':>10s} {'strd/loops':>10s}"
    )
    print("GFLOP/s (higher is better); ratios are throughput ratios measured in this run")
    print(header)
    print("-" * len(header))
    vgg_ratios, loop_speedups = [], []
    for name, n, (c, h, w_), f, k, s, p, _, flops, best, _, _, _, _ in rows:
        g = {impl: gflops(flops, best[impl]) for impl in IMPLS}
        est = "" if name == "LeNet-5 C1" else " est."
        strd_torch = g["im2col (strided)"] / g["torch"]
        strd_loops = g["im2col (strided)"] / g["loops"]
        if name.startswith("VGG"):
            vgg_ratios.append(strd_torch)
        loop_speedups.append(strd_loops)
        print(
            f"{name:15s} {n:3d} {f'{c}x{h}x{w_}':>12s} {f'{f}x{c}x{k}x{k}':>12s} {f'{s}/{p}':>4s} "
            f"{flops / 1e9:7.3f} | {g['loops']:8.4f}{est:5s} {g['im2col (loop)']:12.2f} "
            f"{g['im2col (strided)']:12.2f} {g['torch']:8.2f} | {strd_torch:10.2f} "
            f"{g['im2col (loop)'] / g['torch']:10.2f} {strd_loops:10.0f}"
        )
    for name, *_, flops, _best, estimate, measured_full, note, _ in rows:
        if measured_full is not None:
            print(
                f"\nloops on {name}: measured in full {gflops(flops, measured_full):.4f} GFLOP/s, "
                f"estimate ({note}) {gflops(flops, estimate):.4f} GFLOP/s"
            )
    print("loops 'est.' rows: timed on 1 image and a few filters, scaled by N x F (see the note above)")

    ok_torch = min(vgg_ratios) >= 1 / 3
    ok_loops = min(loop_speedups) >= 100
    print(
        f"\ntarget 1: strided im2col >= 1/3 of torch on the VGG layers: "
        f"{'MET' if ok_torch else 'MISSED'} (ratios {', '.join(f'{r:.2f}' for r in vgg_ratios)})"
    )
    print(
        f"target 2: strided im2col >= 100x the loop version on every layer: "
        f"{'MET' if ok_loops else 'MISSED'} (smallest speed-up {min(loop_speedups):.0f}x)"
    )
    if not quick:
        variants(np, torch, ns, rounds, min_gflop)
    return 0


def variants(np, torch, ns, rounds: int, min_gflop: float) -> None:
    """What else was tried on one VGG layer: dtype, and einsum / tensordot on the strided view."""
    from numpy.lib.stride_tricks import sliding_window_view

    from course.timing import conv2d_flops, gflops

    im2col_strided, conv_forward_im2col = ns["im2col_strided"], ns["conv_forward_im2col"]
    name, n, (c, h, w_), f, k, s, p = LAYERS[4]
    rng = np.random.default_rng(1)
    x32 = rng.standard_normal((n, c, h, w_), dtype=np.float32)
    w32 = (rng.standard_normal((f, c, k, k), dtype=np.float32) / np.sqrt(c * k * k)).astype(np.float32)
    b32 = np.zeros(f, np.float32)
    x64, w64, b64 = x32.astype(np.float64), w32.astype(np.float64), b32.astype(np.float64)
    ho = (h + 2 * p - k) // s + 1
    flops = conv2d_flops(n, c, ho, ho, f, k, k)

    def windows(x):
        xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        return sliding_window_view(xp, (k, k), axis=(2, 3))[:, :, ::s, ::s]  # (N, C, Ho, Wo, k, k)

    def per_image_matmul(x, w):
        # X_col per image, (N, C*k*k, Ho*Wo); the product lands directly in (N, F, Ho*Wo)
        cols = windows(x).transpose(0, 1, 4, 5, 2, 3).reshape(n, c * k * k, ho * ho)
        return (w.reshape(f, -1) @ cols).reshape(n, f, ho, ho)

    xt, wt = torch.from_numpy(x32), torch.from_numpy(w32)
    fns = {
        "notebook: im2col_strided + matmul, float32": lambda: conv_forward_im2col(
            x32, w32, b32, s, p, im2col_fn=im2col_strided
        ),
        "notebook: im2col_strided + matmul, float64": lambda: conv_forward_im2col(
            x64, w64, b64, s, p, im2col_fn=im2col_strided
        ),
        "im2col_strided only (no matmul), float32": lambda: im2col_strided(x32, k, k, s, p),
        "per-image X_col, batched matmul, float32": lambda: per_image_matmul(x32, w32),
        "np.tensordot on the strided view, float32": lambda: np.tensordot(
            windows(x32), w32, axes=([1, 4, 5], [1, 2, 3])
        ),
        "np.einsum(optimize=True) on the view, float32": lambda: np.einsum(
            "ncyxij,fcij->nfyx", windows(x32), w32, optimize=True
        ),
        "torch conv2d, float32": lambda: torch.nn.functional.conv2d(xt, wt, stride=s, padding=p),
    }
    ref = per_image_matmul(x64, w64)
    check = {
        "np.tensordot on the strided view, float32": lambda out: out.transpose(0, 3, 1, 2),
        "np.einsum(optimize=True) on the view, float32": lambda out: out,
        "per-image X_col, batched matmul, float32": lambda out: out,
    }
    for label, view in check.items():
        err = float(np.max(np.abs(view(fns[label]()) - ref)) / np.max(np.abs(ref)))
        if err > 1e-4:
            print(f"variant {label} disagrees with the reference (relative error {err:.1e})")
    with torch.no_grad():
        best = best_of_rounds(fns, rounds, calls_for(flops, min_gflop))
    t_torch = best["torch conv2d, float32"]
    print(
        f"\nvariants on {name}, N={n}, {c}x{h}x{w_}, {f} filters {k}x{k}, "
        f"{flops / 1e9:.1f} GFLOP (same run, same turns)"
    )
    for label, sec in best.items():
        rate = f"{gflops(flops, sec):8.2f} GFLOP/s" if "only" not in label else " " * 16
        print(f"  {label:48s} {sec * 1e3:9.1f} ms {rate}  time/torch {sec / t_torch:5.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", default="both", help="1, 2, ... or 'both' (1 then 2; default)")
    parser.add_argument("--quick", action="store_true", help="batches / 4, 2 rounds: a smoke test")
    parser.add_argument("--rounds", type=int, default=None, help="turns per implementation (default 4)")
    parser.add_argument("--min-gflop", type=float, default=0.5, help="work per measurement, in GFLOP")
    parser.add_argument(
        "--clock",
        choices=["auto", "cpu", "wall"],
        default="auto",
        help="auto: process CPU time with 1 thread (robust on a shared machine), wall time with more",
    )
    parser.add_argument(
        "--loop-outputs", type=int, default=20_000, help="output values the loop version's estimate computes"
    )
    args = parser.parse_args(argv)
    rounds = args.rounds or (2 if args.quick else 4)
    if args.threads == "both":
        status = 0
        for threads in (1, 2):
            cmd = [
                sys.executable,
                __file__,
                "--threads",
                str(threads),
                "--rounds",
                str(rounds),
                "--min-gflop",
                str(args.min_gflop),
                "--loop-outputs",
                str(args.loop_outputs),
                "--clock",
                args.clock,
            ]
            status |= subprocess.run(cmd + (["--quick"] if args.quick else []), cwd=REPO).returncode
        return status
    return run(int(args.threads), args.quick, rounds, args.min_gflop, args.loop_outputs, args.clock)


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
