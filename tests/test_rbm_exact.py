"""course.rbm_exact: the exact sums notebook 10's tests compare with are themselves right."""

import numpy as np
import pytest

from course.rbm_exact import all_states, as_boltzmann, boltzmann_energy, enumerate_rbm, log_sum_exp


def _rbm(seed, n_v=4, n_h=3, scale=1.0):
    rng = np.random.default_rng(seed)
    return scale * rng.standard_normal((n_v, n_h)), rng.standard_normal(n_v), rng.standard_normal(n_h)


def _sigmoid(x):
    return 0.5 * (1 + np.tanh(0.5 * x))


def test_all_states_counts_in_binary():
    assert all_states(3).tolist()[:3] == [[0, 0, 0], [0, 0, 1], [0, 1, 0]]
    assert len({tuple(s) for s in all_states(5)}) == 32


def test_boltzmann_energy_of_the_rbm_is_the_rbm_energy():
    W, b, c = _rbm(0)
    S = all_states(7)
    v, h = S[:, :4], S[:, 4:]
    J, a = as_boltzmann(W, b, c)
    assert np.allclose(boltzmann_energy(S, J, a), -(v @ b) - (h @ c) - np.sum((v @ W) * h, axis=1))
    assert np.allclose(J, J.T) and not J[:4, :4].any() and not J[4:, 4:].any()


@pytest.mark.parametrize("scale", [1.0, 30.0])
def test_conditionals_and_free_energy_match_the_closed_forms(scale):
    W, b, c = _rbm(1, scale=scale)
    exact = enumerate_rbm(W, b, c)
    assert np.isclose(exact.joint.sum(), 1.0)
    assert np.allclose(exact.p_h_given_v(exact.V), _sigmoid(exact.V @ W + c))
    assert np.allclose(exact.p_v_given_h(exact.H), _sigmoid(exact.H @ W.T + b))
    closed = -(exact.V @ b) - np.sum(np.logaddexp(0, exact.V @ W + c), axis=1)
    assert np.allclose(exact.minus_log_sum_over_h(exact.V), closed)


def test_gibbs_transition_is_stochastic_and_keeps_p_v():
    exact = enumerate_rbm(*_rbm(2, scale=1.5))
    T = exact.transition()
    assert np.allclose(T.sum(axis=1), 1.0)
    assert np.allclose(exact.p_v() @ T, exact.p_v())  # p(v) is the chain's stationary distribution


def test_log_sum_exp_is_stable_and_the_size_is_limited():
    assert np.isclose(log_sum_exp(np.array([1000.0, 1000.0])), 1000 + np.log(2))
    with pytest.raises(ValueError, match="too many"):
        enumerate_rbm(np.zeros((12, 8)), np.zeros(12), np.zeros(8))
