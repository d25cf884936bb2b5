"""Figures the notebooks share: image grids, filters, curves, confusion matrices, decision boundaries.

Every function draws into a new (or given) matplotlib figure and returns it, so notebooks can
show it, save it or test it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from course.i18n import tr

__all__ = ["confusion_matrix", "curves", "decision_boundary", "image_grid"]


def image_grid(
    images: np.ndarray,
    *,
    titles: Sequence[str] | None = None,
    ncols: int = 8,
    cmap: str = "gray",
    normalize_each: bool = False,
    size: float = 1.2,
    suptitle: str | None = None,
) -> Figure:
    """Show images in a grid.

    Args:
        images: (N, H, W) grayscale or (N, H, W, 3) colour; any real values.
        titles: N short captions.
        normalize_each: rescale every image to its own [min, max] (filters, feature maps);
            otherwise all share one colour scale.
        size: inches per image.
    """
    images = np.asarray(images)
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(size * ncols, size * nrows * (1.25 if titles else 1)), squeeze=False
    )
    vmin, vmax = (None, None) if normalize_each else (float(images.min()), float(images.max()))
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i], cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
            if titles is not None:
                ax.set_title(titles[i], fontsize=8)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def curves(
    series: Mapping[str, Sequence[float]],
    *,
    xlabel: str | None = None,
    ylabel: str | None = None,
    title: str = "",
    logy: bool = False,
) -> Figure:
    """Line plot of named series (e.g. training and validation loss) against their index.

    The axes are labelled "epoch" and "loss" unless `xlabel` and `ylabel` say otherwise.
    """
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for label, values in series.items():
        ax.plot(np.arange(1, len(values) + 1), values, label=label, marker="o" if len(values) < 30 else None)
    ax.set(
        xlabel=tr("epoch") if xlabel is None else xlabel, ylabel=tr("loss") if ylabel is None else ylabel, title=title
    )
    if logy:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, *, classes: int = 10, title: str = "") -> Figure:
    """Counts of (true class, predicted class) pairs, with the counts written in the cells.

    Args:
        labels: (N,) true class indices.
        predictions: (N,) predicted class indices.
    """
    counts = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(counts, (np.asarray(labels), np.asarray(predictions)), 1)
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.imshow(np.log1p(counts), cmap="Blues")
    for (i, j), c in np.ndenumerate(counts):
        if c:
            ax.text(j, i, str(c), ha="center", va="center", fontsize=7, color="white" if i == j else "black")
    ax.set(xlabel=tr("predicted"), ylabel=tr("true"), xticks=range(classes), yticks=range(classes), title=title)
    fig.tight_layout()
    return fig


def decision_boundary(
    predict: Callable[[np.ndarray], np.ndarray],
    X: np.ndarray,
    y: np.ndarray,
    *,
    title: str = "",
    ax: plt.Axes | None = None,
    margin: float = 0.5,
    resolution: int = 200,
) -> Figure:
    """Colour the plane by a classifier's prediction and scatter the labelled points on top.

    Args:
        predict: maps (M, 2) points to (M,) class labels or scores in [0, 1].
        X: (N, 2) points.
        y: (N,) labels.
    """
    fig = ax.figure if ax is not None else plt.figure(figsize=(3.5, 3.5))
    ax = ax if ax is not None else fig.add_subplot()
    lo, hi = X.min(axis=0) - margin, X.max(axis=0) + margin
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    z = np.asarray(predict(grid), dtype=float).reshape(gx.shape)
    ax.contourf(gx, gy, z, levels=20, cmap="coolwarm", alpha=0.35)
    ax.contour(gx, gy, z, levels=[0.5], colors="k", linewidths=1)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="coolwarm", edgecolors="k", s=60)
    ax.set(title=title, xlabel="$x_1$", ylabel="$x_2$")
    ax.set_aspect("equal")
    return fig
