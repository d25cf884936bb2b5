"""Notebook 03: the test helpers in course.conv_checks, and what its prose says about its own demonstrations."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from test_notebook_claims import run_cells

from course import conv_checks


def _conv_backward(dout, x, w, b, stride=1, pad=0, flip=False):
    """A right conv backward (autograd-free scatter-add), or with the kernel flipped when spread back."""
    N, C, H, W = x.shape
    HH, WW = w.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp, dw = np.zeros_like(xp), np.zeros(w.shape)
    k = w[:, :, ::-1, ::-1] if flip else w
    for i, j in np.ndindex(*dout.shape[2:]):
        rows, cols = slice(i * stride, i * stride + HH), slice(j * stride, j * stride + WW)
        dw += np.einsum("nf,nchw->fchw", dout[:, :, i, j], xp[:, :, rows, cols])
        dxp[:, :, rows, cols] += np.einsum("nf,fchw->nchw", dout[:, :, i, j], k)
    return dxp[:, :, pad : pad + H, pad : pad + W], dw, dout.sum(axis=(0, 2, 3))


def test_check_conv_backward_accepts_a_right_answer_and_names_a_flipped_kernel():
    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=(2, 2, 7, 6)), rng.normal(size=(3, 2, 3, 2)), rng.normal(size=3)
    conv_checks.check_conv_backward(_conv_backward, x, w, b, stride=2, pad=1, seed=1)
    with pytest.raises(AssertionError, match="the kernel is flipped when it is spread back"):
        conv_checks.check_conv_backward(
            lambda *a, **k: _conv_backward(*a, **k, flip=True), x, w, b, stride=2, pad=1, seed=1
        )


def test_check_pool_backward_accepts_autograd_and_names_average_for_max():
    x = np.random.default_rng(2).normal(size=(1, 2, 5, 5))
    conv_checks.check_pool_backward(
        lambda dout, x_, size, stride, mode: conv_checks.torch_pool_grad(dout, x_, size, stride, mode),
        x,
        3,
        2,
        "max",
        3,
    )
    with pytest.raises(AssertionError, match="that is average pooling's backward"):
        conv_checks.check_pool_backward(
            lambda dout, x_, size, stride, mode: conv_checks.torch_pool_grad(dout, x_, size, stride, "avg"),
            x,
            2,
            2,
            "max",
            3,
        )


def test_conv_forward_mistakes_differ_from_the_right_answer():
    rng = np.random.default_rng(4)
    x, w, b = rng.normal(size=(1, 3, 6, 6)), rng.normal(size=(3, 3, 3, 3)), rng.normal(size=3)
    right = F.conv2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), stride=2, padding=1).numpy()
    for name, wrong in conv_checks.conv_forward_mistakes(x, w, b, 2, 1).items():
        assert wrong.shape != right.shape or not np.allclose(wrong, right), name


def _unseen_real_pixels(W, k, pad, stride):
    x = torch.zeros(1, 1, 1, W, requires_grad=True)
    F.conv2d(x, torch.ones(1, 1, 1, k), stride=(1, stride), padding=(0, pad)).sum().backward()
    return int((x.grad == 0).sum())


def test_03_fractional_sizes_prose():
    # "ResNet's first convolution and its max pooling both give a fraction and lose nothing ...
    #  AlexNet on a 224 input does lose a real pixel column and row"
    for W, k, pad, stride in [(224, 7, 3, 2), (112, 3, 1, 2), (224, 11, 2, 4)]:
        assert (W - k + 2 * pad) % stride and _unseen_real_pixels(W, k, pad, stride) == 0
    assert _unseen_real_pixels(224, 11, 0, 4) == 1
    assert _unseen_real_pixels(227, 11, 0, 4) == 0


def test_03_learned_kernel_and_dx_demonstrations():
    pytest.importorskip("matplotlib").use("Agg")
    ns = run_cells(
        "03_conv_by_hand",
        ["setup", "conv_forward", "conv_backward", "conv_dx_full", "transposed", "learn-kernel"],
    )
    # "let gradient descent find an edge kernel with your own layer" (a learner's budget)
    assert ns["error"] < 5e-3 and ns["losses"][-1] < ns["losses"][0] * 1e-4
    # "several input sizes give the same output size" (so output_padding is needed)
    assert ns["sizes"][7] == ns["sizes"][8]
