"""07 MobileNet: the usual wrong answers, and right ones written another way."""

from mistakes import Right, Wrong, edited

NOTEBOOK = "07_mobilenet"

_IR_INIT = """
    def __init__(self, in_channels, out_channels, stride, expand_ratio, kernel_size=3):
        super().__init__()
        hidden = in_channels * expand_ratio
        layers = []
        if expand_ratio != 1:
            layers += [nn.Conv2d(in_channels, hidden, 1, bias=False), nn.BatchNorm2d(hidden), ACT(inplace=True)]
        layers += [
            nn.Conv2d(hidden, hidden, kernel_size, stride, kernel_size // 2, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden), ACT(inplace=True),
            nn.Conv2d(hidden, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels),
        ]
        self.layers = nn.Sequential(*layers)
        self.use_residual = RESIDUAL
"""


def _inverted_residual(act="nn.ReLU6", residual="stride == 1 and in_channels == out_channels", forward=None):
    init = _IR_INIT.replace("ACT", act).replace("RESIDUAL", residual)
    forward = forward or "return x + self.layers(x) if self.use_residual else self.layers(x)"
    return (
        "class InvertedResidual(nn.Module):"
        + init
        + f"""
    def forward(self, x):
        {forward}
"""
    )


# depthwise_conv2d
DEPTHWISE_CONV2D = """
def depthwise_conv2d(x, w, stride=1, padding=0):
    n, c, h, wd = x.shape
    k = w.shape[1]
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = (h + 2 * padding - k) // stride, (wd + 2 * padding - k) // stride
    out = np.zeros((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            patch = xp[:, :, i * stride:i * stride + k, j * stride:j * stride + k]
            out[:, :, i, j] = (patch * w[None]).sum(axis=(2, 3))
    return out
"""

CASES = [
    Wrong(
        "depthwise_conv2d",
        "the kernel is flipped",
        edited(
            DEPTHWISE_CONV2D,
            ", (wd + 2 * padding - k) // stride",
            " + 1, (wd + 2 * padding - k) // stride + 1",
            "    for i in",
            "    wf = w[:, ::-1, ::-1]  # flipped, as in a textbook convolution\n    for i in",
            "* w[None]).sum(axis=(2,",
            "* wf[None]).sum(axis=(2,",
        ),
    ),
    Wrong(
        "depthwise_conv2d",
        "the padding is ignored",
        edited(
            DEPTHWISE_CONV2D,
            "xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))\n"
            "    ho, wo = (h + 2 * padding - k) // stride, (wd + 2 * padding - k) // stride",
            "ho, wo = (h - k) // stride + 1, (wd - k) // stride + 1",
            "patch = xp[:, :,",
            "patch = x[:, :,",
        ),
    ),
    Wrong(
        "depthwise_conv2d",
        "the zeros are all on one side",
        edited(
            DEPTHWISE_CONV2D,
            "xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))\n"
            "    ho, wo = (h + 2 * padding - k) // stride, (wd + 2 * padding - k) // stride",
            "ho, wo = (h + 2 * padding - k) // stride + 1, (wd + 2 * padding - k) // stride + 1\n"
            "    xp = np.zeros((n, c, h + 2 * padding, wd + 2 * padding))\n"
            "    xp[:, :, :h, :wd] = x  # the zeros all end up on one side: the windows are shifted",
        ),
    ),
    Wrong(
        "depthwise_conv2d",
        "the stride is ignored",
        edited(
            DEPTHWISE_CONV2D,
            "(h + 2 * padding - k) // stride, (wd + 2 * padding - k) // stride",
            "h + 2 * padding - k + 1, wd + 2 * padding - k + 1",
            "patch = xp[:, :, i * stride:i * stride + k, j * stride:j * stride + k]\n"
            "            out[:, :, i, j] = (patch",
            "out[:, :, i, j] = (xp[:, :, i:i + k, j:j + k]",
        ),
    ),
    Wrong(
        "depthwise_conv2d",
        "the windows do not move by stride",
        edited(
            DEPTHWISE_CONV2D,
            ", (wd + 2 * padding - k) // stride",
            " + 1, (wd + 2 * padding - k) // stride + 1",
            "patch = xp[:, :, i * stride:i * stride + k, j * stride:j * stride + k]\n"
            "            out[:, :, i, j] = (patch",
            "out[:, :, i, j] = (xp[:, :, i:i + k, j:j + k]",
        ),
    ),
    Wrong("depthwise_conv2d", "Off by one", DEPTHWISE_CONV2D),
    Wrong(
        "depthwise_conv2d",
        "calls torch.nn.functional.conv2d",
        """
        def depthwise_conv2d(x, w, stride=1, padding=0):
            xt, wt = torch.from_numpy(x), torch.from_numpy(np.ascontiguousarray(w[:, None]))
            return F.conv2d(xt, wt, stride=stride, padding=padding, groups=x.shape[1]).numpy()
    """,
    ),
    Right(
        "depthwise_conv2d",
        "sliding_window_view and einsum",
        """
        def depthwise_conv2d(x, w, stride=1, padding=0):
            xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
            windows = np.lib.stride_tricks.sliding_window_view(xp, w.shape[1:], axis=(2, 3))
            return np.einsum("nchwuv,cuv->nchw", windows[:, :, ::stride, ::stride], w)
    """,
    ),
    Right(
        "depthwise_conv2d",
        "four plain loops over channels and positions",
        """
        def depthwise_conv2d(x, w, stride=1, padding=0):
            n, c, h, wd = x.shape
            k = w.shape[1]
            xp = np.zeros((n, c, h + 2 * padding, wd + 2 * padding), dtype=x.dtype)
            xp[:, :, padding:padding + h, padding:padding + wd] = x
            ho, wo = (h + 2 * padding - k) // stride + 1, (wd + 2 * padding - k) // stride + 1
            out = np.empty((n, c, ho, wo))
            for ch in range(c):
                for i in range(ho):
                    for j in range(wo):
                        patch = xp[:, ch, i * stride:i * stride + k, j * stride:j * stride + k]
                        out[:, ch, i, j] = np.sum(patch * w[ch], axis=(1, 2))
            return out
    """,
    ),
    # pointwise_conv2d
    Wrong(
        "pointwise_conv2d",
        "is w transposed",
        """
        def pointwise_conv2d(x, w):
            return np.einsum("cm,nchw->nmhw", w, x)
    """,
    ),
    Wrong(
        "pointwise_conv2d",
        "channels-last",
        """
        def pointwise_conv2d(x, w):
            return np.tensordot(x, w, axes=([1], [1]))
    """,
    ),
    Wrong(
        "pointwise_conv2d",
        "calls torch.nn.functional.conv2d",
        """
        def pointwise_conv2d(x, w):
            return F.conv2d(torch.from_numpy(x), torch.from_numpy(np.ascontiguousarray(w[:, :, None, None]))).numpy()
    """,
    ),
    Right(
        "pointwise_conv2d",
        "a matrix product on a channels-last view",
        """
        def pointwise_conv2d(x, w):
            return np.moveaxis(np.moveaxis(x, 1, -1) @ w.T, -1, 1)
    """,
    ),
]

# conv_cost
CONV_COST = """
def conv_cost(kind, Df, Dk, M, N, alpha=1.0, beta=1.0):
    m, n, d = alpha * M, alpha * N, beta * Df
    params = {"standard": Dk * Dk * m * n, "depthwise": Dk * Dk * m, "pointwise": m * n}
    if kind not in params:
        raise ValueError(kind)
    return float(params[kind] * d * d), float(params[kind] * beta * beta)
"""
CASES += [
    Wrong(
        "conv_cost",
        "beta is not squared",
        edited(
            CONV_COST,
            ", d = alpha * M, alpha * N, beta * Df",
            " = alpha * M, alpha * N",
            "d * d), float(params[kind] * beta * beta",
            "Df * Df * beta), float(params[kind]",
        ),
    ),
    Wrong(
        "conv_cost",
        "the depthwise layer uses N channels instead of M",
        edited(CONV_COST, 'Dk * m, "pointwise":', 'Dk * n, "pointwise":', " * beta * beta", ""),
    ),
    Wrong(
        "conv_cost",
        "alpha multiplies only one of the two channel counts",
        """
        def conv_cost(kind, Df, Dk, M, N, alpha=1.0, beta=1.0):
            d = beta * Df
            params = {"standard": Dk * Dk * M * N * alpha, "depthwise": Dk * Dk * M * alpha, "pointwise": M * N * alpha}
            if kind not in params:
                raise ValueError(kind)
            return float(params[kind] * d * d), float(params[kind])
    """,
    ),
    Wrong("conv_cost", "beta also changes the weights", CONV_COST),
    Wrong(
        "conv_cost",
        "calls torch.nn.Conv2d",
        """
        def conv_cost(kind, Df, Dk, M, N, alpha=1.0, beta=1.0):
            m, n, d = int(alpha * M), int(alpha * N), beta * Df
            layer = {"standard": lambda: nn.Conv2d(m, n, Dk, bias=False),
                     "depthwise": lambda: nn.Conv2d(m, m, Dk, groups=m, bias=False),
                     "pointwise": lambda: nn.Conv2d(m, n, 1, bias=False)}[kind]()
            params = sum(p.numel() for p in layer.parameters())
            return float(params * d * d), float(params)
    """,
    ),
    Right(
        "conv_cost",
        "an if-chain on the full-size counts, multipliers applied at the end",
        """
        def conv_cost(kind, Df, Dk, M, N, alpha=1.0, beta=1.0):
            if kind == "standard":
                weights, channel_factor = Dk * Dk * M * N, alpha**2
            elif kind == "depthwise":
                weights, channel_factor = Dk * Dk * M, alpha
            elif kind == "pointwise":
                weights, channel_factor = M * N, alpha**2
            else:
                raise ValueError("kind must be standard, depthwise or pointwise")
            params = weights * channel_factor
            return params * (Df * beta) ** 2, float(params)
    """,
    ),
    # separable_cost
    Wrong(
        "separable_cost",
        "the orders are swapped",
        """
        def separable_cost(Df, Dk, M, N, order="mobilenet"):
            channels = N if order == "mobilenet" else M
            params = Dk * Dk * channels + M * N
            return params * Df * Df, params
    """,
    ),
    Wrong(
        "separable_cost",
        "the pointwise layer is left out",
        """
        def separable_cost(Df, Dk, M, N, order="mobilenet"):
            channels = M if order == "mobilenet" else N
            params = Dk * Dk * channels
            return params * Df * Df, params
    """,
    ),
    Right(
        "separable_cost",
        "the two layers counted separately and added",
        """
        def separable_cost(Df, Dk, M, N, order="mobilenet"):
            depthwise_weights = Dk * Dk * (M if order == "mobilenet" else N)
            pointwise_weights = M * N
            mult_adds = depthwise_weights * Df**2 + pointwise_weights * Df**2
            return int(mult_adds), int(depthwise_weights + pointwise_weights)
    """,
    ),
]

# count_mult_adds
COUNT_MULT_ADDS = """
def count_mult_adds(model, input_shape):
    counts, handles = {}, []
    for name, m in model.named_modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            def hook(mod, inp, out, name=name):
                per = (mod.in_channels // mod.groups * mod.kernel_size[0] * mod.kernel_size[1]
                       if isinstance(mod, nn.Conv2d) else mod.in_features)
                counts[name] = out[0].numel() * (per + (mod.bias is not None))
            handles.append(m.register_forward_hook(hook))
    was = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, *input_shape))
    for h in handles:
        h.remove()
    model.train(was)
    return counts
"""
CASES += [
    Wrong("count_mult_adds", "the bias is counted", COUNT_MULT_ADDS),
    Wrong(
        "count_mult_adds",
        "groups is ignored",
        edited(COUNT_MULT_ADDS, "// mod.groups ", "", "(per + (mod.bias is not None))", "per"),
    ),
    Wrong(
        "count_mult_adds",
        "Remove your hooks",
        edited(
            COUNT_MULT_ADDS,
            ", handles = {}, []",
            " = {}",
            "(per + (mod.bias is not None))\n            handles.append(m.register_forward_hook(hook)",
            "per\n            m.register_forward_hook(hook",
            "    for h in handles:\n        h.remove()\n",
            "",
        ),
    ),
    Wrong(
        "count_mult_adds",
        "back in training mode",
        edited(
            COUNT_MULT_ADDS,
            "(per + (mod.bias is not None))",
            "per",
            "    was = model.training\n",
            "",
            "    model.train(was)\n",
            "",
        ),
    ),
    Wrong(
        "count_mult_adds",
        "calls torch.utils.flop_counter.FlopCounterMode",
        """
        def count_mult_adds(model, input_shape):
            from torch.utils.flop_counter import FlopCounterMode
            with FlopCounterMode(display=False) as counter:
                model(torch.zeros(1, *input_shape))
            return {name: flops // 2 for name, flops in counter.get_flop_counts().items()}
    """,
    ),
    Right(
        "count_mult_adds",
        "hooks kept in a list and removed in finally, weight-based count",
        """
        def count_mult_adds(model, input_shape):
            counts = {}
            handles = []

            def record(name):
                def hook(module, inputs, output):
                    per_output = module.weight[0].numel()  # in/groups * kh * kw, or in_features
                    counts[name] = counts.get(name, 0) + per_output * output[0].numel()
                return hook

            try:
                for name, module in model.named_modules():
                    if type(module) in (nn.Conv2d, nn.Linear):
                        handles.append(module.register_forward_hook(record(name)))
                mode = model.training
                model.train(False)
                with torch.inference_mode():
                    model(torch.zeros(1, *input_shape, dtype=next(model.parameters()).dtype))
                model.train(mode)
            finally:
                for handle in handles:
                    handle.remove()
            return counts
    """,
    ),
]

# MobileNetV1
MOBILENETV1 = """
class MobileNetV1(nn.Module):
    def __init__(self, alpha=1.0, num_classes=1000, in_channels=3):
        super().__init__()
        def cbr(i, o, k, s, g=1):
            return [nn.Conv2d(i, o, k, s, k // 2, groups=g, bias=False), nn.BatchNorm2d(o), nn.ReLU()]
        c = int(alpha * V1_CONV1[0])
        layers = cbr(in_channels, c, 3, V1_CONV1[1])
        for ch, s in V1_BODY:
            layers += cbr(c, c, 3, s, c) + cbr(c, int(alpha * ch), 1, 1)
            c = int(alpha * ch)
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(c, num_classes, bias=False)

    def forward(self, x):
        return self.classifier(self.features(x).mean(dim=(2, 3)))
"""
CASES += [
    Wrong("MobileNetV1", "the classifier has no bias", MOBILENETV1),
    Wrong(
        "MobileNetV1",
        "need no bias",
        edited(MOBILENETV1, "groups=g, bias=False),", "groups=g),", "num_classes, bias=False)", "num_classes)"),
    ),
    Wrong(
        "MobileNetV1",
        "the strides of V1_BODY are ignored",
        edited(
            MOBILENETV1,
            "s in V1_BODY:\n            layers += cbr(c, c, 3, s",
            "_ in V1_BODY:\n            layers += cbr(c, c, 3, 1",
            "num_classes, bias=False)",
            "num_classes)",
        ),
    ),
    Wrong(
        "MobileNetV1",
        "needs batch norm and then ReLU",
        edited(
            MOBILENETV1,
            ", nn.ReLU()",
            "",
            "V1_CONV1[1])",
            "V1_CONV1[1]) + [nn.ReLU()]",
            "ch), 1, 1)",
            "ch), 1, 1) + [nn.ReLU()]",
            "num_classes, bias=False)",
            "num_classes)",
        ),
    ),
    Right(
        "MobileNetV1",
        "blocks as nested Sequentials, pooling with a mean in forward",
        """
        class MobileNetV1(nn.Module):
            def __init__(self, alpha=1.0, num_classes=1000, in_channels=3):
                super().__init__()
                def unit(c_in, c_out, k, stride, groups):
                    return nn.Sequential(nn.Conv2d(c_in, c_out, k, stride=stride, padding=(k - 1) // 2,
                                                   groups=groups, bias=False),
                                         nn.BatchNorm2d(c_out), nn.ReLU())
                width = lambda c: int(alpha * c)  # noqa: E731
                blocks = [unit(in_channels, width(V1_CONV1[0]), 3, V1_CONV1[1], 1)]
                c = width(V1_CONV1[0])
                for out, stride in V1_BODY:
                    blocks.append(nn.Sequential(unit(c, c, 3, stride, c), unit(c, width(out), 1, 1, 1)))
                    c = width(out)
                self.body = nn.Sequential(*blocks)
                self.fc = nn.Linear(c, num_classes)

            def forward(self, x):
                return self.fc(torch.flatten(self.body(x).mean(dim=(2, 3), keepdim=True), 1))
    """,
    ),
    # InvertedResidual
    Wrong("InvertedResidual", "must receive ReLU6 outputs", _inverted_residual(act="nn.ReLU")),
    Wrong(
        "InvertedResidual",
        "the bottleneck must stay linear",
        _inverted_residual(
            forward="out = F.relu6(self.layers(x))\n        return x + out if self.use_residual else out"
        ),
    ),
    Wrong("InvertedResidual", "the shortcut is missing", _inverted_residual(residual="False")),
    Wrong(
        "InvertedResidual", "add the input only when stride == 1 and M == N", _inverted_residual(residual="stride == 1")
    ),
    Wrong(
        "InvertedResidual",
        "add the input only when stride == 1 and M == N",
        _inverted_residual(residual="in_channels == out_channels"),
    ),
    Wrong(
        "InvertedResidual",
        "the expansion convolution is kept",
        """
        class InvertedResidual(nn.Module):
            def __init__(self, in_channels, out_channels, stride, expand_ratio, kernel_size=3):
                super().__init__()
                hidden = in_channels * expand_ratio
                self.layers = nn.Sequential(
                    nn.Conv2d(in_channels, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(),
                    nn.Conv2d(hidden, hidden, kernel_size, stride, kernel_size // 2, groups=hidden, bias=False),
                    nn.BatchNorm2d(hidden), nn.ReLU6(),
                    nn.Conv2d(hidden, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels))
                self.use_residual = stride == 1 and in_channels == out_channels

            def forward(self, x):
                return x + self.layers(x) if self.use_residual else self.layers(x)
    """,
    ),
    Right(
        "InvertedResidual",
        "named stages, the shortcut decided in forward",
        """
        class InvertedResidual(nn.Module):
            def __init__(self, in_channels, out_channels, stride, expand_ratio, kernel_size=3):
                super().__init__()
                hidden = in_channels * expand_ratio
                self.expand = (nn.Sequential(nn.Conv2d(in_channels, hidden, 1, bias=False),
                                             nn.BatchNorm2d(hidden), nn.ReLU6())
                               if expand_ratio > 1 else nn.Identity())
                self.depthwise = nn.Sequential(
                    nn.Conv2d(hidden, hidden, kernel_size, stride=stride, padding=kernel_size // 2,
                              groups=hidden, bias=False),
                    nn.BatchNorm2d(hidden), nn.ReLU6())
                self.project = nn.Sequential(nn.Conv2d(hidden, out_channels, 1, bias=False),
                                             nn.BatchNorm2d(out_channels))
                self.stride = stride

            def forward(self, x):
                out = self.project(self.depthwise(self.expand(x)))
                if self.stride == 1 and out.shape == x.shape:
                    out = out + x
                return out
    """,
    ),
    # h_sigmoid, h_swish
    Wrong(
        "hard_activations",
        "ReLU is used instead of ReLU6",
        """
        def h_sigmoid(x):
            return torch.relu(x + 3) / 6

        def h_swish(x):
            return x * torch.relu(x + 3) / 6
    """,
    ),
    Wrong(
        "hard_activations",
        "the division is by 3 instead of 6",
        """
        def h_sigmoid(x):
            return torch.clamp(x + 3, 0, 6) / 3

        def h_swish(x):
            return x * torch.clamp(x + 3, 0, 6) / 3
    """,
    ),
    Wrong(
        "hard_activations",
        "the factor x is missing",
        """
        def h_swish(x):
            return torch.clamp(x + 3, 0, 6) / 6
    """,
    ),
    Wrong(
        "hard_activations",
        "that is swish, not h-swish",
        """
        def h_swish(x):
            return x * torch.sigmoid(x)
    """,
    ),
    Wrong(
        "hard_activations",
        "calls torch.nn.functional.hardswish",
        """
        def h_swish(x):
            return F.hardswish(x)
    """,
    ),
    Right(
        "hard_activations",
        "relu6 and h_swish built on h_sigmoid, float32 too",
        """
        def h_sigmoid(x):
            return F.relu6(x + 3.0) / 6.0

        def h_swish(x):
            return x * h_sigmoid(x)
    """,
    ),
]

# SqueezeExcite
SQUEEZEEXCITE = """
class SqueezeExcite(nn.Module):
    def __init__(self, channels, reduction=4, bias=True, gate=torch.sigmoid):
        super().__init__()
        self.fc1 = nn.Linear(channels, channels // reduction, bias=bias)
        self.fc2 = nn.Linear(channels // reduction, channels, bias=bias)
        self.gate = gate

    def forward(self, x):
        s = self.gate(self.fc2(F.relu(self.fc1(x.mean(dim=(0, 2, 3))))))
        return x * s[None, :, None, None]
"""
CASES += [
    Wrong(
        "SqueezeExcite",
        "the hidden layer has C * r units",
        edited(
            SQUEEZEEXCITE,
            "// reduction, bias=bias)\n        self.fc2 = nn.Linear(channels //",
            "* reduction, bias=bias)\n        self.fc2 = nn.Linear(channels *",
            "0, 2, 3))))))\n        return x * s[None",
            "2, 3))))))\n        return x * s[:",
        ),
    ),
    Wrong(
        "SqueezeExcite",
        "the layers have biases although bias=False",
        edited(
            SQUEEZEEXCITE,
            ", bias=bias)\n        self.fc2 = nn.Linear(channels // reduction, channels, bias=bias",
            ")\n        self.fc2 = nn.Linear(channels // reduction, channels",
            "0, 2, 3))))))\n        return x * s[None",
            "2, 3))))))\n        return x * s[:",
        ),
    ),
    Wrong("SqueezeExcite", "not over the batch", SQUEEZEEXCITE),
    Wrong(
        "SqueezeExcite",
        "must be constant over each channel's map",
        edited(
            SQUEEZEEXCITE,
            "0, 2, 3))))))\n        return x * s[None, :, None, None]",
            "2, 3))))))\n        return x + s[:, :, None, None]  # added instead of multiplied",
        ),
    ),
    Right(
        "SqueezeExcite",
        "adaptive average pooling and view instead of indexing",
        """
        class SqueezeExcite(nn.Module):
            def __init__(self, channels, reduction=4, bias=True, gate=torch.sigmoid):
                super().__init__()
                self.pool = nn.AdaptiveAvgPool2d(1)
                self.fc1 = nn.Linear(channels, channels // reduction, bias=bias)
                self.act = nn.ReLU()
                self.fc2 = nn.Linear(channels // reduction, channels, bias=bias)
                self.gate = gate

            def forward(self, x):
                b, c = x.shape[:2]
                w = self.gate(self.fc2(self.act(self.fc1(self.pool(x).view(b, c)))))
                return x * w.view(b, c, 1, 1)
    """,
    ),
]
