"""Notebook 04's test and timing helpers: torch references, the usual im2col slips named, a fair race.

Nothing here builds the patch matrix for a student: the references call torch's ``unfold`` and
``fold``, which the im2col and col2im exercises forbid, so a student function that calls them
through this module fails its test all the same. Shapes follow cs231n: ``x`` is ``(N, C, H, W)``,
``w`` is ``(F, C, HH, WW)``, and ``X_col`` is ``(C*HH*WW, N*H_out*W_out)`` with rows ``(c, i, j)``
and columns ``(n, y, x)``, both in C order.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from course import checks
from course.i18n import tr
from course.timing import best_time

__all__ = [
    "check_im2col",
    "conv_mistakes",
    "fold_reference",
    "im2col_mistakes",
    "python_steps",
    "race",
    "recording_fold",
    "torch_conv_grads",
    "unfold_reference",
]


def unfold_reference(x: np.ndarray, HH: int, WW: int, stride: int = 1, pad: int = 0) -> np.ndarray:
    """im2col by ``torch.nn.functional.unfold``: x (N, C, H, W) -> (C*HH*WW, N*H_out*W_out)."""
    cols = torch.nn.functional.unfold(torch.from_numpy(np.ascontiguousarray(x)), (HH, WW), stride=stride, padding=pad)
    return cols.permute(1, 0, 2).reshape(cols.shape[1], -1).numpy()  # (N, C*HH*WW, L) -> (C*HH*WW, N*L)


def fold_reference(cols: np.ndarray, x_shape: tuple[int, ...], HH: int, WW: int, stride: int = 1, pad: int = 0):
    """col2im by ``torch.nn.functional.fold``: (C*HH*WW, N*H_out*W_out) -> (N, C, H, W), overlaps added."""
    N, C, H, W = x_shape
    t = torch.from_numpy(np.ascontiguousarray(cols)).reshape(C * HH * WW, N, -1).permute(1, 0, 2)
    return torch.nn.functional.fold(t, (H, W), (HH, WW), stride=stride, padding=pad).numpy()


def im2col_mistakes(x: np.ndarray, HH: int, WW: int, stride: int = 1, pad: int = 0) -> dict[str, np.ndarray]:
    """{description: the X_col that slip produces} for the usual im2col slips, for the tests' diagnoses."""
    N, C, H, W = x.shape
    Ho, Wo = (H + 2 * pad - HH) // stride + 1, (W + 2 * pad - WW) // stride + 1
    K = C * HH * WW
    r6 = unfold_reference(x, HH, WW, stride, pad).reshape(C, HH, WW, N, Ho, Wo)
    m = {
        tr("the rows are ordered (kernel row, kernel column, channel): channels last"): r6.transpose(1, 2, 0, 3, 4, 5),
        tr("the kernel row and kernel column are swapped inside each patch"): r6.transpose(0, 2, 1, 3, 4, 5),
        tr("the columns run down the image first (y and x swapped)"): r6.transpose(0, 1, 2, 3, 5, 4),
        tr("the batch index varies fastest along the columns"): r6.transpose(0, 1, 2, 4, 5, 3),
        tr("the output size is one too small (the + 1 is missing)"): r6[..., : Ho - 1, : Wo - 1],
    }
    m = {k: v.reshape(K, -1) for k, v in m.items()}
    m[tr("patches are stored as rows instead of columns (transposed)")] = r6.reshape(K, -1).T
    m[tr("the batch and channel axes are swapped (x read as (C, N, H, W))")] = unfold_reference(
        x.transpose(1, 0, 2, 3), HH, WW, stride, pad
    )
    if stride != 1:
        m[tr("the stride is ignored (every window position is kept)")] = unfold_reference(x, HH, WW, 1, pad)
        s1 = unfold_reference(x, HH, WW, 1, pad).reshape(C, HH, WW, N, H + 2 * pad - HH + 1, W + 2 * pad - WW + 1)
        m[tr("the stride is ignored: the windows are taken one pixel apart")] = s1[..., :Ho, :Wo].reshape(K, -1)
    if pad:
        m[tr("the zero padding is ignored")] = unfold_reference(x, HH, WW, stride, 0)
    return m


def check_im2col(
    call: Callable[..., Any], fn: Callable[..., Any], x: np.ndarray, HH: int, WW: int, stride: int = 1, pad: int = 0
) -> None:
    """Check ``call(fn, x, HH, WW, stride, pad)`` against torch's unfold, exactly, naming the usual slips.

    `call` is the test's ``yours`` (``by_hand`` with the exercise's forbidden list), `fn` the student's im2col.
    """
    label = tr(
        "{call} for x of shape {shape}", call=f"{fn.__name__}(x, {HH}, {WW}, stride={stride}, pad={pad})", shape=x.shape
    )
    try:
        got = call(fn, x, HH, WW, stride, pad)
    except (ValueError, IndexError) as err:
        raise AssertionError(
            tr(
                "{label} raised {error} ({message}). Is the image padded (np.pad) before slicing, with "
                "H_out = (H + 2*pad - HH) // stride + 1? A slice start:start + stride*H_out:stride has exactly "
                "H_out entries.",
                label=label,
                error=type(err).__name__,
                message=err,
            )
        ) from None
    expected = unfold_reference(x, HH, WW, stride, pad)
    checks.assert_close(got, expected, name=label, rtol=0, atol=0, mistakes=im2col_mistakes(x, HH, WW, stride, pad))
    checks.assert_true(
        np.asarray(got).dtype == x.dtype,
        tr(
            "{label} has dtype {got}; it should keep the input's dtype {want}.",
            label=label,
            got=np.asarray(got).dtype,
            want=x.dtype,
        ),
    )


def _torch_conv(x, w, b, stride, pad):
    t = [torch.from_numpy(np.array(a, dtype=np.float64)) for a in (x, w, b)]  # np.array copies: any strides
    return torch.nn.functional.conv2d(*t, stride=stride, padding=pad).numpy()


def conv_mistakes(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int, pad: int) -> dict[str, np.ndarray]:
    """{description: the output that slip produces} for the usual slips of a convolution via im2col."""
    ref = _torch_conv(x, w, b, stride, pad)
    m = {
        tr("the kernel is flipped (that is true convolution; layers compute cross-correlation)"): _torch_conv(
            x, w[:, :, ::-1, ::-1], b, stride, pad
        ),
        tr("the bias is not added"): ref - b[None, :, None, None],
        tr(
            "the (F, N*H_out*W_out) product is reshaped straight to (N, F, H_out, W_out) without moving the filter axis"
        ): ref.transpose(1, 0, 2, 3).reshape(ref.shape),
        tr("the filters are flattened as (F, HH, WW, C): W_row does not match the row order of X_col"): _torch_conv(
            x, w.transpose(0, 2, 3, 1).reshape(w.shape), b, stride, pad
        ),
        tr("the stride is ignored"): _torch_conv(x, w, b, 1, pad),
        tr("the zero padding is ignored"): _torch_conv(x, w, b, stride, 0),
    }
    if w.shape[0] == w.shape[1]:
        m[tr("the filter and channel axes of w are swapped")] = _torch_conv(x, w.transpose(1, 0, 2, 3), b, stride, pad)
    return m


def torch_conv_grads(x, w, b, dout, stride: int, pad: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dx, dw, db) of ``sum(conv2d(x, w, b) * dout)`` by torch's autograd, in float64."""
    xt, wt, bt = (torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in (x, w, b))
    torch.nn.functional.conv2d(xt, wt, bt, stride=stride, padding=pad).backward(torch.from_numpy(dout))
    return xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()


def recording_fold(x_shape: tuple[int, ...], HH: int, WW: int, stride: int, pad: int):
    """torch's col2im that first checks the arguments it receives; ``.calls`` counts the calls."""

    def fold(cols, shape, HH_, WW_, stride_, pad_):
        fold.calls += 1
        checks.assert_equal(tuple(shape), tuple(x_shape), name=tr("the x_shape passed to col2im_fn"))
        checks.assert_equal(
            (HH_, WW_, stride_, pad_),
            (HH, WW, stride, pad),
            name=tr("the (HH, WW, stride, pad) passed to col2im_fn"),
            mistakes={
                tr("the stride is ignored"): (HH, WW, 1, pad),
                tr("the zero padding is ignored"): (HH, WW, stride, 0),
            },
        )
        return fold_reference(cols, shape, HH_, WW_, stride_, pad_)

    fold.calls = 0
    return fold


def python_steps(fn: Callable[..., Any], *args: Any) -> int:
    """Python-level events (calls and lines, in any Python code) while ``fn(*args)`` runs.

    A Python loop over output positions or kernel offsets runs more events on a bigger input or a
    bigger window; numpy's own loops, written in C, run none.
    """
    count = 0

    def tracer(frame, event, arg):
        nonlocal count
        count += 1
        return tracer

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        fn(*args)
    finally:
        sys.settrace(previous)
    return count


def race(candidates: dict[str, tuple[Callable[[], Any], float]], *, rounds: int, repeat: int) -> dict[str, float]:
    """Best seconds of each candidate, scaled by its factor: {name: (fn, factor)} -> {name: seconds}.

    The candidates take turns for `rounds` rounds, so that a burst of activity from another program
    hurts them alike; each turn is one warm-up call and ``1 + repeat`` timed calls (a fixed amount
    of work, whatever the machine), and each candidate keeps its best time.
    """
    best = dict.fromkeys(candidates, np.inf)
    for _ in range(rounds):
        for name, (fn, factor) in candidates.items():
            best[name] = min(best[name], best_time(fn, repeat=repeat, min_time=0, max_time=np.inf) * factor)
    return best
