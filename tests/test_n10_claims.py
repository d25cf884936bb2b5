"""Numbers notebook 10 states in its prose, recomputed."""

import json
from pathlib import Path

import numpy as np

from course.rbm_exact import as_boltzmann, boltzmann_energy

_PATH = Path(__file__).resolve().parents[1] / "notebooks" / "10_rbm_dbn" / "rbm_dbn.ipynb"
NOTEBOOK = "\n".join("".join(cell["source"]) for cell in json.loads(_PATH.read_text())["cells"])


def test_worked_energy_is_1_6():
    W, b, c = np.array([[1.0, -2.0], [0.5, 3.0], [-1.0, 0.0]]), np.array([0.1, 0.2, 0.3]), np.array([-1.0, 1.0])
    J, a = as_boltzmann(W, b, c)
    assert np.isclose(boltzmann_energy(np.array([1.0, 0.0, 1.0, 1.0, 1.0]), J, a), 1.6)
    assert "by hand, the demo RBM at v = (1, 0, 1), h = (1, 1)" in NOTEBOOK


def test_state_counts_and_overflow_threshold():
    assert 784 + 100 == 884 and 2 ** (4 + 3) == 128 and "2^{884}" in NOTEBOOK
    with np.errstate(over="ignore"):
        assert np.isfinite(np.exp(709.0)) and not np.isfinite(np.exp(710.0))
    assert "overflows to `inf`\nfor $x > 709$" in NOTEBOOK


def test_best_log_likelihood_of_four_patterns():
    assert f"{np.log(0.25):.3f}" == "-1.386" and "\\log \\frac14 \\approx -1.386" in NOTEBOOK
