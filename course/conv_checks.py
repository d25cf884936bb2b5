"""Notebook 03's test helpers: torch references for a convolution and a pooling layer, the usual slips named.

The references are computed by PyTorch (``conv2d``, ``conv_transpose2d``, pooling and autograd). The
exercises that ask for these by hand forbid them, so a student function that reaches them through
this module fails its test all the same. Each ``check_*`` function takes `run`, the student's
function already wrapped by :func:`course.byhand.by_hand`, and raises ``AssertionError`` with a
message that names the mistake where it can. Shapes follow cs231n: ``x`` is ``(N, C, H, W)``, ``w``
is ``(F, C, HH, WW)``, ``dout`` is ``(N, F, H_out, W_out)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from course import checks, gradcheck
from course.i18n import tr

__all__ = ["check_conv_backward", "check_pool_backward", "conv_forward_mistakes", "torch_pool_grad"]


def _t(a: Any) -> torch.Tensor:
    return torch.tensor(np.array(a, dtype=np.float64, order="C"))


def _conv(x: Any, w: Any, b: Any = None, stride: int = 1, pad: int = 0) -> np.ndarray:
    return F.conv2d(_t(x), _t(w), None if b is None else _t(b), stride=stride, padding=pad).numpy()


def conv_forward_mistakes(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int, pad: int) -> dict[str, np.ndarray]:
    """What the usual slips in a convolution's forward pass produce, by name (computed by torch)."""
    right = _conv(x, w, b, stride, pad)
    inside = tr(
        "the bias is added inside the window sum (once per weight, {n} times, instead of once per output)", n=w[0].size
    )
    mistakes = {
        tr("the stride is ignored (windows move one pixel at a time)"): _conv(x, w, b, 1, pad),
        tr("the padding is ignored"): _conv(x, w, b, stride, 0),
        tr("the kernel is flipped (true convolution; conv layers compute cross-correlation)"): _conv(
            x, w[:, :, ::-1, ::-1], b, stride, pad
        ),
        tr("the output is one row and one column short (off-by-one output size)"): right[:, :, :-1, :-1],
        tr("the bias is left out"): _conv(x, w, None, stride, pad),
        inside: _conv(x, w, w[0].size * b, stride, pad),
    }
    if w.shape[0] == w.shape[1]:
        mistakes[tr("the filter and channel axes of w are swapped (w[c, f] instead of w[f, c])")] = _conv(
            x, w.transpose(1, 0, 2, 3), b, stride, pad
        )
    return mistakes


def check_conv_backward(
    run: Callable[..., Any],
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray,
    stride: int,
    pad: int,
    seed: int,
    samples: int | None = None,
) -> None:
    """Check ``run(dout, x, w, b, stride=, pad=) -> (dx, dw, db)`` against autograd, then centred differences.

    `samples` limits the centred differences to that many entries per gradient (None: all of them).
    """
    dout = np.random.default_rng(seed).normal(size=_conv(x, w, b, stride, pad).shape)
    dx, dw, db = run(dout, x, w, b, stride=stride, pad=pad)
    checks.assert_true(
        np.shape(dx) != (x.shape[0], x.shape[1], x.shape[2] + 2 * pad, x.shape[3] + 2 * pad) or pad == 0,
        tr("dx still has the padding: cut `pad` rows and columns off every side of the padded gradient."),
    )
    for name, got, like in [("dx", dx, x), ("dw", dw, w), ("db", db, b)]:
        checks.assert_shape(got, like.shape, name=name)
    xt, wt, bt = (_t(a).requires_grad_() for a in (x, w, b))
    (F.conv2d(xt, wt, bt, stride=stride, padding=pad) * _t(dout)).sum().backward()
    first = [_t(a).requires_grad_() for a in (x[:1], w, b)]
    (F.conv2d(*first, stride=stride, padding=pad) * _t(dout[:1])).sum().backward()
    checks.assert_close(
        dx,
        xt.grad.numpy(),
        name=tr("{name} (vs torch autograd)", name="dx"),
        mistakes={
            tr("the kernel is flipped when it is spread back onto dx (use w as it is)"): F.conv_transpose2d(
                _t(dout), _t(w[:, :, ::-1, ::-1]), stride=stride, padding=pad
            ).numpy()
        },
    )
    checks.assert_close(
        dw,
        wt.grad.numpy(),
        name=tr("{name} (vs torch autograd)", name="dw"),
        mistakes={
            tr("only the first example of the batch contributes to dw (sum over the batch)"): first[1].grad.numpy(),
            tr("dw comes out flipped"): wt.grad.numpy()[:, :, ::-1, ::-1],
        },
    )
    checks.assert_close(
        db,
        bt.grad.numpy(),
        name=tr("{name} (vs torch autograd)", name="db"),
        mistakes={tr("db is summed over the first example only (sum over the batch too)"): dout[0].sum(axis=(1, 2))},
    )
    for name, analytic, point, loss in [
        ("dx", dx, x.copy(), lambda v: np.sum(_conv(v, w, b, stride, pad) * dout)),
        ("dw", dw, w.copy(), lambda v: np.sum(_conv(x, v, b, stride, pad) * dout)),
        ("db", db, b.copy(), lambda v: np.sum(_conv(x, w, v, stride, pad) * dout)),
    ]:
        report = gradcheck.gradient_check(
            loss,
            point,
            np.asarray(analytic),
            name=name,
            tolerance=1e-7,
            samples=None if samples is None or point.size <= samples else samples,
        )
        checks.assert_true(report.passed, str(report))


def _pool(x: Any, size: int, stride: int, mode: str) -> torch.Tensor:
    fn = F.max_pool2d if mode == "max" else F.avg_pool2d
    return fn(x if isinstance(x, torch.Tensor) else _t(x), kernel_size=size, stride=stride)


def torch_pool_grad(dout: np.ndarray, x: np.ndarray, size: int, stride: int, mode: str) -> np.ndarray:
    """dL/dx of max ("max") or average ("avg") pooling for ``L = sum(pool(x) * dout)``, by autograd."""
    xt = _t(x).requires_grad_()
    (_pool(xt, size, stride, mode) * _t(dout)).sum().backward()
    return xt.grad.numpy()


def check_pool_backward(
    run: Callable[..., Any],
    x: np.ndarray,
    size: int,
    stride: int,
    mode: str,
    seed: int,
    extra_mistakes: Callable[[np.ndarray], dict[str, np.ndarray]] | None = None,
    samples: int | None = None,
) -> None:
    """Check ``run(dout, x, size, stride, mode) -> dx`` against autograd, then centred differences.

    A gradient that is wrong only where windows overlap is named (``=`` instead of ``+=``).
    `extra_mistakes(dout)` adds named wrong answers for this `dout`.
    """
    out_shape = _pool(x, size, stride, mode).shape
    dout = np.random.default_rng(seed).normal(size=tuple(out_shape))
    dx = run(dout, x, size, stride, mode)
    pooling = tr("max pooling") if mode == "max" else tr("avg pooling")
    checks.assert_shape(dx, x.shape, name=tr("dx ({pooling})", pooling=pooling))
    name = tr("dx ({pooling}, size {size}, stride {stride})", pooling=pooling, size=size, stride=stride)
    right = torch_pool_grad(dout, x, size, stride, mode)
    H_out, W_out = out_shape[2:]
    covered = F.conv_transpose2d(torch.ones(1, 1, H_out, W_out), torch.ones(1, 1, size, size), stride=stride)[0, 0]
    cover = np.zeros(x.shape[2:])  # how many windows contain each pixel
    cover[: covered.shape[0], : covered.shape[1]] = covered.numpy()
    wrong = ~np.isclose(dx, right, rtol=1e-6, atol=1e-8)
    checks.assert_true(
        not wrong.any() or wrong[..., cover <= 1].any(),
        tr(
            "{name} is wrong only where windows overlap: "
            "add each window's gradient to dx (+=) instead of assigning it (=).",
            name=name,
        ),
    )
    avg = torch_pool_grad(dout, x, size, stride, "avg")
    mistakes = {
        tr("the upstream gradient is copied to every entry of the window (not divided by the window size)"): avg
        * size
        * size
    }
    if mode == "max":
        mistakes[tr("the gradient is spread over the whole window (that is average pooling's backward)")] = avg
    else:
        mistakes[tr("the gradient goes to the maximum only (that is max pooling's backward)")] = torch_pool_grad(
            dout, x, size, stride, "max"
        )
    mistakes.update(extra_mistakes(dout) if extra_mistakes else {})
    checks.assert_close(dx, right, name=name, mistakes=mistakes)
    report = gradcheck.gradient_check(
        lambda v: float(np.sum(_pool(v, size, stride, mode).numpy() * dout)),
        x.copy(),
        np.asarray(dx),
        name=tr("dx of {pooling} (size {size}, stride {stride})", pooling=pooling, size=size, stride=stride),
        samples=None if samples is None or x.size <= samples else samples,
    )
    checks.assert_true(report.passed, str(report))
