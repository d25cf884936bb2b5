"""Unit tests for course.conv_explorer (the non-interactive parts, and the static fallback)."""

from __future__ import annotations

import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from course import conv_explorer  # noqa: E402
from course.conv_explorer import (  # noqa: E402
    KERNELS,
    apply_kernel,
    effective_kernel_size,
    explore_convolution,
    output_size_text,
    static_figure,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def shown(monkeypatch):
    """Record what explore_convolution displays instead of printing it."""
    items: list[object] = []
    monkeypatch.setattr(conv_explorer, "display", lambda obj: items.append(obj))
    return items


def test_kernels_are_the_six_named_3x3_kernels():
    assert set(KERNELS) == {"identity", "box blur", "sharpen", "Sobel x", "Sobel y", "Laplacian"}
    for k in KERNELS.values():
        assert k.shape == (3, 3)
        assert k.dtype == np.float64
    assert KERNELS["box blur"].sum() == pytest.approx(1.0)
    assert KERNELS["Laplacian"].sum() == 0.0
    np.testing.assert_array_equal(KERNELS["Sobel y"], KERNELS["Sobel x"].T)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((28, 3, 1, 1), "out = (28 - 3 + 2·1)/1 + 1 = 28"),
        ((227, 11, 0, 4), "out = (227 - 11 + 2·0)/4 + 1 = 55"),
        ((5, 3, 1, 2), "out = (5 - 3 + 2·1)/2 + 1 = 3"),
    ],
)
def test_output_size_text_integer_cases(args, expected):
    assert output_size_text(*args) == expected


def test_output_size_text_not_an_integer_says_what_conv2d_does():
    text = output_size_text(224, 11, 0, 4)
    assert "= 54.25" in text
    assert "not an integer" in text
    assert "floors it to 54" in text


def test_output_size_text_with_dilation_shows_effective_kernel():
    text = output_size_text(28, 3, 0, 1, dilation=2)
    assert text.startswith("F_eff = 2·(3 - 1) + 1 = 5;")
    assert text.endswith("out = (28 - 5 + 2·0)/1 + 1 = 24")
    assert effective_kernel_size(3, 4) == 9


def test_output_size_text_kernel_too_large():
    assert "larger than the padded input" in output_size_text(4, 3, 0, 1, dilation=3)


@pytest.mark.parametrize(("stride", "padding", "dilation"), [(1, 1, 1), (2, 1, 2), (3, 2, 1), (2, 0, 3)])
def test_output_shape_agrees_with_the_formula(stride, padding, dilation):
    image = np.random.default_rng(0).normal(size=(28, 28))
    out = apply_kernel(image, KERNELS["sharpen"], stride=stride, padding=padding, dilation=dilation)
    fe = effective_kernel_size(3, dilation)
    expected = (28 + 2 * padding - fe) // stride + 1
    assert out.shape == (expected, expected)
    assert out.dtype == np.float64


def test_apply_kernel_is_a_cross_correlation_by_definition():
    """Spot-check conv2d against out[i, j] = sum_ab k[a, b] x_pad[i s + a d, j s + b d]."""
    rng = np.random.default_rng(1)
    image = rng.normal(size=(11, 13))
    kernel = rng.normal(size=(3, 3))
    stride, padding, dilation = 2, 1, 2
    out = apply_kernel(image, kernel, stride=stride, padding=padding, dilation=dilation)
    assert out.shape == (5, 6)
    padded = np.pad(image, padding)
    for i, j in [(0, 0), (0, 5), (2, 3), (4, 0), (4, 5)]:
        direct = sum(
            kernel[a, b] * padded[i * stride + a * dilation, j * stride + b * dilation]
            for a in range(3)
            for b in range(3)
        )
        assert out[i, j] == pytest.approx(direct, rel=1e-12, abs=1e-12)


def test_identity_kernel_returns_the_image():
    image = np.random.default_rng(2).normal(size=(9, 7))
    np.testing.assert_allclose(apply_kernel(image, KERNELS["identity"], padding=1), image)


def test_static_figure_returns_a_figure_with_formula():
    image = np.random.default_rng(3).random((28, 28))
    fig = static_figure(image)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 3
    assert fig._suptitle.get_text() == output_size_text(28, 3, 1, 1)


def test_static_figure_handles_non_square_and_too_large_kernels():
    image = np.zeros((6, 10))
    fig = static_figure(image, "Laplacian", stride=2, padding=0, dilation=3)
    assert isinstance(fig, Figure)
    assert "height" in fig._suptitle.get_text()
    with pytest.raises(ValueError):
        static_figure(np.zeros((2, 3, 4)))


def test_explorer_is_static_under_the_grader(monkeypatch, shown):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert explore_convolution(np.zeros((28, 28))) is None
    assert len(shown) == 1
    assert isinstance(shown[0], Figure)


def test_explorer_is_static_without_ipywidgets(monkeypatch, shown):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # makes `import ipywidgets` fail
    explore_convolution(np.zeros((28, 28)))
    assert len(shown) == 1
    assert isinstance(shown[0], Figure)


def test_explorer_with_widgets_draws_static_figure_first(monkeypatch, shown):
    widgets = pytest.importorskip("ipywidgets")
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    explore_convolution(np.random.default_rng(4).random((28, 28)))
    assert isinstance(shown[0], Figure)
    assert isinstance(shown[-1], widgets.Widget)
