"""Notebook 08's test helper for the LSTM cell's backward pass: torch references, the usual slips named.

The expected gradients come from torch's own ``nn.LSTM`` (float64) and its autograd; the
numerical check uses :func:`course.gradcheck.gradient_check` on the same layer. What a usual
mistake produces is also computed by autograd, through a torch LSTM step whose forward values are
right but whose local derivative is changed in one place (a value ``v`` whose slope is ``s`` is
written ``v + (z - z.detach()) * s``, which equals ``v`` and has derivative ``s``). The exercise
forbids this module, ``nn.LSTM`` and autograd, so a student function that reaches them fails.

Shapes follow torch: ``x`` is ``(N, D)``, ``h_prev`` and ``c_prev`` are ``(N, H)``, ``W_ih`` is
``(4H, D)``, ``W_hh`` is ``(4H, H)``, the biases are ``(4H,)``, gates stacked as i, f, g, o.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from course import checks, gradcheck
from course.i18n import tr

__all__ = ["check_lstm_cell_backward", "lstm_backward_mistakes", "lstm_step_grads"]

NAMES = ("dx", "dh_prev", "dc_prev", "dW_ih", "dW_hh", "db")


def _t(a: Any) -> torch.Tensor:
    return torch.tensor(np.array(a, dtype=np.float64, order="C"))


def _with_slope(value: torch.Tensor, z: torch.Tensor, slope: torch.Tensor) -> torch.Tensor:
    # equals `value`, but autograd sees d value / dz = slope
    return value.detach() + (z - z.detach()) * slope.detach()


def _layer(W_ih: Any, W_hh: Any, b_ih: Any, b_hh: Any) -> nn.LSTM:
    layer = nn.LSTM(np.shape(W_ih)[1], np.shape(W_hh)[1]).double()
    with torch.no_grad():
        for name, value in zip(
            ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"), (W_ih, W_hh, b_ih, b_hh), strict=True
        ):
            getattr(layer, name).copy_(_t(value))
    return layer


def lstm_step_grads(dh: Any, dc: Any, cache: tuple, slip: str | None = None) -> dict[str, np.ndarray]:
    """Gradients of ``sum(h * dh) + sum(c * dc)`` for one LSTM step, by torch's autograd.

    `cache` is ``(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh)``. With ``slip=None`` the step is
    torch's ``nn.LSTM``; otherwise a torch step with one derivative changed (see the module doc):
    ``"tanh_c_path"`` (no gradient from h into c), ``"sigmoid_s"`` (sigmoid' = s),
    ``"tanh_c_of_c"`` (tanh'(c) written 1 - c^2), ``"forget_not_applied"`` (dc_prev = dc, not dc * f),
    ``"dc_next_dropped"`` (dc is ignored). Returns a dict keyed by :data:`NAMES`.
    """
    leaves = [_t(a).requires_grad_(True) for a in cache]
    x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh = leaves
    dc_used = 0 * _t(dc) if slip == "dc_next_dropped" else _t(dc)
    if slip is None:
        # nn.LSTM holds its own copies of the weights: the weight gradients are theirs
        lstm = _layer(*cache[3:])
        _, (h, c) = lstm(x[None], (h_prev[None], c_prev[None]))
        ((h[0] * _t(dh)).sum() + (c[0] * dc_used).sum()).backward()
        W_ih, W_hh, b_ih = lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0
    else:
        H = h_prev.shape[1]
        zi, zf, zg, zo = (x @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh).split(H, dim=1)

        def sig(z: torch.Tensor) -> torch.Tensor:
            s = torch.sigmoid(z)
            return _with_slope(s, z, s) if slip == "sigmoid_s" else s

        i, f, g, o = sig(zi), sig(zf), torch.tanh(zg), sig(zo)
        if slip == "forget_not_applied":
            c = f * c_prev.detach() + (c_prev - c_prev.detach()) + i * g
        else:
            c = f * c_prev + i * g
        if slip == "tanh_c_path":
            tanh_c = torch.tanh(c.detach())
        elif slip == "tanh_c_of_c":
            tanh_c = _with_slope(torch.tanh(c), c, 1 - c**2)
        else:
            tanh_c = torch.tanh(c)
        ((o * tanh_c * _t(dh)).sum() + (c * dc_used).sum()).backward()
    return dict(
        zip(
            NAMES,
            (
                x.grad.numpy(),
                h_prev.grad.numpy(),
                c_prev.grad.numpy(),
                W_ih.grad.numpy(),
                W_hh.grad.numpy(),
                b_ih.grad.numpy(),
            ),
            strict=True,
        )
    )


def _permute(a: Any, order: tuple[int, ...]) -> np.ndarray:
    blocks = np.split(np.asarray(a, dtype=np.float64), 4, axis=0)
    return np.concatenate([blocks[k] for k in order], axis=0)


def _slips() -> dict[str, str]:
    """The slips of :func:`lstm_step_grads`, each with its description in the current language."""
    return {
        "tanh_c_path": tr(
            "the path from dh through tanh(c) into the cell state is left out (dc must add dh * o * (1 - tanh(c)^2))"
        ),
        "sigmoid_s": tr("the sigmoid's derivative is written as s instead of s * (1 - s)"),
        "tanh_c_of_c": tr("the derivative of tanh(c) is written 1 - c^2 instead of 1 - tanh(c)^2"),
        "forget_not_applied": tr(
            "dc_prev is the cell-state gradient itself: it must pass through the forget gate (dc_prev = dc * f)"
        ),
        "dc_next_dropped": tr(
            "dc_next is not added to the cell-state gradient (the cell state also receives dc_next from the next step)"
        ),
    }


def _orders() -> dict[str, tuple[int, ...]]:
    """Gate orders read by mistake, described in the current language -> the permutation of torch's blocks."""
    return {
        tr("the gates are read in the order i, f, o, g (torch stores i, f, g, o)"): (0, 1, 3, 2),
        tr("the gates are read in the order f, i, g, o (torch stores i, f, g, o)"): (1, 0, 2, 3),
    }


def lstm_backward_mistakes(dh: Any, dc: Any, cache: tuple) -> dict[str, dict[str, np.ndarray]]:
    """For each output name, description -> what the usual mistake returns (computed by autograd)."""
    out: dict[str, dict[str, np.ndarray]] = {name: {} for name in NAMES}
    for slip, text in _slips().items():
        for name, value in lstm_step_grads(dh, dc, cache, slip).items():
            out[name][text] = value
    x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh = cache
    for text, order in _orders().items():  # both orders are their own inverse
        permuted = (x, h_prev, c_prev, *(_permute(w, order) for w in (W_ih, W_hh, b_ih, b_hh)))
        grads = lstm_step_grads(dh, dc, permuted)
        for name, value in grads.items():
            out[name][text] = _permute(value, order) if name.startswith(("dW", "db")) else value
    return out


def check_lstm_cell_backward(run: Callable[..., Any], dh: Any, dc: Any, cache: tuple, numerical: bool = True) -> None:
    """Check ``run(dh, dc, cache) -> (dx, dh_prev, dc_prev, dW_ih, dW_hh, db)``.

    First against torch's autograd through ``nn.LSTM`` (naming a usual slip when the result matches
    one), then, with `numerical`, ``dW_hh`` against centred differences of the same layer's loss.
    """
    result = run(dh, dc, cache)
    checks.assert_true(
        isinstance(result, tuple) and len(result) == 6,
        tr("lstm_cell_backward should return a tuple (dx, dh_prev, dc_prev, dW_ih, dW_hh, db)"),
    )
    x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh = cache
    for name, got, like in zip(NAMES, result, (x, h_prev, c_prev, W_ih, W_hh, b_ih), strict=True):
        checks.assert_shape(got, np.shape(like), name=name)
    expected = lstm_step_grads(dh, dc, cache)
    mistakes = lstm_backward_mistakes(dh, dc, cache)
    # the cell state's gradient first: most slips show there
    for name in ("dc_prev", "db", "dW_ih", "dW_hh", "dx", "dh_prev"):
        checks.assert_close(
            result[NAMES.index(name)],
            expected[name],
            name=tr("{name} (vs torch autograd)", name=name),
            rtol=1e-8,
            atol=1e-10,
            mistakes=mistakes[name],
        )
    if numerical:
        layer = _layer(W_ih, W_hh, b_ih, b_hh)

        def loss_of_W_hh(W: np.ndarray) -> float:
            with torch.no_grad():
                layer.weight_hh_l0.copy_(_t(W))
                _, (h, c) = layer(_t(x)[None], (_t(h_prev)[None], _t(c_prev)[None]))
                return float((h[0] * _t(dh)).sum() + (c[0] * _t(dc)).sum())

        report = gradcheck.gradient_check(
            loss_of_W_hh, np.array(W_hh, dtype=np.float64), result[4], name="dW_hh", tolerance=1e-6
        )
        checks.assert_true(report.passed, str(report))
