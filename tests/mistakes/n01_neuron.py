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
        "relu",
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
        "relu",
        "not summed over the batch",
        """
        def prelu_backward(dout, z, slopes):
            neg = z <= 0
            return np.where(neg, slopes * dout, dout), np.where(neg, dout * z, 0.0)
    """,
    ),
    Wrong(
        "relu",
        "along the last axis instead of the channel axis",
        """
        def prelu(z, slopes):
            z = np.asarray(z, dtype=float)
            return np.where(z > 0, z, slopes * z)
    """,
    ),
    Wrong(
        "perceptron_update",
        "the bias is ignored",
        """
        def neuron_forward(X, w, b, activation):
            return activation(X @ w)
    """,
    ),
    Wrong(
        "tanh",
        "overflows",
        """
        def tanh(z):
            z = np.asarray(z, dtype=float)
            return (np.exp(z) - np.exp(-z)) / (np.exp(z) + np.exp(-z))
    """,
    ),
    Wrong(
        "tanh",
        "tanh calls numpy.tanh",
        """
        def tanh(z):
            return np.tanh(z)
    """,
    ),
    Wrong(
        "tanh",
        "np.where evaluates both",
        """
        def tanh(z):
            z = np.asarray(z, dtype=float)
            return np.where(z >= 0, 2 / (1 + np.exp(-2 * z)) - 1, 1 - 2 / (1 + np.exp(2 * z)))
    """,
    ),
    Wrong(
        "tanh",
        "tanh(z / 2)",
        """
        def tanh(z):
            z = np.asarray(z, dtype=float)
            e = np.exp(-np.abs(z))
            return np.sign(z) * (1 - e) / (1 + e)
    """,
    ),
    Wrong(
        "tanh",
        "not yet scaled and shifted",
        """
        def tanh(z):
            z = np.asarray(z, dtype=float)
            e = np.exp(-2 * np.abs(z))
            return np.where(z >= 0, 1.0, e) / (1.0 + e)
    """,
    ),
    Wrong(
        "tanh",
        "inner factor is missing",
        """
        def tanh_grad(z):
            s = 1 / (1 + np.exp(-2 * np.asarray(z, dtype=float)))
            return 2 * s * (1 - s)
    """,
    ),
    Wrong(
        "relu",
        "dz is 1 where z <= 0",
        """
        def prelu_backward(dout, z, slopes):
            z = np.asarray(z, dtype=float)
            axes = (0,) + tuple(range(2, z.ndim))
            return dout, np.sum(np.where(z > 0, 0.0, dout * z), axis=axes)
    """,
    ),
    Wrong(
        "relu",
        "not over the positions (H, W)",
        """
        def prelu_backward(dout, z, slopes):
            z = np.asarray(z, dtype=float)
            s = np.reshape(slopes, (1, -1) + (1,) * (z.ndim - 2))
            return np.where(z > 0, dout, s * dout), np.sum(np.where(z > 0, 0.0, dout * z), axis=0)
    """,
    ),
    Wrong(
        "relu",
        "negative inputs are zeroed",
        """
        def prelu(z, slopes):
            return np.maximum(np.asarray(z, dtype=float), 0.0)
    """,
    ),
    Wrong(
        "perceptron_update",
        "the bias is subtracted",
        """
        def neuron_forward(X, w, b, activation):
            return activation(X @ w - b)
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
        "tanh",
        "2 sigmoid(2z) - 1 with an overflow-free sigmoid, and 4 sigmoid'(2z) by the chain rule",
        """
        def _sig(u):
            e = np.exp(-np.abs(u))
            return np.where(u >= 0, 1.0, e) / (1.0 + e)

        def tanh(z):
            return 2.0 * _sig(2.0 * np.asarray(z, dtype=float)) - 1.0

        def tanh_grad(z):
            s = _sig(2.0 * np.asarray(z, dtype=float))
            return 4.0 * s * (1.0 - s)
    """,
    ),
    Right(
        "relu",
        "each function written on its own, the slope gradient by a loop over channels",
        """
        def relu(z):
            return np.maximum(np.asarray(z, dtype=float), 0.0)

        def relu_grad(z):
            return (np.asarray(z) > 0) * 1.0

        def leaky_relu(z, slope=0.01):
            z = np.asarray(z, dtype=float)
            return np.maximum(z, 0.0) + slope * np.minimum(z, 0.0)

        def leaky_relu_grad(z, slope=0.01):
            return np.where(np.asarray(z) > 0, 1.0, slope)

        def prelu(z, slopes):
            out = np.array(z, dtype=float)
            for k, s in enumerate(slopes):
                out[:, k] = np.where(out[:, k] > 0, out[:, k], s * out[:, k])
            return out

        def prelu_backward(dout, z, slopes):
            dz, ds = np.array(dout, dtype=float), np.zeros(len(slopes))
            for k, s in enumerate(slopes):
                neg = z[:, k] <= 0
                dz[:, k][neg] *= s
                ds[k] = np.sum(dout[:, k][neg] * z[:, k][neg])
            return dz, ds
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
