"""Timing for the speed comparisons: best-of-N wall time and GFLOP/s."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

__all__ = ["best_time", "conv2d_flops", "gflops"]


def best_time(fn: Callable[[], Any], *, repeat: int = 5, min_time: float = 0.05, max_time: float = 2.0) -> float:
    """Seconds for one call of `fn`: the best of `repeat` rounds.

    Each round calls `fn` enough times to last about `min_time` (fast functions are averaged over
    many calls); timing stops early once `max_time` is spent, so slow baselines stay bounded.
    """
    fn()  # warm-up: caches, lazy initialisation
    start = time.perf_counter()
    fn()
    once = time.perf_counter() - start
    number = max(1, int(min_time / max(once, 1e-9)))
    best = once
    spent = once
    for _ in range(repeat):
        if spent > max_time:
            break
        start = time.perf_counter()
        for _ in range(number):
            fn()
        elapsed = time.perf_counter() - start
        spent += elapsed
        best = min(best, elapsed / number)
    return best


def gflops(flops: float, seconds: float) -> float:
    """Throughput in 10^9 floating-point operations per second."""
    return flops / seconds / 1e9


def conv2d_flops(n: int, c_in: int, h_out: int, w_out: int, c_out: int, kh: int, kw: int) -> int:
    """Floating-point operations of a direct 2-D convolution: 2 per multiply-add (bias ignored).

    Shapes: input (n, c_in, H, W), weights (c_out, c_in, kh, kw), output (n, c_out, h_out, w_out).
    """
    return 2 * n * c_out * h_out * w_out * c_in * kh * kw
