"""02 Backpropagation by hand: the usual wrong answers, and right ones written another way."""

from mistakes import Right, Wrong

NOTEBOOK = "02_backprop"

CASES = [
    Wrong(
        "forward",
        "W1 is used transposed",
        """
        def forward(X, params, mask=None):
            z2 = X @ params["W1"] + params["b1"]
            a2 = sigmoid(z2)
            z3 = (a2 if mask is None else a2 * mask) @ params["W2"].T + params["b2"]
            return {"a1": X, "z2": z2, "a2": a2, "z3": z3, "a3": sigmoid(z3), "mask": mask}
    """,
    ),
    Wrong(
        "forward",
        "the bias b1 is left out",
        """
        def forward(X, params, mask=None):
            z2 = X @ params["W1"].T
            a2 = sigmoid(z2)
            z3 = (a2 if mask is None else a2 * mask) @ params["W2"].T + params["b2"]
            return {"a1": X, "z2": z2, "a2": a2, "z3": z3, "a3": sigmoid(z3), "mask": mask}
    """,
    ),
    Wrong(
        "forward",
        "the cache stores a2 after the mask",
        """
        def forward(X, params, mask=None):
            z2 = X @ params["W1"].T + params["b1"]
            a2 = sigmoid(z2)
            if mask is not None:
                a2 = a2 * mask
            z3 = a2 @ params["W2"].T + params["b2"]
            return {"a1": X, "z2": z2, "a2": a2, "z3": z3, "a3": sigmoid(z3), "mask": mask}
    """,
    ),
    Wrong(
        "cost",
        "summed instead of averaged over the batch",
        """
        def cost(h, Y, params, lam):
            decay = 0.5 * lam * (np.sum(params["W1"] ** 2) + np.sum(params["W2"] ** 2))
            return float(0.5 * np.sum((h - Y) ** 2) + decay)
    """,
    ),
    Wrong(
        "cost",
        "the mean runs over every entry",
        """
        def cost(h, Y, params, lam):
            decay = 0.5 * lam * (np.sum(params["W1"] ** 2) + np.sum(params["W2"] ** 2))
            return float(0.5 * np.mean((h - Y) ** 2) + decay)
    """,
    ),
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
    Wrong(
        "backward",
        "you divide by m again",
        """
        def backward(params, cache, delta3):
            m = delta3.shape[0]
            mask = cache["mask"]
            a2 = cache["a2"]
            a2_out = a2 if mask is None else a2 * mask
            da2 = delta3 @ params["W2"] * (1 if mask is None else mask)
            delta2 = da2 * a2 * (1 - a2)
            return {"W1": delta2.T @ cache["a1"] / m, "b1": delta2.sum(0) / m,
                    "W2": delta3.T @ a2_out / m, "b2": delta3.sum(0) / m}
    """,
    ),
    Wrong(
        "backward",
        "is transposed",
        """
        def backward(params, cache, delta3):
            mask = cache["mask"]
            a2 = cache["a2"]
            a2_out = a2 if mask is None else a2 * mask
            da2 = delta3 @ params["W2"] * (1 if mask is None else mask)
            delta2 = da2 * a2 * (1 - a2)
            return {"W1": cache["a1"].T @ delta2, "b1": delta2.sum(0), "W2": delta3.T @ a2_out, "b2": delta3.sum(0)}
    """,
    ),
    Wrong(
        "backward",
        "sums over the examples (axis 0)",
        """
        def backward(params, cache, delta3):
            mask = cache["mask"]
            a2 = cache["a2"]
            a2_out = a2 if mask is None else a2 * mask
            da2 = delta3 @ params["W2"] * (1 if mask is None else mask)
            delta2 = da2 * a2 * (1 - a2)
            return {"W1": delta2.T @ cache["a1"], "b1": delta2.sum(1), "W2": delta3.T @ a2_out, "b2": delta3.sum(1)}
    """,
    ),
    Wrong(
        "backward",
        "the mask is not reused in the backward pass",
        """
        def backward(params, cache, delta3):
            mask = cache["mask"]
            a2 = cache["a2"]
            a2_out = a2 if mask is None else a2 * mask
            delta2 = delta3 @ params["W2"] * a2 * (1 - a2)
            return {"W1": delta2.T @ cache["a1"], "b1": delta2.sum(0), "W2": delta3.T @ a2_out, "b2": delta3.sum(0)}
    """,
    ),
    Wrong(
        "backward",
        "sigmoid derivative a2 * (1 - a2) of the hidden layer is missing",
        """
        def backward(params, cache, delta3):
            mask = cache["mask"]
            a2 = cache["a2"]
            a2_out = a2 if mask is None else a2 * mask
            delta2 = delta3 @ params["W2"] * (1 if mask is None else mask)
            return {"W1": delta2.T @ cache["a1"], "b1": delta2.sum(0), "W2": delta3.T @ a2_out, "b2": delta3.sum(0)}
    """,
    ),
    Wrong(
        "backward",
        "dW2 uses a2 instead of a2 * mask",
        """
        def backward(params, cache, delta3):
            mask = cache["mask"]
            a2 = cache["a2"]
            da2 = delta3 @ params["W2"] * (1 if mask is None else mask)
            delta2 = da2 * a2 * (1 - a2)
            return {"W1": delta2.T @ cache["a1"], "b1": delta2.sum(0), "W2": delta3.T @ a2, "b2": delta3.sum(0)}
    """,
    ),
    Wrong(
        "backward",
        "calls torch.Tensor.backward",
        """
        def backward(params, cache, delta3):
            t = to_torch(params)
            a2 = torch.sigmoid(torch.nn.functional.linear(torch.tensor(cache["a1"]), t["W1"], t["b1"]))
            if cache["mask"] is not None:
                a2 = a2 * torch.tensor(cache["mask"])
            (torch.nn.functional.linear(a2, t["W2"], t["b2"]) * torch.tensor(delta3)).sum().backward()
            return {k: v.grad.numpy() for k, v in t.items()}
    """,
    ),
    Wrong(
        "add_weight_decay",
        "the bias is regularised too",
        """
        def add_weight_decay(grads, params, lam):
            return {k: grads[k] + lam * params[k] for k in grads}
    """,
    ),
    Wrong(
        "add_weight_decay",
        "the decay term is lam/2 * W",
        """
        def add_weight_decay(grads, params, lam):
            out = dict(grads)
            for key in ("W1", "W2"):
                out[key] = grads[key] + 0.5 * lam * params[key]
            return out
    """,
    ),
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
        """
        def numerical_gradient(f, x, h=1e-5):
            grad = np.zeros_like(x, dtype=np.float64)
            for idx in np.ndindex(x.shape):
                old = x[idx]
                x[idx] = old + h
                f_plus = float(f(x))
                x[idx] = old - h
                f_minus = float(f(x))
                x[idx] = old
                grad[idx] = (f_plus - f_minus) / h
            return grad
    """,
    ),
    Wrong(
        "numerical_gradient",
        "restore every entry",
        """
        def numerical_gradient(f, x, h=1e-5):
            grad = np.zeros_like(x, dtype=np.float64)
            for idx in np.ndindex(x.shape):
                x[idx] += h
                f_plus = float(f(x))
                x[idx] -= 2 * h
                grad[idx] = (f_plus - float(f(x))) / (2 * h)
            return grad
    """,
    ),
    Wrong(
        "numerical_gradient",
        "calls course.gradcheck.numerical_gradient",
        """
        def numerical_gradient(f, x, h=1e-5):
            return gradcheck.numerical_gradient(f, x, h=h)
    """,
    ),
    Wrong(
        "gd_step",
        "goes up the gradient",
        """
        def gd_step(params, grads, lr):
            return {k: params[k] + lr * grads[k] for k in params}
    """,
    ),
    Wrong(
        "gd_step",
        "the biases are not updated",
        """
        def gd_step(params, grads, lr):
            return {k: params[k] - lr * grads[k] if k.startswith("W") else params[k] for k in params}
    """,
    ),
    Wrong(
        "dropout_forward",
        "not rescaled",
        """
        def dropout_forward(a, keep_prob, rng):
            mask = (rng.random(a.shape) < keep_prob) * 1.0
            return a * mask, mask
    """,
    ),
    Wrong(
        "dropout_forward",
        "you drop with probability keep_prob",
        """
        def dropout_forward(a, keep_prob, rng):
            mask = (rng.random(a.shape) >= keep_prob) / keep_prob
            return a * mask, mask
    """,
    ),
    Wrong(
        "dropout_forward",
        "come from the rng argument",
        """
        def dropout_forward(a, keep_prob, rng):
            mask = (np.random.random(a.shape) < keep_prob) / keep_prob
            return a * mask, mask
    """,
    ),
    Wrong(
        "dropout_backward",
        "not rescaled in the backward pass",
        """
        def dropout_backward(dout, mask):
            return dout * (mask != 0)
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
        def backward(params, cache, delta3):
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
    Right(
        "dropout_backward",
        "np.where on the mask",
        """
        def dropout_backward(dout, mask):
            return np.where(mask != 0, dout * mask, 0.0)
    """,
    ),
]
