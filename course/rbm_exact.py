"""Notebook 10's references: a tiny RBM's exact distribution, by summing over every joint state.

With a handful of visible and hidden units, all ``2**(n_v + n_h)`` joint states can be listed, so
the partition function Z, the joint p(v, h), the marginal p(v), the conditionals and the Gibbs
transition matrix are exact sums: no formula of the RBM's conditionals or free energy is used,
only the energy of a general Boltzmann machine over ``s = (v, h)``. The tests of notebook 10
compare a student's closed forms with these sums. (The exercises forbid
:func:`enumerate_rbm`, so an answer cannot be these sums.)

Shapes: ``W`` is ``(n_v, n_h)``, ``b`` is ``(n_v,)`` (visible biases), ``c`` is ``(n_h,)``
(hidden biases); states are float arrays of 0s and 1s, one per row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course.i18n import tr

__all__ = ["ExactRBM", "all_states", "as_boltzmann", "boltzmann_energy", "enumerate_rbm", "log_sum_exp"]


def all_states(n: int) -> np.ndarray:
    """Every binary vector of length `n`, one per row, in counting order: ``(2**n, n)`` float64."""
    return ((np.arange(2**n)[:, None] >> np.arange(n)[::-1]) & 1).astype(np.float64)


def log_sum_exp(x: np.ndarray, axis: int | None = None) -> np.ndarray:
    """``log(sum(exp(x)))`` along `axis`, without overflow."""
    x = np.asarray(x, dtype=np.float64)
    top = np.max(x, axis=axis, keepdims=True)
    out = top + np.log(np.sum(np.exp(x - top), axis=axis, keepdims=True))
    return np.squeeze(out, axis=axis) if axis is not None else out.reshape(())


def as_boltzmann(W: np.ndarray, b: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The RBM as a general Boltzmann machine over ``s = (v, h)``: ``(J, a)``.

    J is symmetric with ``W`` in its off-diagonal blocks and zeros in the visible-visible and
    hidden-hidden blocks (the restriction); a stacks the biases ``(b, c)``.
    """
    n_v, n_h = np.shape(W)
    J = np.zeros((n_v + n_h, n_v + n_h))
    J[:n_v, n_v:] = W
    J[n_v:, :n_v] = np.transpose(W)
    return J, np.concatenate([b, c]).astype(np.float64)


def boltzmann_energy(s: np.ndarray, J: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Energy ``-1/2 s^T J s - a^T s`` of states `s` ``(..., n)``; J symmetric with a zero diagonal."""
    s = np.asarray(s, dtype=np.float64)
    return -0.5 * np.einsum("...i,ij,...j->...", s, J, s) - s @ a


def _index(states: np.ndarray) -> np.ndarray:
    """Row of each binary state in :func:`all_states` order."""
    states = np.atleast_2d(np.asarray(states))
    n = states.shape[1]
    return (np.rint(states).astype(np.int64) << np.arange(n)[::-1]).sum(axis=1)


@dataclass(frozen=True)
class ExactRBM:
    """The exact distribution of one tiny RBM (build it with :func:`enumerate_rbm`)."""

    V: np.ndarray
    """(2**n_v, n_v): every visible state."""
    H: np.ndarray
    """(2**n_h, n_h): every hidden state."""
    E: np.ndarray
    """(2**n_v, 2**n_h): E[i, k] = energy of (V[i], H[k])."""
    log_Z: float
    """log of the partition function, the sum of exp(-E) over all joint states."""

    @property
    def joint(self) -> np.ndarray:
        """(2**n_v, 2**n_h): p(V[i], H[k])."""
        return np.exp(-self.E - self.log_Z)

    def p_v(self, v: np.ndarray | None = None) -> np.ndarray:
        """Marginal p(v) of the rows of `v` (all visible states when None)."""
        marginal = self.joint.sum(axis=1)
        return marginal if v is None else marginal[_index(v)]

    def minus_log_sum_over_h(self, v: np.ndarray) -> np.ndarray:
        """``-log sum_h exp(-E(v, h))`` for each row of `v`, summed over all hidden states."""
        return -log_sum_exp(-self.E[_index(v)], axis=1)

    def p_h_given_v(self, v: np.ndarray) -> np.ndarray:
        """(m, n_h): P(h_j = 1 | v) for each row of `v`, from the joint by conditioning and summing."""
        logits = -self.E[_index(v)]  # normalised in log space: a row of tiny joint probabilities stays exact
        return np.exp(logits - log_sum_exp(logits, axis=1)[:, None]) @ self.H

    def p_v_given_h(self, h: np.ndarray) -> np.ndarray:
        """(m, n_v): P(v_i = 1 | h) for each row of `h`, from the joint by conditioning and summing."""
        logits = -self.E[:, _index(h)].T
        return np.exp(logits - log_sum_exp(logits, axis=1)[:, None]) @ self.V

    def transition(self) -> np.ndarray:
        """(2**n_v, 2**n_v): T[i, j] = P(v' = V[j] | v = V[i]) for one Gibbs step v -> h -> v'."""
        P = self.joint
        return (P / P.sum(axis=1, keepdims=True)) @ (P / P.sum(axis=0, keepdims=True)).T

    def mean_log_likelihood(self, data: np.ndarray) -> float:
        """Average log p(v) over the rows of `data`."""
        return float(np.mean(np.log(self.p_v(data))))

    def index(self, v: np.ndarray) -> np.ndarray:
        """Row of each visible state of `v` in `V` (and in `transition`)."""
        return _index(v)


def enumerate_rbm(W: np.ndarray, b: np.ndarray, c: np.ndarray) -> ExactRBM:
    """Sum over every joint state of the RBM (W, b, c); n_v + n_h up to about 16."""
    n_v, n_h = np.shape(W)
    if n_v + n_h > 18:
        raise ValueError(
            tr("{n_v} + {n_h} units have 2**{n} joint states: too many to enumerate", n_v=n_v, n_h=n_h, n=n_v + n_h)
        )
    V, H = all_states(n_v), all_states(n_h)
    J, a = as_boltzmann(np.asarray(W, dtype=np.float64), b, c)
    S = np.concatenate([np.repeat(V, len(H), axis=0), np.tile(H, (len(V), 1))], axis=1)
    E = boltzmann_energy(S, J, a).reshape(len(V), len(H))
    return ExactRBM(V=V, H=H, E=E, log_Z=float(log_sum_exp(-E)))
