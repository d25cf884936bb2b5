"""02 Backpropagation by hand: the usual wrong answers, and right ones written another way."""

from mistakes import Right, Wrong, edited

NOTEBOOK = "02_backprop"

FORWARD = """
def forward(X, params, mask=None):
    z2 = X @ params["W1"] + params["b1"]
    a2 = sigmoid(z2)
    z3 = (a2 if mask is None else a2 * mask) @ params["W2"].T + params["b2"]
    return {"a1": X, "z2": z2, "a2": a2, "z3": z3, "a3": sigmoid(z3), "mask": mask}
"""

CASES = [
    Wrong("forward", "W1 is used transposed", FORWARD),
    Wrong("forward", "the bias b1 is left out", edited(FORWARD, ' + params["b1"]', ".T")),
    Wrong(
        "forward",
        "the cache stores a2 after the mask",
        edited(
            FORWARD,
            'params["W1"] +',
            'params["W1"].T +',
            "z3 = (a2 if mask is None else a2 * mask)",
            "if mask is not None:\n        a2 = a2 * mask\n    z3 = a2",
        ),
    ),
]

COST = """
def cost(h, Y, params, lam):
    decay = 0.5 * lam * (np.sum(params["W1"] ** 2) + np.sum(params["W2"] ** 2))
    return float(0.5 * np.sum((h - Y) ** 2) + decay)
"""
CASES += [
    Wrong("cost", "summed instead of averaged over the batch", COST),
    Wrong("cost", "the mean runs over every entry", edited(COST, "np.sum((h", "np.mean((h")),
    Wrong(
        "cost",
        "the biases are regularised too",
        """
        def cost(h, Y, params, lam):
            data = 0.5 * np.sum((h - Y) ** 2) / h.shape[0]
            return float(data + 0.5 * lam * sum(np.sum(v ** 2) for v in params.values()))
    """,
    ),
    Wrong(
        "output_delta",
        "the 1/m of the batch mean is missing",
        """
        def output_delta(h, Y):
            return (h - Y) * h * (1 - h)
    """,
    ),
    Wrong(
        "output_delta",
        "the sign is flipped",
        """
        def output_delta(h, Y):
            return (Y - h) * h * (1 - h) / h.shape[0]
    """,
    ),
]

BACKWARD = """
def backward(params, cache, delta3, lam=0.0):
    mask = cache["mask"]
    a2 = cache["a2"]
    a2_out = a2 if mask is None else a2 * mask
    delta2 = delta3 @ params["W2"] * a2 * (1 - a2)
    return {"W1": delta2.T @ cache["a1"] + lam * params["W1"], "b1": delta2.sum(0),
            "W2": delta3.T @ a2_out + lam * params["W2"], "b2": delta3.sum(0)}
"""
BACKWARD_2 = """
def backward(params, cache, delta3, lam=0.0):
    mask = cache["mask"]
    a2 = cache["a2"]
    a2_out = a2 if mask is None else a2 * mask
    delta2 = delta3 @ params["W2"] * (1 if mask is None else mask) * a2 * (1 - a2)
    return {"W1": delta2.T @ cache["a1"], "b1": delta2.sum(0), "W2": delta3.T @ a2_out, "b2": delta3.sum(0)}
"""
CASES += [
    Wrong(
        "backward",
        "you divide by m again",
        """
        def backward(params, cache, delta3, lam=0.0):
            m = delta3.shape[0]
            mask = cache["mask"]
            a2 = cache["a2"]
            a2_out = a2 if mask is None else a2 * mask
            da2 = delta3 @ params["W2"] * (1 if mask is None else mask)
            delta2 = da2 * a2 * (1 - a2)
            return {"W1": delta2.T @ cache["a1"] / m + lam * params["W1"], "b1": delta2.sum(0) / m,
                    "W2": delta3.T @ a2_out / m + lam * params["W2"], "b2": delta3.sum(0) / m}
    """,
    ),
    Wrong(
        "backward",
        "is transposed",
        edited(
            BACKWARD,
            'delta2 = delta3 @ params["W2"] * a2 * (1 - a2)\n'
            '    return {"W1": delta2.T @ cache["a1"] + lam * params["W1"]',
            'da2 = delta3 @ params["W2"] * (1 if mask is None else mask)\n'
            '    delta2 = da2 * a2 * (1 - a2)\n    return {"W1": cache["a1"].T @ delta2 + lam * params["W1"].T',
        ),
    ),
    Wrong(
        "backward",
        "sums over the examples (axis 0)",
        """
        def backward(params, cache, delta3, lam=0.0):
            mask = cache["mask"]
            a2 = cache["a2"]
            a2_out = a2 if mask is None else a2 * mask
            da2 = delta3 @ params["W2"] * (1 if mask is None else mask)
            delta2 = da2 * a2 * (1 - a2)
            return {"W1": delta2.T @ cache["a1"] + lam * params["W1"], "b1": delta2.sum(1),
                    "W2": delta3.T @ a2_out + lam * params["W2"], "b2": delta3.sum(1)}
    """,
    ),
    Wrong("backward", "the mask is not reused in the backward pass", BACKWARD),
    Wrong(
        "backward",
        "the sigmoid derivative of the hidden layer is missing",
        edited(BACKWARD, "a2 * (1 - a2", "(1 if mask is None else mask"),
    ),
    Wrong(
        "backward",
        "dW2 uses a2 instead of a2 * mask",
        edited(
            BACKWARD,
            'a2_out = a2 if mask is None else a2 * mask\n    delta2 = delta3 @ params["W2"]',
            'da2 = delta3 @ params["W2"] * (1 if mask is None else mask)\n    delta2 = da2',
            "@ a2_out +",
            "@ a2 +",
        ),
    ),
    Wrong(
        "backward",
        "calls torch.Tensor.backward",
        """
        def backward(params, cache, delta3, lam=0.0):
            t = to_torch(params)
            a2 = torch.sigmoid(torch.nn.functional.linear(torch.tensor(cache["a1"]), t["W1"], t["b1"]))
            if cache["mask"] is not None:
                a2 = a2 * torch.tensor(cache["mask"])
            (torch.nn.functional.linear(a2, t["W2"], t["b2"]) * torch.tensor(delta3)).sum().backward()
            return {k: v.grad.numpy() for k, v in t.items()}
    """,
    ),
    Wrong("backward", "the weight-decay path is missing", BACKWARD_2),
    Wrong(
        "backward",
        "the weight-decay path is off by 2",
        edited(
            BACKWARD_2,
            ', "b1": delta2.sum(0), "W2": delta3.T @ a2_out',
            ' + lam / 2 * params["W1"], "b1": delta2.sum(0),\n'
            '            "W2": delta3.T @ a2_out + lam / 2 * params["W2"]',
        ),
    ),
    Wrong(
        "backward",
        "the biases are regularised too",
        """
        def backward(params, cache, delta3, lam=0.0):
            mask = cache["mask"]
            a2 = cache["a2"]
            a2_out = a2 if mask is None else a2 * mask
            delta2 = delta3 @ params["W2"] * (1 if mask is None else mask) * a2 * (1 - a2)
            grads = {"W1": delta2.T @ cache["a1"], "b1": delta2.sum(0), "W2": delta3.T @ a2_out, "b2": delta3.sum(0)}
            return {k: g + lam * params[k] for k, g in grads.items()}
    """,
    ),
]

NUMERICAL_GRADIENT = """
def numerical_gradient(f, x, h=1e-5):
    grad = np.zeros_like(x, dtype=np.float64)
    for idx in np.ndindex(x.shape):
        x[idx] += h
        f_plus = float(f(x))
        x[idx] -= 2 * h
        grad[idx] = (f_plus - float(f(x))) / (2 * h)
    return grad
"""
CASES += [
    Wrong(
        "numerical_gradient",
        "one-sided difference",
        """
        def numerical_gradient(f, x, h=1e-5):
            grad = np.zeros_like(x, dtype=np.float64)
            f0 = float(f(x))
            for idx in np.ndindex(x.shape):
                old = x[idx]
                x[idx] = old + h
                grad[idx] = (float(f(x)) - f0) / h
                x[idx] = old
            return grad
    """,
    ),
    Wrong(
        "numerical_gradient",
        "divide by h instead of 2h",
        edited(
            NUMERICAL_GRADIENT,
            "x[idx] +=",
            "old = x[idx]\n        x[idx] = old +",
            "-= 2 * h\n        grad[idx] = (f_plus - float(f(x))) / (2 * h)",
            "= old - h\n"
            "        f_minus = float(f(x))\n        x[idx] = old\n        grad[idx] = (f_plus - f_minus) / h",
        ),
    ),
    Wrong("numerical_gradient", "restore every entry", NUMERICAL_GRADIENT),
    Wrong(
        "numerical_gradient",
        "calls course.gradcheck.numerical_gradient",
        """
        def numerical_gradient(f, x, h=1e-5):
            return gradcheck.numerical_gradient(f, x, h=h)
    """,
    ),
]

DROPOUT_FORWARD = """
def dropout_forward(a, keep_prob, rng):
    mask = (rng.random(a.shape) >= keep_prob) / keep_prob
    return a * mask, mask
"""
CASES += [
    Wrong(
        "dropout_forward", "not rescaled", edited(DROPOUT_FORWARD, ">= keep_prob) / keep_prob", "< keep_prob) * 1.0")
    ),
    Wrong("dropout_forward", "you drop with probability keep_prob", DROPOUT_FORWARD),
    Wrong(
        "dropout_forward",
        "come from the rng argument",
        edited(DROPOUT_FORWARD, "rng.random(a.shape) >=", "np.random.random(a.shape) <"),
    ),
]

NEURON_GRAPH = """
def neuron_graph(x, w, b, y, lam):
    p = w * x
    a = float(sigmoid(np.sum(p) + b))
    e = y - a
    dz = e * a * (1 - a)
    return float(0.5 * e**2 + 0.5 * lam * np.sum(w**2)), {
        "e": e, "a": e, "z": dz, "b": dz, "p": dz * np.ones_like(p), "w": dz * x + lam * w, "x": dz * w}
"""
CASES += [
    Wrong(
        "neuron_graph",
        "the sigmoid's local gradient is missing",
        edited(NEURON_GRAPH, "y - a\n    dz = e * a * (1 - a)", "a - y\n    dz = e"),
    ),
    Wrong(
        "neuron_graph",
        "evaluated as z * (1 - z)",
        edited(
            NEURON_GRAPH,
            "a = float(sigmoid(np.sum(p) + b))\n    e = y - a\n    dz = e * a * (1 - a",
            "z = np.sum(p) + b\n    e = float(sigmoid(z)) - y\n    dz = e * z * (1 - z",
        ),
    ),
    Wrong(
        "neuron_graph",
        "add the gradients of both paths",
        edited(NEURON_GRAPH, "e = y - a", "e = a - y", " + lam * w", ""),
    ),
    Wrong(
        "neuron_graph",
        "the product's local gradients are swapped",
        edited(NEURON_GRAPH, "e = y - a", "e = a - y", 'x + lam * w, "x": dz * w', 'w + lam * w, "x": dz * x'),
    ),
    Wrong("neuron_graph", "the sign of dL/de is flipped", NEURON_GRAPH),
    Wrong(
        "neuron_graph",
        "calls torch.Tensor.backward",
        """
        def neuron_graph(x, w, b, y, lam):
            xt, wt, bt = (torch.tensor(np.asarray(v, dtype=float), requires_grad=True) for v in (x, w, b))
            p = wt * xt
            p.retain_grad()
            z = p.sum() + bt
            z.retain_grad()
            a = torch.sigmoid(z)
            a.retain_grad()
            e = a - y
            e.retain_grad()
            L = 0.5 * e**2 + 0.5 * lam * (wt**2).sum()
            L.backward()
            g = {"e": e, "a": a, "z": z, "b": bt, "p": p, "w": wt, "x": xt}
            return float(L), {k: v.grad.numpy() for k, v in g.items()}
    """,
    ),
]

BATCHNORM_FORWARD = """
def batchnorm_forward(x, gamma, beta, running_mean, running_var, train=True, momentum=0.1, eps=1e-5):
    if not train:
        return gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta, running_mean, running_var
    mean, var = x.mean(0), x.var(0)
    out = gamma * (x - mean) / np.sqrt(var + eps) + beta
    return out, (1 - momentum) * running_mean + momentum * mean, (1 - momentum) * running_var + momentum * var
"""
CASES += [
    Wrong(
        "batchnorm_forward",
        "you normalise with the unbiased variance",
        edited(BATCHNORM_FORWARD, "x.var(0)", "x.var(0, ddof=1)"),
    ),
    Wrong("batchnorm_forward", "fed the biased batch variance", BATCHNORM_FORWARD),
    Wrong(
        "batchnorm_forward",
        "momentum weights the old value",
        edited(
            BATCHNORM_FORWARD,
            "return out, (1 - momentum) * running_mean + momentum * mean, "
            "(1 - momentum) * running_var + momentum * var",
            "var_u = x.var(0, ddof=1)\n"
            "    return out, momentum * running_mean + (1 - momentum) * mean, "
            "momentum * running_var + (1 - momentum) * var_u",
        ),
    ),
    Wrong(
        "batchnorm_forward",
        "inference mode must normalise with the running statistics",
        """
        def batchnorm_forward(x, gamma, beta, running_mean, running_var, train=True, momentum=0.1, eps=1e-5):
            mean, var = x.mean(0), x.var(0)
            out = gamma * (x - mean) / np.sqrt(var + eps) + beta
            if not train:
                return out, running_mean, running_var
            var_u = x.var(0, ddof=1)
            return out, (1 - momentum) * running_mean + momentum * mean, (1 - momentum) * running_var + momentum * var_u
    """,
    ),
    Wrong(
        "batchnorm_forward",
        "each example (row) instead of each feature",
        edited(
            BATCHNORM_FORWARD,
            "0), x.var(0",
            "1, keepdims=True), x.var(1, keepdims=True",
            "return out, (1 - momentum) * running_mean + momentum * mean, "
            "(1 - momentum) * running_var + momentum * var",
            "mean, var_u = x.mean(0), x.var(0, ddof=1)\n"
            "    return out, (1 - momentum) * running_mean + momentum * mean, "
            "(1 - momentum) * running_var + momentum * var_u",
        ),
    ),
    Wrong(
        "batchnorm_forward",
        "calls torch.nn.functional.batch_norm",
        """
        def batchnorm_forward(x, gamma, beta, running_mean, running_var, train=True, momentum=0.1, eps=1e-5):
            m, v = torch.tensor(running_mean), torch.tensor(running_var)
            t = [torch.tensor(a) for a in (x, gamma, beta)]
            out = torch.nn.functional.batch_norm(t[0], m, v, t[1], t[2], train, momentum, eps)
            return out.numpy(), m.numpy(), v.numpy()
    """,
    ),
]

BATCHNORM_BACKWARD = """
def batchnorm_backward(dout, x, gamma, eps=1e-5):
    std = np.sqrt(x.var(0) + eps)
    xhat = (x - x.mean(0)) / std
    dxhat = dout * gamma
    return (dxhat - xhat * (dxhat * xhat).mean(0)) / std, (dout * xhat).sum(0), dout.sum(0)
"""
CASES += [
    Wrong(
        "batchnorm_backward",
        "misses the paths through the batch mean and variance",
        edited(
            BATCHNORM_BACKWARD,
            "dxhat = dout * gamma\n    return (dxhat - xhat * (dxhat * xhat).mean(0))",
            "return dout * gamma",
        ),
    ),
    Wrong("batchnorm_backward", "misses the path through the batch mean", BATCHNORM_BACKWARD),
    Wrong(
        "batchnorm_backward",
        "dgamma and dbeta are swapped",
        """
        def batchnorm_backward(dout, x, gamma, eps=1e-5):
            std = np.sqrt(x.var(0) + eps)
            xhat = (x - x.mean(0)) / std
            dxhat = dout * gamma
            dx = (dxhat - dxhat.mean(0) - xhat * (dxhat * xhat).mean(0)) / std
            return dx, dout.sum(0), (dout * xhat).sum(0)
    """,
    ),
    Wrong(
        "batchnorm_backward",
        "gamma and beta are parameters too",
        edited(
            BATCHNORM_BACKWARD,
            "xhat * (dxhat * xhat).mean(0)) / std, (dout * xhat).sum(0), dout.sum(0)",
            "dxhat.mean(0) - xhat * (dxhat * xhat).mean(0)) / std",
        ),
    ),
    Wrong(
        "batchnorm_backward",
        "you differentiate the unbiased variance",
        """
        def batchnorm_backward(dout, x, gamma, eps=1e-5):
            m = x.shape[0]
            var = x.var(0, ddof=1)
            std = np.sqrt(var + eps)
            xc = x - x.mean(0)
            dxhat = dout * gamma
            dvar = np.sum(dxhat * xc, 0) * -0.5 * (var + eps) ** -1.5
            dmu = -dxhat.sum(0) / std
            dx = dxhat / std + dvar * 2 * xc / (m - 1) + dmu / m
            return dx, (dout * xc / np.sqrt(x.var(0) + eps)).sum(0), dout.sum(0)
    """,
    ),
    Wrong(
        "batchnorm_backward",
        "calls torch.Tensor.backward",
        """
        def batchnorm_backward(dout, x, gamma, eps=1e-5):
            xt, gt = torch.tensor(x, requires_grad=True), torch.tensor(gamma, requires_grad=True)
            bt = torch.zeros_like(gt, requires_grad=True)
            xhat = (xt - xt.mean(0)) / torch.sqrt(xt.var(0, unbiased=False) + eps)
            ((gt * xhat + bt) * torch.tensor(dout)).sum().backward()
            return xt.grad.numpy(), gt.grad.numpy(), bt.grad.numpy()
    """,
    ),
]

FORWARD = """
def forward(X, params, mask=None):
    z2 = X @ params["W1"].T + params["b1"]
    z3 = (z2 if mask is None else z2 * mask) @ params["W2"].T + params["b2"]
    return {"a1": X, "z2": z2, "a2": sigmoid(z2), "z3": z3, "a3": sigmoid(z3), "mask": mask}
"""
FORWARD_2 = """
def forward(X, params, mask=None):
    z2 = X @ params["W1"].T + params["b1"]
    a2 = sigmoid(z2)
    z3 = (a2 if mask is None else a2 * mask) @ params["W2"].T
    return {"a1": X, "z2": z2, "a2": a2, "z3": z3, "a3": sigmoid(z3), "mask": mask}
"""
CASES += [
    Wrong("forward", "the sigmoid is not applied to z2", edited(FORWARD, "sigmoid(z2)", "z2")),
    Wrong("forward", "layer 3 reads z2 instead of a2", FORWARD),
    Wrong("forward", "the bias b2 is left out", FORWARD_2),
    Wrong(
        "forward",
        "the sigmoid is not applied to the output layer",
        edited(
            FORWARD_2,
            '\n    return {"a1": X, "z2": z2, "a2": a2, "z3": z3, "a3": sigmoid(z3)',
            ' + params["b2"]\n    return {"a1": X, "z2": z2, "a2": a2, "z3": z3, "a3": z3',
        ),
    ),
    Wrong(
        "forward",
        "the mask is ignored",
        edited(FORWARD_2, '(a2 if mask is None else a2 * mask) @ params["W2"].T', 'a2 @ params["W2"].T + params["b2"]'),
    ),
    Wrong("forward", "the mask multiplies z2 before the sigmoid", edited(FORWARD, "z3 = (z2 if", "z3 = sigmoid(z2 if")),
]

DROPOUT_FORWARD = """
def dropout_forward(a, keep_prob, rng):
    mask = (rng.random(a.shape) < keep_prob) * keep_prob
    return a * mask, mask
"""
CASES += [
    Wrong(
        "dropout_forward",
        "you keep the units with u >= 1 - keep_prob",
        edited(DROPOUT_FORWARD, "< keep_prob) *", ">= 1 - keep_prob) /"),
    ),
    Wrong(
        "dropout_forward",
        "the kept units are not those with u < keep_prob",
        """
        def dropout_forward(a, keep_prob, rng):
            rng.random()  # an extra draw first: the units kept are not those of rng.random(a.shape)
            mask = (rng.random(a.shape) < keep_prob) / keep_prob
            return a * mask, mask
    """,
    ),
    Wrong("dropout_forward", "you multiply by keep_prob instead of dividing by it", DROPOUT_FORWARD),
    Wrong(
        "dropout_forward",
        "dropout is not rescaled in the output",
        edited(DROPOUT_FORWARD, "* keep_prob\n    return a * mask", "/ keep_prob\n    return a * (mask != 0)"),
    ),
]

BATCHNORM_FORWARD = """
def batchnorm_forward(x, gamma, beta, running_mean, running_var, train=True, momentum=0.1, eps=1e-5):
    if not train:
        return gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta, running_mean, running_var
    out = gamma * (x - x.mean(0)) / np.sqrt(x.var(0) + eps) + beta
    return out, (1 - momentum) * running_mean + momentum * x.mean(0), running_var
"""
CASES += [
    Wrong(
        "batchnorm_forward",
        "the running mean is not updated",
        edited(
            BATCHNORM_FORWARD,
            "(1 - momentum) * running_mean + momentum * x.mean(0), running_var",
            "running_mean, (1 - momentum) * running_var + momentum * x.var(0, ddof=1)",
        ),
    ),
    Wrong("batchnorm_forward", "the running variance is not updated", BATCHNORM_FORWARD),
    Wrong(
        "batchnorm_forward",
        "training mode must use the batch statistics",
        """
        def batchnorm_forward(x, gamma, beta, running_mean, running_var, train=True, momentum=0.1, eps=1e-5):
            out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta
            if not train:
                return out, running_mean, running_var
            new_mean = (1 - momentum) * running_mean + momentum * x.mean(0)
            return out, new_mean, (1 - momentum) * running_var + momentum * x.var(0, ddof=1)
    """,
    ),
    Wrong(
        "forward",
        "calls torch.nn.functional.linear",
        """
        def forward(X, params, mask=None):  # the test's reference, called instead of writing the layers
            return {**torch_forward(X, params, mask)[0], "mask": mask}
    """,
    ),
    Wrong(
        "backward",
        "calls torch.Tensor.backward",
        """
        def backward(params, cache, delta3, lam=0.0):  # the test's reference, called instead of deriving
            return backward_slips(params, cache["a1"], delta3, lam, cache["mask"])[1]
    """,
    ),
    Right(
        "neuron_graph",
        "sigmoid recomputed from z, and the products summed with a loop",
        """
        def neuron_graph(x, w, b, y, lam):
            z = b
            for wi, xi in zip(w, x):
                z = z + wi * xi
            e = 1 / (1 + np.exp(-z)) - y
            s = 1 / (1 + np.exp(-z))
            dz = e * s * (1 - s)
            L = 0.5 * e * e + lam / 2 * float(w @ w)
            return L, {"e": e, "a": e, "z": dz, "b": dz, "p": np.full(len(w), dz), "w": x * dz + lam * w, "x": w * dz}
    """,
    ),
    Right(
        "batchnorm_forward",
        "sums written out, float32-safe",
        """
        def batchnorm_forward(x, gamma, beta, running_mean, running_var, train=True, momentum=0.1, eps=1e-5):
            if train:
                m = len(x)
                mu = np.sum(x, axis=0) / m
                ss = np.sum((x - mu) ** 2, axis=0)
                xhat = (x - mu) / np.sqrt(ss / m + eps)
                running_mean = momentum * mu + (1 - momentum) * running_mean
                running_var = momentum * ss / (m - 1) + (1 - momentum) * running_var
                return gamma * xhat + beta, running_mean, running_var
            return gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta, running_mean, running_var
    """,
    ),
    Right(
        "batchnorm_backward",
        "node by node through the graph (cs231n's staged form)",
        """
        def batchnorm_backward(dout, x, gamma, eps=1e-5):
            m = x.shape[0]
            mu = x.mean(0)
            xc = x - mu
            var = (xc**2).mean(0)
            istd = 1 / np.sqrt(var + eps)
            xhat = xc * istd
            dxhat = dout * gamma
            dvar = np.sum(dxhat * xc, 0) * -0.5 * istd**3
            dxc = dxhat * istd + dvar * 2 * xc / m
            dx = dxc - dxc.mean(0)
            return dx, np.sum(dout * xhat, 0), np.sum(dout, 0)
    """,
    ),
    Right(
        "forward",
        "float32 parameters and inputs, einsum",
        """
        def forward(X, params, mask=None):
            z2 = np.einsum("mi,hi->mh", X, params["W1"]) + params["b1"]
            a2 = sigmoid(z2)
            a2_out = a2 if mask is None else a2 * mask
            z3 = np.einsum("mh,oh->mo", a2_out, params["W2"]) + params["b2"]
            return {"a1": X, "z2": z2, "a2": a2, "z3": z3, "a3": sigmoid(z3), "mask": mask}
    """,
    ),
    Right(
        "cost",
        "mean of the per-example squared norms",
        """
        def cost(h, Y, params, lam):
            per_example = 0.5 * np.sum((h - Y) ** 2, axis=1)
            return float(np.mean(per_example) + lam / 2 * sum(np.sum(params[k] ** 2) for k in ("W1", "W2")))
    """,
    ),
    Right(
        "backward",
        "a loop over the examples, accumulating outer products",
        """
        def backward(params, cache, delta3, lam=0.0):
            mask = cache["mask"]
            a2 = cache["a2"]
            grads = {k: np.zeros_like(v, dtype=np.float64) for k, v in params.items()}
            for i in range(delta3.shape[0]):
                keep = 1.0 if mask is None else mask[i]
                grads["W2"] += np.outer(delta3[i], a2[i] * keep)
                grads["b2"] += delta3[i]
                d2 = (params["W2"].T @ delta3[i]) * keep * a2[i] * (1 - a2[i])
                grads["W1"] += np.outer(d2, cache["a1"][i])
                grads["b1"] += d2
            grads["W1"] += lam * params["W1"]
            grads["W2"] += lam * params["W2"]
            return grads
    """,
    ),
    Right(
        "numerical_gradient",
        "a loop over a flat view of x",
        """
        def numerical_gradient(f, x, h=1e-5):
            flat = x.reshape(-1)
            grad = np.zeros(x.size)
            for i in range(x.size):
                old = flat[i]
                flat[i] = old + h
                up = f(x)
                flat[i] = old - h
                down = f(x)
                flat[i] = old
                grad[i] = (up - down) / (2 * h)
            return grad.reshape(x.shape)
    """,
    ),
]
