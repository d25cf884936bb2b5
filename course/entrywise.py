"""Per-entry relative errors for gradient checks: the worst entry, with a floor for tiny entries.

:func:`course.checks.relative_error` gives one number for a whole array,
``max |a - n| / max(|a| + |n|)``: the largest difference divided by the largest entry. An error
confined to a small entry (a saturated unit's weights, a bias beside large weights) then looks as
small as rounding. The thresholds quoted from the cs231n notes (below 1e-7 fine, above 1e-2 wrong)
are meant *per entry*::

    err_i = |a_i - n_i| / max(|a_i| + |n_i|, floor)

The floor keeps entries that are themselves at the noise of the numerical derivative from
counting as wrong. With h = 1e-5 in float64 and a cost of order 1, a centered difference is off by
about 1e-10 in absolute terms (rounding: 1e-16 / 1e-5; truncation: h^2 / 6 times the third
derivative), so with ``floor = 1e-3`` and the threshold 1e-7 an entry smaller than 1e-3 is flagged
exactly when its absolute error exceeds 1e-10, the noise level. Nothing finer can be checked by
finite differences.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from course.i18n import tr

__all__ = ["FLOOR", "entrywise_relative_error", "show_errors", "worst_entry_error"]

FLOOR = 1e-3
"""Default floor of the denominator; `threshold * FLOOR` (1e-10) is the noise of a centered difference."""


def entrywise_relative_error(a: Any, n: Any, *, floor: float = FLOOR) -> np.ndarray:
    """|a - n| / max(|a| + |n|, floor), entry by entry (a and n of the same shape)."""
    a = np.asarray(a, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    if a.shape != n.shape:
        raise ValueError(tr("the two gradients have shapes {a} and {n}", a=a.shape, n=n.shape))
    return np.abs(a - n) / np.maximum(np.abs(a) + np.abs(n), floor)


def worst_entry_error(a: Any, n: Any, *, floor: float = FLOOR) -> tuple[float, tuple[int, ...]]:
    """The largest per-entry relative error and its index (0.0 and () for empty arrays)."""
    err = entrywise_relative_error(a, n, floor=floor)
    if err.size == 0:
        return 0.0, ()
    k = int(np.argmax(err))
    return float(err.flat[k]), tuple(int(i) for i in np.unravel_index(k, err.shape))


def show_errors(rows: dict[str, tuple[float, ...]], columns: list[str], title: str, threshold: float = 1e-7) -> None:
    """Print a table of errors (one row per parameter, one column per comparison) and a log-scale bar chart."""
    print(f"{'':4s}" + "".join(f"{c:>24s}" for c in columns))
    for key, errs in rows.items():
        print(f"{key:4s}" + "".join(f"{e:>24.2e}" for e in errs))
    fig, ax = plt.subplots(figsize=(6, 3))
    keys, width = list(rows), 0.8 / len(columns)
    for j, label in enumerate(columns):
        offsets = np.arange(len(keys)) + width * (j - (len(columns) - 1) / 2)
        ax.bar(offsets, [max(rows[k][j], 1e-18) for k in keys], width, label=label)
    ax.axhline(threshold, color="k", ls="--", lw=1, label=f"{threshold:.0e}")
    ax.set(
        xticks=range(len(keys)),
        xticklabels=keys,
        yscale="log",
        ylabel=tr("worst per-entry relative error"),
        title=title,
    )
    ax.set_ylim(top=1e-3)
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    plt.show()
