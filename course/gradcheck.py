"""Numerical gradients by centered differences, to check hand-written backward passes.

For a scalar function f and an array x, ``numerical_gradient(f, x)[i] ~ (f(x + h e_i) - f(x - h e_i)) / 2h``.
For a layer ``y = g(x)`` with upstream gradient ``dy``, ``numerical_gradient_array(g, x, dy)``
gives dL/dx for ``L = sum(g(x) * dy)``. Work in float64: in float32 the rounding error of the
difference is about 1e-7 / h and hides real mistakes.

Kinks (ReLU at 0, max pooling ties) make the two one-sided slopes differ; a point within h of a
kink gives a large error even for a correct gradient. :func:`gradient_check` reports this.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from course.checks import relative_error
from course.i18n import tr

__all__ = ["GradCheckReport", "gradient_check", "numerical_gradient", "numerical_gradient_array"]


def numerical_gradient(
    f: Callable[[np.ndarray], float], x: np.ndarray, *, h: float = 1e-5, indices: list[tuple[int, ...]] | None = None
) -> np.ndarray:
    """Centered-difference gradient of a scalar function.

    Args:
        f: maps an array shaped like `x` to a float; it may read `x` in place.
        x: (any shape) float64 point; restored to its value on return.
        h: step size.
        indices: only these entries (a sparse check); the rest of the result is 0.

    Returns:
        grad: same shape as `x`.
    """
    if x.dtype != np.float64:
        raise TypeError(tr("gradient checks need float64 inputs, got {dtype}; use x.astype(np.float64)", dtype=x.dtype))
    grad = np.zeros_like(x)
    for idx in indices if indices is not None else np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + h
        f_plus = float(f(x))
        x[idx] = old - h
        f_minus = float(f(x))
        x[idx] = old
        grad[idx] = (f_plus - f_minus) / (2 * h)
    return grad


def numerical_gradient_array(
    g: Callable[[np.ndarray], np.ndarray], x: np.ndarray, dout: np.ndarray, *, h: float = 1e-5
) -> np.ndarray:
    """Gradient of ``sum(g(x) * dout)`` with respect to `x`, i.e. the backward pass of `g` given `dout`.

    Args:
        g: a layer's forward function, x -> out.
        x: (any shape) float64 input.
        dout: upstream gradient, shaped like ``g(x)``.

    Returns:
        dx: shaped like `x`.
    """
    return numerical_gradient(lambda z: float(np.sum(g(z) * dout)), x, h=h)


@dataclass(frozen=True)
class GradCheckReport:
    """Outcome of :func:`gradient_check`; ``str(report)`` explains it."""

    name: str
    relative_error: float
    tolerance: float
    checked: int
    worst_index: tuple[int, ...]

    @property
    def passed(self) -> bool:
        return self.relative_error < self.tolerance

    def __str__(self) -> str:
        figures = {
            "name": self.name,
            "checked": self.checked,
            "error": self.relative_error,
            "tolerance": self.tolerance,
        }
        if self.passed:
            return tr(
                "{name}: the analytic gradient agrees with the numerical one on {checked} entries "
                "(relative error {error:.2e}, tolerance {tolerance:.0e}).",
                **figures,
            )
        return tr(
            "{name}: the analytic gradient DISAGREES with the numerical one on {checked} entries "
            "(relative error {error:.2e}, tolerance {tolerance:.0e}). Largest disagreement at index {index}. "
            "If the error is large everywhere, look for a missing factor or a transposed matrix; if only at a "
            "few entries, the point may sit on a kink (ReLU at 0, a tie in max): move it and check again.",
            index=self.worst_index,
            **figures,
        )


def gradient_check(
    f: Callable[[np.ndarray], float],
    x: np.ndarray,
    analytic: np.ndarray,
    *,
    name: str | None = None,
    tolerance: float = 1e-7,
    samples: int | None = None,
    seed: int = 0,
    h: float = 1e-5,
) -> GradCheckReport:
    """Compare an analytic gradient with centered differences.

    Args:
        f: scalar function of `x` (the loss).
        x: (any shape) float64 point.
        analytic: dL/dx, shaped like `x`.
        name: what is checked, named in the report (default: "gradient").
        samples: check only this many random entries (a sparse check for big arrays).

    Returns:
        A report; ``report.passed`` is True when the relative error is below `tolerance`.
    """
    analytic = np.asarray(analytic, dtype=np.float64)
    if analytic.shape != x.shape:
        raise ValueError(tr("analytic gradient has shape {got}, x has shape {want}", got=analytic.shape, want=x.shape))
    indices = None
    if samples is not None and samples < x.size:
        rng = np.random.default_rng(seed)
        flat = rng.choice(x.size, size=samples, replace=False)
        indices = [tuple(int(i) for i in np.unravel_index(k, x.shape)) for k in flat]
    numeric = numerical_gradient(f, x, h=h, indices=indices)
    if indices is None:
        a, n = analytic, numeric
    else:
        a = np.array([analytic[i] for i in indices])
        n = np.array([numeric[i] for i in indices])
    diff = np.abs(a - n).ravel()
    worst = int(np.argmax(diff)) if diff.size else 0
    worst_index = indices[worst] if indices is not None else tuple(int(i) for i in np.unravel_index(worst, x.shape))
    name = tr("gradient") if name is None else name
    return GradCheckReport(name, relative_error(a, n), tolerance, int(diff.size), worst_index)
