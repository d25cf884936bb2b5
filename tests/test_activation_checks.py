"""course.activation_checks (notebook 01's ReLU-family helpers): torch references agree with the
definitions, a right PReLU passes, and each usual slip is named."""

import numpy as np
import pytest

from course import activation_checks as A

RNG = np.random.default_rng(0)
SLOPES = np.array([0.1, 0.2, 0.3])


def _shape(slopes, z):
    return np.reshape(slopes, (1, -1) + (1,) * (z.ndim - 2))


def _prelu(z, slopes):
    return np.where(z > 0, z, _shape(slopes, z) * z)


def _prelu_backward(dout, z, slopes):
    axes = (0,) + tuple(range(2, z.ndim))
    return np.where(z > 0, dout, _shape(slopes, z) * dout), np.where(z > 0, 0.0, dout * z).sum(axis=axes)


def test_references_follow_the_definitions():
    z = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    np.testing.assert_allclose(A.leaky(z, 0.1), np.where(z > 0, z, 0.1 * z))
    np.testing.assert_allclose(A.leaky_grad(z, 0.1), [0.1, 0.1, 0.1, 1.0, 1.0])  # the left slope at 0
    z4, dout = RNG.normal(size=(2, 3, 2, 3)), RNG.normal(size=(2, 3, 2, 3))
    out, dz, ds = A.torch_prelu(z4, SLOPES, dout)
    np.testing.assert_allclose(out, _prelu(z4, SLOPES))
    for got, want in zip((dz, ds), _prelu_backward(dout, z4, SLOPES), strict=True):
        np.testing.assert_allclose(got, want)


@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 2, 3)])
def test_a_right_prelu_passes(shape):
    A.check_prelu(_prelu, _prelu_backward, RNG.normal(size=shape), SLOPES, RNG.normal(size=shape))


def _sum_axis0(dout, z, slopes):
    return _prelu_backward(dout, z, slopes)[0], np.where(z > 0, 0.0, dout * z).sum(axis=0)


@pytest.mark.parametrize(
    ("prelu", "backward", "says"),
    [
        (lambda z, s: np.maximum(z, 0), _prelu_backward, "negative inputs are zeroed"),
        (lambda z, s: np.where(z > 0, z, s * z), _prelu_backward, "along the last axis"),
        (_prelu, lambda d, z, s: (d, _prelu_backward(d, z, s)[1]), "dz is 1 where z <= 0"),
        (_prelu, lambda d, z, s: (_prelu_backward(d, z, s)[0], _prelu_backward(d, z, s)[1] / 12), "averaged"),
        (_prelu, _sum_axis0, "not over the positions"),
        (_prelu, lambda d, z, s: _prelu_backward(d, z, s)[0], "should return the pair"),
    ],
)
def test_each_slip_is_named(prelu, backward, says):
    z = RNG.normal(size=(2, 3, 2, 3))
    with pytest.raises(AssertionError, match=says):
        A.check_prelu(prelu, backward, z, SLOPES, RNG.normal(size=z.shape))
