"""10 RBMs and DBNs: the usual wrong answers, and right ones written another way."""

from mistakes import Right, Wrong, edited

NOTEBOOK = "10_rbm_dbn"

ENERGY = """
def energy(v, h, W, b, c):
    return -(v @ b) - (h @ c) - np.sum((v @ W) * h, axis=-1)
"""

CASES = [
    Right("energy", "the base: vectorised", ENERGY),
    Wrong(
        "energy",
        "the sign is flipped",
        edited(ENERGY, "return -(v @ b) - (h @ c) - np", "return (v @ b) + (h @ c) + np"),
    ),
    Wrong("energy", "the bias terms are left out", edited(ENERGY, "-(v @ b) - (h @ c) - np", "-np")),
    Wrong("energy", "the bias terms have the wrong sign", edited(ENERGY, "-(v @ b) - (h @ c)", "(v @ b) + (h @ c)")),
    Wrong("energy", "the interaction term is halved", edited(ENERGY, "- np.sum(", "- 0.5 * np.sum(")),
    Right(
        "energy",
        "the interaction term with einsum",
        edited(ENERGY, "np.sum((v @ W) * h, axis=-1)", 'np.einsum("...i,ij,...j->...", v, W, h)'),
    ),
]

P_H = """
def p_h_given_v(v, W, c):
    return sigmoid(v @ W + c)
"""

CASES += [
    Right("p_h_given_v", "the base", P_H),
    Wrong("p_h_given_v", "this is P(h_j = 0 | v)", edited(P_H, "sigmoid(v @ W + c)", "sigmoid(-(v @ W + c))")),
    Wrong("p_h_given_v", "the hidden bias c is left out", edited(P_H, " + c)", ")")),
    Right(
        "p_h_given_v",
        "a loop over the hidden units",
        """
def p_h_given_v(v, W, c):
    return np.stack([sigmoid(v @ W[:, j] + c[j]) for j in range(W.shape[1])], axis=1)
""",
    ),
]

P_V = """
def p_v_given_h(h, W, b):
    return sigmoid(h @ W.T + b)
"""

CASES += [
    Right("p_v_given_h", "the base", P_V),
    Wrong("p_v_given_h", "this is P(v_i = 0 | h)", edited(P_V, "sigmoid(h @ W.T + b)", "1 - sigmoid(h @ W.T + b)")),
    Wrong("p_v_given_h", "the visible bias b is left out", edited(P_V, " + b)", ")")),
    Right("p_v_given_h", "W times h transposed", edited(P_V, "h @ W.T + b", "(W @ h.T).T + b")),
]

FREE = """
def free_energy(v, W, b, c):
    return -(v @ b) - np.sum(np.logaddexp(0.0, v @ W + c), axis=1)
"""

CASES += [
    Right("free_energy", "the base, with logaddexp", FREE),
    Wrong(
        "free_energy", "infinite entries", edited(FREE, "np.logaddexp(0.0, v @ W + c)", "np.log(1 + np.exp(v @ W + c))")
    ),
    Wrong("free_energy", "the sign is flipped", edited(FREE, "return -(v @ b) - np", "return (v @ b) + np")),
    Wrong("free_energy", "the visible term -b.v is left out", edited(FREE, "-(v @ b) - np", "-np")),
    Wrong("free_energy", "the hidden bias c is left out", edited(FREE, "v @ W + c", "v @ W")),
    Right(
        "free_energy",
        "a stable softplus by hand",
        """
def free_energy(v, W, b, c):
    x = v @ W + c
    return -(v @ b) - np.sum(np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x))), axis=1)
""",
    ),
]

GIBBS = """
def gibbs_step(v, prob_h, prob_v, rng):
    ph = prob_h(v)
    h = (rng.random(ph.shape) < ph).astype(np.float64)
    pv = prob_v(h)
    v_new = (rng.random(pv.shape) < pv).astype(np.float64)
    return h, v_new
"""

CASES += [
    Right("gibbs_step", "the base", GIBBS),
    Wrong("gibbs_step", "only 0s and 1s", edited(GIBBS, "return h, v_new", "return ph, v_new")),
    Wrong("gibbs_step", "u > P(on)", edited(GIBBS, "< ph)", "> ph)", "< pv)", "> pv)")),
    Wrong(
        "gibbs_step",
        "draw every random number from rng",
        edited(GIBBS, "rng.random(ph.shape)", "np.random.random(ph.shape)"),
    ),
    Wrong("gibbs_step", "how often each v'", edited(GIBBS, "pv = prob_v(h)", "pv = prob_v(ph)")),
    Right("gibbs_step", "binomial draws", edited(GIBBS, "(rng.random(ph.shape) < ph)", "rng.binomial(1, ph)")),
]

CD = """
def cd_k_update(v0, prob_h, gibbs, k):
    vk = v0
    for _ in range(k):
        vk = gibbs(vk)
    ph0, phk = prob_h(v0), prob_h(vk)
    dW = (v0.T @ ph0 - vk.T @ phk) / len(v0)
    return dW, np.mean(v0 - vk, axis=0), np.mean(ph0 - phk, axis=0)
"""

CASES += [
    Right("cd_k_update", "the base", CD),
    Wrong(
        "cd_k_update",
        "the sign is flipped",
        edited(
            CD, "(v0.T @ ph0 - vk.T @ phk)", "(vk.T @ phk - v0.T @ ph0)", "v0 - vk", "vk - v0", "ph0 - phk", "phk - ph0"
        ),
    ),
    Wrong("cd_k_update", "far too large", edited(CD, " / len(v0)", "", "np.mean(v0 - vk", "np.sum(v0 - vk")),
    Wrong("cd_k_update", "does not run k steps", edited(CD, "range(k)", "range(1)")),
    Wrong("cd_k_update", "does not run k steps", edited(CD, "vk = gibbs(vk)", "vk = gibbs(v0)")),
    Wrong("cd_k_update", "dW by CD-40", edited(CD, "vk.T @ phk", "vk.T @ ph0")),
    Right(
        "cd_k_update",
        "outer products summed example by example",
        edited(
            CD,
            "dW = (v0.T @ ph0 - vk.T @ phk) / len(v0)",
            "dW = sum(np.outer(a, p) - np.outer(z, q) for a, p, z, q in zip(v0, ph0, vk, phk)) / len(v0)",
        ),
    ),
]
