import numpy as np
import pytest

from course import gradcheck


def test_numerical_gradient_of_a_quadratic():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    grad = gradcheck.numerical_gradient(lambda v: float(np.sum(v**2)), x)
    np.testing.assert_allclose(grad, 2 * x, rtol=1e-8)
    np.testing.assert_array_equal(x, [[1.0, -2.0], [0.5, 3.0]])  # restored


def test_numerical_gradient_array_is_a_backward_pass():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(3, 4))
    x = rng.normal(size=(2, 3))
    dout = rng.normal(size=(2, 4))
    dx = gradcheck.numerical_gradient_array(lambda v: v @ W, x, dout)
    np.testing.assert_allclose(dx, dout @ W.T, rtol=1e-7)


def test_report_passes_and_fails_with_explanations():
    x = np.random.default_rng(1).normal(size=(5, 3))
    loss = lambda v: float(np.sum(np.sin(v)))  # noqa: E731
    good = gradcheck.gradient_check(loss, x, np.cos(x), name="dsin")
    assert good.passed and good.relative_error < 1e-8 and "agrees" in str(good)
    bad = gradcheck.gradient_check(loss, x, 0.5 * np.cos(x), name="dsin")
    assert not bad.passed and "DISAGREES" in str(bad) and "missing factor" in str(bad)


def test_sparse_check_uses_only_the_samples():
    x = np.random.default_rng(2).normal(size=(50, 40))
    report = gradcheck.gradient_check(lambda v: float(np.sum(v**3)), x, 3 * x**2, samples=25)
    assert report.checked == 25 and report.passed


def test_float32_is_refused():
    with pytest.raises(TypeError, match="float64"):
        gradcheck.numerical_gradient(lambda v: float(v.sum()), np.ones(3, dtype=np.float32))
