"""An interactive look at one 2-D convolution: kernel, stride, padding and dilation.

>>> explore_convolution(digit)        # digit: (28, 28) array

shows the input (with its zero padding), the kernel (with the holes dilation puts in it) and
the output side by side, with the output-size formula and its numbers. In JupyterLab a
dropdown and three sliders change the settings and the figure follows.

The computation is ``torch.nn.functional.conv2d`` in float64, which, like every deep-learning
"convolution" layer, computes a cross-correlation (the kernel is not flipped).

A static figure with the default settings is always drawn first, so an HTML export or a
notebook run without widgets still shows something; the controls are added only when
``ipywidgets`` can be imported and the notebook is not being graded (``NBGRADER_EXECUTION``).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from IPython.display import display
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from course.budget import under_grader
from course.i18n import tr

__all__ = [
    "DEFAULTS",
    "KERNELS",
    "apply_kernel",
    "effective_kernel_size",
    "explore_convolution",
    "output_size_text",
    "static_figure",
]

KERNELS: dict[str, np.ndarray] = {
    "identity": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=np.float64),
    "box blur": np.full((3, 3), 1.0 / 9.0),
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float64),
    "Sobel x": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64),
    "Sobel y": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=np.float64),
    "Laplacian": np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float64),
}
"""Classic 3 x 3 image kernels, applied as cross-correlations (the way conv2d applies them)."""

DEFAULTS: dict[str, Any] = {"kernel": "Sobel x", "stride": 1, "padding": 1, "dilation": 1}
"""Settings of the static figure and the initial position of the controls."""


def _kernel_title(kernel: str) -> str:
    """The name of a kernel of :data:`KERNELS` as figures and controls show it, in the current language."""
    titles = {
        "identity": tr("identity"),
        "box blur": tr("box blur"),
        "sharpen": tr("sharpen"),
        "Laplacian": tr("Laplacian"),
    }
    return titles.get(kernel, kernel)


def effective_kernel_size(size: int, dilation: int = 1) -> int:
    """Span in input pixels of a `size`-tap kernel whose taps are `dilation` pixels apart."""
    return dilation * (size - 1) + 1


def output_size_text(n: int, f: int, pad: int = 0, stride: int = 1, dilation: int = 1) -> str:
    """The output-size formula with the numbers substituted, as one line of text.

    Args:
        n: input size along one axis (height or width).
        f: kernel size along that axis.
        pad: zeros added on each side.
        stride: step between windows.
        dilation: spacing of the kernel taps (1 = an ordinary kernel).

    Returns:
        e.g. ``"out = (28 - 3 + 2·1)/1 + 1 = 28"``; for a dilated kernel the effective size is
        shown first; a size that is not an integer says what conv2d does with it.
    """
    fe = effective_kernel_size(f, dilation)
    prefix = f"F_eff = {dilation}·({f} - 1) + 1 = {fe};  " if dilation != 1 else ""
    value = Fraction(n - fe + 2 * pad, stride) + 1
    body = f"out = ({n} - {fe} + 2·{pad})/{stride} + 1"
    if value < 1:
        return tr(
            "{formula} = {value:g}: the kernel is larger than the padded input",
            formula=prefix + body,
            value=float(value),
        )
    if value.denominator != 1:
        return tr(
            "{formula} = {value:g}: not an integer, conv2d floors it to {floor}",
            formula=prefix + body,
            value=float(value),
            floor=int(value),
        )
    return f"{prefix}{body} = {int(value)}"


def apply_kernel(
    image: np.ndarray, kernel: np.ndarray, *, stride: int = 1, padding: int = 0, dilation: int = 1
) -> np.ndarray:
    """Cross-correlate one image with one kernel using ``torch.nn.functional.conv2d`` (float64).

    Args:
        image: (H, W).
        kernel: (kh, kw).

    Returns:
        (H_out, W_out) with ``H_out = floor((H + 2 padding - dilation (kh - 1) - 1) / stride) + 1``.
    """
    x = torch.as_tensor(np.asarray(image, dtype=np.float64))[None, None]
    w = torch.as_tensor(np.asarray(kernel, dtype=np.float64))[None, None]
    out = F.conv2d(x, w, stride=stride, padding=padding, dilation=dilation)
    return out[0, 0].numpy()


def _dilated(kernel: np.ndarray, dilation: int) -> np.ndarray:
    """The kernel drawn on the input grid: taps `dilation` apart, NaN (shown blank) in between."""
    kh, kw = kernel.shape
    out = np.full((effective_kernel_size(kh, dilation), effective_kernel_size(kw, dilation)), np.nan)
    out[::dilation, ::dilation] = kernel
    return out


def static_figure(
    image: np.ndarray,
    kernel: str = DEFAULTS["kernel"],
    stride: int = DEFAULTS["stride"],
    padding: int = DEFAULTS["padding"],
    dilation: int = DEFAULTS["dilation"],
) -> Figure:
    """Input (zero-padded), kernel and output side by side, with the output-size formula.

    Args:
        image: (H, W) grayscale image.
        kernel: a name from :data:`KERNELS`.

    Returns:
        The figure (three axes); the first window is outlined on the padded input.
    """
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 2:
        raise ValueError(tr("image must be (H, W), got shape {shape}", shape=image.shape))
    k = KERNELS[kernel]
    fe = effective_kernel_size(k.shape[0], dilation)
    padded = np.pad(image, padding)
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.9), gridspec_kw={"width_ratios": [1, 0.6, 1]})

    ax = axes[0]
    ax.imshow(padded, cmap="gray", interpolation="nearest")
    ax.set_title(
        tr("input {h}x{w}, padding {padding}", h=image.shape[0], w=image.shape[1], padding=padding), fontsize=10
    )
    if padding:
        h, w = image.shape
        ax.add_patch(Rectangle((padding - 0.5, padding - 0.5), w, h, fill=False, ec="tab:blue", lw=1))
    for step in (0, 1):  # the first two windows along a row show the stride
        ax.add_patch(
            Rectangle(
                (step * stride - 0.5, -0.5),
                fe,
                fe,
                fill=False,
                ec=("tab:red", "tab:orange")[step],
                lw=1.5,
            )
        )

    ax = axes[1]
    drawn = _dilated(k, dilation)
    lim = max(1e-9, float(np.nanmax(np.abs(k))))
    ax.imshow(drawn, cmap="coolwarm", vmin=-lim, vmax=lim, interpolation="nearest")
    for (i, j), v in np.ndenumerate(drawn):
        if not np.isnan(v) and drawn.shape[0] <= 9:
            ax.text(j, i, f"{v:.2g}", ha="center", va="center", fontsize=8)
    ax.set_title(tr("{kernel}, dilation {dilation}", kernel=_kernel_title(kernel), dilation=dilation), fontsize=10)

    ax = axes[2]
    size_text = output_size_text(image.shape[0], k.shape[0], padding, stride, dilation)
    if image.shape[1] != image.shape[0]:
        width_text = output_size_text(image.shape[1], k.shape[1], padding, stride, dilation)
        size_text = tr("height: {height}\nwidth: {width}", height=size_text, width=width_text)
    if min(padded.shape) >= fe:
        out = apply_kernel(image, k, stride=stride, padding=padding, dilation=dilation)
        m = max(1e-12, float(np.abs(out).max()))
        signed = out.min() < 0
        ax.imshow(
            out,
            cmap="gray",
            vmin=-m if signed else None,
            vmax=m if signed else None,
            interpolation="nearest",
        )
        ax.set_title(tr("output {h}x{w}, stride {stride}", h=out.shape[0], w=out.shape[1], stride=stride), fontsize=10)
    else:
        ax.set_title(tr("no output"), fontsize=10)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(size_text, fontsize=11)
    fig.tight_layout()
    return fig


def _widgets() -> Any | None:
    """The ipywidgets module when interactive controls make sense here, else None."""
    if under_grader():
        return None
    try:
        import ipywidgets
    except ImportError:
        return None
    return ipywidgets


def explore_convolution(image: np.ndarray) -> None:
    """Show a convolution explorer for one (H, W) image.

    Always displays the static figure (default settings) first. Then, when ipywidgets is
    available and the notebook is not under the grader, displays a kernel dropdown and
    stride, padding and dilation sliders with a live figure that follows them.
    """
    image = np.asarray(image, dtype=np.float64)
    fig = static_figure(image)
    display(fig)
    plt.close(fig)
    widgets = _widgets()
    if widgets is None:
        return
    controls = {
        "kernel": widgets.Dropdown(
            options=[(_kernel_title(k), k) for k in KERNELS], value=DEFAULTS["kernel"], description=tr("kernel")
        ),
        "stride": widgets.IntSlider(value=DEFAULTS["stride"], min=1, max=4, description=tr("stride")),
        "padding": widgets.IntSlider(value=DEFAULTS["padding"], min=0, max=4, description=tr("padding")),
        "dilation": widgets.IntSlider(value=DEFAULTS["dilation"], min=1, max=4, description=tr("dilation")),
    }
    for control in controls.values():
        control.continuous_update = False

    def redraw(kernel: str, stride: int, padding: int, dilation: int) -> None:
        live = static_figure(image, kernel, stride, padding, dilation)
        display(live)
        plt.close(live)

    out = widgets.interactive_output(redraw, controls)
    display(
        widgets.VBox(
            [
                widgets.HTML(tr("<b>Explore</b>: change the settings; the figure below follows them.")),
                widgets.HBox([controls["kernel"], controls["stride"]]),
                widgets.HBox([controls["padding"], controls["dilation"]]),
                out,
            ]
        )
    )
