"""Notebook 01's test helpers for the ReLU family: torch references, and the usual slips named.

The references are computed by PyTorch (``relu``, ``leaky_relu``, ``prelu`` and autograd). The
exercise that asks for these by hand forbids them, so a student function that reaches them through
this module fails its test all the same. :func:`check_prelu` takes the student's functions already
wrapped by :func:`course.byhand.by_hand` and raises ``AssertionError`` with a message that names the
mistake where it can. Layouts: ``z`` is ``(N, C)`` or ``(N, C, H, W)``, ``slopes`` is ``(C,)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from course import checks
from course.i18n import tr

__all__ = ["check_prelu", "leaky", "leaky_grad", "leaky_grad_mistakes", "leaky_mistakes", "relu_grad_mistakes",
           "torch_prelu"]  # fmt: skip


def _t(a: Any, grad: bool = False) -> torch.Tensor:
    return torch.tensor(np.array(a, dtype=np.float64), requires_grad=grad)


def leaky(z: Any, slope: float) -> np.ndarray:
    """Leaky ReLU of `z` with a fixed `slope` (torch's ``leaky_relu``), any shape."""
    return F.leaky_relu(_t(z), slope).numpy()


def leaky_grad(z: Any, slope: float) -> np.ndarray:
    """Elementwise derivative of Leaky ReLU at `z` by autograd (the left slope at 0, as torch takes it)."""
    t = _t(z, grad=True)
    F.leaky_relu(t, slope).sum().backward()
    return t.grad.numpy()


def _off_zero(z: Any) -> np.ndarray:
    """`z` with its exact zeros moved to the right of the kink (where the slope is 1)."""
    z = np.array(z, dtype=np.float64)
    return np.where(z == 0, 1.0, z)


def relu_grad_mistakes(z: Any) -> dict[str, np.ndarray]:
    """What the usual slip in ReLU's derivative produces, by name."""
    return {tr("the derivative at 0 is taken as 1 (use 0, the left slope)"): leaky_grad(_off_zero(z), 0.0)}


def leaky_mistakes(z: Any, slope: float) -> dict[str, np.ndarray]:
    """What the usual slips in Leaky ReLU produce, by name."""
    return {
        tr("the slope is ignored (that is plain ReLU)"): leaky(z, 0.0),
        tr("the slope argument is ignored (0.01 is used whatever slope is passed)"): leaky(z, 0.01),
    }


def leaky_grad_mistakes(z: Any, slope: float) -> dict[str, np.ndarray]:
    """What the usual slips in Leaky ReLU's derivative produce, by name."""
    return {
        tr("the derivative at 0 is taken as 1 (use the left slope there)"): leaky_grad(_off_zero(z), slope),
        tr("the slope argument is ignored (0.01 is used whatever slope is passed)"): leaky_grad(z, 0.01),
    }


def torch_prelu(z: Any, slopes: Any, dout: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """torch's PReLU: the output, and the gradients for z and for the slopes given the upstream `dout`."""
    zt, st = _t(z, grad=True), _t(slopes, grad=True)
    out = F.prelu(zt, st)
    out.backward(_t(dout))
    return out.detach().numpy(), zt.grad.numpy(), st.grad.numpy()


def _last_axis(z: np.ndarray, slopes: np.ndarray) -> np.ndarray:
    """PReLU with the slopes applied along the last axis instead of the channel axis 1."""
    swap = (0, z.ndim - 1, *range(2, z.ndim - 1), 1)
    return torch_prelu(z.transpose(swap), slopes, z.transpose(swap))[0].transpose(swap)


def check_prelu(prelu: Callable[..., Any], backward: Callable[..., Any], z: Any, slopes: Any, dout: Any) -> None:
    """prelu(z, slopes) and backward(dout, z, slopes) -> (dz, dslopes) against torch, naming the usual slips."""
    z, slopes, dout = (np.array(a, dtype=np.float64) for a in (z, slopes, dout))
    layout = "(N, C)" if z.ndim == 2 else "(N, C, H, W)"
    out, dz, ds = torch_prelu(z, slopes, dout)
    wrong = {tr("negative inputs are zeroed (that is ReLU; use the slopes)"): leaky(z, 0.0)}
    if z.ndim > 2 and z.shape[-1] == slopes.size:
        wrong[tr("the slopes are applied along the last axis instead of the channel axis 1")] = _last_axis(z, slopes)
    checks.assert_close(prelu(z, slopes), out, name=tr("prelu on {layout}", layout=layout), mistakes=wrong)
    grads = backward(dout, z, slopes)
    if not isinstance(grads, tuple) or len(grads) != 2:
        raise AssertionError(
            tr("prelu_backward should return the pair (dz, dslopes), got {type}.", type=type(grads).__name__)
        )
    checks.assert_close(
        grads[0],
        dz,
        name=tr("dz on {layout}", layout=layout),
        mistakes={tr("dz is 1 where z <= 0 (multiply by the slope there)"): dout},
    )
    per_example = np.stack([torch_prelu(z[i : i + 1], slopes, dout[i : i + 1])[2] for i in range(len(z))])
    wrong = {
        tr("the gradient is averaged over the batch instead of summed"): ds / (z.size // slopes.size),
        tr("the gradient is not summed over the batch (one row per example)"): per_example,
    }
    if z.ndim > 2:
        _, _, H, W = z.shape
        per_position = [
            [torch_prelu(z[..., h : h + 1, w : w + 1], slopes, dout[..., h : h + 1, w : w + 1])[2] for w in range(W)]
            for h in range(H)
        ]
        wrong[tr("dslopes is summed over the batch but not over the positions (H, W)")] = np.moveaxis(
            per_position, 2, 0
        )
    checks.assert_close(grads[1], ds, name=tr("dslopes on {layout}", layout=layout), mistakes=wrong)
