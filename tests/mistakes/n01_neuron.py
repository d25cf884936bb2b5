"""01 One neuron: the usual wrong answers, and right ones written another way."""

from mistakes import Right, Wrong

NOTEBOOK = "01_neuron"

CASES = [
    Wrong(
        "sigmoid",
        "overflows",
        """
        def sigmoid(z):
            return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))
    """,
    ),
    Wrong(
        "sigmoid",
        "np.where evaluates both",
        """
        def sigmoid(z):
            z = np.asarray(z, dtype=float)
            return np.where(z >= 0, 1 / (1 + np.exp(-z)), np.exp(z) / (1 + np.exp(z)))
    """,
    ),
    Wrong(
        "sigmoid",
        "calls torch.sigmoid",
        """
        def sigmoid(z):
            return torch.sigmoid(torch.as_tensor(np.asarray(z, dtype=float))).numpy()
    """,
    ),
    Wrong(
        "sigmoid",
        "s(1 - s) to z",
        """
        def sigmoid_grad(z):
            return z * (1 - z)
    """,
    ),
    Wrong(
        "tanh",
        "1 - z**2",
        """
        def tanh_grad(z):
            return 1.0 - np.asarray(z, dtype=float) ** 2
    """,
    ),
    Wrong(
        "tanh",
        "calls torch.tanh",
        """
        def tanh(z):
            return torch.tanh(torch.as_tensor(np.asarray(z, dtype=float))).numpy()
    """,
    ),
    Wrong(
        "relu",
        "derivative at 0",
        """
        def relu_grad(z):
            return (np.asarray(z) >= 0).astype(float)
    """,
    ),
    Wrong(
        "relu",
        "slope argument is ignored",
        """
        def leaky_relu(z, slope=0.01):
            z = np.asarray(z, dtype=float)
            return np.where(z > 0, z, 0.01 * z)
    """,
    ),
    Wrong(
        "prelu",
        "averaged over the batch",
        """
        def prelu_backward(dout, z, slopes):
            z = np.asarray(z, dtype=float)
            s = np.asarray(slopes, dtype=float).reshape((1, -1) + (1,) * (z.ndim - 2))
            neg = z <= 0
            axes = (0,) + tuple(range(2, z.ndim))
            return np.where(neg, s * dout, dout), np.mean(np.where(neg, dout * z, 0.0), axis=axes)
    """,
    ),
    Wrong(
        "prelu",
        "not summed over the batch",
        """
        def prelu_backward(dout, z, slopes):
            neg = z <= 0
            return np.where(neg, slopes * dout, dout), np.where(neg, dout * z, 0.0)
    """,
    ),
    Wrong(
        "prelu",
        "along the last axis instead of the channel axis",
        """
        def prelu(z, slopes):
            z = np.asarray(z, dtype=float)
            return np.where(z > 0, z, slopes * z)
    """,
    ),
    Wrong(
        "neuron_forward",
        "the bias is ignored",
        """
        def neuron_forward(X, w, b, activation):
            return activation(X @ w)
    """,
    ),
    Wrong(
        "perceptron_update",
        "wrong sign",
        """
        def perceptron_update(w, b, x, t, eta=0.1):
            o = step(w @ x + b)
            return w + eta * (o - t) * x, b + eta * (o - t)
    """,
    ),
    Wrong(
        "perceptron_update",
        "modified in place",
        """
        def perceptron_update(w, b, x, t, eta=0.1):
            o = step(w @ x + b)
            w += eta * (t - o) * x
            return w, b + eta * (t - o)
    """,
    ),
    Wrong(
        "xor_network",
        "computes OR",
        """
        def xor_network():
            return np.array([[1.0, 1.0], [1.0, 1.0]]), np.array([-0.5, -0.5]), np.array([1.0, 0.0]), -0.5
    """,
    ),
    Wrong(
        "softmax",
        "columns (axis 0)",
        """
        def softmax(scores):
            e = np.exp(scores - np.max(scores, axis=0, keepdims=True))
            return e / e.sum(axis=0, keepdims=True)
    """,
    ),
    Wrong(
        "softmax",
        "overflow",
        """
        def softmax(scores):
            e = np.exp(scores)
            return e / e.sum(axis=1, keepdims=True)
    """,
    ),
    Wrong(
        "cross_entropy",
        "sum over the batch instead of taking the mean",
        """
        def cross_entropy(scores, labels):
            m = np.max(scores, axis=1, keepdims=True)
            log_norm = m[:, 0] + np.log(np.exp(scores - m).sum(axis=1))
            return float(-np.sum(scores[np.arange(len(labels)), labels] - log_norm))
    """,
    ),
    Wrong(
        "cross_entropy",
        "use log-sum-exp",
        """
        def softmax(scores):
            e = np.exp(scores - np.max(scores, axis=1, keepdims=True))
            return e / e.sum(axis=1, keepdims=True)

        def cross_entropy(scores, labels):
            return float(-np.mean(np.log(softmax(scores)[np.arange(len(labels)), labels])))
    """,
    ),
    Wrong(
        "cross_entropy",
        "overflow",
        """
        def cross_entropy(scores, labels):
            p = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
            return float(-np.mean(np.log(p[np.arange(len(labels)), labels])))
    """,
    ),
    Wrong(
        "hinge_loss",
        "true class is included",
        """
        def hinge_loss(scores, labels, margin=1.0, p=1):
            correct = scores[np.arange(len(labels)), labels][:, None]
            return float(np.sum(np.maximum(0.0, scores - correct + margin) ** p) / len(labels))
    """,
    ),
    Right(
        "sigmoid",
        "through tanh, which never overflows",
        """
        def sigmoid(z):
            return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=float)))
    """,
    ),
    Right(
        "sigmoid",
        "exp of -|z| only, and float32 inputs accepted",
        """
        def sigmoid(z):
            z = np.asarray(z, dtype=np.float64)
            e = np.exp(-np.abs(z))
            return np.where(z >= 0, 1.0, e) / (1.0 + e)
    """,
    ),
    Right(
        "tanh",
        "from expm1, with the derivative from the same exponential",
        """
        def tanh(z):
            z = np.asarray(z, dtype=float)
            e = np.expm1(-2.0 * np.abs(z))
            return -np.sign(z) * e / (2.0 + e)

        def tanh_grad(z):
            return 1.0 - tanh(z) ** 2
    """,
    ),
    Right(
        "softmax",
        "a loop over the rows",
        """
        def softmax(scores):
            out = np.empty_like(np.asarray(scores, dtype=float))
            for i, row in enumerate(scores):
                e = np.exp(row - row.max())
                out[i] = e / e.sum()
            return out
    """,
    ),
    Right(
        "hinge_loss",
        "loops over examples and classes",
        """
        def hinge_loss(scores, labels, margin=1.0, p=1):
            total = 0.0
            for s, y in zip(scores, labels):
                for j, sj in enumerate(s):
                    if j != y:
                        total += max(0.0, sj - s[y] + margin) ** p
            return total / len(labels)
    """,
    ),
]
