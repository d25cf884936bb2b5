"""05 LeNet-5: the usual wrong answers, and right ones written another way."""

from mistakes import Right, Wrong, edited

NOTEBOOK = "05_lenet"

# layer_sizes
LAYER_SIZES = """
def layer_sizes(size, layers):
    sizes = [size]
    for k, s, p in layers:
        sizes.append((sizes[-1] + 2 * p - k) // s + 1)
    return sizes
"""

CASES = [
    Wrong("layer_sizes", "the +1 of the formula is missing", edited(LAYER_SIZES, "// s + 1", "// s")),
    Wrong("layer_sizes", "padding is added on one side only", edited(LAYER_SIZES, "+ 2 * p - k", "+ p - k")),
    Wrong(
        "layer_sizes",
        "the stride is ignored",
        edited(LAYER_SIZES, "(sizes[-1] + 2 * p - k) // s", "sizes[-1] + 2 * p - k"),
    ),
    Wrong("layer_sizes", "should raise ValueError", LAYER_SIZES),
    Wrong(
        "layer_sizes",
        "calls torch.nn.functional.conv2d",
        """
        def layer_sizes(size, layers):
            sizes = [size]
            for k, s, p in layers:
                if sizes[-1] + 2 * p < k:
                    raise ValueError("the kernel does not fit")
                probe = F.conv2d(torch.zeros(1, 1, sizes[-1], sizes[-1]), torch.zeros(1, 1, k, k), stride=s, padding=p)
                sizes.append(probe.shape[-1])
            return sizes
    """,
    ),
    Right(
        "layer_sizes",
        "float division and math.floor, a check per layer",
        """
        import math

        def layer_sizes(size, layers):
            out = [size]
            for kernel, stride, padding in layers:
                padded = out[-1] + 2 * padding
                if kernel > padded:
                    raise ValueError("kernel larger than the padded input")
                out.append(math.floor((padded - kernel) / stride) + 1)
            return out
    """,
    ),
]

# ModernLeNet
MODERN_LENET = """
class ModernLeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(400, 120), nn.ReLU(),
                                        nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))

    def forward(self, x):
        return self.classifier(self.features(x))
"""
CASES += [
    Wrong(
        "modern_lenet",
        "average pooling is used instead of max pooling",
        edited(
            MODERN_LENET,
            "), nn.ReLU(), nn.MaxPool2d(2),\n            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d",
            ", padding=2), nn.ReLU(), nn.AvgPool2d(2),\n            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.AvgPool2d",
        ),
    ),
    Wrong("modern_lenet", "with padding 2", MODERN_LENET),
    Wrong(
        "modern_lenet", "the first convolution has no padding", edited(MODERN_LENET, "nn.Linear(400,", "nn.Linear(256,")
    ),
    Wrong(
        "modern_lenet",
        "there is a ReLU after the last linear layer",
        edited(
            MODERN_LENET,
            "nn.Conv2d(1, 6, 5), nn.ReLU(),",
            "nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(),",
            "nn.Linear(84, 10))",
            "nn.Linear(84, 10), nn.ReLU())",
        ),
    ),
    Right(
        "modern_lenet",
        "layers built from a list of sizes, flatten(1) spelled out",
        """
        class ModernLeNet(nn.Module):
            def __init__(self):
                super().__init__()
                layers = []
                for c_in, c_out, pad in [(1, 6, 2), (6, 16, 0)]:
                    layers += [nn.Conv2d(c_in, c_out, 5, stride=1, padding=pad), nn.ReLU(inplace=True),
                               nn.MaxPool2d(kernel_size=2, stride=2)]
                self.features = nn.Sequential(*layers)
                dims = [16 * 5 * 5, 120, 84, 10]
                head = [nn.Flatten(start_dim=1)]
                for i, (a, b) in enumerate(zip(dims, dims[1:])):
                    head += [nn.Linear(a, b)] + ([nn.ReLU()] if i < 2 else [])
                self.classifier = nn.Sequential(*head)

            def forward(self, x):
                h = self.features(x)
                return self.classifier(h)
    """,
    ),
]

# Subsampling
SUBSAMPLING = """
class Subsampling(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(channels).uniform_(-0.6, 0.6))
        self.bias = nn.Parameter(torch.empty(channels).uniform_(-0.6, 0.6))

    def forward(self, x):
        return F.avg_pool2d(x, 2) * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)
"""
CASES += [
    Wrong("subsampling", "averaged instead of summed", SUBSAMPLING),
    Wrong(
        "subsampling",
        "all maps share one coefficient and one bias",
        """
        class Subsampling(nn.Module):
            def __init__(self, channels):
                super().__init__()
                self.weight = nn.Parameter(torch.empty(1).uniform_(-0.6, 0.6))
                self.bias = nn.Parameter(torch.empty(1).uniform_(-0.6, 0.6))

            def forward(self, x):
                return 4 * F.avg_pool2d(x, 2) * self.weight + self.bias
    """,
    ),
    Wrong(
        "subsampling",
        "the bias is scaled by the coefficient",
        edited(
            SUBSAMPLING,
            "F.avg_pool2d(x, 2) * self.weight.view(1, -1, 1, 1) + self.bias",
            "(4 * F.avg_pool2d(x, 2) + self.bias.view(1, -1, 1, 1)) * self.weight",
        ),
    ),
    Wrong(
        "subsampling",
        "the maximum of each block is taken instead of the sum",
        edited(SUBSAMPLING, "avg_pool2d", "max_pool2d"),
    ),
    Right(
        "subsampling",
        "block sums by reshaping (odd sizes cropped), float64 arithmetic",
        """
        class Subsampling(nn.Module):
            def __init__(self, channels):
                super().__init__()
                self.weight = nn.Parameter(0.6 * (2 * torch.rand(channels) - 1))
                self.bias = nn.Parameter(0.6 * (2 * torch.rand(channels) - 1))

            def forward(self, x):
                n, c, h, w = x.shape
                x = x[:, :, : h // 2 * 2, : w // 2 * 2].double()
                sums = x.reshape(n, c, h // 2, 2, w // 2, 2).sum(dim=(3, 5))
                out = sums * self.weight.double()[:, None, None] + self.bias.double()[:, None, None]
                return out.to(self.weight.dtype)
    """,
    ),
    # c3_table
    Wrong(
        "c3_table",
        "do not wrap around modulo 6",
        """
        def c3_table():
            table = torch.zeros(6, 16, dtype=torch.bool)
            for k in range(6):
                table[[i for i in (k, k + 1, k + 2) if i < 6], k] = True
                table[[i for i in range(k, k + 4) if i < 6], 6 + k] = True
            for k in range(3):
                table[[i for i in (k, k + 1, k + 3, k + 4) if i < 6], 12 + k] = True
            table[:, 15] = True
            return table
    """,
    ),
    Wrong(
        "c3_table",
        "read four neighbours in a row",
        """
        def c3_table():
            table = torch.zeros(6, 16, dtype=torch.bool)
            for k in range(6):
                table[[k, (k + 1) % 6, (k + 2) % 6], k] = True
                table[[(k + d) % 6 for d in range(4)], 6 + k] = True
            for k in range(3):
                table[[(k + d) % 6 for d in range(4)], 12 + k] = True
            table[:, 15] = True
            return table
    """,
    ),
    Wrong(
        "c3_table",
        "transposed",
        """
        def c3_table():
            table = torch.zeros(16, 6, dtype=torch.bool)
            for k in range(6):
                table[k, [k, (k + 1) % 6, (k + 2) % 6]] = True
                table[6 + k, [(k + d) % 6 for d in range(4)]] = True
            for k in range(3):
                table[12 + k, [k, (k + 1) % 6, (k + 3) % 6, (k + 4) % 6]] = True
            table[15, :] = True
            return table
    """,
    ),
    Wrong(
        "c3_table",
        "use dtype=torch.bool",
        """
        def c3_table():
            table = torch.zeros(6, 16, dtype=torch.int64)
            for k in range(6):
                table[[k, (k + 1) % 6, (k + 2) % 6], k] = 1
                table[[(k + d) % 6 for d in range(4)], 6 + k] = 1
            for k in range(3):
                table[[k, (k + 1) % 6, (k + 3) % 6, (k + 4) % 6], 12 + k] = 1
            table[:, 15] = 1
            return table
    """,
    ),
    Right(
        "c3_table",
        "read off the paper's Table I, row by row",
        """
        def c3_table():
            rows = ["X...XXX..XXXX.XX", "XX...XXX..XXXX.X", "XXX...XXX..X.XXX",
                    ".XXX..XXXX..X.XX", "..XXX..XXXX.XX.X", "...XXX..XXXX.XXX"]
            return torch.tensor([[ch == "X" for ch in row] for row in rows])
    """,
    ),
    # PartialConv2d
    Wrong(
        "partial_conv",
        "a full convolution",
        """
        class PartialConv2d(nn.Module):
            def __init__(self, table, kernel_size):
                super().__init__()
                self.table = table.bool()
                c_in, c_out = table.shape
                self.weights = nn.ParameterList(
                    [nn.Parameter(0.1 * torch.randn(1, c_in, kernel_size, kernel_size)) for _ in range(c_out)])
                self.bias = nn.Parameter(torch.zeros(c_out))

            def forward(self, x):
                w = torch.cat(list(self.weights)) * self.table.T[:, :, None, None]
                return F.conv2d(x, w, self.bias)
    """,
    ),
    Wrong(
        "partial_conv",
        "there is no bias",
        """
        class PartialConv2d(nn.Module):
            def __init__(self, table, kernel_size):
                super().__init__()
                self.table = table.bool()
                k = kernel_size
                self.weights = nn.ParameterList(
                    [nn.Parameter(0.01 * torch.randn(1, int(col.sum()), k, k)) for col in self.table.T])

            def forward(self, x):
                return torch.cat([F.conv2d(x[:, col], w) for col, w in zip(self.table.T, self.weights)], dim=1)
    """,
    ),
    Wrong(
        "partial_conv",
        "the input maps output map 1 reads",
        """
        class PartialConv2d(nn.Module):
            def __init__(self, table, kernel_size):
                super().__init__()
                self.table = table.bool()
                k = kernel_size
                self.weights = nn.ParameterList(
                    [nn.Parameter(0.01 * torch.randn(1, int(col.sum()), k, k)) for col in self.table.T])
                self.bias = nn.Parameter(torch.zeros(table.shape[1]))

            def forward(self, x):
                # the first n_j input maps instead of the ones the table names
                outs = [F.conv2d(x[:, : w.shape[1]], w) for w in self.weights]
                return torch.cat(outs, dim=1) + self.bias.view(1, -1, 1, 1)
    """,
    ),
    Right(
        "partial_conv",
        "one small convolution per output map, concatenated",
        """
        class PartialConv2d(nn.Module):
            def __init__(self, table, kernel_size):
                super().__init__()
                self.table = table.bool()
                ws, bounds = [], []
                for j in range(table.shape[1]):
                    fan_in = int(self.table[:, j].sum()) * kernel_size * kernel_size
                    shape = (1, int(self.table[:, j].sum()), kernel_size, kernel_size)
                    ws.append(nn.Parameter((2 * torch.rand(shape) - 1) * 2.4 / fan_in))
                    bounds.append(2.4 / fan_in)
                self.weights = nn.ParameterList(ws)
                self.bias = nn.Parameter((2 * torch.rand(table.shape[1]) - 1) * torch.tensor(bounds))

            def forward(self, x):
                outs = [F.conv2d(x[:, self.table[:, j]], w) for j, w in enumerate(self.weights)]
                return torch.cat(outs, dim=1) + self.bias[None, :, None, None]
    """,
    ),
]

# RBFOutput
RBF_OUTPUT = """
class RBFOutput(nn.Module):
    def __init__(self, codes):
        super().__init__()
        self.register_buffer("centres", codes.clone().float())

    def forward(self, x):
        return ((x[:, None, :] - self.centres[None]) ** 2).sum(dim=2).sqrt()
"""
CASES += [
    Wrong("rbf_output", "the square root is taken", RBF_OUTPUT),
    Wrong(
        "rbf_output",
        "register them as a buffer",
        edited(
            RBF_OUTPUT,
            'register_buffer("centres", ',
            "centres = nn.Parameter(",
            "2).sum(dim=2).sqrt()",
            "2).sum(dim=2)",
        ),
    ),
    Wrong(
        "rbf_output",
        "calls torch.cdist",
        edited(
            RBF_OUTPUT,
            "((x[:, None, :] - self.centres[None]) ** 2).sum(dim=2).sqrt()",
            "torch.cdist(x, self.centres) ** 2",
        ),
    ),
    Right(
        "rbf_output",
        "|x|^2 - 2 x.c + |c|^2 with a matrix product",
        """
        class RBFOutput(nn.Module):
            def __init__(self, codes):
                super().__init__()
                self.register_buffer("centres", torch.as_tensor(codes, dtype=torch.float32).clone())

            def forward(self, x):
                c = self.centres
                return (x * x).sum(1, keepdim=True) - 2 * x @ c.T + (c * c).sum(1)[None, :]
    """,
    ),
]

# count_connections
COUNT_CONNECTIONS = """
def count_connections(layer, in_shape):
    x = torch.randn(1, *in_shape)
    return int(torch.count_nonzero(torch.func.jacfwd(layer)(x))) + layer(x).numel()
"""
CASES += [
    Wrong(
        "count_connections",
        "the parameters are counted instead of the connections",
        """
        def count_connections(layer, in_shape):
            return sum(p.numel() for p in layer.parameters())
    """,
    ),
    Wrong("count_connections", "the bias is not counted", edited(COUNT_CONNECTIONS, " + layer(x).numel()", "")),
    Wrong("count_connections", "a bias is counted although the layer has none", COUNT_CONNECTIONS),
    Right(
        "count_connections",
        "torch.autograd.functional.jacobian, bias found among named parameters",
        """
        def count_connections(layer, in_shape):
            x = torch.rand(1, *in_shape) + 0.5
            jac = torch.autograd.functional.jacobian(layer, x)
            has_bias = any(name == "bias" and p is not None for name, p in layer.named_parameters(recurse=False))
            return int((jac != 0).sum()) + (layer(x).numel() if has_bias else 0)
    """,
    ),
]

# OriginalLeNet5
ORIGINAL_LENET = """
class OriginalLeNet5(nn.Module):
    def __init__(self, subsampling, partial_conv, rbf, table, codes):
        super().__init__()
        self.c1, self.s2 = nn.Conv2d(1, 6, 5), subsampling(6)
        self.c3, self.s4 = partial_conv(table, 5), subsampling(16)
        self.c5, self.f6, self.output = nn.Conv2d(16, 120, 5), nn.Linear(120, 84), rbf(codes)
        nn.init.normal_(self.c1.weight)

    def forward(self, x):
        for layer in [self.c1, self.s2, self.c3, self.s4, self.c5]:
            x = scaled_tanh(layer(x))
        return self.output(scaled_tanh(self.f6(x.flatten(1))))
"""
CASES += [
    Wrong(
        "original_lenet",
        "is not squashed",
        edited(
            ORIGINAL_LENET,
            "nn.init.normal_(self.c1.weight",
            "for layer, fan_in in [(self.c1, 25), (self.c5, 400), (self.f6, 120)]:\n"
            "            nn.init.uniform_(layer.weight, -2.4 / fan_in, 2.4 / fan_in)\n"
            "            nn.init.uniform_(layer.bias, -2.4 / fan_in, 2.4 / fan_in",
            "for layer in [self.c1, self.s2, self.c3, self.s4, self.c5]:\n            x = scaled_tanh(layer",
            "x = self.s2(scaled_tanh(self.c1(x)))  # squashed after the convolutions only\n"
            "        x = self.s4(scaled_tanh(self.c3(x)))\n        x = scaled_tanh(self.c5",
        ),
    ),
    Wrong("original_lenet", "Initialise c1 uniformly", ORIGINAL_LENET),
    Right(
        "original_lenet",
        "forward written out layer by layer, init in a helper",
        """
        class OriginalLeNet5(nn.Module):
            def __init__(self, subsampling, partial_conv, rbf, table, codes):
                super().__init__()
                self.c1 = nn.Conv2d(1, 6, kernel_size=5)
                self.s2 = subsampling(6)
                self.c3 = partial_conv(table, 5)
                self.s4 = subsampling(16)
                self.c5 = nn.Conv2d(16, 120, kernel_size=5)
                self.f6 = nn.Linear(120, 84)
                self.output = rbf(codes)
                for layer in (self.c1, self.c5, self.f6):
                    bound = 2.4 / (layer.weight[0].numel())
                    with torch.no_grad():
                        layer.weight.uniform_(-bound, bound)
                        layer.bias.uniform_(-bound, bound)

            def forward(self, x):
                h = scaled_tanh(self.s2(scaled_tanh(self.c1(x))))
                h = scaled_tanh(self.s4(scaled_tanh(self.c3(h))))
                h = torch.flatten(scaled_tanh(self.c5(h)), 1)
                return self.output(scaled_tanh(self.f6(h)))
    """,
    ),
]

# train_one_epoch
TRAIN_ONE_EPOCH = """
def train_one_epoch(model, optimizer, x, y, *, batch_size, generator, loss_fn=F.cross_entropy):
    model.train()
    order = torch.randperm(len(x), generator=generator)
    total = 0.0
    for start in range(0, len(x), batch_size):
        idx = order[start:start + batch_size]
        loss = loss_fn(model(x[idx]), y[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total = total + loss * len(idx)
    return total / len(x)
"""
CASES += [
    Wrong(
        "train_one_epoch",
        "every batch counts equally",
        edited(
            TRAIN_ONE_EPOCH,
            "total = 0.0",
            "losses = []",
            "total = total + loss * len(idx)\n    return total / len(x",
            "losses.append(loss.item())\n    return sum(losses) / len(losses",
        ),
    ),
    Wrong(
        "train_one_epoch",
        "the gradients are not zeroed between steps",
        edited(
            TRAIN_ONE_EPOCH,
            "    for start",
            "    optimizer.zero_grad()  # once, before the loop: the gradients pile up\n    for start",
            "        optimizer.zero_grad()\n",
            "",
            "= total + loss",
            "+= loss.item()",
        ),
    ),
    Wrong("train_one_epoch", "should return a Python float", TRAIN_ONE_EPOCH),
    Wrong(
        "train_one_epoch",
        "the last, partial batch is dropped",
        edited(
            TRAIN_ONE_EPOCH,
            " = 0.0\n    for start in range(0, len(x)",
            ", seen = 0.0, 0\n    for start in range(0, len(x) - batch_size + 1",
            " = total + loss * len(idx)\n    return total / len(x)",
            ", seen = total + loss.item() * len(idx), seen + len(idx)\n    return total / seen",
        ),
    ),
    Wrong(
        "train_one_epoch",
        "calls course.training.fit",
        """
        def train_one_epoch(model, optimizer, x, y, *, batch_size, generator, loss_fn=F.cross_entropy):
            seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
            history = fit(model, (x, y), optimizer=optimizer, loss_fn=loss_fn, epochs=1, batch_size=batch_size,
                          seed=seed, progress=False)
            return float(history.train_loss[-1])
    """,
    ),
    Right(
        "train_one_epoch",
        "batches from tensor_split, gradients set to None after each step",
        """
        def train_one_epoch(model, optimizer, x, y, *, batch_size, generator, loss_fn=F.cross_entropy):
            model.train(True)
            perm = torch.randperm(x.shape[0], generator=generator)
            n_batches = -(-x.shape[0] // batch_size)
            total = torch.zeros((), dtype=torch.float64)
            for idx in perm.split(batch_size)[:n_batches]:
                loss = loss_fn(model(x[idx]), y[idx])
                loss.backward()
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                total += loss.detach().double() * idx.numel()
            return float(total) / x.shape[0]
    """,
    ),
]

# most_confident_mistakes
MOST_CONFIDENT_MISTAKES = """
def most_confident_mistakes(probs, labels, k):
    pred = probs.argmax(axis=1)
    wrong = np.flatnonzero(pred != labels)
    return wrong[np.argsort(-probs[wrong, pred[wrong]])]
"""
CASES += [
    Wrong(
        "most_confident_mistakes",
        "sorted from least to most confident",
        edited(MOST_CONFIDENT_MISTAKES, "-probs[wrong, pred[wrong]])", "probs[wrong, pred[wrong]])][:k"),
    ),
    Wrong(
        "most_confident_mistakes",
        "the correctly classified examples are included",
        """
        def most_confident_mistakes(probs, labels, k):
            return np.argsort(-probs.max(axis=1))[:k]
    """,
    ),
    Wrong(
        "most_confident_mistakes",
        "the probability of the true class is used",
        """
        def most_confident_mistakes(probs, labels, k):
            wrong = np.flatnonzero(probs.argmax(axis=1) != labels)
            return wrong[np.argsort(-probs[wrong, labels[wrong]])][:k]
    """,
    ),
    Wrong("most_confident_mistakes", "k is ignored", MOST_CONFIDENT_MISTAKES),
    Wrong(
        "most_confident_mistakes",
        "returned in index order, not sorted by confidence",
        """
        def most_confident_mistakes(probs, labels, k):
            return np.flatnonzero(probs.argmax(axis=1) != labels)[:k]
    """,
    ),
    Right(
        "most_confident_mistakes",
        "a Python loop and sorted()",
        """
        def most_confident_mistakes(probs, labels, k):
            found = []
            for i, (row, label) in enumerate(zip(probs, labels)):
                guess = int(np.argmax(row))
                if guess != label:
                    found.append((-float(row[guess]), i))
            return np.array([i for _, i in sorted(found)[:k]], dtype=np.int64)
    """,
    ),
]

# design_lenet: any layer list within the budgets that learns passes; these break one requirement each
DESIGN_LENET = """
def design_lenet():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 10, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(160, 10))
"""
CASES += [
    Wrong(
        "design_lenet",
        "too many parameters",
        """
        def design_lenet():  # a small MLP: 784 x 16 weights in its first layer alone
            return nn.Sequential(nn.Flatten(), nn.Linear(784, 16), nn.ReLU(), nn.Linear(16, 10))
    """,
    ),
    Wrong(
        "design_lenet",
        "too many mult-adds",
        edited(DESIGN_LENET, "nn.Conv2d(1, 6, 5)", "nn.Conv2d(1, 6, 5, padding=2)", "nn.Linear(160,", "nn.Linear(250,"),
    ),
    Wrong(
        "design_lenet",
        "it keeps spatial dimensions",
        edited(DESIGN_LENET, "nn.Flatten(), nn.Linear(160, 10)", "nn.Conv2d(10, 10, 4)"),
    ),
    Wrong(
        "design_lenet",
        "affine in its input",
        """
        def design_lenet():  # strided convolutions in place of pooling, and no activation anywhere
            return nn.Sequential(nn.Conv2d(1, 6, 5, stride=2), nn.Conv2d(6, 10, 5, stride=2),
                                 nn.Flatten(), nn.Linear(160, 10))
    """,
    ),
    Wrong(
        "design_lenet",
        "a softmax at the end",
        edited(DESIGN_LENET, "nn.Linear(160, 10))", "nn.Linear(160, 10), nn.Softmax(dim=1))"),
    ),
    Wrong(
        "design_lenet",
        "a ReLU after the last layer",
        edited(DESIGN_LENET, "nn.Linear(160, 10))", "nn.Linear(160, 10), nn.ReLU())"),
    ),
    Wrong(
        "design_lenet",
        "position thrown away too early",
        edited(
            DESIGN_LENET,
            "nn.MaxPool2d(2),\n        nn.Flatten()",
            "nn.AdaptiveAvgPool2d(1),\n        nn.Flatten()",
            "160",
            "10",
        ),
    ),
    Right("design_lenet", "the solution's layer list", DESIGN_LENET),
    Right(
        "design_lenet",
        "3 x 3 kernels, a class with its own forward (3,966 parameters, 156,216 mult-adds)",
        """
        class SmallNet(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv1, self.conv2 = nn.Conv2d(1, 8, 3), nn.Conv2d(8, 12, 3)
                self.out = nn.Linear(12 * 5 * 5, 10)

            def forward(self, x):
                x = F.max_pool2d(F.relu(self.conv1(x)), 2)  # 26 -> 13
                x = F.max_pool2d(F.relu(self.conv2(x)), 2)  # 11 -> 5
                return self.out(x.flatten(1))

        def design_lenet():
            return SmallNet()
    """,
    ),
]
